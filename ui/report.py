"""The executive summary: one offline HTML file built from a view."""

from __future__ import annotations

from ui import exports
from ui.charts import tiers as tier_charts
from ui.i18n import fmt_date, fmt_int, fmt_money, fmt_pct, fmt_window, t
from ui.layout import dataset_label, preset_label
from ui.tables import tier_table
from ui.view import View


def summary_html(view: View) -> str:
    """The executive summary HTML of a view (built when the download is asked for)."""
    lang, currency = view.lang, view.currency
    numbers = view.overview.headline
    top20 = view.overview.top20
    summary = view.summary
    figures = [
        tier_charts.tier_bar(summary, value="customers", lang=lang, currency=currency),
        tier_charts.tier_bar(summary, value="revenue", lang=lang, currency=currency),
        tier_charts.rf_heatmap(view.overview.rf_grid, bins=view.cuts.bins, lang=lang, currency=currency),
        tier_charts.pareto_chart(view.overview.pareto, top20=top20, lang=lang),
    ]
    kpis = [
        (t("m_customers", lang), fmt_int(numbers["customers"])),
        (t("m_revenue", lang), fmt_money(numbers["revenue"], lang, currency)),
        (t("m_orders", lang), fmt_int(numbers["orders"])),
        (t("m_aov", lang), fmt_money(numbers["aov"], lang, currency)),
        (t("m_repeat", lang), fmt_pct(numbers["repeat_share"])),
        (t("m_top_tier", lang) + f" · {numbers['top_tier']}", fmt_pct(numbers["top_tier_revenue_share"])),
    ]
    meta = t("ex_report_meta", lang, dataset=dataset_label(view), as_of=fmt_date(view.as_of_date, lang),
             window=fmt_window(view.settings.window_days, lang), preset=preset_label(view.preset, lang))
    notes = [t("ov_pareto_note", lang, share=fmt_pct(top20))]
    notes += [issue.message_zh if lang == "zh" else issue.message_en for issue in view.lint]
    return exports.executive_summary_html(
        title=t("ex_report_title", lang), meta=meta, headline=kpis, figures=figures,
        tables=[(t("ov_tier_table", lang), tier_table(summary, lang, currency))], notes=notes,
        footer=t("ex_generated", lang), lang=lang,
    )
