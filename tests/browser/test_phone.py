"""On a phone (390x844): the first screen shows the headline numbers and the tier chart, nothing
scrolls sideways, Plotly's toolbar never covers a chart title, and Chinese pages read Chinese
where Streamlit lets the app set the text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import RERUN_MS, RUN_COUNTER_JS, open_app, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True, is_mobile=True)
    context.add_init_script(RUN_COUNTER_JS)
    context.set_default_timeout(RERUN_MS)
    yield context.new_page()
    context.close()


def boxes(page: Any, selector: str) -> list[dict[str, float]]:
    return page.evaluate(
        "(s) => [...document.querySelectorAll(s)].map(e => { const r = e.getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; })", selector)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_phone_first_screen_has_the_numbers_and_the_tier_chart(app_server, phone, lang):
    open_app(phone, f"{app_server.url}/?lang={lang}", ready='[data-testid="stPlotlyChart"]')
    phone.wait_for_timeout(500)
    screenshot(phone, f"phone-overview-{lang}")
    metrics = boxes(phone, '[data-testid="stMetric"]')
    assert len(metrics) == 6
    # Six numbers in two rows, all inside the screen's width and above the fold.
    assert len({round(m["top"]) for m in metrics}) == 2
    assert all(m["left"] >= 0 and m["right"] <= PHONE["width"] and m["bottom"] <= PHONE["height"] for m in metrics)
    # The tier chart starts on the first screen and at least half of it shows.
    chart = boxes(phone, '[data-testid="stPlotlyChart"]')[0]
    assert chart["top"] < PHONE["height"] - (chart["bottom"] - chart["top"]) / 2
    # Nothing scrolls sideways.
    assert phone.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]'); return m.scrollWidth <= m.clientWidth; }")
    # No Plotly toolbar over the chart titles on a touch screen.
    bars = phone.evaluate("() => [...document.querySelectorAll('.modebar-container')]"
                          ".map(e => getComputedStyle(e).display)")
    assert bars and set(bars) == {"none"}


def test_chinese_pages_set_chinese_where_streamlit_allows(app_server, phone):
    open_app(phone, f"{app_server.url}/export", ready='[data-testid="stMultiSelect"]')
    box = phone.locator('[data-testid="stMultiSelect"]').first.inner_html()
    assert "全部层级" in box and "Choose options" not in box
    open_app(phone, f"{app_server.url}/data", ready='[data-testid="stFileUploader"]')
    assert "每个文件最大 200MB" in phone.locator('[data-testid="stCaptionContainer"]').all_inner_texts().__str__()


def test_sidebar_cut_points_are_readable_not_clipped(app_server, new_page):
    page = new_page()
    open_app(page, f"{app_server.url}/?method=quantile&bins=5", ready='[data-testid="stPlotlyChart"]')
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary').first.click()
    table = page.locator('[data-testid="stSidebar"] [data-testid="stTable"]')
    table.wait_for(state="visible")
    cells = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stTable"] tbody tr')]
               .map(tr => [...tr.querySelectorAll('td')].map(td => ({text: td.innerText.trim(),
                   clipped: td.scrollWidth > td.clientWidth + 1,
                   lines: (() => { const p = td.querySelector('p') || td;
                                   return Math.round(p.getBoundingClientRect().height
                                                     / parseFloat(getComputedStyle(p).lineHeight)); })()})))""")
    assert len(cells) == 5
    # Every range is there in full (no "121–30…"), and R and F ranges sit on one line.
    assert not any(c["clipped"] for row in cells for c in row)
    assert all("…" not in c["text"] for row in cells for c in row)
    assert all(row[i]["lines"] == 1 for row in cells for i in (0, 1, 2))
    assert any("–" in row[1]["text"] for row in cells)
