"""A shared link reproduces the view: every control that changes a number is in the link, and
the link opened in a new session shows the same numbers (AppTest, demo data)."""

from __future__ import annotations

import json

import pytest
from apptest import run_app
from streamlit.testing.v1 import AppTest


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def charts(at: AppTest) -> list[list]:
    """The data of every chart on the page (what a reader sees plotted)."""
    return [json.loads(c.proto.spec).get("data", []) for c in at.get("plotly_chart")]


def reopened(at: AppTest, page: str) -> AppTest:
    """The sender's link opened in a fresh session."""
    return run_app({k: at.query_params[k] for k in at.query_params}, page)


def same_view(sender: AppTest, page: str) -> AppTest:
    receiver = reopened(sender, page)
    assert metrics(receiver) == metrics(sender)
    assert charts(receiver) == charts(sender)
    return receiver


def test_trends_metric_total_and_cohort_months_travel_in_the_link():
    at = run_app({"lang": "en"}, "pages/trends.py")
    at.selectbox(key="_w_kpi_en").set_value("churn_rate").run()
    at.toggle(key="_w_total").set_value(True).run()
    at.slider(key="_w_cohort_months").set_value(6).run()
    assert not at.exception
    assert at.query_params == {"lang": "en", "kpi": "churn_rate", "total": "1", "cohort_months": "6"}
    receiver = same_view(at, "pages/trends.py")
    assert receiver.info[0].value.startswith("Definition: Of the customers active at the start of the period")


def test_clv_horizon_discount_margin_and_holdout_travel_in_the_link():
    at = run_app({"lang": "en"}, "pages/clv.py")
    before = metrics(at)
    at.segmented_control(key="_w_horizon").set_value(730).run()
    at.number_input(key="_w_discount").set_value(5.0).run()
    at.number_input(key="_w_margin").set_value(40.0).run()
    at.segmented_control(key="_w_holdout").set_value(90).run()
    assert not at.exception
    assert at.query_params == {"lang": "en", "horizon": "730", "discount": "5", "margin": "40", "holdout": "90"}
    assert metrics(at) != before
    same_view(at, "pages/clv.py")


def test_migration_movers_path_and_date_pair_travel_in_the_link():
    at = run_app({"lang": "en", "compare": "2025-10-31,2025-11-30,2026-01-01"}, "pages/migration.py")
    at.selectbox(key="_w_pair_en").set_value(("2025-10-31", "2025-11-30")).run()
    at.selectbox(key="_w_mv_from_en").set_value("__new__").run()
    at.selectbox(key="_w_mv_to_en").set_value("General development").run()
    assert not at.exception
    assert at.query_params["pair"] == "2025-10-31,2025-11-30"
    assert (at.query_params["mv_from"], at.query_params["mv_to"]) == ("__new__", "General development")
    receiver = same_view(at, "pages/migration.py")
    movers = [c.value for c in at.caption if "net in between" in c.value]
    assert movers and movers == [c.value for c in receiver.caption if "net in between" in c.value]


def test_strategy_what_if_and_budget_travel_in_the_link():
    at = run_app({"lang": "en"}, "pages/strategy.py")
    at.selectbox(key="_w_wi_from").set_value(at.selectbox(key="_w_wi_from").options[3]).run()
    at.slider(key="_w_wi_share").set_value(35).run()
    at.number_input(key="_w_budget").set_value(12_000.0).run()
    assert not at.exception
    assert {"wi_from", "wi_share", "budget"} <= set(at.query_params)
    assert at.query_params["budget"] == "12000"
    same_view(at, "pages/strategy.py")


def budget_table(at: AppTest) -> list[dict]:
    """The budget split table (tier, channel, contacted, spend, return, ROI), as shown."""
    return next(d.value.to_dict("records") for d in at.dataframe if "Spend" in d.value.columns)


def test_strategy_costs_response_rates_and_uplift_travel_in_the_link():
    at = run_app({"lang": "en", "budget": "20000"}, "pages/strategy.py")
    before = (metrics(at), budget_table(at))
    at.number_input(key="_w_costs_phone").set_value(2.0).run()
    at.number_input(key="_w_costs_email").set_value(0.0).run()
    at.number_input(key="_w_rates_slipping").set_value(9.5).run()
    at.number_input(key="_w_uplift").set_value(1.5).run()
    at.checkbox(key="_w_negative").check().run()
    assert not at.exception
    assert {k: at.query_params[k] for k in ("costs", "rates", "uplift", "negative")} == {
        "costs": "phone:2;email:0", "rates": "slipping:9.5", "uplift": "1.5", "negative": "1"}
    # The other boxes keep their defaults, and the split follows the new assumptions.
    assert at.number_input(key="_w_costs_sms").value == 0.1
    assert at.number_input(key="_w_rates_high_value").value == 8.0
    assert (metrics(at), budget_table(at)) != before
    shown = budget_table(at)
    assert "Email" not in {row["Channel"] for row in shown}
    # 1,206 Key value customers by phone at the new ¥2 a call.
    phone = next(row for row in shown if row["Channel"] == "Phone")
    assert (phone["Tier"], phone["Contacted"], phone["Spend"]) == ("Key value", "1,206", "¥2,412")
    receiver = same_view(at, "pages/strategy.py")
    assert budget_table(receiver) == shown
    assert receiver.number_input(key="_w_costs_phone").value == 2.0
    assert receiver.number_input(key="_w_rates_slipping").value == 9.5
    assert receiver.checkbox(key="_w_negative").value is True


def test_overview_grid_colour_travels_in_the_link():
    at = run_app({"lang": "en"})
    at.segmented_control(key="_w_grid").set_value("tier").run()
    assert at.query_params == {"lang": "en", "grid": "tier"}
    same_view(at, "pages/overview.py")


@pytest.mark.parametrize("param,value", [("margin", "0"), ("horizon", "12"), ("budget", "nan"),
                                         ("pair", "2026-01-01,2025-01-01"), ("wi_share", "101"),
                                         ("costs", "fax:1"), ("rates", "growing:150"), ("uplift", "-1")])
def test_a_bad_value_in_the_link_opens_the_default_and_says_so(param, value):
    at = run_app({"lang": "en", param: value})
    assert not at.exception
    assert any(param in toast.value for toast in at.toast)
    assert param not in at.query_params


def test_the_period_switch_keeps_its_selection_when_moving_between_pages():
    at = run_app({"lang": "en", "period": "Q"}, "pages/trends.py")
    for page in ("pages/migration.py", "pages/strategy.py", "pages/trends.py"):
        at.switch_page(page).run()
        assert not at.exception
        assert at.segmented_control(key="_w_period").value == "Q", page


@pytest.mark.parametrize("lang,title", [("zh", "找不到这个链接的数据"), ("en", "The data of this link is not available")])
def test_a_link_to_a_missing_data_set_shows_an_error_page_and_no_other_data(lang, title):
    at = run_app({"lang": lang, "dataset": "0123abcd"}, "pages/overview.py")
    assert [x.value for x in at.title] == [title]
    assert "0123abcd" in at.error[0].value
    # Nothing from the demo data (8,000 customers) stands in for the missing data set.
    assert not at.metric and not at.get("plotly_chart")
    assert at.query_params["dataset"] == "0123abcd"
    at.button(key="missing_open_list").click().run()
    assert not at.exception
    assert at.title[0].value in ("数据", "Data")
    assert "dataset" not in at.query_params


def test_the_share_link_uses_the_public_address_when_one_is_set(monkeypatch):
    monkeypatch.setenv("TIERLENS_PUBLIC_URL", "https://tiers.example.com/")
    at = run_app({"lang": "en", "margin": "40"}, "pages/clv.py")
    link = at.sidebar.code[0].value
    assert link.startswith("https://tiers.example.com/") and link.endswith("margin=40")
    assert not at.sidebar.warning


def test_a_localhost_share_link_warns_that_nobody_else_can_open_it(monkeypatch):
    monkeypatch.delenv("TIERLENS_PUBLIC_URL", raising=False)
    at = run_app({"lang": "en"})
    # AppTest has no browser address; a real run shows http://localhost:8501 (see tests/browser).
    assert any("nobody else can open it" in w.value for w in at.sidebar.warning)


def test_public_page_url_keeps_the_page_and_drops_the_local_address():
    from ui.sidebar import only_this_computer, public_page_url

    assert public_page_url("http://127.0.0.1:8501/strategy", "https://a.example.org") == "https://a.example.org/strategy"
    assert public_page_url("http://localhost:8501/", "https://a.example.org/t/", "t") == "https://a.example.org/t/"
    assert only_this_computer("http://localhost:8501/x?lang=en")
    assert only_this_computer("http://127.0.0.1:8501/")
    assert not only_this_computer("https://a.example.org/t/")


def test_the_demo_shows_yuan_in_both_languages_and_a_language_switch_keeps_the_currency():
    at = run_app({"lang": "en"})
    revenue = metrics(at)["Net revenue"]
    assert revenue.startswith("¥"), revenue
    at.segmented_control(key="_w_lang").set_value("zh").run()
    assert not at.exception
    assert metrics(at)["净消费金额"].startswith("¥")
    # Same amount, only the number words change (¥8.49M in English is ¥849万 in Chinese).
    assert revenue == "¥8.49M" and metrics(at)["净消费金额"] == "¥849万"


def _money_column(at: AppTest, header_start: str) -> dict:
    """The column settings of the first table column whose header starts with ``header_start``."""
    for frame in at.dataframe:
        for cfg in json.loads(frame.proto.columns).values():
            if str(cfg.get("label", "")).startswith(header_start):
                return cfg
    raise AssertionError(f"no column {header_start!r}")


@pytest.mark.parametrize("page,query", [("pages/export.py", {}), ("pages/customer.py", {"customer": "C000001"})])
def test_money_in_customer_and_export_tables_is_formatted_with_the_currency(page, query):
    at = run_app({"lang": "en", **query}, page)
    cfg = _money_column(at, "Amount spent (M, ¥)")
    assert cfg["type_config"]["format"] == "localized"
    assert cfg["type_config"]["step"] == 1


@pytest.mark.parametrize("period,pair,span", [("M", ["2025-11-30", "2026-01-01"], "1 month"),
                                              ("Q", ["2025-09-30", "2026-01-01"], "3 months")])
def test_migration_period_buttons_compare_one_period_and_say_the_span(period, pair, span):
    at = run_app({"lang": "en", "period": period}, "pages/migration.py")
    assert at.multiselect(key="_w_compare").value == pair
    assert any(m.value.endswith(f"{span} apart**") for m in at.markdown), [m.value for m in at.markdown]


def _tier_sizes(at: AppTest) -> list:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["x"]


@pytest.mark.parametrize("lang,banner,explanation", [
    ("zh", "未更新", "距上次购买天数 (R) 要分 3 档，需要 2 个分界点，现在填了 1 个。"),
    ("en", "Not updated", "Days since last purchase (R) has 3 score levels, so it needs 2 cut points; there are 1."),
])
def test_thresholds_that_do_not_fit_keep_the_last_view_and_explain_in_the_pages_language(lang, banner, explanation):
    at = run_app({"lang": lang, "method": "thresholds", "bins": "3", "thresholds": "R:30,90;F:2,5;M:100,500"})
    before, sizes, link = metrics(at), _tier_sizes(at), dict(at.query_params)
    at.text_input(key="_w_thr_R").set_value("30").run()
    assert not at.exception
    assert texts_of(at.main.warning)[0].startswith(banner)
    assert (metrics(at), _tier_sizes(at), dict(at.query_params)) == (before, sizes, link)
    errors = " ".join(texts_of(at.sidebar.error))
    assert explanation in errors
    assert "recency_days" not in errors and "cut points for 3 scores" not in errors
    # The boxes keep what was typed; fixing it updates the view and the link.
    assert at.text_input(key="_w_thr_R").value == "30"
    at.text_input(key="_w_thr_R").set_value("30, 60").run()
    assert not any(w.startswith(banner) for w in texts_of(at.main.warning))
    assert at.query_params["thresholds"].startswith("R:30,60;")


def texts_of(elements) -> list[str]:
    """Shown text: markdown escapes (user text is escaped) removed."""
    return [e.value.replace("\\", "") for e in elements]


@pytest.mark.parametrize("lang,expected", [
    ("zh", "第 1 行第 11 列：“<=”后面缺少数字或列名，例如 R <= 30。"),
    ("en", "Line 1, column 11: After '<=' a number or a column name is missing, e.g. R <= 30."),
])
def test_a_rule_typo_is_explained_in_the_pages_language_and_never_reaches_the_link(lang, expected):
    at = run_app({"lang": lang})
    at.text_area(key="_w_rules").set_value("Good: R <=\nRest: else").run()
    assert expected in texts_of(at.sidebar.error)
    assert "rules" not in at.query_params
    assert "?" not in at.sidebar.code[0].value or "rules=" not in at.sidebar.code[0].value


def test_a_link_with_a_rule_typo_opens_the_presets_view_marked_not_updated():
    at = run_app({"lang": "en", "rules": "Good: R <=\nRest: else"})
    assert not at.exception and not at.main.error
    assert texts_of(at.main.warning)[0].startswith("Not updated")
    assert metrics(at)["Customers"] == "8,000"
