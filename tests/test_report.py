"""The executive summary of a view: every section, in the page's language, with numbers that
match an independent computation (DuckDB SQL and plain Python over the same data)."""

from __future__ import annotations

import html
import re
from collections import Counter

import duckdb
import pytest

from segmentation.demo import demo_transactions
from ui import report
from ui.settings import Settings
from ui.view import View

SECTIONS = {
    "zh": ["核心指标", "各层级客户与金额", "层级迁移", "指标趋势", "客户终身价值", "各层级建议"],
    "en": ["Headline numbers", "Customers and revenue per tier", "Movement between tiers", "KPI trends",
           "Customer lifetime value", "What to do per tier"],
}


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return {lang: report.summary_html(View(Settings(lang=lang))) for lang in ("zh", "en")}


def text_of(page: str) -> str:
    """The visible text of the summary (scripts and styles dropped, entities decoded)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_has_every_section_in_order_in_the_page_language(pages, lang):
    page = pages[lang]
    titles = re.findall(r'<section class="part"><h2>(.*?)</h2>', page)
    assert [html.unescape(x) for x in titles] == SECTIONS[lang]
    assert f'<html lang="{lang}">' in page
    other = "en" if lang == "zh" else "zh"
    assert not set(SECTIONS[other]) & set(text_of(page).splitlines())


def test_summary_headline_matches_sql(pages):
    con = duckdb.connect()
    con.register("tx", demo_transactions().to_arrow())
    # The demo's as-of date is the day after the last order: every customer with a purchase counts.
    customers, revenue = con.sql(
        "select count(distinct customer_id) filter (where amount > 0), sum(amount) from tx"
    ).fetchall()[0]
    text = text_of(pages["en"])
    assert customers == 8000
    assert "\nCustomers\n" in text and f"\n{customers:,}\n" in text
    assert f"¥{revenue / 1e6:.2f}M" in text  # ¥8.49M: the demo is in CNY in both languages, three digits


def test_largest_moves_in_words_match_counts_from_the_snapshots():
    view = View(Settings(lang="en"))
    d1, d2 = view.previous_date(), view.as_of
    rows = view.snapshots([d1, d2]).select("customer_id", "snapshot_date", "tier").iter_rows()
    tier_at: dict[str, dict[str, str]] = {d1: {}, d2: {}}
    for customer, date, tier in rows:
        tier_at[date.isoformat()][customer] = str(tier)
    before, after = tier_at[d1], tier_at[d2]
    order = view.tier_names
    # Plain Python from the definition: customers in a tier at both dates whose tier changed.
    moves = Counter((before[c], after[c]) for c in before.keys() & after.keys() if before[c] != after[c])
    text = text_of(report.summary_html(view))
    said = re.findall(r"([\d,]+) customers moved (up|down) from “(.+?)” to “(.+?)”", text)
    assert len(said) == 3
    for n, direction, a, b in said:
        assert int(n.replace(",", "")) == moves[(a, b)]
        assert direction == ("up" if order.index(b) < order.index(a) else "down")
    assert sorted((int(n.replace(",", "")) for n, *_ in said), reverse=True) == sorted(moves.values(), reverse=True)[:3]


def test_download_names_carry_data_set_and_date():
    view = View(Settings(lang="zh"))
    assert report.download_name(view) == f"tierlens-summary-demo-{view.as_of}.html"
    assert report.download_name(view, "tierlens-customers", "csv") == f"tierlens-customers-demo-{view.as_of}.csv"
