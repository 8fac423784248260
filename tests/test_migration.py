"""Migration between snapshots: flows, rates, movers, Sankey, and conservation of customers."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tx_logs import RULES, STORY, D, tx_frame

from segmentation.errors import DataError
from segmentation.migration import (
    cut_mode_effect,
    largest_moves,
    migration_matrix,
    migration_rates,
    movers,
    sankey_flows,
    transitions,
)
from segmentation.snapshots import BACK, GONE, NEW, snapshots

DATES = [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31)]


LOG = tx_frame(STORY)
WINDOWED = snapshots(LOG, DATES, rules=RULES, bins=2, window_days=45)
ALL_HISTORY = snapshots(LOG, DATES, rules=RULES, bins=2)


def flows(frame):
    return sorted(
        (str(r["from_state"]), str(r["to_state"]), r["direction"], r["customers"], r["revenue"])
        for r in frame.iter_rows(named=True)
    )


def test_matrix_with_new_returning_and_gone_states():
    m = migration_matrix(WINDOWED, "2024-01-31", "2024-02-29")
    assert flows(m) == sorted([
        ("Active", "VIP", "up", 1, 150.0),          # 'up' upgraded
        ("Active", GONE, "gone", 1, 0.0),           # 'churn' left the window
        (NEW, "Active", "new", 1, 30.0),            # 'new' first bought in February
        (BACK, "Active", "back", 1, 10.0),          # 'back' bought in 2023, outside the window
        ("VIP", "Other", "down", 1, -120.0),        # 'ret' returned goods
    ])
    assert m["from_state"].dtype == pl.Enum([NEW, BACK, "VIP", "Active", "Other", GONE])


def test_largest_moves_leave_out_arrivals_and_stay_put():
    m = migration_matrix(WINDOWED, "2024-01-31", "2024-02-29")
    # One customer per flow: ties go by revenue (150, 0, -120).
    assert flows(largest_moves(m, n=5)) == sorted([
        ("Active", "VIP", "up", 1, 150.0), ("Active", GONE, "gone", 1, 0.0), ("VIP", "Other", "down", 1, -120.0),
    ])
    assert [(str(a), str(b)) for a, b in largest_moves(m, n=2).select("from_state", "to_state").rows()] == [
        ("Active", "VIP"), ("Active", GONE),
    ]


def test_matrix_without_window_has_no_gone():
    m = migration_matrix(ALL_HISTORY, "2024-01-31", "2024-02-29")
    assert flows(m) == sorted([
        ("Active", "VIP", "up", 1, 150.0),
        ("Active", "Other", "down", 1, 0.0),
        (NEW, "Active", "new", 1, 30.0),
        ("Other", "Active", "up", 1, 10.0),
        ("VIP", "Other", "down", 1, -120.0),
    ])


def test_rates_use_rule_order_best_first():
    r = migration_rates(WINDOWED, "2024-01-31", "2024-02-29")
    assert r.select("tier", "customers", "upgraded", "unchanged", "downgraded", "gone").rows() == [
        ("VIP", 1, 0, 0, 1, 0),
        ("Active", 2, 1, 0, 0, 1),
        ("Other", 0, 0, 0, 0, 0),
        ("__all__", 3, 1, 0, 1, 1),
    ]
    assert r.filter(pl.col("tier") == "Active")["upgrade_rate"].item() == 0.5
    assert r.filter(pl.col("tier") == "Other")["upgrade_rate"].item() is None


def test_skipping_a_date_adds_up_revenue_in_between():
    m = migration_matrix(ALL_HISTORY, "2024-01-31", "2024-03-31")
    assert flows(m) == sorted([
        ("Active", "VIP", "up", 1, 150.0),
        ("Active", "Other", "down", 1, 0.0),
        (NEW, "Other", "new", 1, 30.0),
        ("Other", "Other", "same", 1, 10.0),
        ("VIP", "Other", "down", 1, -120.0),
    ])


def test_movers_list_is_ready_to_export():
    m = movers(WINDOWED, "VIP", "Other", "2024-01-31", "2024-02-29")
    assert m.select("customer_id", "from_state", "to_state", "monetary_then", "monetary_now",
                    "recency_days_then", "recency_days_now", "revenue").rows() == [
        ("ret", "VIP", "Other", 200.0, 80.0, 11, 40, -120.0)
    ]
    gone = movers(WINDOWED, "Active", GONE, "2024-01-31", "2024-02-29")
    assert gone.select("customer_id", "monetary_then", "monetary_now").rows() == [("churn", 50.0, None)]
    with pytest.raises(DataError):
        movers(WINDOWED, "Nope", "VIP", "2024-01-31", "2024-02-29")


def test_sankey_nodes_and_links_over_three_dates():
    nodes, links = sankey_flows(WINDOWED)
    labels = dict(zip(nodes["node"].to_list(), nodes["label_en"].to_list(), strict=True))
    got = sorted((labels[s], labels[t], c) for s, t, c in links.select("source", "target", "customers").rows())
    assert got == sorted([
        ("Active @ 2024-01-31", "VIP @ 2024-02-29", 1),
        ("Active @ 2024-01-31", "Left @ 2024-02-29", 1),
        ("New @ 2024-01-31", "Active @ 2024-02-29", 1),
        ("Returning @ 2024-01-31", "Active @ 2024-02-29", 1),
        ("VIP @ 2024-01-31", "Other @ 2024-02-29", 1),
        ("VIP @ 2024-02-29", "Left @ 2024-03-31", 1),
        ("Active @ 2024-02-29", "Other @ 2024-03-31", 2),
        ("Other @ 2024-02-29", "Left @ 2024-03-31", 1),
    ])
    assert nodes.filter(pl.col("label_zh") == "离开窗口 @ 2024-03-31")["customers"].item() == 2


def test_cut_mode_effect_separates_behaviour_from_relative_moves():
    tx = tx_frame([
        ("a", D(2024, 1, 5), 10.0, "1"), ("b", D(2024, 1, 6), 50.0, "2"),
        ("c", D(2024, 2, 10), 90.0, "3"), ("d", D(2024, 2, 11), 95.0, "4"),
        ("a", D(2024, 2, 12), 200.0, "5"),
    ])
    kw = dict(rules="Top: m_score == 2\nRest: else", bins=2)
    fixed = snapshots(tx, DATES[:2], cut_mode="fixed", **kw)
    rec = snapshots(tx, DATES[:2], cut_mode="recomputed", **kw)
    eff = cut_mode_effect(fixed, rec, "2024-01-31", "2024-02-29")
    assert eff.rows() == [("Top", "Rest", 1, 0, 1, 1.0), ("Rest", "Top", 1, 1, 0, 0.0)]


def test_bad_dates():
    with pytest.raises(DataError):
        migration_matrix(WINDOWED, "2024-02-29", "2024-01-31")
    # A date nobody is in: everyone of the earlier date is gone.
    assert flows(migration_matrix(WINDOWED, "2024-03-31", "2024-05-31")) == [("Other", GONE, "gone", 2, 0.0)]


# --- conservation ---------------------------------------------------------------------------

row = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]),
    st.integers(0, 150).map(lambda n: D(2024, 1, 1) + dt.timedelta(days=n)),
    st.sampled_from([1.0, 5.0, 40.0, 120.0, -5.0]),
    st.uuids().map(str),
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=40), window=st.sampled_from([None, 20, 60]),
       skip=st.booleans())
def test_flows_conserve_customers(rows, window, skip):
    tx = tx_frame(rows)
    dates = [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31), D(2024, 4, 30), D(2024, 5, 31)]
    s = snapshots(tx, dates, rules="Hi: r_score >= 2 and m_score >= 2\nMid: f_score >= 2\nLo: else",
                  bins=3, window_days=window)
    chosen = dates[::2] if skip else dates
    t = transitions(s, chosen)
    size = dict(((d, str(k)), n) for d, k, n in s.group_by("snapshot_date", pl.col("tier").cast(pl.String))
                .agg(pl.len()).rows())
    for a, b in itertools.pairwise(chosen):
        step = t.filter(pl.col("from_date") == a, pl.col("to_date") == b)
        out_of = dict(step.group_by(pl.col("from_state").cast(pl.String)).agg(pl.col("customers").sum()).rows())
        into = dict(step.group_by(pl.col("to_state").cast(pl.String)).agg(pl.col("customers").sum()).rows())
        # Every customer of the earlier date leaves exactly once (gone included) ...
        assert {k: v for k, v in out_of.items() if k not in (NEW, BACK)} == {
            k: v for (d, k), v in size.items() if d == a}
        # ... and every customer of the later date arrives exactly once (new and returning included).
        assert {k: v for k, v in into.items() if k != GONE} == {k: v for (d, k), v in size.items() if d == b}
        assert sum(out_of.values()) == sum(into.values())
        # New means no purchase at all before the earlier date.
        firsts = dict(tx.filter(pl.col("amount") > 0).group_by("customer_id").agg(pl.col("order_date").min()).rows())
        later = set(s.filter(pl.col("snapshot_date") == b)["customer_id"].to_list())
        earlier = set(s.filter(pl.col("snapshot_date") == a)["customer_id"].to_list())
        assert out_of.get(NEW, 0) == sum(1 for c in later - earlier if firsts[c] > a)


def test_one_period_back_clamps_month_ends_and_counts_weeks_in_days():
    from segmentation.migration import one_period_back

    assert one_period_back(dt.date(2025, 5, 31), "month") == dt.date(2025, 4, 30)
    assert one_period_back(dt.date(2025, 1, 15), "quarter") == dt.date(2024, 10, 15)
    assert one_period_back(dt.date(2025, 1, 3), "week") == dt.date(2024, 12, 27)


def test_period_pair_is_one_period_apart_not_three():
    from segmentation.migration import period_pair

    options = ["2025-06-30", "2025-07-31", "2025-08-31", "2025-09-30", "2025-10-31", "2025-11-30", "2026-01-01"]
    assert period_pair(options, "month") == ["2025-11-30", "2026-01-01"]
    assert period_pair(options, "quarter") == ["2025-09-30", "2026-01-01"]
    # Nothing a full period back: the earliest date there is.
    assert period_pair(["2025-12-20", "2026-01-01"], "quarter") == ["2025-12-20", "2026-01-01"]
    assert period_pair(["2026-01-01"], "month") == ["2026-01-01"]


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=40), window=st.sampled_from([None, 20, 60]), n=st.integers(1, 4))
def test_largest_moves_are_the_biggest_changes_of_tier(rows, window, n):
    s = snapshots(tx_frame(rows), [D(2024, 2, 29), D(2024, 4, 30)], rules="Hi: m_score >= 2\nLo: else",
                  bins=2, window_days=window)
    m = migration_matrix(s, "2024-02-29", "2024-04-30")
    # From the definition: every flow that is not an arrival and not staying in the same tier.
    moved = [r for r in m.iter_rows(named=True) if r["direction"] in ("up", "down", "gone")]
    got = largest_moves(m, n=n)
    assert got.height == min(n, len(moved))
    sizes = sorted((r["customers"] for r in moved), reverse=True)
    assert got["customers"].to_list() == sizes[:n]


# --- upgrades and downgrades follow the declared value order, not rule order -------------------


def _cn8_story():
    from segmentation.presets import get_preset

    # Tier names of the eight classes on raw spend, so the test controls who lands where.
    names = get_preset("cn8").value_order("zh")
    by_rule = ["重要价值客户", "重要发展客户", "重要保持客户", "重要挽留客户",
               "一般价值客户", "一般发展客户", "一般保持客户", "一般挽留客户"]
    floors = [1000, 900, 800, 700, 600, 500, 400]
    rules = "\n".join(f"{n}: M >= {f}" for n, f in zip(by_rule, floors, strict=False)) + f"\n{by_rule[-1]}: else"
    tx = tx_frame([("x", D(2024, 1, 5), 750.0, "1"), ("x", D(2024, 2, 5), -100.0, "R1"),
                   ("y", D(2024, 1, 6), 650.0, "2"), ("y", D(2024, 2, 6), 100.0, "3")])
    return tx, rules, names


def test_cn8_key_win_back_to_general_value_is_an_upgrade_by_value_order():
    from segmentation.spec import TieringSpec

    tx, rules, order = _cn8_story()
    dates = [D(2024, 1, 31), D(2024, 2, 29)]
    by_rule = snapshots(tx, dates, rules=rules)
    got = {(str(r["from_state"]), str(r["to_state"])): r["direction"]
           for r in transitions(by_rule, value_order=order).iter_rows(named=True)}
    # x: 重要挽留 (750) -> 一般价值 (650) after a return; y: 一般价值 (650) -> 重要挽留 (750).
    assert got == {("重要挽留客户", "一般价值客户"): "up", ("一般价值客户", "重要挽留客户"): "down"}
    # Rule order alone would call x's move a downgrade.
    assert {str(r["from_state"]): r["direction"] for r in transitions(by_rule).iter_rows(named=True)} == {
        "重要挽留客户": "down", "一般价值客户": "up"}
    # A spec with the value order gives the same answer without the keyword, and tiers in value order.
    spec = TieringSpec(rules=rules, value_order=order)
    snaps = snapshots(tx, dates, spec)
    assert snaps["tier"].dtype == pl.Enum(list(order))
    rates = migration_rates(snaps, *dates)
    assert dict(rates.select("tier", "upgraded").rows())["重要挽留客户"] == 1
    assert dict(rates.select("tier", "downgraded").rows())["一般价值客户"] == 1
    assert migration_rates(by_rule, *dates, value_order=order).equals(rates)
    # Matrix and Sankey list tiers best first by value.
    m = migration_matrix(by_rule, *dates, value_order=order)
    assert m["from_state"].dtype == pl.Enum([NEW, BACK, *order, GONE])
    nodes = sankey_flows(by_rule, value_order=order).nodes
    assert nodes.filter(pl.col("date") == dates[0])["state"].cast(pl.String).to_list() == ["一般价值客户", "重要挽留客户"]


def test_segments11_at_risk_to_cant_lose_them_is_an_upgrade_by_value_order():
    from segmentation.presets import get_preset

    order = get_preset("segments11").value_order("en")
    rules = "At Risk: M < 100\nCan't Lose Them: else"
    tx = tx_frame([("a", D(2024, 1, 5), 50.0, "1"), ("a", D(2024, 2, 5), 80.0, "2")])
    snaps = snapshots(tx, [D(2024, 1, 31), D(2024, 2, 29)], rules=rules)
    assert transitions(snaps)["direction"].to_list() == ["down"]
    assert transitions(snaps, value_order=order)["direction"].to_list() == ["up"]


# --- migration revenue reconciles with Trends; money over skipped dates is exact ---------------

RETURNER = tx_frame([*STORY, ("c", D(2024, 1, 5), 100.0, "c1"), ("c", D(2024, 2, 20), -30.0, "cR")])


@pytest.mark.parametrize("window", [30, None])
def test_flow_revenue_equals_trends_revenue_of_the_same_customers(window):
    from segmentation.kpis import kpi_trends

    # c bought 100 on 5 Jan and returned 30 on 20 Feb: with a 30-day window c is gone by 29 Feb,
    # and the return still belongs to c's flow, as Trends books it.
    dates = [D(2023, 12, 31), D(2024, 1, 31), D(2024, 2, 29)]
    snaps = snapshots(RETURNER, dates, rules=RULES, bins=2, window_days=window)
    flows = transitions(snaps, dates, tx=RETURNER)
    k = kpi_trends(RETURNER, rules=RULES, bins=2, window_days=window, by_tier=False, end="2024-02-29")
    for d in dates[1:]:
        # Everyone active in these months is at one end of a flow, so the totals agree exactly.
        trends = k.filter(pl.col("period_last_day") == d)["revenue"].item()
        assert flows.filter(pl.col("to_date") == d)["revenue"].sum() == pytest.approx(trends, abs=1e-9)
    if window:
        c_flow = movers(snaps, "VIP", GONE, dates[1], dates[2], tx=RETURNER)
        assert c_flow.filter(pl.col("customer_id") == "c").select("customer_id", "revenue").rows() == [("c", -30.0)]


def test_flow_revenue_over_skipped_dates_is_the_flow_customers_spend_from_the_transactions():
    snaps = snapshots(RETURNER, [D(2023, 12, 31), D(2024, 1, 31), D(2024, 2, 29)], rules=RULES, bins=2, window_days=30)
    lo, hi = D(2023, 12, 31), D(2024, 2, 29)
    flows = transitions(snaps, [lo, hi], tx=RETURNER)
    who = set()
    for d in (lo, hi):
        who |= set(snaps.filter(pl.col("snapshot_date") == d)["customer_id"].to_list())
    # Plain Python from the definition: net amount of the flow customers dated in (lo, hi].
    want = sum(amt for cid, day, amt, _ in [*STORY, ("c", D(2024, 1, 5), 100.0, "c1"), ("c", D(2024, 2, 20), -30.0, "cR")]
               if cid in who and lo < day <= hi)
    assert flows["revenue"].sum() == pytest.approx(want, abs=1e-9)


def test_money_over_skipped_dates_is_exact_so_ties_sort_by_customer():
    tx = tx_frame([
        ("a", D(2024, 1, 5), 1.0, "1"), ("b", D(2024, 1, 5), 1.0, "2"),
        ("a", D(2024, 2, 5), 10.33, "3"), ("a", D(2024, 3, 5), 34.66, "4"),
        ("b", D(2024, 2, 6), 20.01, "5"), ("b", D(2024, 3, 6), 24.98, "6"),
    ])
    snaps = snapshots(tx, [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31)], rules="All: else")
    m = movers(snaps, "All", "All", D(2024, 1, 31), D(2024, 3, 31))
    assert m.select("customer_id", "revenue").rows() == [("a", 44.99), ("b", 44.99)]
    t = transitions(snaps, [D(2024, 1, 31), D(2024, 3, 31)])
    assert t["revenue"].to_list() == [89.98]
