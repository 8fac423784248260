"""Settings round-trip through plain URL query strings and survive mangled links."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ui.settings import (
    BT_MAX_HORIZON,
    BT_OBJECTIVES,
    BT_PERIODS,
    BT_WITHIN,
    CLV_HOLDOUTS,
    CLV_HORIZONS,
    CURRENCIES,
    CUT_MODES,
    GRID_COLOURS,
    METHODS,
    PERIODS,
    STRATEGY_TABS,
    QueryIssue,
    Settings,
    format_costs,
    format_rates,
    format_thresholds,
    parse_query,
    parse_thresholds,
)


def test_default_settings_make_an_empty_query():
    assert Settings().to_query() == {}
    assert Settings.from_query({}) == Settings()


def test_to_query_holds_only_non_default_values_as_plain_strings():
    s = Settings(
        lang="en", bins=4, window_days=365, present=True, thresholds="R:30,90,180;F:2,4,8;M:100,500,2000",
        compare=("2024-01-31", "2024-06-30"), tiers=("Champions", "At risk"), customer="007",
    )
    assert s.to_query() == {
        "window_days": "365",
        "bins": "4",
        "thresholds": "R:30,90,180;F:2,4,8;M:100,500,2000",
        "lang": "en",
        "present": "1",
        "compare": "2024-01-31,2024-06-30",
        "tiers": "Champions|At risk",
        "customer": "007",
    }


def test_from_query_reads_a_hand_written_link():
    s = Settings.from_query({
        "dataset": "3f2a9c", "as_of": "2024-06-30", "preset": "segments11", "method": "thresholds",
        "thresholds": "r:30, 90; f:2,5; m:100,500", "present": "true", "period": "Q", "cut_mode": "recomputed",
    })
    assert s == Settings(
        dataset="3f2a9c", as_of="2024-06-30", preset="segments11", method="thresholds",
        thresholds="R:30,90;F:2,5;M:100,500", present=True, period="Q", cut_mode="recomputed",
    )


def test_bad_values_fall_back_to_defaults_and_are_reported():
    query = {
        "bins": "99", "lang": "fr", "as_of": "2024-13-01", "window_days": "-5", "present": "maybe",
        "thresholds": "R:abc", "dataset": "../../etc/passwd", "method": "__import__('os')",
        "compare": "2024-01-01,yesterday", "currency": "DOGE", "preset": "cn8", "utm_source": "mail",
    }
    s, issues = parse_query(query)
    assert s == Settings()
    assert [i.param for i in issues] == [
        "dataset", "as_of", "window_days", "bins", "method", "thresholds", "lang", "present", "currency", "compare",
    ]
    assert QueryIssue("bins", "99") in issues


def test_repeated_parameter_uses_the_last_value_like_st_query_params():
    assert Settings.from_query({"bins": ["3", "7"]}).bins == 7


def test_too_long_rule_text_is_refused():
    s, issues = parse_query({"rules": "A: R < 1\n" * 5000})
    assert s.rules == "" and [i.param for i in issues] == ["rules"]


def test_thresholds_parse_and_format():
    assert parse_thresholds("R:30,90;F:2,5;M:99.5,500") == {
        "recency_days": (30.0, 90.0), "frequency": (2.0, 5.0), "monetary": (99.5, 500.0),
    }
    assert format_thresholds({"M": [1000.0], "R": [30], "F": [2.5]}) == "R:30;F:2.5;M:1000"
    assert format_thresholds(None) == ""


# ----------------------------------------------------------------------------- properties

_text = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_token = st.from_regex(r"\A[A-Za-z0-9_.-]{1,20}\Z")
_iso = st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)).map(dt.date.isoformat)
_edges = st.lists(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12), min_size=1, max_size=9
)
_thresholds = st.one_of(
    st.just(""),
    st.tuples(_edges, _edges, _edges).map(lambda e: format_thresholds({"R": e[0], "F": e[1], "M": e[2]})),
)
_tier = st.text(_text.filter(lambda c: c != "|"), min_size=1, max_size=12).filter(lambda s: s.strip() != "")

settings_strategy = st.builds(
    Settings,
    dataset=_token,
    as_of=st.one_of(st.just(""), _iso),
    window_days=st.integers(0, 36_500),
    preset=_token,
    bins=st.sampled_from([0, *range(2, 11)]),
    method=st.sampled_from(["", *METHODS]),
    thresholds=_thresholds,
    rules=st.text(_text, max_size=300),
    lang=st.sampled_from(["zh", "en"]),
    present=st.booleans(),
    currency=st.sampled_from(["", *CURRENCIES]),
    compare=st.lists(_iso, max_size=4).map(tuple),
    cut_mode=st.sampled_from(CUT_MODES),
    period=st.sampled_from(PERIODS),
    tiers=st.lists(_tier, max_size=5).map(tuple),
    customer=st.text(_text, max_size=40),
    focus=st.one_of(st.just(""), _tier),
    tab=st.sampled_from(["", *STRATEGY_TABS]),
    grid=st.sampled_from(GRID_COLOURS),
    kpi=st.one_of(st.just(""), _token),
    total=st.booleans(),
    cohort_months=st.integers(3, 24),
    horizon=st.sampled_from(CLV_HORIZONS),
    discount=st.floats(0.0, 100.0),
    margin=st.floats(1.0, 100.0),
    holdout=st.sampled_from(CLV_HOLDOUTS),
    pair=st.one_of(st.just(()), st.lists(_iso, min_size=2, max_size=2, unique=True).map(lambda d: tuple(sorted(d)))),
    mv_from=st.one_of(st.just(""), _tier),
    mv_to=st.one_of(st.just(""), _tier),
    wi_from=st.one_of(st.just(""), _tier),
    wi_to=st.one_of(st.just(""), _tier),
    wi_share=st.integers(0, 100),
    budget=st.floats(0.0, 1e12),
    costs=st.dictionaries(st.sampled_from(["phone", "sms", "app", "email"]), st.floats(0.0, 1e6)).map(format_costs),
    rates=st.dictionaries(st.sampled_from(["high_value", "growing", "slipping", "low_value"]),
                          st.floats(0.0, 1.0)).map(format_rates),
    uplift=st.floats(0.0, 100.0),
    negative=st.booleans(),
    bt_as_of=st.one_of(st.just(""), _iso),
    bt_horizon=st.integers(1, BT_MAX_HORIZON),
    bt_within=st.sampled_from(BT_WITHIN),
    bt_period=st.sampled_from(BT_PERIODS),
    bt_objective=st.sampled_from(BT_OBJECTIVES),
    bt_suggest=st.booleans(),
    bt_tier=st.one_of(st.just(""), _tier),
)


@settings(max_examples=300, deadline=None)
@given(settings_strategy)
def test_settings_round_trip_through_the_query_string(s):
    query = s.to_query()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
    back, issues = parse_query(query)
    assert issues == []
    assert back == s


@settings(max_examples=150, deadline=None)
@given(settings_strategy)
def test_settings_round_trip_through_a_real_url(s):
    # What a browser does with a copied link: percent-encode, then decode.
    decoded = {k: v[-1] for k, v in parse_qs(urlencode(s.to_query()), keep_blank_values=True).items()}
    assert Settings.from_query(decoded) == s


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*Settings.__dataclass_fields__, "x"]), st.text(_text, max_size=60)))
def test_from_query_never_raises_on_any_link(query):
    s, issues = parse_query(query)
    assert isinstance(s, Settings)
    assert {i.param for i in issues} <= set(query)


def test_page_controls_use_short_plain_values_in_the_link():
    s = Settings(grid="tier", kpi="churn_rate", total=True, cohort_months=6, horizon=730, discount=12.5,
                 margin=40.0, holdout=90, pair=("2025-10-31", "2025-11-30"), mv_from="__new__", mv_to="A",
                 wi_from="B", wi_to="A", wi_share=35, budget=12_000.0)
    assert s.to_query() == {
        "grid": "tier", "kpi": "churn_rate", "total": "1", "cohort_months": "6", "horizon": "730",
        "discount": "12.5", "margin": "40", "holdout": "90", "pair": "2025-10-31,2025-11-30",
        "mv_from": "__new__", "mv_to": "A", "wi_from": "B", "wi_to": "A", "wi_share": "35", "budget": "12000",
    }


def test_strategy_assumptions_keep_only_what_differs_from_the_defaults():
    s = Settings.from_query({"costs": "sms:0.20; phone:5", "rates": "slipping:9.5;growing:6", "uplift": "1.5",
                             "negative": "1"})
    # phone 5 and growing 6% are the defaults, so the link leaves them out.
    assert s.to_query() == {"costs": "sms:0.2", "rates": "slipping:9.5", "uplift": "1.5", "negative": "1"}
    assert s.channel_costs() == {"phone": 5.0, "sms": 0.2, "app": 0.05, "email": 0.01}
    assert s.response_rates() == {"high_value": 0.08, "growing": 0.06, "slipping": 0.095, "low_value": 0.015}
    assert Settings().channel_costs() == {"phone": 5.0, "sms": 0.1, "app": 0.05, "email": 0.01}
    assert format_costs({"phone": 2.0, "sms": 0.1, "email": 0.0}) == "phone:2;email:0"


@pytest.mark.parametrize("param,value", [("costs", "fax:1"), ("costs", "sms"), ("costs", "sms:1;sms:2"),
                                         ("costs", "phone:-1"), ("costs", "phone:nan"), ("costs", "phone:2e6"),
                                         ("rates", "growing:101"), ("rates", "loyal:5"), ("uplift", "inf"),
                                         ("uplift", "101"), ("negative", "maybe")])
def test_bad_strategy_assumptions_fall_back_and_are_reported(param, value):
    s, issues = parse_query({param: value})
    assert s == Settings()
    assert issues == [QueryIssue(param, value)]


def test_clv_defaults_are_the_valuation_tier_rules_use():
    from segmentation.enrich import RULE_VALUATION

    s = Settings()
    assert (s.horizon, s.discount / 100, s.margin / 100) == RULE_VALUATION


def test_bad_page_control_values_fall_back_and_are_reported():
    query = {"grid": "pink", "horizon": "12", "discount": "nan", "margin": "0", "holdout": "7",
             "pair": "2026-01-01,2025-01-01", "wi_share": "101", "budget": "inf", "cohort_months": "99",
             "total": "maybe", "kpi": "a b"}
    s, issues = parse_query(query)
    assert s == Settings()
    assert sorted(i.param for i in issues) == sorted(query)


def test_a_link_may_name_a_data_set_instead_of_one_version():
    settings, issues = parse_query({"dataset": "name:月度 sales/2024"})
    assert (settings.dataset, issues) == ("name:月度 sales/2024", [])
    assert Settings.from_query(settings.to_query()) == settings
    assert parse_query({"dataset": " name: sales "})[0].dataset == "name:sales"
    for bad in ("name:", "name:" + "x" * 201, "name:a\x00b", "name:a\nb", "../etc", "a b"):
        settings, issues = parse_query({"dataset": bad})
        assert settings.dataset == "demo" and [i.param for i in issues] == ["dataset"], bad
    assert parse_query({"dataset": "name:" + "x" * 200})[0].dataset == "name:" + "x" * 200


def test_backtest_controls_are_in_the_link_and_bad_values_fall_back():
    s = Settings(bt_as_of="2025-06-30", bt_horizon=273, bt_within="clv", bt_period="M", bt_objective="captured_20",
                 bt_suggest=True, bt_tier="重要价值客户")
    assert s.to_query() == {"bt_as_of": "2025-06-30", "bt_horizon": "273", "bt_within": "clv", "bt_period": "M",
                            "bt_objective": "captured_20", "bt_suggest": "1", "bt_tier": "重要价值客户"}
    assert Settings.from_query(s.to_query()) == s
    back, issues = parse_query({"bt_as_of": "2025-02-30", "bt_horizon": "0", "bt_within": "random",
                                "bt_period": "W", "bt_objective": "lift", "bt_suggest": "maybe"})
    assert back == Settings()
    assert [i.param for i in issues] == ["bt_as_of", "bt_horizon", "bt_within", "bt_period", "bt_objective",
                                         "bt_suggest"]
    # A backtest date belongs to the old data; the other backtest controls stay.
    assert s.with_dataset("other") == Settings(dataset="other", bt_horizon=273, bt_within="clv", bt_period="M",
                                               bt_objective="captured_20", bt_suggest=True)
