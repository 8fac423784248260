"""The backtest page on the built-in demo data, through AppTest.

The demo data set is seeded, so its numbers are literal expectations; they agree with the
core's ``backtest`` on the same settings (tests/test_backtest.py checks the core independently)
and with ``tierlens backtest`` on the demo export (34.0% / 61.7%, gap closed 0.596, tiers in the
preset's value order).
"""

from __future__ import annotations

import json
import re

import polars as pl
from apptest import run_app
from streamlit.testing.v1 import AppTest

import ui.cache
from segmentation.backtest import backtest, preset_spec
from segmentation.demo import demo_transactions

PAGE = "pages/backtest.py"


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_backtest_page_renders_on_the_demo_with_the_latest_full_window():
    at = run_app({"lang": "en"}, PAGE)
    assert [e.value for e in at.title] == ["Backtest: do the tiers work?"]
    assert not at.error and not at.main.warning
    assert metrics(at) == {
        "Next revenue held by the top 10%": "34.0%", "Next revenue held by the top 20%": "61.7%",
        "Gap closed": "0.596", "Top tier's lift": "3.40×", "Order agreement": "0.762", "Inversions": "5 / 28",
    }
    # The demo ends on 2025-12-31: the latest T with a full 90-day window is 2 Oct 2025.
    assert "Tiered on 2 Oct 2025; purchases from 3 Oct 2025 to 31 Dec 2025 (90 days), net of returns." in [
        c.value for c in at.caption]
    assert at.date_input(key="_w_bt_as_of").value.isoformat() == "2025-10-02"
    assert at.query_params == {"lang": "en"}
    table = at.main.dataframe[1].value
    # The last row is the new customers'; nobody is "not tiered at T" on the demo, so no such row.
    assert list(table.iloc[:, 0])[-1] == "New (first seen after T)"
    comparison = at.main.dataframe[0].value
    assert list(comparison.iloc[:, 0]) == ["Random", "Current tiers", "Preset defaults: RFM 8 classes",
                                          "Recency alone", "CLV ranking", "Perfect hindsight"]


def test_empty_catch_all_tier_is_not_a_row_and_the_rows_still_add_up():
    # cn8's rules have no "else"; on the demo every customer tiered at T meets one of the eight.
    at = run_app({"lang": "en"}, PAGE)
    table = at.main.dataframe[1].value
    assert "Unassigned" not in list(table.iloc[:, 0])
    assert len(table) == 8 + 1  # the tiers and the new customers (the empty not-tiered row is hidden)
    tx = demo_transactions()
    t, end = pl.date(2025, 10, 2), pl.date(2025, 12, 31)
    window = tx.filter((pl.col("order_date").cast(pl.Date) > t) & (pl.col("order_date").cast(pl.Date) <= end))
    shown = sum(float(v.replace("¥", "").replace(",", "")) for v in table["Net revenue"])
    # Whole currency units per row: the sum may differ from the exact total by half a unit a row.
    assert abs(shown - window["amount"].sum()) <= 0.5 * len(table)


def test_a_tier_nobody_meets_at_t_stays_a_row_and_is_named_under_the_table():
    at = run_app({"lang": "en", "rules": "Ghost: M > 100000000\nEveryone: else"}, PAGE)
    assert not at.exception
    table = at.main.dataframe[1].value
    ghost = table[table.iloc[:, 0] == "Ghost"].iloc[0]
    assert ghost["Customers"] == "0" and ghost["Revenue per customer"] == "—"
    assert "Tiers with no customers: Ghost. Nobody met their rule at T, so the per-customer figures show —." in [
        c.value for c in at.caption]


def test_page_numbers_are_the_cores_backtest():
    tx = demo_transactions()
    spec = preset_spec("cn8", lang="zh").replace(unassigned="未分层")
    core = backtest(tx, spec, horizon_days=180, preset="cn8", lang="zh")
    at = run_app({"bt_horizon": "180"}, PAGE)
    shown = metrics(at)
    assert shown["前 10% 客户的下期收入占比"] == f"{core.current['captured_10'] * 100:.1f}%"
    assert shown["弥合差距"] == f"{core.current['gap_closed']:,.3f}"


def test_a_control_change_changes_the_numbers_and_the_link():
    at = run_app({"lang": "en"}, PAGE)
    before = metrics(at)
    at.number_input(key="_w_bt_horizon").set_value(180).run()
    assert not at.exception
    assert at.query_params["bt_horizon"] == "180"
    after = metrics(at)
    assert after["Gap closed"] != before["Gap closed"]
    # The default T follows the horizon: the latest date with 180 days after it.
    assert at.date_input(key="_w_bt_as_of").value.isoformat() == "2025-07-04"
    at.selectbox(key="_w_bt_within_en").set_value("monetary").run()
    assert at.query_params["bt_within"] == "monetary"
    assert metrics(at)["Next revenue held by the top 10%"] != after["Next revenue held by the top 10%"]


def test_a_date_too_late_for_the_horizon_says_which_date_works():
    at = run_app({"lang": "en", "bt_as_of": "2025-12-01"}, PAGE)
    assert any("2 Oct 2025 at the latest" in w.value for w in at.warning)
    assert "bt_as_of" not in at.query_params
    assert metrics(at)["Gap closed"] == "0.596"


def test_applying_a_suggestion_sets_the_cut_points_only_on_the_click():
    at = run_app({"lang": "en"}, PAGE)
    assert "bt_apply_0" not in [b.key for b in at.button]  # no search until asked
    at.toggle(key="_w_bt_suggest").set_value(True).run()
    assert not at.exception
    assert at.query_params == {"lang": "en", "bt_suggest": "1"}  # searching changes nothing
    before = metrics(at)["Gap closed"]
    at.button(key="bt_apply_0").click().run()
    assert not at.exception
    query = dict(at.query_params)
    assert query["method"] == "thresholds" and query["bins"] == "2" and query["thresholds"].startswith("R:")
    assert metrics(at)["Gap closed"] != before
    # The link alone reproduces the applied view.
    again = run_app(query, PAGE)
    assert metrics(again) == metrics(at)


def test_customer_list_shows_what_each_customer_did_next():
    at = run_app({"lang": "en"}, PAGE)
    table = at.main.dataframe[2]
    frame = table.value
    assert {"Orders next", "Revenue next", "Bought again"} <= set(frame.columns)
    # Dates as days (no midnight timestamps); money as whole units with the currency in the
    # header, like the Export page's list, while the values stay numbers that sort.
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in frame["Last purchase"])
    config = json.loads(table.proto.columns)
    for column, header in (("Revenue next", "Revenue next (¥)"), ("Amount spent (M)", "Amount spent (M, ¥)")):
        assert config[column]["label"] == header
        assert config[column]["type_config"]["format"] == "localized"
        assert frame[column].dtype.kind == "f"
    at.selectbox(key="_w_bt_tier").set_value(at.selectbox(key="_w_bt_tier").options[1]).run()
    assert "bt_tier" in at.query_params


def test_a_customer_level_data_set_cannot_be_backtested(monkeypatch):
    customers = pl.DataFrame({"customer_id": ["a", "b"], "recency_days": [3, 40], "frequency": [2, 1],
                              "monetary": [50.0, 10.0]})
    monkeypatch.setattr(ui.cache, "transactions", lambda dataset_id: customers)
    at = AppTest.from_file(str(__import__("apptest").APP), default_timeout=90)
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page(PAGE).run()
    assert any("cannot be backtested" in i.value for i in at.info)


def test_the_not_tiered_row_shows_only_when_someone_is_in_it():
    from segmentation.backtest import ROW_LABELS, UNTIERED
    from ui.tables import backtest_tiers_display

    label = ROW_LABELS[UNTIERED]["en"]
    at = run_app({"lang": "en"}, PAGE)
    table = at.main.dataframe[1].value
    # On the demo every customer active before T is tiered: no row of zeros.
    assert label not in set(table.iloc[:, 0])
    assert ROW_LABELS["__new__"]["en"] in set(table.iloc[:, 0])
    tiers = backtest(demo_transactions(), preset_spec("cn8", lang="en"), horizon_days=90).current.tiers
    someone = tiers.with_columns(
        pl.when(pl.col("kind") == "untiered").then(3).otherwise(pl.col("customers")).alias("customers"))
    assert label in set(backtest_tiers_display(someone, "en", "CNY")[:, 0].to_list())
    assert label not in set(backtest_tiers_display(tiers, "en", "CNY")[:, 0].to_list())
