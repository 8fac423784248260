"""Opening the app in AppTest the way every page test does: query parameters, a first run, a
switch to the page under test, and no exception."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 90


def run_app(query: dict[str, str] | None = None, page: str | None = None, *, timeout: float = TIMEOUT) -> AppTest:
    """The app run with these URL parameters, switched to ``page`` (e.g. "pages/strategy.py")."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at
