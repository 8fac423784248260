"""A customer-level file in a real browser: uploaded on the Data page (one row per customer,
detected from its columns), saved, then Overview and Migration on it.

Expected numbers come from DuckDB over the CSV. Named to run after test_fresh_server.py, like
the other Data page browser tests."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb

from .conftest import exception_texts, metrics, open_app, rerun, screenshot, upload, wait_idle

CRM = Path(__file__).resolve().parents[1] / "data" / "customers" / "crm_monthly.csv"


def _count(query: str, *params) -> int:
    with duckdb.connect(":memory:") as con:
        return int(con.execute(query, [str(CRM), *params]).fetchone()[0])


def test_a_customer_file_is_uploaded_saved_and_drives_overview_and_migration(page, app_server):
    open_app(page, f"{app_server.url}/data?lang=en", ready='[data-testid="stFileUploader"]')
    upload(page, CRM)
    page.get_by_text("3 customer tables").first.wait_for()
    wait_idle(page)
    assert exception_texts(page) == []
    rows = _count("SELECT count(*) FROM read_csv(?, header=true)")
    shown = metrics(page)
    assert shown["Rows read"] == f"{rows:,}" and shown["Customers kept"] == f"{rows:,}"
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "each row is one customer" in body
    # Saved and in use at once: the link names it (from the save's own rerun, which a busy
    # machine can start after the settle time).
    page.wait_for_function("() => new URLSearchParams(location.search).has('dataset')")
    assert parse_qs(urlparse(page.url).query).get("dataset")
    screenshot(page, "customers-data-en")

    rerun(page, page.locator('[data-testid="stSidebarNav"] a[href$="/"]').first.click)
    page.locator(".st-key-rf_grid .js-plotly-plot").first.wait_for(state="visible")
    latest = _count("SELECT count(*) FROM read_csv(?, header=true) WHERE CAST(as_of AS DATE) = DATE '2025-11-30'")
    assert metrics(page)["Customers"] == f"{latest:,}"
    assert exception_texts(page) == []
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "no lookback window applies" in sidebar
    screenshot(page, "customers-overview-en")

    rerun(page, page.locator('[data-testid="stSidebarNav"] a[href$="/migration"]').first.click)
    page.locator(".st-key-mg_sankey_chart .js-plotly-plot").first.wait_for(state="visible")
    new = _count("""SELECT count(*) FROM read_csv(?, header=true) b WHERE CAST(as_of AS DATE) = DATE '2025-11-30'
                    AND "Customer ID" NOT IN (SELECT "Customer ID" FROM read_csv(?, header=true)
                                              WHERE CAST(as_of AS DATE) = DATE '2025-10-31')""", str(CRM))
    assert metrics(page)["Newcomers"] == f"{new:,}"
    assert exception_texts(page) == []
    screenshot(page, "customers-migration-en")


def test_a_dollar_customer_file_shows_dollars_on_the_chinese_overview(page, app_server, tmp_path):
    crm = tmp_path / "usd_crm.csv"
    crm.write_text("Customer ID,Last Order Date,Orders,Total Spend\nu1,2025-11-20,4,\"$1,250.00\"\n"
                   "u2,2025-10-02,1,$60.00\nu3,2025-11-28,2,$500.00\n", encoding="utf-8")
    page.set_viewport_size({"width": 1440, "height": 900})
    open_app(page, f"{app_server.url}/data?lang=zh", ready='[data-testid="stFileUploader"]')
    upload(page, crm)
    page.wait_for_function("() => new URLSearchParams(location.search).has('dataset')")
    wait_idle(page)
    # The report's money is in the file's currency: 1,250 + 60 + 500, by hand.
    assert metrics(page)["消费金额合计"] == "$1,810.00"
    screenshot(page, "customers-data-usd-zh")
    rerun(page, page.locator('[data-testid="stSidebarNav"] a[href$="/"]').first.click)
    page.locator(".st-key-rf_grid .js-plotly-plot").first.wait_for(state="visible")
    assert exception_texts(page) == []
    assert metrics(page)["净消费金额"] == "$1,810"
    screenshot(page, "customers-overview-usd-zh")
