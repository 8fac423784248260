"""A shared link opened as a fresh server's very first request shows the whole app.

Streamlit takes a ``pages/`` folder next to app.py as its legacy multipage mode, where the first
request for a page URL runs that page without app.py (no sidebar, no navigation, no settings
from the link). ``ui.session.leave_pages_directory_mode`` must turn that around on the first run.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from .conftest import (
    FIRST_RENDER_MS,
    RUN_COUNTER_JS,
    VIEWPORT,
    chromium_path,
    exception_texts,
    launch_options,
    open_app,
    start_server,
    stop_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_a_deep_link_as_the_first_request_after_a_server_start():
    if chromium_path() is None:
        pytest.skip("Chromium not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="tierlens-fresh-"))
    server = start_server(base / "store", base / "streamlit.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(**launch_options())
            context = browser.new_context(viewport=VIEWPORT)
            context.add_init_script(RUN_COUNTER_JS)
            page = context.new_page()
            # Nothing has been requested from this server yet: this is its first script run.
            open_app(page, f"{server.url}/trends?lang=en&period=Q", ready='[data-testid="stSidebarNav"]',
                     timeout_ms=FIRST_RENDER_MS)
            page.locator('[data-testid="stMain"] h1').filter(has_text="KPI trends").first.wait_for()
            assert exception_texts(page) == []
            # app.py ran: its navigation lists every page and its sidebar holds the share link,
            # which carries the link's own settings.
            assert page.locator('[data-testid="stSidebarNav"] a').count() >= 8
            share = page.locator('[data-testid="stSidebar"] code').first.inner_text()
            assert "lang=en" in share and "period=Q" in share
            browser.close()
    finally:
        stop_server(server)
        shutil.rmtree(base, ignore_errors=True)
