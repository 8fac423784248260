"""A copied link reproduces a view; browser sessions never see each other's unsaved work.

Settings live in the URL (``st.query_params``), so a link opened in a fresh browser must show
the same preset, scoring, language and numbers. Two sessions share only what was saved to
the data set store (shared by id, by design); uploads, rule edits and settings stay per session.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import (
    chart_json,
    chart_traces,
    choose,
    exception_texts,
    metrics,
    open_app,
    open_expander_of,
    press_slider,
    rerun,
    set_language,
    slider_value,
    upload,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

GRID = ".st-key-rf_grid .js-plotly-plot"
RULES = ".st-key-_w_rules textarea"
# Translated selectboxes have one widget key per language (_w_preset_zh, _w_preset_en).
PRESET = '[class*="st-key-_w_preset_"] input'
WINDOW = '[class*="st-key-_w_window_days_"] input'
# Preset value3 ("High / medium / low value"), as named in segmentation/presets.py.
VALUE3_ZH, VALUE3_EN = "高中低价值", "High / medium / low value"


def query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def view_state(page) -> dict:
    """What a viewer sees: title, metrics, preset shown, bins, the R x F grid and tier bars."""
    open_expander_of(page, "_w_bins")
    return {
        "title": page.locator('[data-testid="stMain"] h1').first.inner_text(),
        "metrics": metrics(page),
        "preset": page.locator(PRESET).first.input_value(),
        "bins": slider_value(page, "_w_bins"),
        "grid": chart_json(page, "rf_grid"),
        "tiers": chart_json(page, "tier_customers"),
    }


def nav(page, path: str, ready: str) -> None:
    """Switch page through the sidebar navigation (same session, unlike a page load)."""
    link = page.locator(f'[data-testid="stSidebarNav"] a[href$="{path}"]').first
    rerun(page, link.click)
    page.locator(ready).first.wait_for(state="visible")
    wait_idle(page)


def test_shared_link_reproduces_the_view(new_page, app_server):
    author = new_page()
    open_app(author, app_server.url, ready=GRID)
    choose(author, "_w_preset_zh", VALUE3_ZH)
    open_expander_of(author, "_w_bins")
    press_slider(author, "_w_bins", "ArrowLeft")
    set_language(author, "English")
    shared = author.url
    assert query(shared) == {"preset": "value3", "bins": "4", "lang": "en"}
    seen = view_state(author)

    viewer = new_page()
    open_app(viewer, shared, ready=GRID)
    shown = view_state(viewer)

    assert shown["preset"] == VALUE3_EN
    assert shown["bins"] == 4
    assert shown["title"] == seen["title"] == "Customer tiers at a glance"
    assert shown["metrics"] == seen["metrics"]
    assert next(iter(shown["metrics"])) == "Customers"
    assert shown["grid"] == seen["grid"]
    assert shown["tiers"] == seen["tiers"]
    assert query(viewer.url) == query(shared)
    assert exception_texts(author) == exception_texts(viewer) == []


def test_controls_keep_working_after_a_language_switch(page, app_server):
    open_app(page, app_server.url, ready=GRID)
    set_language(page, "English")
    # Every sidebar choice is shown in the new language.
    assert page.locator(PRESET).first.input_value() == "RFM 8 classes"
    assert page.locator(WINDOW).first.input_value() == "All history"

    choose(page, "_w_preset_en", VALUE3_EN)
    assert exception_texts(page) == []
    # Only real setting values reach the link, never a translated label of the other language.
    assert query(page.url) == {"preset": "value3", "lang": "en"}

    # A second change sends every sidebar widget's value again: still plain codes, no crash.
    choose(page, "_w_window_days_en", "Last 365 days")
    assert exception_texts(page) == []
    assert query(page.url) == {"preset": "value3", "window_days": "365", "lang": "en"}
    assert page.locator(PRESET).first.input_value() == VALUE3_EN


def share_link(page) -> str:
    return page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text().strip()


@pytest.mark.parametrize(("path", "title"), [("/", "Customer tiers at a glance"), ("/customer", "Customer lookup")])
def test_the_share_link_of_a_page_opens_that_page(new_page, app_server, path, title):
    author = new_page()
    open_app(author, f"{app_server.url}{path}?lang=en&window_days=365")
    link = share_link(author)
    assert urlsplit(link).path.rstrip("/") == path.rstrip("/")
    assert query(link) == {"lang": "en", "window_days": "365"}

    viewer = new_page()
    open_app(viewer, link)
    assert viewer.locator('[data-testid="stMain"] h1').first.inner_text() == title
    assert viewer.get_by_text("Page not found").count() == 0
    assert query(viewer.url) == query(link)
    assert exception_texts(viewer) == []


def test_the_strategy_tab_and_tier_travel_with_the_link(new_page, app_server):
    author = new_page()
    open_app(author, f"{app_server.url}/strategy?lang=en")
    rerun(author, author.locator(".st-key-_w_focus [role=radio]").filter(has_text="Key win-back").click)
    rerun(author, author.get_by_role("tab", name="What if").click)
    link = share_link(author)
    assert query(link) == {"lang": "en", "focus": "Key win-back", "tab": "what_if"}
    assert query(author.url) == query(link)

    viewer = new_page()
    open_app(viewer, link)
    assert viewer.get_by_role("tab", name="What if").get_attribute("aria-selected") == "true"
    rerun(viewer, viewer.get_by_role("tab", name="Suggestions per tier").click)
    assert viewer.locator('[data-testid="stMain"] h4').first.inner_text() == "Key win-back"
    assert "tab" not in query(viewer.url)
    assert exception_texts(author) == exception_texts(viewer) == []


def test_the_default_page_also_opens_under_its_own_name(page, app_server):
    open_app(page, f"{app_server.url}/overview?lang=en", ready=GRID)
    assert page.locator('[data-testid="stMain"] h1').first.inner_text() == "Customer tiers at a glance"
    assert page.get_by_text("Page not found").count() == 0
    assert exception_texts(page) == []


def test_sessions_do_not_share_unsaved_work(new_page, app_server, tmp_path):
    name = f"probe-{uuid.uuid4().hex[:8]}"
    probe = tmp_path / f"{name}.csv"
    probe.write_text(
        "customer_id,order_date,amount,order_id\nP1,2024-01-02,10,o1\nP2,2024-01-03,20,o2\nP1,2024-02-01,30,o3\n",
        encoding="utf-8",
    )

    other = new_page()
    open_app(other, f"{app_server.url}/?lang=en", ready=GRID)
    other_before = {"metrics": metrics(other), "rules": other.locator(RULES).input_value(), "url": other.url}

    me = new_page()
    open_app(me, f"{app_server.url}/data?lang=en", ready='[data-testid="stFileUploader"]')
    upload(me, probe)
    assert list(metrics(me).values())[:3] == ["3", "3", "0"]
    my_rules = "VIP: M >= 1000\nOthers: else"
    me.locator(RULES).fill(my_rules)
    rerun(me, lambda: me.locator(RULES).press("Control+Enter"))
    assert query(me.url)["rules"] == my_rules

    # The other session reruns: no trace of the upload's check or the rule edit.
    nav(other, "/data", '[data-testid="stFileUploader"]')
    assert other.locator('[data-testid="stMain"] [data-testid="stMetric"]').count() == 0
    assert other.locator(RULES).input_value() == other_before["rules"]

    # A checked upload is saved to the shared store at once and is current for this session only.
    dataset_id = query(me.url).get("dataset")
    assert dataset_id and dataset_id != "demo"
    assert query(me.url)["rules"] == my_rules

    nav(other, "/", GRID)
    nav(other, "/data", '[data-testid="stFileUploader"]')
    assert other.get_by_text(name).count() >= 1, "saved data sets are listed for everyone"
    nav(other, "/", GRID)
    assert metrics(other) == other_before["metrics"]
    assert other.locator(RULES).input_value() == other_before["rules"]
    assert other.url == other_before["url"]
    assert "VIP" not in {y for trace in chart_traces(other, "tier_customers") for y in trace.get("y", [])}

    nav(me, "/", GRID)
    assert metrics(me)[next(iter(metrics(me)))] == "2", "this session now shows its own data set"
    assert {"VIP", "Others"} & {y for trace in chart_traces(me, "tier_customers") for y in trace.get("y", [])}
    assert exception_texts(me) == exception_texts(other) == []
