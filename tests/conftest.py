"""Shared fixtures.

The whole test session uses a throw-away data set store: ``TIERLENS_DB`` points into a temp
directory before any test runs, so no test ever writes the real ``data/store``.
Tests that need their own store still set ``TIERLENS_DB`` themselves (monkeypatch).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
_SESSION_DB_DIR = Path(tempfile.mkdtemp(prefix="tierlens-test-db-"))
# Set at import time: conftest is imported before any test module, so the store never sees
# the default path during tests.
os.environ["TIERLENS_DB"] = str(_SESSION_DB_DIR / "store")


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_DB_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def v2_navigation(monkeypatch):
    """Make AppTest run app.py on every rerun of an st.navigation app with a pages/ folder.

    Autouse, so every page test gets it (and other tests are not affected: it only swaps the
    class AppTest uses).

    AppTest (Streamlit 1.67) resets ``PagesManager.uses_pages_directory`` before each run, so an
    app whose page files live in ``pages/`` is run in the legacy pages-directory mode on reruns:
    the page script runs alone, without app.py and its sidebar. A running server sets the flag
    to False once st.navigation is called; this does the same for AppTest.
    """
    import streamlit.testing.v1.app_test as app_test_module
    from streamlit.runtime.pages_manager import PagesManager

    class NavigationPagesManager(PagesManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    monkeypatch.setattr(app_test_module, "PagesManager", NavigationPagesManager)
    yield
    PagesManager.uses_pages_directory = None


TIERS = pl.Enum(["Best", "Middle", "Lost"])


@pytest.fixture
def tiered() -> pl.DataFrame:
    """Five customers in three tiers (rule order Best, Middle, Lost), with scores and money."""
    return pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "recency_days": [3, 10, 40, 200, 300],
            "frequency": [6, 3, 2, 1, 1],
            "monetary": [600.0, 200.0, 100.0, 100.0, -20.0],
            "avg_order_value": [100.0, 70.0, 50.0, 100.0, 20.0],
            "r_score": pl.Series([2, 2, 2, 1, 1], dtype=pl.Int8),
            "f_score": pl.Series([2, 2, 2, 1, 1], dtype=pl.Int8),
            "tier": pl.Series(["Best", "Middle", "Middle", "Lost", "Lost"], dtype=TIERS),
        }
    )
