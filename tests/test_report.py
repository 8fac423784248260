"""The executive summary of a view: every section, in the page's language, with numbers that
match an independent computation (DuckDB SQL and plain Python over the same data)."""

from __future__ import annotations

import html
import re
from collections import Counter

import duckdb
import pytest

from segmentation.backtest import backtest, preset_spec
from segmentation.demo import demo_transactions
from ui import report
from ui.i18n import t
from ui.settings import Settings
from ui.view import View

SECTIONS = {
    "zh": ["核心指标", "各层级客户与金额", "层级迁移", "指标趋势", "客户终身价值", "分层的回测检验",
           "各层级建议"],
    "en": ["Headline numbers", "Customers and revenue per tier", "Movement between tiers", "KPI trends",
           "Customer lifetime value", "Backtest: what the tiers foretold", "What to do per tier"],
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


# ---- the backtest section


def section_of(page: str, title: str) -> str:
    start = page.index(f'<section class="part"><h2>{html.escape(title)}</h2>')
    return page[start:page.index("</section>", start)]


def table_rows(section: str) -> list[list[str]]:
    """Every body row of every table in a section, as cell texts."""
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            for row in re.findall(r"<tbody>.*?</tbody>", section, flags=re.S)
            for row in re.findall(r"<tr>(.*?)</tr>", row, flags=re.S)]


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_backtest_section_shows_the_cores_backtest_for_the_pages_settings(lang):
    # A T and h other than the page's defaults, so the section is seen to follow the settings.
    settings = Settings(lang=lang, bt_as_of="2025-03-31", bt_horizon=120)
    page = report.summary_html(View(settings))
    spec = preset_spec("cn8", lang=lang)
    if lang == "zh":
        spec = spec.replace(unassigned="未分层")
    core = backtest(demo_transactions(), spec, as_of="2025-03-31", horizon_days=120, preset="cn8", lang=lang)
    q = core.current
    clv = core.comparison.filter(core.comparison["ranking"] == "clv").row(0, named=True)
    section = section_of(page, report.t("rp_backtest", lang))
    text = text_of(section)
    window = {"en": "Customers tiered on 31 Mar 2025 with the current settings, then followed from 1 Apr 2025 to "
                    "29 Jul 2025 (120 days)",
              "zh": "在 2025年3月31日 用当前设置给客户分层，再看 2025年4月1日 至 2025年7月29日（120 天）"}[lang]
    assert window in text
    assert f"{int(q['customers']):,}" in text
    rows = {r[0]: r[1:] for r in table_rows(section)}
    name = {k: report.t(f"bt_objective_{k}" if k.startswith("captured") else f"bt_m_{k}", lang)
            for k in ("captured_10", "captured_20", "gap_closed", "top_tier_lift", "spearman", "inversions")}
    # Columns: current tiers, CLV ranking, random, perfect hindsight, definition.
    assert rows[name["captured_10"]][:4] == [pct(q["captured_10"]), pct(clv["captured_10"]), "10.0%",
                                            pct(q["perfect_10"])]
    assert rows[name["captured_20"]][:4] == [pct(q["captured_20"]), pct(clv["captured_20"]), "20.0%",
                                            pct(q["perfect_20"])]
    assert rows[name["gap_closed"]][:4] == [f"{q['gap_closed']:.3f}", f"{clv['gap_closed']:.3f}", "0", "1"]
    assert rows[name["top_tier_lift"]][0] == f"{q['top_tier_lift']:.2f}×"
    assert rows[name["spearman"]][0] == f"{q['spearman']:.3f}"
    assert rows[name["inversions"]][0] == f"{int(q['inversions'])} / {int(q['tier_pairs'])}"
    assert all(len(rows[n][4]) > 10 for n in name.values())  # a definition beside every number
    # Per tier, in value order: customers, share who bought again, revenue per customer, share of revenue.
    tiers = core.tiers.filter((core.tiers["kind"] == "tier") & (core.tiers["customers"] > 0))
    for r in tiers.iter_rows(named=True):
        customers, bought, per_customer, share = rows[r["row"]]
        assert customers == f"{r['customers']:,}"
        assert bought == pct(r["buyer_share"])
        assert share == pct(r["revenue_share"])
        number = float(per_customer.replace("¥", "").replace(",", ""))
        assert number == pytest.approx(r["revenue_per_customer"], abs=0.5)


def test_backtest_section_says_why_when_the_data_is_too_short_for_h():
    page = report.summary_html(View(Settings(lang="en", bt_horizon=1200)))
    text = text_of(section_of(page, "Backtest: what the tiers foretold"))
    lo, hi = View(Settings()).dates
    assert f"The data runs from {report.fmt_date(lo, 'en')} to {report.fmt_date(hi, 'en')}, " \
           f"{(hi - lo).days + 1:,} days, too short to follow customers for 1,200 days" in text
    assert "Traceback" not in page


def test_backtest_section_says_a_customer_level_data_set_cannot_be_backtested(monkeypatch):
    monkeypatch.setattr(View, "transactional", property(lambda self: False))
    section = report.backtest_section(View(Settings(lang="zh")))
    assert section.paragraphs == [report.t("rp_bt_customer_level", "zh")]
    assert "无法回测" in section.paragraphs[0] and not section.tables


def test_backtest_section_says_why_the_clv_ranking_is_missing(monkeypatch):
    import segmentation.backtest
    import ui.cache
    from segmentation.errors import DataError

    def error() -> DataError:
        return DataError("Only 3 customers bought again before T.", code="clv_few_repeat",
                         params={"repeat": 3, "min_repeat": 20})

    def no_fit(*args, **kwargs):
        raise error()

    monkeypatch.setattr(ui.cache, "clv_forecast", lambda *args: (None, error()))
    monkeypatch.setattr(segmentation.backtest, "_fit_clv", no_fit)
    # Horizons no other test uses, so no cached backtest answers instead.
    zh = report.backtest_section(View(Settings(lang="zh", bt_horizon=76)))
    assert zh.notes[0] == "CLV 预测排名无法计算：" + t("err_clv_few_repeat", "zh", repeat=3, min_repeat=20)
    section = report.backtest_section(View(Settings(lang="en", bt_horizon=77)))
    assert section.notes[0] == "No CLV ranking: " + t("err_clv_few_repeat", "en", repeat=3, min_repeat=20)
    quality = section.tables[1][1]
    assert set(quality["CLV ranking"]) == {"—"}
    assert quality["Current tiers"][0].endswith("%")
