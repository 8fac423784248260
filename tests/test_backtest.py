"""Backtest: tiers at a past date measured on what customers did in (T, T + h].

Expectations are worked out by hand from the logs, or computed independently: DuckDB SQL for
the window's per-customer and per-tier totals, plain Python for captured value and the gap
closed, scipy for the rank correlation.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from fractions import Fraction
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from tx_logs import RULES, STORY, D, tx_frame

from segmentation.backtest import (
    METRICS,
    NEW,
    UNTIERED,
    _window_outcomes_at,  # the shared windows, checked against window_outcomes
    backtest,
    customers_at,
    evaluate,
    latest_as_of,
    preset_spec,
    suggest_thresholds,
    tier_customers,
    walk_forward,
    window_outcomes,
    write_backtest,
)
from segmentation.errors import DataError
from segmentation.spec import TieringSpec

LOG = tx_frame(STORY)
SPEC = TieringSpec(rules=RULES)
CDNOW = Path(__file__).parent / "data" / "cdnow" / "CDNOW_sample.txt"


def cdnow_tx() -> pl.DataFrame:
    # master id, sample id, yyyymmdd, number of CDs, dollar value; one purchase per line.
    fields = np.array(CDNOW.read_text().split()).reshape(-1, 5)
    return pl.DataFrame({
        "customer_id": fields[:, 1],
        "order_date": pl.Series(fields[:, 2]).str.to_date("%Y%m%d"),
        "amount": fields[:, 4].astype(float),
        "order_id": [str(i) for i in range(len(fields))],
    })


# --------------------------------------------------------------------------------------------
# Hand-worked example
# --------------------------------------------------------------------------------------------
# At T = 2024-01-31 (rules VIP: M >= 100, Active: R <= 30, Other: else): ret is VIP (M 200),
# up (R 21) and churn (R 16) are Active, back (R 122) is Other; new has not bought yet.
# Window (2024-01-31, 2024-02-25]: up buys 150, ret returns 120, new buys 30, back buys 10.


def test_tier_table_by_hand():
    r = backtest(LOG, SPEC, as_of="2024-01-31", horizon_days=25, compare=False, within="none")
    assert r.as_of == D(2024, 1, 31) and r.scale == 100
    got = r.tiers.select("row", "kind", "customers", "customer_share", "active", "buyers", "buyer_share",
                         "lapsed_share", "orders", "revenue_minor", "revenue_per_customer").rows()
    assert got == [
        ("VIP", "tier", 1, 0.25, 1, 0, 0.0, 1.0, 0, -12000, -120.0),
        ("Active", "tier", 2, 0.5, 1, 1, 0.5, 0.5, 1, 15000, 75.0),
        ("Other", "tier", 1, 0.25, 1, 1, 1.0, 0.0, 1, 1000, 10.0),
        (NEW, "new", 1, None, 1, 1, 1.0, None, 1, 3000, 30.0),
        (UNTIERED, "untiered", 0, None, 0, 0, None, None, 0, 0, None),
    ]
    assert r.tiers["revenue_share"].to_list() == pytest.approx([-120 / 70, 150 / 70, 10 / 70, 30 / 70, 0.0])


def test_empty_catch_all_tier_is_left_out_but_an_empty_named_tier_stays():
    # Without "else": at T everybody is VIP (ret) or Active (up, churn) or matches "Old: R > 100"
    # (back), so the implicit catch-all is empty; "Ghost" matches nobody but is the user's tier.
    spec = TieringSpec(rules="Ghost: M > 1000\nVIP: M >= 100\nActive: R <= 30\nOld: R > 100")
    r = backtest(LOG, spec, as_of="2024-01-31", horizon_days=25, compare=False, within="none")
    assert r.tiers.select("row", "customers").rows() == [
        ("Ghost", 0), ("VIP", 1), ("Active", 2), ("Old", 1), (NEW, 1), (UNTIERED, 0)]
    # With "Old" gone, "back" lands in the catch-all, which is then a row like any tier.
    spec = TieringSpec(rules="VIP: M >= 100\nActive: R <= 30")
    r = backtest(LOG, spec, as_of="2024-01-31", horizon_days=25, compare=False, within="none")
    assert r.tiers.select("row", "customers", "revenue_minor").rows() == [
        ("VIP", 1, -12000), ("Active", 2, 15000), ("Unassigned", 1, 1000), (NEW, 1, 3000), (UNTIERED, 0, 0)]


def test_quality_by_hand():
    r = backtest(LOG, SPEC, as_of="2024-01-31", horizon_days=25, compare=False, within="none")
    q = r.current
    # Revenue per customer in value order: -120, 75, 10 -> (VIP, Active) and (VIP, Other) inverted.
    assert (q["inversions"], q["tier_pairs"]) == (2.0, 3.0)
    assert q["spearman"] == pytest.approx(-0.5)
    # Top tier -120 per customer; all tiered: (-120 + 150 + 10) / 4 = 10.
    assert q["top_tier_lift"] == pytest.approx(-12.0)
    # Ranked blocks: [-120], [150, 0], [10] of total 40; curve (0,0) (.25,-3) (.75,.75) (1,1).
    assert q["captured_10"] == pytest.approx(-1.2) and q["captured_20"] == pytest.approx(-2.4)
    # Perfect order 150, 10, 0, -120: (.25, 3.75) (.5, 4) (.75, 4) (1, 1).
    assert q["perfect_10"] == pytest.approx(1.5) and q["perfect_20"] == pytest.approx(3.0)
    assert (q["random_10"], q["random_20"]) == (0.1, 0.2)
    # Areas -39/32 + 1/2 ... : (-0.71875 - 0.5) / (3.0625 - 0.5) = -39/82.
    assert q["gap_closed"] == pytest.approx(-39 / 82)
    assert set(r.quality["metric"]) <= set(METRICS)
    assert r.quality.filter(pl.col("metric") == "spearman")["definition_zh"].item().startswith("层级价值顺序")


def test_purchase_on_the_as_of_day_is_history_and_last_window_day_counts():
    # up's 150 on 2024-02-05 is history at T = 2024-02-05; back's 10 on 02-25 = T + 20 is in the window.
    out = window_outcomes(LOG, "2024-02-05", 20)
    assert out.frame.rows() == [
        ("back", True, 1, 1000, True), ("new", False, 1, 3000, True), ("ret", True, 0, -12000, False),
    ]
    assert out.window_end == D(2024, 2, 25)


def test_data_must_reach_t_plus_h_and_message_names_latest_t():
    assert latest_as_of(LOG, 25) == D(2024, 1, 31)
    window_outcomes(LOG, "2024-01-31", 25)
    with pytest.raises(DataError, match="latest as-of date with a full 25-day window is 2024-01-31"):
        window_outcomes(LOG, "2024-02-01", 25)
    with pytest.raises(DataError, match="choose a shorter horizon"):
        window_outcomes(LOG, "2024-02-01", 400)
    with pytest.raises(DataError, match="data starts on 2023-10-01"):
        window_outcomes(LOG, "2023-09-30", 30)
    with pytest.raises(DataError, match="positive whole number"):
        window_outcomes(LOG, "2024-01-31", 0)


def test_first_day_of_data_is_a_usable_t():
    out = backtest(LOG, SPEC, as_of="2023-10-01", horizon_days=100, compare=False)
    assert out.tiers.filter(pl.col("kind") == "tier")["customers"].sum() == 1  # only back had bought


def test_customer_level_data_cannot_be_backtested():
    customers = pl.DataFrame({"customer_id": ["a"], "recency_days": [3], "frequency": [2], "monetary": [9.0]})
    with pytest.raises(DataError, match="customer-level summary, which cannot be backtested"):
        backtest(customers, SPEC)


def test_returns_only_before_t_is_untiered_and_returns_only_in_window_is_not_a_buyer():
    tx = tx_frame([
        ("r", D(2024, 1, 5), -20.0, "x1"),  # only a return before T: no tier at T
        ("r", D(2024, 2, 3), 50.0, "x2"),
        ("b", D(2024, 1, 5), 80.0, "x3"),
        ("b", D(2024, 2, 2), -30.0, "x4"),  # only a return in the window
        ("b", D(2024, 2, 9), 0.0, "x5"),  # zero amount: neither purchase nor return
    ])
    r = backtest(tx, TieringSpec(rules="All: else"), as_of="2024-01-31", horizon_days=9, compare=False)
    rows = {row["row"]: row for row in r.tiers.iter_rows(named=True)}
    assert (rows["All"]["customers"], rows["All"]["active"], rows["All"]["buyers"]) == (1, 1, 0)
    assert (rows["All"]["orders"], rows["All"]["revenue_minor"], rows["All"]["lapsed_share"]) == (0, -3000, 1.0)
    assert (rows[UNTIERED]["customers"], rows[UNTIERED]["orders"], rows[UNTIERED]["revenue_minor"]) == (1, 1, 5000)
    assert rows[NEW]["customers"] == 0


def test_no_activity_after_t_gives_zero_rows_and_no_shares():
    tx = tx_frame([("a", D(2024, 1, 1), 10.0, "1"), ("b", D(2024, 1, 2), 20.0, "2"),
                   ("a", D(2024, 1, 10), 0.0, "3")])
    r = backtest(tx, SPEC, as_of="2024-01-02", horizon_days=8, compare=False)
    assert r.tiers["active"].sum() == 0 and r.tiers["revenue_minor"].sum() == 0
    assert r.tiers["revenue_share"].null_count() == r.tiers.height
    assert r.current["captured_10"] is None and r.current["gap_closed"] is None
    assert r.tiers.filter(pl.col("kind") == "tier")["lapsed_share"].drop_nulls().to_list() == [1.0]


def test_single_tier_ranks_like_random():
    r = backtest(LOG, TieringSpec(rules="All: else"), as_of="2024-01-31", horizon_days=25, compare=False,
                 within="none")
    assert r.current["gap_closed"] == 0.0
    assert (r.current["captured_10"], r.current["captured_20"]) == pytest.approx((0.1, 0.2))
    assert (r.current["inversions"], r.current["tier_pairs"], r.current["spearman"]) == (0.0, 0.0, None)


def test_tier_customers_retiers_a_cached_table():
    cached = customers_at(LOG, "2024-01-31", SPEC)
    other = TieringSpec(rules="Big: M >= 50\nSmall: else")
    assert tier_customers(cached, other).equals(customers_at(LOG, "2024-01-31", other))


def test_evaluate_on_cached_outcomes_equals_backtest():
    out = window_outcomes(LOG, "2024-01-31", 25)
    tiered = customers_at(LOG, "2024-01-31", SPEC)
    ev = evaluate(tiered, out, SPEC)
    assert ev.tiers.equals(backtest(LOG, SPEC, as_of="2024-01-31", horizon_days=25, compare=False).tiers)


def test_value_order_decides_inversions():
    spec = SPEC.replace(value_order=("Active", "Other", "VIP"))
    r = backtest(LOG, spec, as_of="2024-01-31", horizon_days=25, compare=False)
    assert r.tiers["row"].to_list()[:3] == ["Active", "Other", "VIP"]
    assert r.current["inversions"] == 0.0 and r.current["spearman"] == pytest.approx(1.0)


def test_no_order_id_means_one_order_per_row():
    tx = LOG.drop("order_id")
    r = backtest(tx, SPEC, as_of="2024-01-31", horizon_days=25, compare=False)
    assert r.tiers["orders"].sum() == 3


# --------------------------------------------------------------------------------------------
# Independent check: DuckDB SQL from the definitions
# --------------------------------------------------------------------------------------------


def sql_outcomes(tx: pl.DataFrame, t: dt.date, h: int) -> dict[str, tuple]:
    end = t + dt.timedelta(days=h)
    rows = duckdb.sql(
        f"""
        with tx as (select customer_id, cast(order_date as date) as d, amount, order_id from tx)
        select w.customer_id,
               exists (select 1 from tx p where p.customer_id = w.customer_id and p.d <= DATE '{t}') as seen,
               count(distinct w.order_id) filter (where w.amount > 0) as orders,
               sum(cast(round(w.amount * 100) as bigint)) as cents
        from tx w
        where w.d > DATE '{t}' and w.d <= DATE '{end}' and w.amount <> 0
        group by w.customer_id
        """
    ).fetchall()
    return {r[0]: (bool(r[1]), int(r[2]), int(r[3])) for r in rows}


def sql_tier_table(tiered: pl.DataFrame, tx: pl.DataFrame, t: dt.date, h: int) -> dict[str, tuple]:
    cust = sql_outcomes(tx, t, h)
    win = pl.DataFrame(
        [(k, *v) for k, v in cust.items()],
        schema={"customer_id": pl.String, "seen": pl.Boolean, "orders": pl.Int64, "cents": pl.Int64}, orient="row",
    )
    tiers = tiered.select("customer_id", pl.col("tier").cast(pl.String))
    con = duckdb.connect()
    con.register("win", win)
    con.register("tiers", tiers)
    rows = con.sql(
        """
        select coalesce(t.tier, case when w.seen then '__untiered__' else '__new__' end) as row,
               count(*) as customers, count(w.customer_id) as active,
               count(*) filter (where w.orders > 0) as buyers,
               coalesce(sum(w.orders), 0) as orders, coalesce(sum(w.cents), 0) as cents
        from tiers t full outer join win w on t.customer_id = w.customer_id
        group by 1
        """
    ).fetchall()
    return {r[0]: tuple(int(x) for x in r[1:]) for r in rows}


def check_against_sql(tx: pl.DataFrame, spec: TieringSpec, t: dt.date, h: int) -> None:
    out = window_outcomes(tx, t, h)
    assert out.scale == 100
    got = {r[0]: (r[1], r[2], r[3]) for r in out.frame.iter_rows()}
    expected = sql_outcomes(tx, t, h)
    assert got == expected
    tiered = customers_at(tx, t, spec)
    table = evaluate(tiered, out, spec).tiers
    got_rows = {
        r["row"]: (r["customers"], r["active"], r["buyers"], r["orders"], r["revenue_minor"])
        for r in table.iter_rows(named=True)
        if r["customers"] > 0 or r["kind"] != "tier"
    }
    want = sql_tier_table(tiered, tx, t, h)
    for row, vals in got_rows.items():
        assert vals == want.get(row, (0, 0, 0, 0, 0)), row
    assert set(want) <= set(got_rows)
    # The rows add up exactly to the window's customers, orders and money.
    assert table["active"].sum() == len(expected)
    assert table["orders"].sum() == sum(v[1] for v in expected.values())
    assert table["revenue_minor"].sum() == sum(v[2] for v in expected.values())


rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e", "007", "客户"]),
        st.integers(0, 60),
        st.integers(-5000, 20000),
        st.sampled_from(["o1", "o2", "o3", "o4", "o5", "o6"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy, t_off=st.integers(0, 60), h=st.integers(1, 60), window=st.sampled_from([None, 20]))
def test_random_logs_agree_with_sql(rows, t_off, h, window):
    start = D(2024, 1, 1)
    tx = tx_frame([(c, start + dt.timedelta(days=d), cents / 100, o) for c, d, cents, o in rows])
    days = [d for _, d, _, _ in rows]
    assume(max(days) > min(days))
    # T anywhere from the first day to the day before the last; h up to the last day.
    t_off = min(days) + t_off % (max(days) - min(days))
    h = 1 + h % (max(days) - t_off)
    spec = TieringSpec(rules="Hot: R <= 10 and M >= 50\nWarm: r_score >= 2\nCold: else", bins=3, window_days=window)
    check_against_sql(tx, spec, start + dt.timedelta(days=t_off), h)


def test_cdnow_agrees_with_sql():
    spec = preset_spec("cn8", lang="zh")
    check_against_sql(cdnow_tx(), spec, D(1997, 9, 30), 273)


# --------------------------------------------------------------------------------------------
# Captured value, gap closed and rank correlation from the definitions
# --------------------------------------------------------------------------------------------


def python_quality(keys: list[tuple], y: list[int], p: Fraction) -> tuple[Fraction, Fraction]:
    """Captured share at p and gap closed, exactly, for a ranking (higher keys first, ties
    in random order: a partly taken group contributes its average per customer)."""
    n, total = len(y), sum(y)
    groups: dict[tuple, list[int]] = {}
    for k, v in zip(keys, y, strict=True):
        groups.setdefault(k, []).append(v)
    ordered = [groups[k] for k in sorted(groups, reverse=True)]
    perfect = [[v] for v in sorted(y, reverse=True)]

    def captured(blocks):
        left, got = p * n, Fraction(0)
        for b in blocks:
            take = min(left, len(b))
            got += Fraction(sum(b)) * take / len(b)
            left -= take
        return got / total

    def area(blocks):
        acc, before = Fraction(0), Fraction(0)
        for b in blocks:
            share = Fraction(sum(b), total)
            acc += Fraction(len(b), n) * (before + share / 2)
            before += share
        return acc

    gap = (area(ordered) - Fraction(1, 2)) / (area(perfect) - Fraction(1, 2))
    return captured(ordered), gap


def dated_rows(first: int, last: int, low: int):
    return st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "007"]), st.integers(first, last), st.integers(low, 20000),
                  st.sampled_from(["o1", "o2", "o3", "o4"])),
        min_size=1, max_size=25,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=dated_rows(0, 29, -2000), window=dated_rows(30, 59, -5000),
       within=st.sampled_from(["score", "monetary", "none"]))
def test_captured_and_gap_closed_match_the_definition(history, window, within):
    start = D(2024, 1, 1)
    rows = [(c, start + dt.timedelta(days=d), cents / 100, f"{d}-{o}") for c, d, cents, o in history + window]
    rows.append(("zz", D(2024, 2, 29), 1.0, "end"))
    tx = tx_frame(rows)
    t, h = D(2024, 1, 30), 30
    spec = TieringSpec(rules="Hot: R <= 10\nWarm: M >= 50\nCold: else", bins=3)
    tiered = customers_at(tx, t, spec)
    out = window_outcomes(tx, t, h)
    ev = evaluate(tiered, out, spec, within=within)
    cents = dict(out.frame.select("customer_id", "revenue_minor").iter_rows())
    pos = {"Hot": 2, "Warm": 1, "Cold": 0}
    keys, y = [], []
    for r in tiered.iter_rows(named=True):
        inner = {"score": r["r_score"] + r["f_score"] + r["m_score"], "monetary": r["monetary"], "none": 0}[within]
        keys.append((pos[r["tier"]], inner))
        y.append(cents.get(r["customer_id"], 0))
    assume(sum(y) > 0 and len(set(y)) > 1)
    for p, name in ((Fraction(1, 10), "captured_10"), (Fraction(1, 5), "captured_20")):
        cap, gap = python_quality(keys, y, p)
        assert ev[name] == pytest.approx(float(cap), rel=1e-9, abs=1e-9)
    assert ev["gap_closed"] == pytest.approx(float(gap), rel=1e-9, abs=1e-9)
    # Tier-level Spearman against scipy, and inversions counted pair by pair.
    tiers = ev.tiers.filter((pl.col("kind") == "tier") & (pl.col("customers") > 0))
    rpc = tiers["revenue_per_customer"].to_list()
    if len(rpc) >= 2 and len(set(rpc)) > 1:
        assert ev["spearman"] == pytest.approx(spearmanr([-i for i in range(len(rpc))], rpc).statistic)
    assert ev["inversions"] == sum(rpc[j] > rpc[i] for i in range(len(rpc)) for j in range(i + 1, len(rpc)))
    # Nothing beats perfect hindsight.
    assert ev["captured_10"] <= ev["perfect_10"] + 1e-12
    assert ev["captured_20"] <= ev["perfect_20"] + 1e-12
    assert ev["gap_closed"] <= 1 + 1e-12


def test_gains_frame_has_every_ranking_and_references():
    r = backtest(cdnow_tx(), preset_spec("cn8"), as_of="1997-09-30", horizon_days=273, preset="segments11")
    assert r.gains["ranking"].unique(maintain_order=True).to_list() == [
        "current", "preset", "recency", "clv", "random", "perfect"
    ]
    for name, g in r.gains.group_by("ranking"):
        assert g.height == 101, name
        assert g["customer_share"][0] == 0.0 and g["revenue_share"][0] == 0.0
        assert g["revenue_share"][-1] == pytest.approx(1.0)
    random_line = r.gains.filter(pl.col("ranking") == "random")
    assert random_line["revenue_share"].to_list() == pytest.approx(random_line["customer_share"].to_list())
    cmp = {row["ranking"]: row for row in r.comparison.iter_rows(named=True)}
    assert set(cmp) == {"current", "preset", "recency", "clv"}
    # All rankings on the same customers: everyone with a purchase of more than $0 by T (all 2,357
    # CDNOW customers joined in Q1 1997, but 8 have only $0 lines).
    buyers = cdnow_tx().filter((pl.col("amount") > 0) & (pl.col("order_date") <= D(1997, 9, 30)))
    assert buyers["customer_id"].n_unique() == 2349
    assert all(row["customers"] == 2349 for row in cmp.values())
    for row in cmp.values():
        assert row["random_20"] < row["captured_20"] <= row["perfect_20"]
    # The captured value read off the curve equals the reported number.
    cur = r.gains.filter((pl.col("ranking") == "current") & (pl.col("customer_share") == 0.2))
    assert cur["revenue_share"].item() == pytest.approx(cmp["current"]["captured_20"])


def test_clv_row_explains_when_the_model_cannot_be_fitted():
    r = backtest(LOG, SPEC, as_of="2024-01-31", horizon_days=25)
    clv = r.comparison.filter(pl.col("ranking") == "clv")
    assert clv["captured_10"].item() is None and clv["note"].item()


# --------------------------------------------------------------------------------------------
# Walk-forward, suggestions, files
# --------------------------------------------------------------------------------------------


def test_walk_forward_equals_one_backtest_per_date():
    tx = cdnow_tx()
    spec = preset_spec("groups6")
    wf = walk_forward(tx, spec, horizon_days=90, period="quarter")
    assert wf["as_of"].to_list() == [D(1997, 3, 31), D(1997, 6, 30), D(1997, 9, 30), D(1997, 12, 31),
                                     D(1998, 3, 31)]
    one = backtest(tx, spec, as_of="1997-09-30", horizon_days=90, compare=False)
    row = wf.filter(pl.col("as_of") == D(1997, 9, 30)).row(0, named=True)
    for k in ("captured_10", "captured_20", "gap_closed", "inversions", "spearman", "top_tier_lift"):
        assert row[k] == pytest.approx(one.current[k])


def _one_by_one(tx: pl.DataFrame, spec: TieringSpec, dates: list[dt.date], h: int, within: str) -> list[dict]:
    """The walk-forward as it was first written: a whole backtest at each date on its own."""
    out = []
    for t in dates:
        ev = evaluate(customers_at(tx, t, spec), window_outcomes(tx, t, h), spec, within=within)
        out.append({"as_of": t, **ev.values})
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "f"]), st.integers(0, 200),
                  st.sampled_from([-30.0, 5.0, 12.5, 40.0, 99.99, 250.0, 0.125, 0.0]),
                  st.sampled_from(["o1", "o2", "o3", "o4", "o5", "o6", "o7"])),
        min_size=1, max_size=60),
    h=st.integers(1, 90),
    window=st.sampled_from([None, 45]),
    method=st.sampled_from(["quantile", "thresholds", "median"]),
    within=st.sampled_from(["score", "monetary", "none"]),
    order_ids=st.booleans(),
)
def test_walk_forward_shares_work_but_equals_a_backtest_at_every_date(rows, h, window, method, within, order_ids):
    tx = pl.DataFrame(
        [(c, D(2024, 1, 1) + dt.timedelta(days=d), a, o) for c, d, a, o in rows],
        schema={"customer_id": pl.String, "order_date": pl.Date, "amount": pl.Float64, "order_id": pl.String},
        orient="row",
    )
    if not order_ids:
        tx = tx.drop("order_id")  # every row is its own order
    spec = TieringSpec(rules="Top: r_score >= 2 and m_score >= 2\nMid: F >= 2\nLow: else", bins=3, method=method,
                       thresholds="R:30,90;F:2,3;M:20,100" if method == "thresholds" else None, window_days=window)
    try:
        wf = walk_forward(tx, spec, horizon_days=h, period="month", within=within)
    except DataError:
        return
    dates = wf["as_of"].to_list()
    # The shared windows hold exactly what window_outcomes finds date by date (scale included).
    for shared, t in zip(_window_outcomes_at(tx, dates, h), dates, strict=True):
        alone = window_outcomes(tx, t, h)
        assert shared.scale == alone.scale
        assert shared.frame.equals(alone.frame), t
    for got, want in zip(wf.iter_rows(named=True), _one_by_one(tx, spec, dates, h, within), strict=True):
        for k, v in got.items():
            if k == "as_of" or want[k] is None:
                assert v == want[k], k
            else:
                assert v == pytest.approx(want[k], rel=1e-12, abs=1e-12), k


def test_shared_windows_stay_exact_when_two_customer_ids_share_a_hash(monkeypatch):
    # Every id hashed alike: each (hash, window) group mixes customers, so the exact grouping runs.
    tx = cdnow_tx()
    dates = [D(1997, 3, 31), D(1997, 6, 30), D(1997, 9, 30)]
    monkeypatch.setattr(pl.Expr, "hash", lambda self, *args, **kwargs: pl.lit(7, pl.UInt64))
    for shared, t in zip(_window_outcomes_at(tx, dates, 90), dates, strict=True):
        alone = window_outcomes(tx, t, 90)
        assert shared.frame.height > 100 and shared.frame.equals(alone.frame)


MIXED = TieringSpec(
    rules="Top: r_score >= 3 and M >= 100\nMid: f_score >= 2\nRest: else", bins=3, method="thresholds",
    thresholds="R:60,180;F:2,4;M:50,150",
)


@pytest.mark.parametrize("spec", [preset_spec("segments11"), MIXED], ids=["score-only rules", "mixed rules"])
def test_suggestions_are_ready_specs_with_before_and_after_on_two_dates(spec):
    tx = cdnow_tx()
    s = suggest_thresholds(tx, spec, as_of="1998-03-31", horizon_days=90, top=3)
    assert (s.fit_as_of, s.check_as_of) == (D(1997, 12, 31), D(1998, 3, 31))
    assert s.tried > 20 and len(s.items) >= 1
    assert s.table.height == len(s.items)
    for item in s.items:
        assert item.spec.method == "thresholds" and item.spec.rules == spec.rules
        assert item.fit_after["gap_closed"] > item.fit_before["gap_closed"]
        # The reported numbers are what a backtest of the suggested spec gives.
        later = backtest(tx, item.spec, as_of="1998-03-31", horizon_days=90, compare=False)
        assert item.check_after["gap_closed"] == pytest.approx(later.current["gap_closed"])
        earlier = backtest(tx, item.spec, as_of="1997-12-31", horizon_days=90, compare=False)
        assert item.fit_after["captured_20"] == pytest.approx(earlier.current["captured_20"])
        # The thresholds text round-trips, so the suggestion can travel in a link.
        assert item.spec.replace(thresholds=item.spec.thresholds) == item.spec
    before = backtest(tx, spec, as_of="1998-03-31", horizon_days=90, compare=False)
    assert s.items[0].check_before["gap_closed"] == pytest.approx(before.current["gap_closed"])


def test_suggestions_say_why_bins_stay_for_mean_scoring():
    s = suggest_thresholds(cdnow_tx(), preset_spec("cn8"), as_of="1998-03-31", horizon_days=90)
    assert any("two score levels" in en for en, _ in s.notes)


def test_suggestions_need_an_earlier_window():
    with pytest.raises(DataError, match="before the data starts"):
        suggest_thresholds(LOG, SPEC, horizon_days=100)


def test_write_backtest_csv_and_json(tmp_path):
    r = backtest(LOG, SPEC, as_of="2024-01-31", horizon_days=25)
    written = write_backtest(r, tmp_path / "out")
    assert sorted(p.name for p in written) == ["backtest.json", "comparison.csv", "quality.csv", "tiers.csv"]
    tiers = pl.read_csv(tmp_path / "out" / "tiers.csv")
    assert tiers["revenue_minor"].to_list() == [-12000, 15000, 1000, 3000, 0]
    doc = json.loads((tmp_path / "out" / "backtest.json").read_text(encoding="utf-8"))
    assert (doc["as_of"], doc["window_end"], doc["minor_units_per_currency_unit"]) == ("2024-01-31", "2024-02-25", 100)
    assert [row["metric"] for row in doc["quality"]][:3] == ["customers", "inversions", "tier_pairs"]
    only = write_backtest(r, tmp_path / "b.json")
    assert only == [tmp_path / "b.json"] and json.loads(only[0].read_text(encoding="utf-8"))["horizon_days"] == 25
    assert not any(isinstance(v, float) and math.isnan(v) for row in doc["tiers"] for v in row.values())


def test_within_tier_ranking_by_clv():
    tx = cdnow_tx()
    by_clv = backtest(tx, preset_spec("cn8"), as_of="1997-09-30", horizon_days=273, within="clv", compare=False)
    by_score = backtest(tx, preset_spec("cn8"), as_of="1997-09-30", horizon_days=273, compare=False)
    # Same tiers, so the same tier table and order agreement; only the order inside tiers moves.
    assert by_clv.tiers.equals(by_score.tiers)
    assert by_clv.current["inversions"] == by_score.current["inversions"]
    assert by_clv.current["captured_10"] != by_score.current["captured_10"]
    with pytest.raises(DataError, match="within-tier ranking"):
        evaluate(customers_at(tx, "1997-09-30", preset_spec("cn8")), window_outcomes(tx, "1997-09-30", 273),
                 within="clv")


def test_write_backtest_leaves_no_temporary_files(tmp_path):
    r = backtest(LOG, SPEC, as_of="2024-01-31", horizon_days=25, compare=False)
    write_backtest(r, tmp_path)
    write_backtest(r, tmp_path)  # a second run replaces the files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backtest.json", "comparison.csv", "quality.csv", "tiers.csv"]


def test_score_only_rules_on_many_customers_tier_as_assign_tiers_does():
    from segmentation.demo import generate
    from segmentation.rules import assign_tiers
    from segmentation.scoring import score

    tx = generate(14_000, seed=3)
    spec = preset_spec("segments11")
    cached = customers_at(tx, "2025-06-30", spec)
    assert cached.height > 10_000
    for s in (spec, preset_spec("value3"), preset_spec("groups6")):
        direct = assign_tiers(score(cached.drop("r_score", "f_score", "m_score", "tier"), bins=s.bins), s.ruleset)
        assert tier_customers(cached, s)["tier"].equals(direct["tier"])


def test_rules_on_clv_are_backtested_with_the_model_fitted_at_t():
    tx = cdnow_tx()
    spec = TieringSpec(rules="Likely: P_ALIVE >= 0.5 and CLV >= 50\nRest: else")
    r = backtest(tx, spec, as_of="1997-09-30", horizon_days=273, compare=False)
    rows = {row["row"]: row for row in r.tiers.iter_rows(named=True)}
    assert rows["Likely"]["customers"] > 0 and rows["Rest"]["customers"] > 0
    assert rows["Likely"]["revenue_per_customer"] > rows["Rest"]["revenue_per_customer"]
    # Cached customers without the CLV columns get them fitted too.
    plain = customers_at(tx, "1997-09-30", preset_spec("cn8"))
    again = backtest(tx, spec, as_of="1997-09-30", horizon_days=273, compare=False, customers=plain)
    assert again.tiers.equals(r.tiers)


def test_nobody_tiered_at_t():
    # The only row on or before T is a return: nobody has a tier, everyone in the window is
    # "not tiered" or new, and the ranking measures are empty rather than made up.
    tx = tx_frame([("a", D(2024, 1, 1), -5.0, "r"), ("a", D(2024, 1, 5), 20.0, "1"), ("b", D(2024, 1, 6), 7.0, "2")])
    r = backtest(tx, SPEC, as_of="2024-01-01", horizon_days=5)
    assert r.tiers.filter(pl.col("kind") != "tier").select("row", "customers", "revenue_minor").rows() == [
        (NEW, 1, 700), (UNTIERED, 1, 2000)
    ]
    assert r.tiers.filter(pl.col("kind") == "tier")["customers"].sum() == 0
    assert r.comparison.filter(pl.col("ranking") == "current")["captured_10"].item() is None


def test_corpus_file_with_returns_and_zero_amounts():
    from segmentation import load_transactions

    tx, _ = load_transactions(Path(__file__).parent / "corpus" / "returns_and_zero.csv")
    check_against_sql(tx, SPEC, D(2024, 1, 2), 3)
    # At 2024-01-02 only r1 has bought (r2's row that day is $0). In (01-02, 01-05]: r1 returns 30,
    # r2 buys 50 (seen before, never tiered), r3's $0 row is neither a purchase nor a return.
    r = backtest(tx, SPEC, as_of="2024-01-02", horizon_days=3, compare=False)
    got = r.tiers.filter((pl.col("customers") > 0) | (pl.col("kind") != "tier"))
    assert got.select("row", "customers", "active", "buyers", "orders", "revenue_minor").rows() == [
        ("VIP", 1, 1, 0, 0, -3000), (NEW, 0, 0, 0, 0, 0), (UNTIERED, 1, 1, 1, 1, 5000)
    ]


def test_walk_forward_reports_progress_and_says_when_no_date_fits():
    seen = []
    wf = walk_forward(LOG, SPEC, horizon_days=25, period="month", progress=lambda i, n: seen.append((i, n)))
    assert wf["as_of"].to_list() == [D(2023, 10, 31), D(2023, 11, 30), D(2023, 12, 31), D(2024, 1, 31)]
    # Four dates after two shared steps (window totals, customer tables): the bar moves from
    # the start, not only once the shared work is done.
    assert seen == [(0, 6), (1, 6), (2, 6), (3, 6), (4, 6), (5, 6), (6, 6)]
    with pytest.raises(DataError, match="No quarter end has 140 days"):
        walk_forward(LOG, SPEC, horizon_days=140, period="quarter")


def test_customer_outcomes_for_the_per_tier_export():
    from segmentation.backtest import customer_outcomes

    out = customer_outcomes(customers_at(LOG, "2024-01-31", SPEC), window_outcomes(LOG, "2024-01-31", 25))
    got = out.select("customer_id", "tier", "next_orders", "next_revenue", "bought_again", "returned_only").rows()
    assert got == [
        ("back", "Other", 1, 10.0, True, False),
        ("churn", "Active", 0, 0.0, False, False),
        ("ret", "VIP", 0, -120.0, False, True),
        ("up", "Active", 1, 150.0, True, False),
    ]
