"""One truth across pages: one customer, one tier per date, whichever page asks.

The Overview tiers ``rfm_table`` at the view's as-of date; Migration, Trends, Strategy and the
Customer page tier snapshots. With the same settings they must agree customer by customer at
the as-of date (fixed cut points are fitted there, once, for every page), adding a date to
Migration must not move anyone at the other dates, and counts and revenue must reconcile.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from apptest import run_app

import segmentation as seg
from segmentation.demo import demo_transactions
from segmentation.kpis import kpi_trends
from segmentation.migration import migration_matrix
from segmentation.presets import get_preset
from segmentation.snapshots import snapshots

AS_OF = dt.date(2025, 6, 10)
DATES = [dt.date(2025, 2, 28), dt.date(2025, 5, 31), AS_OF]


@pytest.fixture(scope="module")
def tx() -> pl.DataFrame:
    return demo_transactions()


@pytest.fixture(scope="module", params=[None, 90], ids=["all-history", "90-day-window"])
def spec(request) -> seg.TieringSpec:
    preset = get_preset("segments11")
    return seg.TieringSpec(preset.rules_en, bins=5, method="quantile", window_days=request.param,
                           value_order=preset.value_order("en"))


def overview_tiers(tx: pl.DataFrame, spec: seg.TieringSpec) -> pl.DataFrame:
    rfm = seg.rfm_table(tx, as_of=AS_OF, window_days=spec.window_days)
    return seg.assign_tiers(seg.score(rfm, bins=spec.bins, method=spec.method), spec.ruleset).select(
        "customer_id", pl.col("tier").cast(pl.String), "monetary")


def test_snapshots_at_the_as_of_date_equal_the_overview(tx, spec):
    snaps = snapshots(tx, DATES, spec, reference_date=AS_OF)
    at = snaps.filter(pl.col("snapshot_date") == AS_OF).select("customer_id", pl.col("tier").cast(pl.String),
                                                               "monetary")
    assert at.sort("customer_id").equals(overview_tiers(tx, spec).sort("customer_id"))


def test_adding_a_date_never_moves_anyone_at_the_other_dates(tx, spec):
    two = snapshots(tx, [DATES[0], AS_OF], spec, reference_date=AS_OF)
    three = snapshots(tx, DATES, spec, reference_date=AS_OF)
    keep = pl.col("snapshot_date").is_in([DATES[0], AS_OF])
    cols = ["snapshot_date", "customer_id", "tier", "r_score", "f_score", "m_score"]
    assert three.filter(keep).select(cols).equals(two.select(cols))
    # Flow revenue comes from the transactions between the two dates (what the app passes).
    flows = lambda s: migration_matrix(s, DATES[0], AS_OF, tx=tx).sort("from_state", "to_state")  # noqa: E731
    assert flows(three).equals(flows(two))


def test_trends_count_the_same_customers_per_tier_as_the_overview(tx, spec):
    trends = kpi_trends(tx, spec, end=AS_OF, reference_date=AS_OF)
    last = trends.filter(pl.col("period_end") == pl.col("period_end").max(), ~pl.col("tier").str.starts_with("__"))
    assert last["period_last_day"].unique().to_list() == [AS_OF]
    expected = overview_tiers(tx, spec).group_by("tier").len()
    got = dict(last.select("tier", "customers").rows())
    assert {t: n for t, n in got.items() if n} == dict(expected.rows())
    # Nothing dated after the as-of date is counted.
    june = tx.filter(pl.col("order_date").cast(pl.Date).is_between(dt.date(2025, 6, 1), AS_OF), pl.col("amount") > 0)
    assert int(last["orders"].sum()) == june["order_id"].n_unique()


def test_a_customer_has_one_tier_on_the_overview_and_the_customer_page():
    # Pages through AppTest, with the settings of a shared link.
    query = {"lang": "en", "preset": "segments11", "as_of": AS_OF.isoformat()}
    at = run_app(query)
    tiers = dict(overview_tiers(demo_transactions(), seg.TieringSpec(get_preset("segments11").rules_en))
                 .select("customer_id", "tier").rows())
    table = at.main.dataframe[0].value
    shown = {row.iloc[0]: int(str(row.iloc[1]).split(" ")[0].replace(",", "")) for _, row in table.iterrows()}
    counts = pl.DataFrame({"tier": list(tiers.values())}).group_by("tier").len()
    assert {t: n for t, n in shown.items() if n} == dict(counts.rows())
    for customer in list(tiers)[:3]:
        page = run_app({**query, "customer": customer}, "pages/customer.py")
        now = next(m for m in page.metric if m.label == "Tier now")
        assert now.value == tiers[customer]
        # The tier history ends at the as-of date with the same tier.
        chart = json.loads(page.get("plotly_chart")[-1].proto.spec)
        assert chart["data"][-1]["x"][-1].startswith(AS_OF.isoformat())
