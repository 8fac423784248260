"""The time pages (migration, trends, strategy, lifetime value) through AppTest on the demo data.

The demo data set is seeded, so its numbers are literal expectations here.
"""

from __future__ import annotations

from apptest import run_app
from streamlit.testing.v1 import AppTest


def open_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    return run_app(query, page)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(elements) -> list[str]:
    return [e.value for e in elements]


# ----------------------------------------------------------------------------- migration


def test_migration_shows_rates_sankey_matrix_and_movers():
    at = open_page("pages/migration.py")
    assert texts(at.title) == ["客户迁移"]
    # By default one month apart (the "month" period); the numbers below are for three months.
    assert at.multiselect(key="_w_compare").value == ["2025-11-30", "2026-01-01"]
    at.multiselect(key="_w_compare").set_value(["2025-09-30", "2026-01-01"]).run()
    assert metrics(at) == {"升级率": "9.2%", "降级率": "9.4%", "保持不变": "81.4%", "新进入客户": "895"}
    assert len(at.get("plotly_chart")) == 3
    assert at.selectbox(key="_w_mv_from_zh").value == "重要价值客户"
    assert at.selectbox(key="_w_mv_to_zh").value == "重要保持客户"
    assert "112 位客户，期间净消费合计 ¥0。" in texts(at.caption)
    assert len(at.get("download_button")) == 2
    assert not at.error


def test_migration_cut_mode_switch_changes_the_numbers_and_the_link():
    at = open_page("pages/migration.py", {"lang": "en"})
    before = metrics(at)
    at.segmented_control(key="_w_cut_mode").set_value("recomputed").run()
    assert not at.exception
    assert at.query_params["cut_mode"] == "recomputed"
    assert metrics(at) != before
    assert any("moved only because others changed" in x for x in texts(at.info))


def test_migration_asks_for_two_dates():
    at = open_page("pages/migration.py", {"lang": "en"})
    at.multiselect(key="_w_compare").set_value(["2026-01-01"]).run()
    assert not at.exception
    assert texts(at.info) == ["Pick at least two dates to see how customers moved between tiers."]
    assert at.query_params["compare"] == "2026-01-01"
    assert not at.get("plotly_chart")


def test_migration_movers_follow_the_chosen_path():
    at = open_page("pages/migration.py", {"lang": "en", "compare": "2025-09-30,2026-01-01"})
    assert "112 customers who spent ¥0 net in between." in texts(at.caption)
    at.selectbox(key="_w_mv_from_en").set_value("__new__").run()
    at.selectbox(key="_w_mv_to_en").set_value("General development").run()
    assert not at.exception
    assert "818 customers who spent ¥223,929 net in between." in texts(at.caption)
    assert at.dataframe[0].value.iloc[0]["From"] == "New"


# ----------------------------------------------------------------------------- trends


def test_trends_show_a_kpi_with_its_definition_and_cohorts():
    at = open_page("pages/trends.py", {"lang": "en"})
    assert texts(at.title) == ["KPI trends"]
    assert texts(at.info) == [
        "Definition: Customers in the tier at the end of the period (at least one purchase in the lookback window)."
    ]
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    at.selectbox(key="_w_kpi_en").set_value("churn_rate").run()
    assert not at.exception
    # churn_rate is now lapsed customers; "bought last period, not this one" is no_repeat_rate.
    assert texts(at.info)[0].startswith("Definition: Of the customers active at the start of the period")


def test_trends_period_is_in_the_link():
    at = open_page("pages/trends.py")
    at.segmented_control(key="_w_period").set_value("Q").run()
    assert not at.exception
    assert at.query_params["period"] == "Q"
    assert texts(at.title) == ["指标趋势"]


# ----------------------------------------------------------------------------- strategy


def test_strategy_cards_budget_and_what_if():
    at = open_page("pages/strategy.py")
    assert texts(at.title) == ["分层策略"]
    shown = [(m.label, m.value) for m in at.metric]
    # 流失率 is churn as marketers mean it (lapsed customers), no longer "did not buy again" (43.6%).
    assert shown[:6] == [("人数", "1,206"), ("本期销售额占比", "55.0%"), ("人数变化", "+6.0%"), ("流失率", "6.7%"),
                         ("迁入", "8.7%"), ("迁出", "3.3%")]
    assert "依据：销售额占比 55.0%（≥ 30%） · 渠道：电话" in texts(at.caption)
    assert metrics(at)["移动人数"] == "27"
    # The chosen tier's customer list as CSV and Excel; picking another tier shows its own.
    assert [b.key for b in at.get("download_button")] == ["st_csv_0", "st_xlsx_0"]
    # Cards follow the preset's value order, where 重要挽留客户 is the sixth tier.
    at.pills(key="_w_focus").set_value(5).run()
    assert not at.exception
    assert (at.metric[0].label, at.metric[0].value) == ("人数", "174")
    assert [b.key for b in at.get("download_button")] == ["st_csv_5", "st_xlsx_5"]
    at.slider(key="_w_wi_share").set_value(20).run()
    assert not at.exception
    assert metrics(at)["移动人数"] == "54"


def test_strategy_budget_input_changes_the_split():
    at = open_page("pages/strategy.py", {"lang": "en"})
    shown = metrics(at)
    # Cheap channels cover every tier worth reaching; phone calls to the top tier take the rest.
    assert (shown["Planned spend"], shown["Expected extra revenue"], shown["Return per unit spent"]) == (
        "¥4,996", "¥12,491", "2.50×")
    assert "The remaining ¥4.09 is not enough to reach one more customer." in texts(at.caption)
    at.number_input(key="_w_budget").set_value(1000.0).run()
    assert not at.exception
    assert metrics(at)["Planned spend"] == "¥996"


def test_strategy_budget_assumptions_are_editable():
    at = open_page("pages/strategy.py", {"lang": "en"})
    # At a 1% response a phone call to the top tier no longer pays for itself, so it is left out.
    at.number_input(key="_w_rates_high_value").set_value(1.0).run()
    assert not at.exception
    assert metrics(at)["Planned spend"] == "¥261"
    assert texts(at.main.warning)[-1].startswith("¥4,739 is left unallocated: in the remaining tiers a contact")
    at.checkbox(key="_w_negative").check().run()
    assert metrics(at)["Planned spend"] == "¥4,996"
    at.number_input(key="_w_uplift").set_value(0.0).run()
    assert metrics(at)["Expected extra revenue"] == "¥0"


# ----------------------------------------------------------------------------- lifetime value


def test_clv_page_shows_value_alive_and_the_holdout_verdict():
    at = open_page("pages/clv.py")
    assert texts(at.title) == ["客户终身价值"]
    shown = metrics(at)
    # Spend per purchase is net of returns (¥404 when returns were left out).
    assert shown["人均价值"] == "¥392"
    # The holdout ends at the as-of date, inclusive, like every other page (-7.3% when it ended a day earlier).
    assert shown["相对误差"] == "-7.2%"
    assert texts(at.success) == ["良好：模型预测的购买次数比实际少 7.2%，可以用于规划。"]
    assert len(at.get("plotly_chart")) == 5
    at.segmented_control(key="_w_horizon").set_value(90).run()
    assert not at.exception
    assert metrics(at)["人均价值"] != "¥392"


def test_clv_fit_error_is_explained_and_the_app_keeps_working():
    at = open_page("pages/clv.py", {"lang": "en", "as_of": "2023-01-10"})
    assert len(at.error) == 1
    assert at.error[0].value.startswith("Lifetime value cannot be estimated: Too little history")
    assert "use a longer history" in at.error[0].value
    at.switch_page("pages/overview.py").run()
    assert not at.exception and not at.error
