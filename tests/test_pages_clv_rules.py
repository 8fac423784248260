"""The time pages with tier rules on P_ALIVE and CLV (AppTest on the seeded demo data).

Migration, trends and strategy tier every date with the lifetime-value model fitted up to the
as-of date, the same fit the Overview joins on, so the as-of date agrees with the Overview.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from apptest import run_app
from streamlit.testing.v1 import AppTest

from segmentation.clv import score_customers
from segmentation.demo import demo_transactions
from segmentation.enrich import add_clv
from segmentation.rfm import rfm_table
from segmentation.rules import assign_tiers, parse_rules
from segmentation.scoring import score

TIMEOUT = 120
RULES = "At risk: P_ALIVE < 0.3 and M >= 1000\nValuable: CLV >= 500\nOthers: else"
TIERS = ["At risk", "Valuable", "Others"]



def open_page(page: str, **query: str) -> AppTest:
    return run_app({"rules": RULES, "lang": "en", **query}, page, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def overview_counts() -> dict[str, int]:
    """Customers per tier as the Overview computes them (the CLV page's default valuation)."""
    tx = demo_transactions()
    as_of = tx["order_date"].max().date() + dt.timedelta(days=1)
    clv = score_customers(tx, as_of=as_of, horizon_days=365, discount_rate=0.10, margin=1.0)
    tiered = assign_tiers(add_clv(score(rfm_table(tx, as_of=as_of)), clv.frame), parse_rules(RULES))
    return dict(tiered.group_by(pl.col("tier").cast(pl.String)).len().rows())


def trace_names(at: AppTest) -> set[str]:
    names: set[str] = set()
    for chart in at.get("plotly_chart"):
        names |= {str(t.get("name")) for t in json.loads(chart.proto.spec).get("data", [])}
    return names


def test_migration_tiers_every_date_by_churn_risk_and_value():
    at = open_page("pages/migration.py")
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) == 3
    assert at.selectbox(key="_w_mv_from_en").options == ["New", "Returning", *TIERS]
    assert at.selectbox(key="_w_mv_to_en").options == [*TIERS, "Left"]
    assert set(m.label for m in at.metric) >= {"Upgraded", "Downgraded", "Unchanged"}
    # The movers list carries the churn risk and value at both dates.
    columns = set(at.dataframe[0].value.columns)
    assert {"Chance still active (then)", "Chance still active (now)"} <= columns


def test_trends_show_the_clv_tiers_over_time():
    at = open_page("pages/trends.py")
    assert not at.error, [e.value for e in at.error]
    assert set(TIERS) <= trace_names(at)


def test_strategy_cards_match_the_overview_tiers(overview_counts):
    at = open_page("pages/strategy.py")
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="_w_wi_from").options == TIERS
    shown = [(m.label, m.value) for m in at.metric]
    assert shown[0] == ("Customers", f"{overview_counts['At risk']:,}")
    assert overview_counts["At risk"] > 0


@pytest.mark.parametrize("page", ["pages/trends.py", "pages/strategy.py"])
def test_too_little_history_for_the_model_is_explained(page):
    at = open_page(page, as_of="2023-01-10")
    assert len(at.error) == 1
    assert "Too little history to predict purchases" in at.error[0].value


def test_one_fit_serves_the_overview_the_time_pages_and_the_clv_page(monkeypatch):
    from ui import cache

    calls = []
    real = cache.score_customers

    def counting(*args, **kwargs):
        calls.append(kwargs.get("as_of"))
        return real(*args, **kwargs)

    monkeypatch.setattr(cache, "score_customers", counting)
    cache.clv_scores.clear()
    at = open_page("pages/overview.py")
    for page in ("pages/migration.py", "pages/trends.py", "pages/strategy.py", "pages/clv.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error, page
    assert calls == [dt.date(2026, 1, 1)]


def test_customer_page_shows_the_tier_history_under_churn_risk_rules(overview_counts):
    at = open_page("pages/customer.py", customer="C000001")
    assert not at.error, [e.value for e in at.error]
    shown = {m.label: m.value for m in at.metric}
    assert shown["Tier now"] in TIERS
    # The purchase timeline and the tier history both render.
    assert len(at.get("plotly_chart")) >= 2


def test_time_pages_say_how_churn_risk_is_computed_at_each_date():
    for page in ("pages/migration.py", "pages/trends.py", "pages/strategy.py"):
        at = open_page(page)
        assert any("at each date they are worked out from the customer's purchases up to that date only" in c.value
                   for c in at.caption), page
    plain = open_page("pages/migration.py", rules="")
    assert not any("worked out from the customer's purchases" in c.value for c in plain.caption)
