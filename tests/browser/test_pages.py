"""Every page opens in a real browser without errors; uploads and sidebar settings take effect.

Pages come from app.py's navigation, so pages added later are covered without editing this
file. A screenshot of each page (both languages) goes to /tmp/shots for a human look.
"""

from __future__ import annotations

import re

import pytest

from .conftest import (
    CORPUS,
    app_pages,
    chart_traces,
    exception_texts,
    metrics,
    open_app,
    open_expander_of,
    press_slider,
    screenshot,
    slider_value,
    upload,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

PAGES = app_pages()
# What each known page shows on the demo data besides its title; pages not listed here
# (added later) must show at least one chart or metric.
CONTENT = {
    "overview": ('[data-testid="stMetric"]', '[data-testid="stPlotlyChart"]'),
    "customer": ('[data-testid="stDataFrame"]',),
    "export": ('[data-testid="stDownloadButton"]', '[data-testid="stDataFrame"]'),
    "data": ('[data-testid="stFileUploader"]', '[data-testid="stAlert"]'),
}
CHART_OR_METRIC = '[data-testid="stPlotlyChart"], [data-testid="stMetric"]'
CJK = re.compile(r"[\u3400-\u9fff]")


def test_sidebar_lists_every_page(page, app_server):
    open_app(page, app_server.url)
    hrefs = page.locator('[data-testid="stSidebarNav"] a').evaluate_all("links => links.map(a => a.href)")
    paths = sorted(href.removeprefix(app_server.url) or "/" for href in hrefs)
    assert paths == sorted(path for _stem, path in PAGES)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(("stem", "path"), PAGES, ids=[stem for stem, _ in PAGES])
def test_page_renders(page, app_server, stem, path, lang):
    query = "?lang=en" if lang == "en" else ""
    open_app(page, app_server.url + path + query)

    screenshot(page, stem if lang == "zh" else f"{stem}-{lang}")
    assert exception_texts(page) == []
    assert page.locator('[data-testid="stMain"] h1').first.inner_text().strip()
    for selector in CONTENT.get(stem, (CHART_OR_METRIC,)):
        assert page.locator(f'[data-testid="stMain"] {selector}').count() >= 1, selector
    # Charts must have drawn something (an empty figure has no traces).
    for chart in page.locator('[data-testid="stMain"] .js-plotly-plot').all():
        assert chart.evaluate("div => (div.data || []).length") > 0
    if lang == "en":
        # The page chrome (titles, captions, labels) speaks English: no Chinese in headings.
        headings = page.locator('[data-testid="stMain"] h1, [data-testid="stMain"] h2, [data-testid="stMain"] h3')
        assert [h for h in headings.all_inner_texts() if CJK.search(h)] == []


@pytest.mark.parametrize(
    ("file", "counts"),
    [("utf8_basic.csv", ["5", "4", "1"]), ("gbk_chinese.csv", ["3", "3", "0"])],
)
def test_upload_shows_validation_report(page, app_server, file, counts):
    data_path = next(path for stem, path in PAGES if stem == "data")
    open_app(page, f"{app_server.url}{data_path}?lang=en", ready='[data-testid="stFileUploader"]')
    upload(page, CORPUS / file)

    # Rows read, kept, dropped: the first three metrics of the validation report (money follows).
    assert list(metrics(page).values())[:3] == counts
    assert exception_texts(page) == []
    # A checked upload is saved and in use at once: the link names it.
    assert "dataset=" in page.url
    screenshot(page, f"data-upload-{file.split('.')[0]}")


def test_bins_slider_changes_the_grid(page, app_server):
    open_app(page, f"{app_server.url}/?preset=value3&lang=en", ready=".st-key-rf_grid .js-plotly-plot")
    open_expander_of(page, "_w_bins")
    assert slider_value(page, "_w_bins") == 5
    before = chart_traces(page, "rf_grid")
    assert before[0]["x"] == [1, 2, 3, 4, 5]
    customers = metrics(page)

    press_slider(page, "_w_bins", "ArrowLeft")

    page.wait_for_function(
        "() => { const d = document.querySelector('.st-key-rf_grid .js-plotly-plot'); return d && d.data[0].x.length === 4; }"
    )
    after = chart_traces(page, "rf_grid")
    assert after[0]["x"] == [1, 2, 3, 4]
    assert len(after[0]["z"]) == 4
    assert "bins=4" in page.url
    # Re-scoring regroups customers; it never changes how many there are.
    assert metrics(page)["Customers"] == customers["Customers"]
    cells = sum(int(c.replace(",", "")) for row in after[0]["text"] for c in row if c)
    assert cells == int(customers["Customers"].replace(",", ""))
    assert exception_texts(page) == []
