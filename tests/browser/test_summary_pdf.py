"""The executive summary in Chromium: opens offline, fits a phone, and prints to a clean A4 PDF
with one section per page ("Print -> Save as PDF")."""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from ui import report
from ui.settings import Settings
from ui.view import View

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

SECTIONS = {
    "zh": ["核心指标", "各层级客户与金额", "层级迁移", "指标趋势", "客户终身价值", "分层的回测检验",
           "各层级建议"],
    "en": ["Headline numbers", "Customers and revenue per tier", "Movement between tiers", "KPI trends",
           "Customer lifetime value", "Backtest: what the tiers foretold", "What to do per tier"],
}
# Seven sections, each from a new page; a long section may take two.
MAX_PAGES = 14


@pytest.fixture
def chromium(browser: Any) -> Any:
    # The suite's one Chromium (a second Playwright instance cannot run beside it).
    return browser


def open_offline(chromium: Any, path: Path, width: int, height: int) -> tuple[Any, list[str]]:
    """The file in a fresh page that may load nothing but itself; returns (page, blocked URLs)."""
    context = chromium.new_context(viewport={"width": width, "height": height})
    blocked: list[str] = []

    def only_files(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 6")
    return page, blocked


def pdf_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader

    # The CJK font maps some characters to Kangxi radicals (⼾ for 户, ⾦ for 金); NFKC folds
    # them back, except ⼾, which folds to the traditional 戶.
    return [unicodedata.normalize("NFKC", p.extract_text() or "").replace("戶", "户")
            for p in PdfReader(io.BytesIO(data)).pages]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_prints_to_a4_with_a_page_per_section(chromium, tmp_path, lang):
    path = tmp_path / report.download_name(View(Settings(lang=lang)))
    path.write_text(report.summary_html(View(Settings(lang=lang))), encoding="utf-8")
    page, blocked = open_offline(chromium, path, 1440, 900)
    assert blocked == []
    data = page.pdf(format="A4", print_background=True)
    page.context.close()
    texts = pdf_pages(data)
    assert len(SECTIONS[lang]) <= len(texts) <= MAX_PAGES
    # Each section starts a page: its title is at the top of a page (the first page opens with
    # the document title and the data set line), in order.
    starts = [next((i for i, text in enumerate(texts) if title in text.strip().splitlines()[:4]), None)
              for title in SECTIONS[lang]]
    assert None not in starts, (starts, [text[:80] for text in texts])
    assert starts == sorted(set(starts)) and starts[0] == 0
    whole = "\n".join(texts)
    assert ("演示数据" if lang == "zh" else "Demo data") in whole
    assert ("¥849万" if lang == "zh" else "¥8.49M") in whole  # the demo is in CNY in both languages
    assert re.search(r"升到|降到" if lang == "zh" else r"moved (up|down) from", whole)
    assert ("留出检验" if lang == "zh" else "Holdout check") in whole
    assert ("弥合差距" if lang == "zh" else "Perfect hindsight") in whole


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_fits_a_phone_without_sideways_scrolling(chromium, tmp_path, lang):
    path = tmp_path / "summary.html"
    path.write_text(report.summary_html(View(Settings(lang=lang))), encoding="utf-8")
    page, blocked = open_offline(chromium, path, 390, 844)
    assert blocked == []
    scroll, client = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client
    # Tier names (first cell of every table row) stay on one line, never a character per line.
    lines = page.evaluate(
        """() => [...document.querySelectorAll('td:first-child')].map(td => {
               const h = parseFloat(getComputedStyle(td).lineHeight) || 20;
               return Math.round(td.getBoundingClientRect().height / h); })""")
    assert lines and max(lines) <= 1
    # No Plotly toolbar to cover chart titles.
    assert page.locator(".modebar").count() == 0
    page.context.close()
