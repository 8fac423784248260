"""snapshots: tiers as of many dates, equal to rfm_table + score + assign_tiers per date."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tx_logs import RULES, STORY, D, tx_frame

from segmentation.errors import DataError
from segmentation.rfm import rfm_table
from segmentation.rules import assign_tiers
from segmentation.scoring import fit_cuts, score
from segmentation.snapshots import (
    BACK,
    GONE,
    NEW,
    fixed_cuts,
    period_ends,
    snapshots,
    state_label,
)

DATES = [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31)]


LOG = tx_frame(STORY)


def tiers(snaps):
    return {
        (r["snapshot_date"], r["customer_id"]): r["tier"]
        for r in snaps.select("snapshot_date", "customer_id", "tier").iter_rows(named=True)
    }


def test_tiers_without_window():
    s = snapshots(LOG, DATES, rules=RULES, bins=2)
    got = tiers(s)
    assert got == {
        (D(2024, 1, 31), "back"): "Other", (D(2024, 1, 31), "churn"): "Active",
        (D(2024, 1, 31), "ret"): "VIP", (D(2024, 1, 31), "up"): "Active",
        (D(2024, 2, 29), "back"): "Active", (D(2024, 2, 29), "churn"): "Other",
        (D(2024, 2, 29), "new"): "Active", (D(2024, 2, 29), "ret"): "Other",
        (D(2024, 2, 29), "up"): "VIP",
        (D(2024, 3, 31), "back"): "Other", (D(2024, 3, 31), "churn"): "Other",
        (D(2024, 3, 31), "new"): "Other", (D(2024, 3, 31), "ret"): "Other",
        (D(2024, 3, 31), "up"): "VIP",
    }
    assert s["tier"].dtype == pl.Enum(["VIP", "Active", "Other"])
    ret = s.filter(pl.col("customer_id") == "ret").select(
        "snapshot_date", "monetary", "frequency", "recency_days", "period_orders", "period_revenue"
    ).rows()
    assert ret == [
        (D(2024, 1, 31), 200.0, 1, 11, 1, 200.0),
        (D(2024, 2, 29), 80.0, 1, 40, 0, -120.0),
        (D(2024, 3, 31), 80.0, 1, 71, 0, 0.0),
    ]


def test_window_drops_customers_and_keeps_first_purchase_ever():
    s = snapshots(LOG, DATES, rules=RULES, bins=2, window_days=45)
    assert tiers(s) == {
        (D(2024, 1, 31), "churn"): "Active", (D(2024, 1, 31), "ret"): "VIP",
        (D(2024, 1, 31), "up"): "Active",
        (D(2024, 2, 29), "back"): "Active", (D(2024, 2, 29), "new"): "Active",
        (D(2024, 2, 29), "ret"): "Other", (D(2024, 2, 29), "up"): "VIP",
        (D(2024, 3, 31), "back"): "Other", (D(2024, 3, 31), "new"): "Other",
    }
    back = s.filter(pl.col("customer_id") == "back").row(0, named=True)
    assert (back["first_purchase"], back["first_purchase_ever"], back["monetary"]) == (
        D(2024, 2, 25), D(2023, 10, 1), 10.0,
    )


def test_datetime_dates_and_lazy_input_give_the_same_table():
    a = snapshots(LOG, DATES, rules=RULES, bins=2)
    b = snapshots(
        LOG.lazy().with_columns(pl.col("order_date").cast(pl.Datetime("us")) + pl.duration(hours=15)),
        [d.isoformat() for d in reversed(DATES)],
        rules=RULES, bins=2,
    )
    assert a.rows() == b.rows()


def test_fixed_cuts_hold_while_recomputed_cuts_follow_the_population():
    # 'a' and 'b' never buy again; 'c' and 'd' arrive in February with bigger baskets.
    tx = tx_frame([
        ("a", D(2024, 1, 5), 10.0, "1"), ("b", D(2024, 1, 6), 50.0, "2"),
        ("c", D(2024, 2, 10), 90.0, "3"), ("d", D(2024, 2, 11), 95.0, "4"),
    ])
    kw = dict(rules="Top: m_score == 2\nRest: else", bins=2)
    fixed = snapshots(tx, DATES[:2], cut_mode="fixed", **kw)
    recomputed = snapshots(tx, DATES[:2], cut_mode="recomputed", **kw)
    b_fixed = fixed.filter(pl.col("customer_id") == "b")["tier"].to_list()
    b_rec = recomputed.filter(pl.col("customer_id") == "b")["tier"].to_list()
    assert b_fixed == ["Rest", "Rest"]  # February's cut (90) applies to January too
    assert b_rec == ["Top", "Rest"]  # best in January, only third in February
    ref_jan = snapshots(tx, DATES[:2], cut_mode="fixed", reference_date="2024-01-31", **kw)
    assert ref_jan.filter(pl.col("customer_id") == "b")["tier"].to_list() == ["Top", "Top"]
    assert fixed_cuts(tx, "2024-01-31", bins=2).monetary == (50.0,)


def test_multi_line_orders_count_once_and_orders_spanning_days_follow_the_window():
    tx = tx_frame([
        ("a", D(2024, 1, 1), 10.0, "o1"), ("a", D(2024, 1, 1), 5.0, "o1"),
        ("a", D(2024, 1, 20), 5.0, "o1"),  # a late line of the same invoice
        ("a", D(2024, 1, 25), 7.0, "o2"),
    ])
    s = snapshots(tx, [D(2024, 1, 10), D(2024, 1, 31), D(2024, 2, 5)], rules="All: else", window_days=15)
    assert s.select("snapshot_date", "frequency", "monetary").rows() == [
        (D(2024, 1, 10), 1, 15.0), (D(2024, 1, 31), 2, 12.0), (D(2024, 2, 5), 1, 7.0),
    ]


def test_errors_and_labels():
    with pytest.raises(DataError):
        snapshots(LOG, [], rules=RULES)
    with pytest.raises(DataError):
        snapshots(LOG, DATES, rules=RULES, window_days=0)
    with pytest.raises(DataError):
        snapshots(LOG, DATES, rules=RULES, cut_mode="sometimes")
    with pytest.raises(DataError):
        snapshots(LOG, DATES, rules="__gone__: else")
    assert [state_label(s, "zh") for s in (NEW, BACK, GONE, "VIP")] == ["新客", "回流客户", "离开窗口", "VIP"]
    assert period_ends(LOG, period="quarter") == [D(2023, 12, 31), D(2024, 3, 31)]
    assert period_ends(LOG, period="week", start="2024-02-20") == [D(2024, 2, 25)]
    assert period_ends(LOG, period="week", start="2024-02-20", end="2024-03-01") == [D(2024, 2, 25), D(2024, 3, 3)]


def test_dates_before_any_purchase_give_no_rows():
    s = snapshots(LOG, [D(2020, 1, 1), D(2024, 1, 31)], rules=RULES, bins=2)
    assert s["snapshot_date"].unique().to_list() == [D(2024, 1, 31)]


# --- equivalence with the one-date pipeline -------------------------------------------------

CUSTOMERS = ["a", "b", "c", "d", "e", "007"]
row = st.tuples(
    st.sampled_from(CUSTOMERS),
    st.integers(0, 120).map(lambda n: D(2024, 1, 1) + dt.timedelta(days=n)),
    # Integers and halves add up exactly in floating point in any order.
    st.sampled_from([1.0, 2.5, 7.0, 20.0, 100.0, 0.0, -2.5, -20.0]),
    st.sampled_from(["x1", "x2", "x3", "x4"]) | st.uuids().map(str),
)
EQ_RULES = (
    "Best: r_score >= 3 and f_score >= 2 and m_score >= 3\n"
    "Loyal: f_score >= 2\nRecent: R <= 20\nRest: else"
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(row, min_size=1, max_size=30),
    dates=st.lists(st.integers(-5, 130).map(lambda n: D(2024, 1, 1) + dt.timedelta(days=n)), min_size=1, max_size=5),
    window=st.sampled_from([None, 1, 10, 45]),
    mode=st.sampled_from(["fixed", "recomputed"]),
    scoring=st.sampled_from([("quantile", 3), ("quantile", 5), ("median", 2), ("mean", 2)]),
)
def test_each_snapshot_equals_the_one_date_pipeline(rows, dates, window, mode, scoring):
    tx = tx_frame(rows)
    method, bins = scoring
    s = snapshots(tx, dates, rules=EQ_RULES, bins=bins, method=method, window_days=window, cut_mode=mode)
    ref = max(dates)
    cuts = fit_cuts(rfm_table(tx, as_of=ref, window_days=window), bins=bins, method=method)
    for d in sorted(set(dates)):
        rfm = rfm_table(tx, as_of=d, window_days=window)
        scored = score(rfm, bins=bins, method=method) if mode == "recomputed" else score(rfm, cuts=cuts)
        want = assign_tiers(scored, EQ_RULES).with_columns(pl.col("tier").cast(pl.String)).rows()
        got = (
            s.filter(pl.col("snapshot_date") == d)
            .drop("snapshot_date", "first_purchase_ever", "period_orders", "period_revenue")
            .with_columns(pl.col("tier").cast(pl.String))
            .rows()
        )
        assert got == want


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=30), window=st.sampled_from([None, 10, 45]))
def test_period_revenue_adds_up_to_the_net_amount_between_dates(rows, window):
    tx = tx_frame(rows)
    dates = [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31), D(2024, 4, 30)]
    s = snapshots(tx, dates, rules="All: else", window_days=window)
    for lo, hi in itertools.pairwise(dates):
        want = {
            c: v for c, v in tx.filter(pl.col("order_date") > lo, pl.col("order_date") <= hi)
            .group_by("customer_id").agg(pl.col("amount").sum()).rows()
        }
        got = dict(s.filter(pl.col("snapshot_date") == hi).select("customer_id", "period_revenue").rows())
        # Customers outside the window at `hi` are not in the snapshot; the rest match exactly.
        assert {c: v for c, v in want.items() if c in got} == {c: v for c, v in got.items() if c in want or v}


# --- exact money, multi-line orders and the exact ordering route -------------------------------


def test_cent_amounts_equal_the_one_date_table_to_the_last_bit():
    # Dividing by a million through its inverse gives 80.42999999999999 for 80.43; a rule on
    # the boundary must tier the customer as the one-date table does.
    amounts = {"a": 80.43, "b": 173.77, "c": 325.91, "d": 1743.89}
    tx = tx_frame([(c, D(2024, 1, 5), m, f"o{c}") for c, m in amounts.items()])
    s = snapshots(tx, [D(2024, 1, 31)], rules="Big: M >= 80.43\nSmall: else")
    assert dict(s.select("customer_id", "monetary").rows()) == amounts
    assert dict(s.select("customer_id", "avg_order_value").rows()) == amounts
    assert s["tier"].cast(pl.String).to_list() == ["Big"] * 4
    want = rfm_table(tx, as_of=D(2024, 1, 31)).drop("customer_id").rows()
    assert s.select("recency_days", "frequency", "monetary", "first_purchase", "last_purchase",
                    "tenure_days", "avg_order_value").rows() == want


def test_the_exact_ordering_route_gives_the_same_table(monkeypatch):
    # Used when two ids share a 48-bit hash prefix or dates span more than 179 years.
    import segmentation.snapshots as snap

    kw = dict(rules=RULES, bins=2, window_days=45)
    fast = snapshots(LOG, DATES, **kw)
    monkeypatch.setattr(snap, "_order_by_hash", lambda *a: None)
    assert snapshots(LOG, DATES, **kw).rows() == fast.rows()
    old_row = tx_frame([("back", D(1800, 1, 1), 5.0, "o0")])
    wide = snapshots(pl.concat([LOG, old_row]), DATES, rules=RULES, bins=2)
    assert wide.filter(pl.col("customer_id") == "back")["first_purchase_ever"].to_list() == [D(1800, 1, 1)] * 3


cent_row = st.tuples(
    st.sampled_from(CUSTOMERS),
    st.integers(0, 120).map(lambda n: D(2024, 1, 1) + dt.timedelta(days=n)),
    st.sampled_from([0.1, 0.2, 80.43, 325.91, 1743.89, 1e-9, 0.0, -0.07, -80.43]) | st.none(),
    # Few order ids, some missing: orders span rows, days and customers.
    st.sampled_from(["x1", "x2", "x3"]) | st.none(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(cent_row, min_size=1, max_size=30),
    dates=st.lists(st.integers(-5, 130).map(lambda n: D(2024, 1, 1) + dt.timedelta(days=n)), min_size=1, max_size=5),
    window=st.sampled_from([None, 1, 10, 45]),
)
def test_multi_line_orders_and_cents_give_the_one_date_rfm_table(rows, dates, window):
    tx = tx_frame(rows)
    s = snapshots(tx, dates, rules="All: else", window_days=window)
    for d in sorted(set(dates)):
        want = rfm_table(tx, as_of=d, window_days=window).rows()
        got = s.filter(pl.col("snapshot_date") == d).select(
            "customer_id", "recency_days", "frequency", "monetary", "first_purchase", "last_purchase",
            "tenure_days", "avg_order_value",
        ).rows()
        assert got == want


# --- one reference date (the view's as-of date) for every page ----------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(row, min_size=1, max_size=30),
    extra=st.integers(-5, 130).map(lambda n: D(2024, 1, 1) + dt.timedelta(days=n)),
    window=st.sampled_from([None, 10, 45]),
    scoring=st.sampled_from([("quantile", 3), ("quantile", 5), ("median", 2)]),
)
def test_adding_a_date_changes_nothing_between_the_others_when_the_reference_date_is_fixed(rows, extra, window, scoring):
    from segmentation.kpis import kpi_trends
    from segmentation.migration import transitions
    from segmentation.spec import TieringSpec

    tx = tx_frame(rows)
    method, bins = scoring
    spec = TieringSpec(rules=EQ_RULES, bins=bins, method=method, window_days=window)
    as_of = D(2024, 4, 14)
    base = [D(2024, 1, 31), D(2024, 2, 29), as_of]
    s1 = snapshots(tx, base, spec, reference_date=as_of)
    s2 = snapshots(tx, sorted({*base, extra}), spec, reference_date=as_of)
    assert tiers(s1) == {k: v for k, v in tiers(s2).items() if k[0] in base}
    t1 = transitions(s1, base, tx=tx).drop("direction")
    t2 = transitions(s2, base, tx=tx).drop("direction")
    assert t1.rows() == t2.rows()
    # Overview at the as-of date: rfm_table + score + assign_tiers with the same settings.
    rfm = rfm_table(tx, as_of=as_of, window_days=window)
    overview = assign_tiers(score(rfm, bins=bins, method=method), EQ_RULES)
    want = dict(overview.select("customer_id", pl.col("tier").cast(pl.String)).rows())
    at_as_of = {c: str(t) for (d, c), t in tiers(s1).items() if d == as_of}
    assert at_as_of == want
    # Trends at the as-of date counts the same customers per tier (its default reference is the as-of).
    k = kpi_trends(tx, spec, end=as_of, start=D(2024, 4, 1))
    counts = overview.group_by(pl.col("tier").cast(pl.String)).len()
    got = dict(k.filter(pl.col("period_last_day") == as_of, pl.col("tier") != GONE).select("tier", "customers").rows())
    assert {t: n for t, n in got.items() if n} == dict(counts.rows())


def test_an_order_over_several_days_is_one_order_in_the_period_of_its_first_line():
    tx = tx_frame([("a", D(2024, 1, 31), 10.0, "inv1"), ("a", D(2024, 2, 1), 5.0, "inv1"),
                   ("a", D(2024, 2, 10), 7.0, "inv2"), ("b", D(2024, 2, 2), 3.0, "inv3")])
    s = snapshots(tx, [D(2024, 1, 31), D(2024, 2, 29)], rules="All: else")
    got = s.select("snapshot_date", "customer_id", "frequency", "period_orders", "period_revenue").rows()
    assert got == [
        (D(2024, 1, 31), "a", 1, 1, 10.0), (D(2024, 2, 29), "a", 2, 1, 12.0), (D(2024, 2, 29), "b", 1, 1, 3.0),
    ]
    # Period orders add up to the real number of distinct orders.
    assert s["period_orders"].sum() == tx.select(pl.struct("customer_id", "order_id").n_unique()).item()
