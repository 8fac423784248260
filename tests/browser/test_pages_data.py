"""The Data page in a real browser: several files joined, and a two-sheet workbook appended.

Named to run after test_fresh_server.py: that test starts its own Playwright, which cannot run
while the session-wide browser of the other tests is open."""

from __future__ import annotations

import pytest

from .conftest import (
    CORPUS,
    app_pages,
    exception_texts,
    metrics,
    open_app,
    rerun,
    screenshot,
)

PAGES = app_pages()
UPLOADER = '[data-testid="stFileUploaderDropzoneInput"]'


def _data_url(app_server, lang: str) -> str:
    data_path = next(path for stem, path in PAGES if stem == "data")
    return f"{app_server.url}{data_path}?lang={lang}"


def test_three_olist_files_are_joined_with_rows_and_money_per_reason(page, app_server):
    open_app(page, _data_url(app_server, "en"), ready='[data-testid="stFileUploader"]')
    files = [str(CORPUS / f) for f in ("olist_orders.csv", "olist_order_payments.csv", "olist_customers.csv")]
    rerun(page, lambda: page.locator(UPLOADER).set_input_files(files))
    page.get_by_text("Rows before and after each join").wait_for()
    assert exception_texts(page) == []
    assert metrics(page) == {"Rows read": "9", "Rows kept": "6", "Rows dropped": "3",
                             "Money read": "545.14", "Money kept": "397.94", "Money dropped": "147.20"}
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Join them on key columns" in body and "3 tables found" in body
    # The data set is named after what the three files share.
    assert "Checked and saved as 'olist'" in body
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        screenshot(page, f"data-olist-en-{width}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_two_sheet_workbook_is_read_whole(page, app_server, lang):
    open_app(page, _data_url(app_server, lang), ready='[data-testid="stFileUploader"]')
    rerun(page, lambda: page.locator(UPLOADER).set_input_files(str(CORPUS / "online_retail_two_years.xlsx")))
    page.locator('[data-testid="stMetric"]').first.wait_for()
    assert exception_texts(page) == []
    assert list(metrics(page).values()) == ["11", "9", "2", "216.65", "181.55", "35.10"]
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert ("Year 2009-2010" in body) and ("Year 2010-2011" in body)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        screenshot(page, f"data-workbook-{lang}-{width}")
