"""Every page of the app, driven through AppTest on the built-in demo data.

The demo data set is seeded, so its numbers are literal expectations here.
"""

from __future__ import annotations

from pathlib import Path

from apptest import run_app
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
DEMO_CUSTOMERS = "8,000"





def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(elements) -> list[str]:
    return [e.value for e in elements]


# ----------------------------------------------------------------------------- overview & sidebar


def test_overview_opens_on_the_demo_data_in_chinese():
    at = run_app()
    assert texts(at.title) == ["客户分层总览"]
    shown = metrics(at)
    assert shown["客户数"] == DEMO_CUSTOMERS
    assert shown["订单数"] == "36,755"
    assert shown["头部层级金额占比"] == "49.9%"
    assert at.query_params == {}
    assert not at.error


def test_overview_in_english_from_the_link():
    at = run_app({"lang": "en"})
    assert texts(at.title) == ["Customer tiers at a glance"]
    assert metrics(at)["Customers"] == DEMO_CUSTOMERS
    assert at.query_params == {"lang": "en"}


def test_changing_the_preset_changes_the_tiers_and_the_link():
    at = run_app({"lang": "en"})
    before = metrics(at)["Top tier's revenue"]
    at.selectbox(key="_w_preset_en").set_value("segments11").run()
    assert not at.exception
    assert at.query_params == {"lang": "en", "preset": "segments11"}
    assert "11 tiers" in texts(at.sidebar.caption)
    assert metrics(at)["Top tier's revenue"] != before
    # The rule editor now holds the new preset's rules.
    assert at.text_area(key="_w_rules").value.splitlines()[2].startswith("Champions:")


def test_moving_the_bins_slider_rescores():
    at = run_app({"lang": "en", "preset": "value3"})
    before = metrics(at)["Top tier's revenue"]
    at.slider(key="_w_bins").set_value(3).run()
    assert not at.exception
    assert at.query_params["bins"] == "3"
    assert metrics(at)["Top tier's revenue"] != before
    assert metrics(at)["Customers"] == DEMO_CUSTOMERS


def test_a_rule_error_is_shown_in_place_and_the_last_valid_view_stays():
    at = run_app({"lang": "en"})
    before = metrics(at)
    at.text_area(key="_w_rules").set_value("Good: R <=\nRest: else").run()
    assert not at.exception
    sidebar_errors = texts(at.sidebar.error)
    assert any(e.startswith("Line 1, column 11:") for e in sidebar_errors), sidebar_errors
    # The page keeps the last valid numbers, says they are not updated, and the link keeps them too.
    assert not at.main.error
    assert texts(at.main.warning)[0].startswith("Not updated")
    assert metrics(at) == before
    assert at.query_params == {"lang": "en"}


def test_custom_rules_make_new_tiers():
    at = run_app({"lang": "en", "rules": "Recent: R <= 90\nEarlier: else"})
    assert "2 tiers" in texts(at.sidebar.caption)
    assert "Recent" in at.main.dataframe[0].value.iloc[:, 0].tolist()


def test_thresholds_method_prefills_editable_cut_points():
    at = run_app({"lang": "en", "preset": "value3"})
    at.selectbox(key="_w_method_en").set_value("thresholds").run()
    assert not at.exception
    assert at.query_params["method"] == "thresholds"
    assert at.query_params["thresholds"].startswith("R:")
    at.text_input(key="_w_thr_R").set_value("30, 90, 180, 365").run()
    assert at.query_params["thresholds"].startswith("R:30,90,180,365;F:")
    at.text_input(key="_w_thr_F").set_value("two").run()
    assert "Thresholds must be numbers" in " ".join(texts(at.sidebar.error))


def test_bad_link_values_fall_back_without_breaking():
    at = run_app({"bins": "99", "lang": "en", "preset": "nope"})
    assert metrics(at)["Customers"] == DEMO_CUSTOMERS
    notes = " ".join(texts(at.toast))
    assert "bins=99" in notes and "Preset 'nope' does not exist" in notes
    assert at.query_params == {"lang": "en"}


def test_present_mode_hides_editing_and_is_in_the_link():
    at = run_app({"lang": "en"})
    at.toggle(key="_w_present").set_value(True).run()
    assert at.query_params == {"lang": "en", "present": "1"}
    assert len(at.text_area) == 0 and len(at.sidebar.selectbox) == 0
    assert metrics(at)["Customers"] == DEMO_CUSTOMERS


def test_share_link_reproduces_the_view():
    at = run_app({"lang": "en", "window_days": "365"})
    link = texts(at.sidebar.code)[0]
    assert link.endswith("?window_days=365&lang=en")


def test_language_switch():
    at = run_app()
    at.button_group(key="_w_lang").set_value("en").run()
    assert texts(at.title) == ["Customer tiers at a glance"]
    assert at.query_params == {"lang": "en"}


def test_sidebar_choices_keep_working_after_a_language_switch():
    at = run_app()
    at.button_group(key="_w_lang").set_value("en").run()
    # Translated selectboxes are new widgets in the new language, showing its labels.
    assert at.selectbox(key="_w_window_days_en").value == 0
    assert at.selectbox(key="_w_preset_en").value == "cn8"
    at.selectbox(key="_w_preset_en").set_value("value3").run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="_w_window_days_en").set_value(365).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params == {"lang": "en", "preset": "value3", "window_days": "365"}
    assert "as of 1 Jan 2026 · Last 365 days · High / medium / low value" in texts(at.caption)[1]


# ----------------------------------------------------------------------------- other pages


def test_customer_page_looks_a_customer_up():
    at = run_app({"lang": "en"}, page="pages/customer.py")
    assert texts(at.title) == ["Customer lookup"]
    at.text_input(key="_w_customer").set_value("C000001").run()
    assert not at.exception
    shown = metrics(at)
    assert shown["Tier now"] == "Key development"
    assert shown["Purchases (F)"] == "2"
    assert at.query_params["customer"] == "C000001"
    assert at.get("plotly_chart")


def test_customer_lookup_ignores_case_and_spaces_and_shows_the_id_as_stored():
    at = run_app({"lang": "en", "customer": " c 000001 "}, page="pages/customer.py")
    shown = metrics(at)
    assert shown["Tier now"] == "Key development"
    assert shown["Purchases (F)"] == "2"
    assert not at.main.warning
    # The timeline names the customer as the data does.
    assert "Purchases of customer C000001" in at.get("plotly_chart")[0].proto.spec


def test_customer_page_says_when_an_id_is_unknown():
    at = run_app({"lang": "en", "customer": "nobody"}, page="pages/customer.py")
    assert "No customer 'nobody'" in " ".join(texts(at.warning))


def test_export_page_offers_the_summary_and_the_lists():
    at = run_app({"lang": "en"}, page="pages/export.py")
    assert texts(at.title) == ["Export"]
    assert len(at.get("download_button")) == 3
    assert "8,000 customers." in texts(at.caption)
    at.multiselect(key="_w_tiers").set_value(["Key value"]).run()
    assert "1,206 customers." in texts(at.caption)
    assert at.query_params["tiers"] == "Key value"


def test_data_page_uploads_checks_and_saves_a_file(tmp_path):
    at = run_app({"lang": "en"}, page="pages/data.py")
    assert texts(at.title) == ["Data"]
    sample = (ROOT / "data" / "sample_transactions_zh.csv").read_bytes()
    at.file_uploader[0].upload("orders.csv", sample, "text/csv")
    at.run()
    assert not at.exception
    assert metrics(at) == {"Rows read": "50", "Rows kept": "50", "Rows dropped": "0",
                           "Money read": "9,440.12", "Money kept": "9,440.12", "Money dropped": "0.00"}
    # The Chinese headers were recognised.
    assert at.selectbox(key=next(k for k in _keys(at) if k.startswith("map_customer_id_"))).value == "客户编号"
    # Checked, so it is saved and in use without another click ("upload, then look").
    dataset = at.query_params["dataset"]
    assert len(dataset) == 32
    assert any("Checked and saved as 'orders'" in s for s in texts(at.success))
    at.switch_page("pages/overview.py").run()
    assert metrics(at)["Customers"] == "12"
    assert any(c.startswith("orders · as of") for c in texts(at.caption))
    at.switch_page("pages/data.py").run()
    at.button(key=f"delete_{dataset}").click().run()
    assert "dataset" not in at.query_params


def test_data_page_asks_for_the_day_month_order():
    at = run_app({"lang": "en"}, page="pages/data.py")
    ambiguous = b"customer,date,amount\nA,03/04/2024,10\nB,05/06/2024,20\nA,07/08/2024,5\n"
    at.file_uploader[0].upload("dates.csv", ambiguous, "text/csv")
    at.run()
    assert not at.exception
    assert any("day/month" in w for w in texts(at.warning))
    at.radio[0].set_value("dmy").run()
    assert metrics(at)["Rows kept"] == "3"


def _keys(at: AppTest) -> list[str]:
    return [w.key for w in at.selectbox if w.key]


def test_rules_can_use_churn_risk_from_the_lifetime_value_model():
    # P_ALIVE comes from the BG/NBD fit, joined onto the customer table only when a rule uses it.
    rules = "At risk: P_ALIVE < 0.3 and M >= 1000\nOthers: else"
    at = run_app({"lang": "en", "rules": rules})
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert table.iloc[:, :2].values.tolist() == [["At risk", "713 (8.9%)"], ["Others", "7,287 (91.1%)"]]
