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
        "repeat_customers", "prev_active", "churned")


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
    assert feb["churn_rate"] == pytest.approx(2 / 3)
    assert feb["retention_rate"] == pytest.approx(1 / 3)
    assert k.row(0, named=True)["churn_rate"] is None  # nobody bought in December


def test_per_tier_uses_tier_at_period_end_and_churn_looks_back():
    k = kpi_trends(LOG, rules=RULES, bins=2, start="2024-02-01", end="2024-02-29")
    got = {r["tier"]: r for r in k.iter_rows(named=True)}
    assert list(got) == ["VIP", "Active", "Other"]
    assert [got[t]["customers"] for t in got] == [1, 2, 2]
    assert [got[t]["active_customers"] for t in got] == [1, 2, 0]
    assert [got[t]["revenue"] for t in got] == [150.0, 52.0, -120.0]
    assert got["VIP"]["revenue_share"] == pytest.approx(150.0 / 82.0)
    # January's buyers by their tier at the end of January: ret was VIP, up and churn Active.
    assert [(got[t]["prev_active"], got[t]["churned"]) for t in got] == [(1, 1), (2, 1), (0, 0)]
    assert got["Other"]["churn_rate"] is None


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
    assert defs.columns == ["kpi", "name_zh", "name_en", "definition_zh", "definition_en", "unit"]
    k = kpi_trends(LOG, rules=RULES, bins=2)
    assert set(defs["kpi"]) <= set(k.columns)
    assert all(len(row) == 6 and all(row) for row in KPI_DEFINITIONS)
    with pytest.raises(DataError):
        kpi_trends(LOG, rules=RULES, period="day")


def test_cohort_retention():
    c = cohort_retention(LOG)
    assert c.filter(pl.col("cohort") == D(2024, 1, 1)).select(
        "months_since", "cohort_size", "active", "retention").rows() == [
        (0, 3, 3, 1.0), (1, 3, 1, 1 / 3),
    ]
    back = c.filter(pl.col("cohort") == D(2023, 10, 1))
    assert back.select("months_since", "active").rows() == [(0, 1), (1, 0), (2, 0), (3, 0), (4, 1)]
    assert cohort_retention(LOG, max_months=1).height == 2 + 2 + 1
    assert cohort_retention(LOG.clear()).is_empty()


# --- totals over tiers equal the all-customer figures -----------------------------------------

row = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e", "f"]),
    st.integers(0, 200).map(lambda n: D(2024, 1, 1) + dt.timedelta(days=n)),
    st.sampled_from([1.0, 5.0, 40.0, 120.0, -5.0]),
    st.sampled_from(["x", "y", "z"]) | st.uuids().map(str),
)
ADDITIVE = ["customers", "active_customers", "new_customers", "orders", "repeat_customers",
            "prev_active", "churned", "revenue", "gross"]


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
        if r["active_customers"]:
            assert r["repurchase_rate"] == r["repeat_customers"] / r["active_customers"]
        if r["prev_active"]:
            assert r["churn_rate"] + r["retention_rate"] == pytest.approx(1.0)
    # Active and new customers match a direct count on the transactions.
    buys = tx.filter(pl.col("amount") > 0)
    every = {"week": "1w", "month": "1mo"}[period]
    direct = dict(buys.group_by(pl.col("order_date").dt.truncate(every)).agg(pl.col("customer_id").n_unique()).rows())
    got = {r["period_start"]: r["active_customers"] for r in total.iter_rows(named=True) if r["active_customers"]}
    assert got == direct


