"""Chart builders and the small summaries behind them, on tiny hand-written tables."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as hst

from segmentation.scoring import Cuts
from segmentation.summary import pareto, rf_grid, tier_summary
from ui.charts import backtest as backtest_charts
from ui.charts import customer as customer_charts
from ui.charts import style
from ui.charts import tiers as tier_charts
from ui.i18n import fmt_date, fmt_int, fmt_money, fmt_pct, t
from ui.tables import cuts_display, tier_table


def test_cut_points_read_as_value_ranges():
    cuts = Cuts(3, "thresholds", recency=(30.0, 90.0), frequency=(2.0, 5.0), monetary=(100.0, 500.0))
    table = cuts_display(cuts, "en", "USD")
    assert table.rows() == [
        ("3", "≤ 30", "≥ 5", "≥ $500"),
        ("2", "31–90", "2–4", "$100 – <$500"),
        ("1", "≥ 91", "≤ 1", "< $100"),
    ]


def test_tier_table_is_formatted_and_translated(tiered):
    table = tier_table(tier_summary(tiered), "zh", "CNY")
    assert table.columns[:3] == ["层级", "客户数", "客户占比"]
    assert table.row(0)[:5] == ("Best", "1", "20.0%", "¥600", "61.2%")


# ----------------------------------------------------------------------------- formatting


def test_number_and_date_formatting_per_language():
    assert fmt_int(1234567) == "1,234,567"
    assert fmt_money(8_490_000, "zh", "CNY", compact=True) == "¥849万"
    assert fmt_money(123_456, "en", "USD", compact=True) == "$123K"
    assert fmt_money(90_000, "en", "USD", compact=True) == "$90K"
    assert fmt_money(12_345, "en", "USD", compact=True) == "$12.3K"
    assert fmt_money(1_234, "en", "USD", compact=True) == "$1.23K"
    assert fmt_money(999_950, "en", "USD", compact=True) == "$1M"
    assert fmt_money(-15_000, "zh", "CNY", compact=True) == "-¥1.5万"
    assert fmt_money(950, "en", "USD", compact=True) == "$950"
    assert fmt_money(8_500_000, "zh", "CNY", compact=True) == "¥850万"
    assert fmt_money(100_000, "en", "USD", compact=True) == "$100K"
    assert fmt_money(12_345.0, "en", "USD") == "$12,345"
    assert fmt_money(-12.5, "zh", "CNY") == "-¥12.50"
    assert fmt_pct(0.4987) == "49.9%"
    assert fmt_date(dt.date(2024, 6, 30), "zh") == "2024年6月30日"
    assert fmt_date("2024-06-30", "en") == "30 Jun 2024"


# ----------------------------------------------------------------------------- charts


def test_tier_colours_are_keyed_by_name_so_inserting_rules_recolours_nothing():
    before = style.tier_colors(["Gold", "Silver", "Bronze", "Lost"])
    after = style.tier_colors(["New VIP", "Gold", "Trial", "Silver", "Bronze", "Lost"])
    assert {k: after[k] for k in before} == before
    assert style.tier_colors(["Lost", "Gold"]) == {"Lost": before["Lost"], "Gold": before["Gold"]}


def test_a_presets_tiers_take_the_palette_in_the_presets_order():
    from segmentation.presets import PRESETS
    from segmentation.rules import parse_rules

    names = parse_rules(PRESETS["cn8"].rules_text("zh")).names
    assert list(style.tier_colors(names).values()) == list(style.TIER_PALETTE[:len(names)])
    # The same tier keeps its colour with a custom rule inserted before it.
    shown = style.tier_colors(["我的新层级", *names])
    assert [shown[n] for n in names] == list(style.TIER_PALETTE[:len(names)])


def _digest_slot(name: str) -> int:
    # Written from the definition: first byte of the UTF-8 name's SHA-256, modulo the palette.
    import hashlib

    return hashlib.sha256(name.encode()).digest()[0] % 12


def test_a_custom_tiers_colour_comes_from_its_name():
    name = "Weekend shoppers"
    assert name not in style.PRESET_SLOTS
    assert style.tier_colors([name])[name] == style.TIER_PALETTE[_digest_slot(name)]


@settings(max_examples=200, deadline=None)
@given(hst.lists(hst.text(min_size=1, max_size=8), min_size=1, max_size=12, unique=True))
def test_tiers_shown_together_never_share_a_colour(names):
    colours = style.tier_colors(names)
    assert list(colours) == names
    assert len(set(colours.values())) == len(names)


def test_tier_bar_shows_every_tier_in_rule_order_with_its_colour(tiered):
    fig = tier_charts.tier_bar(tier_summary(tiered), value="revenue", lang="en", currency="USD")
    bar = fig.data[0]
    assert list(bar.y) == ["Best", "Middle", "Lost"]
    assert list(bar.x) == [600.0, 300.0, 80.0]
    assert list(bar.marker.color) == [style.tier_colors(['Best', 'Middle', 'Lost'])[n] for n in ('Best', 'Middle', 'Lost')]
    assert list(bar.text) == ["$600 (61.2%)", "$300 (30.6%)", "$80 (8.2%)"]
    assert fig.layout.title.text == "Revenue per tier"
    assert fig.layout.xaxis.title.text == "Revenue ($)"
    # First tier on top: the category axis runs bottom-up.
    assert list(fig.layout.yaxis.categoryarray) == ["Lost", "Middle", "Best"]


def test_a_few_customers_get_whole_number_ticks(tiered):
    # Five customers in three tiers: no tick at 0.2 or 1.5 customers.
    assert tier_charts.tier_bar(tier_summary(tiered), value="customers", lang="en").layout.xaxis.dtick == 1
    many = tier_summary(pl.DataFrame({
        "customer_id": [str(i) for i in range(40)], "recency_days": [1] * 40, "frequency": [1] * 40,
        "monetary": [1.0] * 40, "tier": pl.Series(["A"] * 40, dtype=pl.Enum(["A"])),
    }))
    assert tier_charts.tier_bar(many, value="customers", lang="en").layout.xaxis.dtick is None


def test_tier_names_are_escaped_for_plotly():
    summary = tier_summary(pl.DataFrame({
        "customer_id": ["a"], "recency_days": [1], "frequency": [1], "monetary": [1.0],
        "tier": pl.Series(["<b>VIP</b>"], dtype=pl.Enum(["<b>VIP</b>"])),
    }))
    assert list(tier_charts.tier_bar(summary).data[0].y) == ["&lt;b&gt;VIP&lt;/b&gt;"]


def test_rf_heatmap_puts_counts_in_cells(tiered):
    fig = tier_charts.rf_heatmap(rf_grid(tiered), bins=2, lang="en", currency="USD")
    heat = fig.data[0]
    assert [list(row) for row in heat.z] == [[40.0, None], [None, 300.0]]
    assert [list(row) for row in heat.text] == [["2", ""], ["", "3"]]
    assert fig.layout.xaxis.title.text == t("ch_f_axis", "en")
    assert fig.layout.yaxis.title.text == t("ch_r_axis", "en")


def test_rf_heatmap_by_tier_uses_tier_positions(tiered):
    fig = tier_charts.rf_heatmap(rf_grid(tiered), bins=2, colour_by="tier", tier_names=["Best", "Middle", "Lost"])
    assert [list(row) for row in fig.data[0].z] == [[2, None], [None, 1]]
    assert (fig.data[0].zmin, fig.data[0].zmax) == (-0.5, 2.5)


def test_pareto_chart_marks_the_top_20_percent(tiered):
    fig = tier_charts.pareto_chart(pareto(tiered), top20=0.6, lang="en")
    assert [tr.mode for tr in fig.data] == ["lines", "lines", "markers"]
    assert list(fig.data[2].x) == [0.2] and list(fig.data[2].y) == [0.6]
    assert fig.layout.annotations[0].text == "Top 20% of customers → 60.0% of revenue"
    assert fig.layout.xaxis.tickformat == ".0%"


def test_customer_timeline_splits_purchases_and_returns():
    history = pl.DataFrame({
        "customer_id": ["a"] * 3,
        "order_date": [dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 2, 5)],
        "amount": [50.0, 80.0, -30.0], "order_id": ["1", "2", "R2"],
    })
    fig = customer_charts.customer_timeline(history, customer="a", lang="en", currency="USD")
    assert [tr.name for tr in fig.data] == ["Purchase", "Return"]
    assert list(fig.data[0].y) == [50.0, 80.0]
    assert list(fig.data[1].y) == [-30.0]
    assert fig.layout.title.text == "Purchases of customer a"
    # Plotly has no Chinese month names in the browser: Chinese labels are numeric ("2024年7月").
    assert not fig.layout.xaxis.tickformatstops
    zh = customer_charts.customer_timeline(history, customer="a", lang="zh", currency="CNY")
    stops = {tuple(s.dtickrange): s.tickformat if hasattr(s, "tickformat") else s.value
             for s in zh.layout.xaxis.tickformatstops}
    assert stops[("M1", "M12")] == "%Y年%-m月" and stops[("M12", None)] == "%Y年"
    assert zh.layout.xaxis.type == "date"


# ----------------------------------------------------------------------------- text


def test_every_text_has_both_languages_with_the_same_placeholders():
    import string

    from ui.i18n import TEXT

    def fields(s: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(s) if name}

    incomplete = [k for k, v in TEXT.items() if not v.get("zh") or not v.get("en")]
    mismatched = [k for k, v in TEXT.items() if fields(v["zh"]) != fields(v["en"])]
    assert incomplete == [] and mismatched == []


def test_every_text_key_used_in_the_app_exists():
    import re
    from pathlib import Path

    from ui.i18n import TEXT

    root = Path(__file__).resolve().parents[1]
    files = [root / "app.py", *(root / "pages").glob("*.py"), *(root / "ui").rglob("*.py")]
    used = {m for f in files for m in re.findall(r"\bt\(\s*\"([a-z0-9_]+)\"", f.read_text(encoding="utf-8"))}
    assert used, "no t() calls found"
    assert sorted(used - set(TEXT)) == []


def test_money_axis_labels_ticks_in_the_page_language():
    from ui.charts.style import money_axis

    zh = money_axis([0, 4_238_641], lang="zh", currency="CNY")
    assert zh["ticktext"] == ["¥0", "¥100万", "¥200万", "¥300万", "¥400万"]
    assert zh["tickvals"] == [0, 1_000_000, 2_000_000, 3_000_000, 4_000_000]
    en = money_axis([-2_000, 631_500, None], lang="en", currency="USD")
    assert en["ticktext"] == ["-$200K", "$0", "$200K", "$400K", "$600K"]
    # Small amounts keep Plotly's own ticks with the symbol.
    assert money_axis([12.5, 980.0], lang="en", currency="USD") == {"tickprefix": "$", "tickformat": ",.0f"}
    assert money_axis([], lang="zh") == {"tickprefix": "¥", "tickformat": ",.0f"}


def test_revenue_bars_use_wan_on_chinese_pages():
    summary = pl.DataFrame({
        "tier": ["A", "B"], "customers": [10, 20], "customer_share": [1 / 3, 2 / 3],
        "revenue": [3_000_000.0, 1_000_000.0], "revenue_share": [0.75, 0.25],
    })
    fig = tier_charts.tier_bar(summary, value="revenue", lang="zh", currency="CNY")
    assert list(fig.layout.xaxis.ticktext) == ["¥0", "¥100万", "¥200万", "¥300万"]


def test_walk_forward_dates_read_as_chinese_dates_on_the_chinese_page():
    table = pl.DataFrame({
        "as_of": [dt.date(2024, 3, 31), dt.date(2024, 6, 30), dt.date(2024, 9, 30)],
        "captured_10": [0.3, 0.35, 0.32], "captured_20": [0.5, 0.55, 0.52], "gap_closed": [0.6, 0.62, 0.61],
    })
    zh = backtest_charts.walk_forward_chart(table, lang="zh", as_of=dt.date(2024, 6, 30))
    stops = {tuple(s.dtickrange): s.value for s in zh.layout.xaxis.tickformatstops}
    # Quarter-end points are months apart: Plotly picks the "M1".."M12" stop, 2024年6月.
    assert stops[("M1", "M12")] == "%Y年%-m月" and zh.layout.xaxis.type == "date"
    assert [list(tr.y) for tr in zh.data] == [[0.3, 0.35, 0.32], [0.5, 0.55, 0.52], [0.6, 0.62, 0.61]]
    en = backtest_charts.walk_forward_chart(table, lang="en")
    assert not en.layout.xaxis.tickformatstops
