"""The backtest page in a real browser: move a cut, see the quality numbers change, apply a
suggested set of cut points, and open the share link fresh to see the same numbers.

The file name sorts after test_fresh_server.py on purpose: that test starts its own Playwright,
which fails once the session's browser fixture is running.
"""

from __future__ import annotations

import pytest

from .conftest import (
    exception_texts,
    metrics,
    open_app,
    open_expander_of,
    press_slider,
    rerun,
    screenshot,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

GAINS = ".st-key-bt_gains .js-plotly-plot"


def test_move_a_cut_apply_a_suggestion_and_share_it(new_page, app_server):
    author = new_page()
    open_app(author, f"{app_server.url}/backtest?lang=en&preset=value3", ready=GAINS)
    first = metrics(author)
    assert first["Gap closed"] not in ("", "—")

    open_expander_of(author, "_w_bins")
    press_slider(author, "_w_bins", "ArrowLeft")
    moved = metrics(author)
    assert moved["Gap closed"] != first["Gap closed"]
    assert "bins=" in author.url

    rerun(author, lambda: author.locator(".st-key-_w_bt_suggest label").first.click())
    author.locator(".st-key-bt_apply_0 button").first.wait_for(state="visible")
    assert "method=" not in author.url  # searching applies nothing
    rerun(author, lambda: author.locator(".st-key-bt_apply_0 button").first.click())
    wait_idle(author)
    assert "method=thresholds" in author.url and "thresholds=" in author.url
    applied = metrics(author)
    assert applied["Gap closed"] != moved["Gap closed"]
    assert exception_texts(author) == []

    viewer = new_page()
    open_app(viewer, author.url, ready=GAINS)
    assert metrics(viewer) == applied
    assert exception_texts(viewer) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", [1440, 390])
def test_screenshots(new_page, app_server, lang, width):
    page = new_page()
    page.set_viewport_size({"width": width, "height": 1000})
    open_app(page, f"{app_server.url}/backtest?lang={lang}&bt_suggest=1", ready=GAINS)
    page.locator(".st-key-bt_walk_chart .js-plotly-plot").first.wait_for(state="visible")
    assert exception_texts(page) == []
    # The walk-forward dates read in the page's language: "2025年7月" on the Chinese page, never "Jul 2025".
    ticks = page.locator(".st-key-bt_walk_chart .xtick text").all_text_contents()
    assert ticks
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    if lang == "zh":
        assert all("年" in x and not any(m in x for m in months) for x in ticks), ticks
    screenshot(page, f"backtest-{lang}-{width}")
