"""KPI trends per period and tier, KPI definitions, and cohort retention."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tx_logs import RULES, STORY, D, tx_frame

from segmentation.errors import DataError
from segmentation.kpis import KPI_DEFINITIONS, cohort_retention, kpi_definitions, kpi_trends

LOG = tx_frame(
    [
        *STORY,
        ("back", D(2024, 2, 26), 12.0, "o8"),
    ]
)
COLS = ("period_end", "customers", "active_customers", "new_customers", "orders", "revenue",
        "repeat_customers", "prev_active", "not_repeated")


def test_all_customers_per_month():
    k = kpi_trends(LOG, rules=RULES, bins=2, by_tier=False, start="2024-01-01", end="2024-03-31")
    assert k.select(*COLS).rows() == [
        (D(2024, 1, 31), 4, 3, 3, 3, 270.0, 0, 0, 0),
        (D(2024, 2, 29), 5, 3, 1, 4, 82.0, 1, 3, 2),
        (D(2024, 3, 31), 5, 0, 0, 0, 0.0, 0, 3, 3),
    ]
    feb = k.row(1, named=True)
    assert feb["period_start"] == D(2024, 2, 1)
    assert feb["tier"] == "__all__"
    assert feb["aov"] == pytest.approx(202.0 / 4)
    assert feb["repurchase_rate"] == pytest.approx(1 / 3)
    assert feb["no_repeat_rate"] == pytest.approx(2 / 3)
    assert feb["period_retention_rate"] == pytest.approx(1 / 3)
    assert k.row(0, named=True)["no_repeat_rate"] is None  # nobody bought in December


def test_per_tier_uses_tier_at_period_end_and_churn_looks_back():
    k = kpi_trends(LOG, rules=RULES, bins=2, start="2024-02-01", end="2024-02-29")
    got = {r["tier"]: r for r in k.iter_rows(named=True)}
    assert list(got) == ["VIP", "Active", "Other"]
    assert [got[t]["customers"] for t in got] == [1, 2, 2]
    assert [got[t]["active_customers"] for t in got] == [1, 2, 0]
    assert [got[t]["revenue"] for t in got] == [150.0, 52.0, -120.0]
    assert got["VIP"]["revenue_share"] == pytest.approx(150.0 / 82.0)
    # January's buyers by their tier at the end of January: ret was VIP, up and churn Active.
    assert [(got[t]["prev_active"], got[t]["not_repeated"]) for t in got] == [(1, 1), (2, 1), (0, 0)]
    assert got["Other"]["no_repeat_rate"] is None


def test_weeks_and_quarters():
    q = kpi_trends(LOG, rules=RULES, bins=2, period="quarter", by_tier=False)
    assert q.select("period_start", "active_customers", "revenue").rows() == [
        (D(2023, 10, 1), 1, 40.0), (D(2024, 1, 1), 5, 352.0),
    ]
    w = kpi_trends(LOG, rules=RULES, bins=2, period="week", by_tier=False, start="2024-02-19")
    assert w.select("period_start", "orders").rows() == [(D(2024, 2, 19), 2), (D(2024, 2, 26), 1)]


def test_window_shorter_than_the_period_keeps_activity_in_a_gone_row():
    tx = tx_frame([("a", D(2024, 1, 2), 10.0, "1"), ("b", D(2024, 1, 30), 5.0, "2")])
    k = kpi_trends(tx, rules="All: else", window_days=7)
    assert k.select("tier", "customers", "active_customers", "revenue").rows() == [
        ("All", 1, 1, 5.0), ("__gone__", 0, 1, 10.0),
    ]


def test_definitions_cover_every_rate_and_count():
    defs = kpi_definitions()
    assert defs.columns == ["kpi", "name_zh", "name_en", "definition_zh", "definition_en", "unit", "source"]
    k = kpi_trends(LOG, rules=RULES, bins=2)
    assert set(defs["kpi"]) <= set(k.columns)
    assert all(len(row) == 6 and all(row) for row in KPI_DEFINITIONS)
    with pytest.raises(DataError):
        kpi_trends(LOG, rules=RULES, period="day")


def test_cohort_retention():
    c = cohort_retention(LOG, end="2024-02-29")
    assert c.filter(pl.col("cohort") == D(2024, 1, 1)).select(
        "months_since", "cohort_size", "active", "retention").rows() == [
        (0, 3, 3, 1.0), (1, 3, 1, 1 / 3),
    ]
    back = c.filter(pl.col("cohort") == D(2023, 10, 1))
    assert back.select("months_since", "active").rows() == [(0, 1), (1, 0), (2, 0), (3, 0), (4, 1)]
    assert cohort_retention(LOG, max_months=1, end="2024-02-29").height == 2 + 2 + 1
    assert cohort_retention(LOG.clear()).is_empty()


# --- totals over tiers equal the all-customer figures -----------------------------------------

row = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e", "f"]),
    st.integers(0, 200).map(lambda n: D(2024, 1, 1) + dt.timedelta(days=n)),
    st.sampled_from([1.0, 5.0, 40.0, 120.0, -5.0]),
    st.sampled_from(["x", "y", "z"]) | st.uuids().map(str),
)
ADDITIVE = ["customers", "active_customers", "new_customers", "orders", "repeat_customers",
            "prev_active", "not_repeated", "active_start", "lapsed", "revenue", "gross"]


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=40), window=st.sampled_from([None, 20, 90]),
       period=st.sampled_from(["week", "month"]))
def test_tiers_add_up_to_all_customers(rows, window, period):
    tx = tx_frame(rows)
    kw = dict(rules="Hi: r_score >= 2 and m_score >= 2\nMid: f_score >= 2\nLo: else", bins=3,
              window_days=window, period=period)
    per_tier = kpi_trends(tx, **kw)
    total = kpi_trends(tx, by_tier=False, **kw)
    summed = per_tier.group_by("period_end").agg(pl.col(ADDITIVE).sum()).sort("period_end")
    assert summed.select("period_end", *ADDITIVE).rows() == total.select("period_end", *ADDITIVE).rows()
    # Rates recompose from their counts.
    for r in total.iter_rows(named=True):
        if r["active_customers"] and r["period_complete"]:
            assert r["repurchase_rate"] == r["repeat_customers"] / r["active_customers"]
        if r["prev_active"] and r["period_complete"]:
            assert r["no_repeat_rate"] + r["period_retention_rate"] == pytest.approx(1.0)
        if not r["period_complete"]:
            assert r["repurchase_rate"] is None and r["churn_rate"] is None
    # Active customers match a direct count on the transactions: customers who placed an order
    # in the period, an order belonging to the period of its first purchase line.
    buys = tx.filter(pl.col("amount") > 0)
    every = {"week": "1w", "month": "1mo"}[period]
    placed = buys.group_by("customer_id", "order_id").agg(pl.col("order_date").min())
    direct = dict(placed.group_by(pl.col("order_date").dt.truncate(every)).agg(pl.col("customer_id").n_unique()).rows())
    got = {r["period_start"]: r["active_customers"] for r in total.iter_rows(named=True) if r["active_customers"]}
    assert got == direct




# --- the as-of date is a hard cut; partial periods are marked ---------------------------------

MID = tx_frame([
    ("a", D(2025, 2, 3), 10.0, "1"), ("a", D(2025, 3, 3), 20.0, "2"), ("b", D(2025, 2, 20), 5.0, "3"),
    ("b", D(2025, 3, 10), 7.0, "4"), ("c", D(2025, 3, 20), 99.0, "5"), ("a", D(2025, 3, 28), 1.0, "6"),
])


def test_as_of_mid_month_counts_only_orders_up_to_the_cut():
    k = kpi_trends(MID, rules="All: else", by_tier=False, end="2025-03-14")
    mar = k.row(-1, named=True)
    assert (mar["period_start"], mar["period_end"], mar["period_last_day"]) == (D(2025, 3, 1), D(2025, 3, 31), D(2025, 3, 14))
    assert mar["period_complete"] is False
    assert (mar["orders"], mar["revenue"], mar["active_customers"], mar["customers"]) == (2, 27.0, 2, 2)
    # Rates that need a whole period are not given for 1-14 March.
    assert mar["repurchase_rate"] is None and mar["no_repeat_rate"] is None and mar["churn_rate"] is None
    feb = k.row(-2, named=True)
    assert feb["period_complete"] is True and feb["period_last_day"] == D(2025, 2, 28)
    # The same word, the same meaning: cohorts stop at the as-of date too.
    c = cohort_retention(MID, end="2025-03-14")
    assert c.select("cohort", "months_since", "active", "month_complete", "retention").rows() == [
        (D(2025, 2, 1), 0, 2, True, 1.0), (D(2025, 2, 1), 1, 2, False, None),
    ]
    assert cohort_retention(MID, end="2025-03-31")["retention"].to_list() == [1.0, 1.0, 1.0]


def test_tiers_at_the_as_of_date_match_the_one_date_pipeline():
    from segmentation.rfm import rfm_table
    from segmentation.rules import assign_tiers
    from segmentation.scoring import score

    rules = "Top: m_score == 2\nRest: else"
    k = kpi_trends(MID, rules=rules, bins=2, end="2025-03-14")
    want = assign_tiers(score(rfm_table(MID, as_of="2025-03-14"), bins=2), rules)
    counts = dict(want.group_by(pl.col("tier").cast(pl.String)).len().rows())
    last = k.filter(pl.col("period_last_day") == D(2025, 3, 14))
    assert dict(last.select("tier", "customers").rows()) == {"Top": counts.get("Top", 0), "Rest": counts["Rest"]}


# --- definitions: "did not buy again" is not churn ---------------------------------------------


def test_no_repeat_rate_is_the_old_measure_and_churn_is_lapsed_customers():
    k = kpi_trends(LOG, rules=RULES, bins=2, by_tier=False, start="2024-01-01", end="2024-03-31",
                   churn_days=40)
    feb, mar = k.row(1, named=True), k.row(2, named=True)
    assert (feb["prev_active"], feb["not_repeated"]) == (3, 2)
    assert feb["no_repeat_rate"] == pytest.approx(2 / 3)
    assert feb["period_retention_rate"] == pytest.approx(1 / 3)
    # Churn with N = 40 days: at 31 Jan, up (10 Jan), churn (15 Jan) and ret (20 Jan) had bought
    # within 40 days; by 29 Feb churn (last 15 Jan, 45 days) has lapsed.
    assert (feb["active_start"], feb["lapsed"], feb["churn_rate"]) == (3, 1, pytest.approx(1 / 3))
    # At 29 Feb: up, ret, new, back active; by 31 Mar: up (5 Feb) 55 days, ret (20 Jan) 71,
    # new (20 Feb) 40 days: not more than 40, still active; back (25 Feb) 35.
    assert (mar["active_start"], mar["lapsed"]) == (4, 2)
    assert k["churn_days"].unique().to_list() == [40]


def test_default_churn_days_come_from_the_gaps_between_purchases():
    from segmentation.kpis import typical_gap_days

    tx = tx_frame([("a", D(2024, 1, 1), 1.0, "1"), ("a", D(2024, 1, 11), 1.0, "2"), ("a", D(2024, 1, 31), 1.0, "3"),
                   ("b", D(2024, 1, 1), 1.0, "4"), ("b", D(2024, 4, 10), 1.0, "5"), ("c", D(2024, 1, 1), 1.0, "6")])
    # Gaps: 10, 20 (a) and 100 (b); the 90% quantile (nearest rank, rounded up) is 100.
    assert typical_gap_days(tx) == 100
    assert typical_gap_days(tx, quantile=0.5) == 20
    assert typical_gap_days(tx.filter(pl.col("customer_id") == "c")) == 365
    # kpi_trends uses the same default, up to its as-of date, and says which N it used.
    assert kpi_trends(tx, rules="All: else", end="2024-04-30")["churn_days"].unique().to_list() == [100]
    assert kpi_trends(tx, rules="All: else", end="2024-03-31")["churn_days"].unique().to_list() == [20]


def test_every_kpi_column_has_a_definition_in_both_languages():
    defs = kpi_definitions(source=None)
    k = kpi_trends(LOG, rules=RULES, bins=2)
    rates = [c for c in k.columns if c.endswith("_rate") or c in ("aov", "revenue_share")]
    assert set(rates) <= set(defs["kpi"])
    assert {"churn_rate", "no_repeat_rate", "period_retention_rate", "cohort_retention"} <= set(defs["kpi"])
    churn = defs.filter(pl.col("kpi") == "no_repeat_rate").row(0, named=True)
    assert churn["name_zh"] == "本期未复购率"


def test_an_order_over_several_days_counts_once_in_its_first_period():
    tx = tx_frame([("a", D(2024, 1, 31), 10.0, "inv1"), ("a", D(2024, 2, 1), 5.0, "inv1"),
                   ("a", D(2024, 2, 10), 7.0, "inv2"), ("b", D(2024, 2, 2), 3.0, "inv3")])
    k = kpi_trends(tx, rules="All: else", by_tier=False)
    assert k.select("period_end", "orders").rows() == [(D(2024, 1, 31), 1), (D(2024, 2, 29), 2)]
    assert k["orders"].sum() == 3


def test_tiers_are_listed_in_the_specs_value_order():
    from segmentation.spec import TieringSpec

    spec = TieringSpec(rules=RULES, bins=2, value_order=("Active", "VIP"))
    k = kpi_trends(LOG, spec, start="2024-02-01", end="2024-02-29")
    assert k["tier"].to_list() == ["Active", "VIP", "Other"]
    plain = kpi_trends(LOG, rules=RULES, bins=2, start="2024-02-01", end="2024-02-29")
    assert dict(k.select("tier", "customers").rows()) == dict(plain.select("tier", "customers").rows())


def test_latest_churn_is_from_the_latest_complete_period():
    from segmentation.kpis import latest_churn

    k = kpi_trends(LOG, rules=RULES, bins=2, by_tier=False, end="2024-03-14", churn_days=40)
    assert k["period_complete"].to_list()[-1] is False
    assert latest_churn(k) == {"__all__": pytest.approx(1 / 3)}  # February's, not the partial March
