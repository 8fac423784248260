"""The executive summary: one offline HTML file that tells the whole story of a view.

Sections, each on its own printed page: headline numbers; tiers; migration between the
period before the as-of date and the as-of date, with the largest moves in words; KPI trends;
lifetime value with its holdout verdict; the backtest (tiers at a past date against what each
tier did next, beside the CLV ranking); the top suggestions per tier with their numbers. All
in the view's language and currency; data set names are plain text (escaped as HTML once, in
:mod:`ui.exports`, never as markdown).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from segmentation import kpis as K
from segmentation import migration as M
from segmentation import strategy as S_
from segmentation.clv import clv_overview, tier_clv_summary
from segmentation.enrich import RULE_VALUATION
from segmentation.errors import DataError
from segmentation.snapshots import state_label
from ui import exports
from ui.charts import backtest as backtest_charts
from ui.charts import clv as clv_charts
from ui.charts import migration as migration_charts
from ui.charts import tiers as tier_charts
from ui.charts import trends as trend_charts
from ui.i18n import explain_why, fmt_date, fmt_int, fmt_money, fmt_num, fmt_pct, fmt_window, t
from ui.layout import error_text, preset_label
from ui.settings import DEMO_ID
from ui.tables import backtest_row_label, kpi_definitions, tier_table
from ui.view import View

# How many suggestions per tier and moves in words a one-page reader can take in.
TOP_SUGGESTIONS = 2
TOP_MOVES = 3
HOLDOUT_DAYS = 180
# KPIs of the latest full period in the trends table (the chart shows revenue over time).
TREND_KPIS = ("customers", "active_customers", "revenue", "repurchase_rate", "churn_rate")


def dataset_text(view: View) -> str:
    """The data set's name as plain text (the demo's in the view's language)."""
    return t("sb_demo", view.lang) if view.dataset == DEMO_ID else view.dataset_name


def download_name(view: View, stem: str = "tierlens-summary", ext: str = "html", *, date: str | None = None) -> str:
    """A download's file name with the data set and the date (default: the as-of date), e.g.
    ``tierlens-summary-orders_2024-2024-07-01.html``, so files from different data sets and
    dates never overwrite each other in a Downloads folder."""
    name = "demo" if view.dataset == DEMO_ID else view.dataset_name
    return exports.file_name(stem, name, date or view.as_of, ext=ext)


def summary_html(view: View) -> str:
    """The executive summary HTML of a view (built when the download is asked for)."""
    lang = view.lang
    meta = t("ex_report_meta", lang, dataset=dataset_text(view), as_of=fmt_date(view.as_of_date, lang),
             window=fmt_window(view.settings.window_days, lang), preset=preset_label(view.preset, lang))
    sections = [headline_section(view), tiers_section(view), migration_section(view), trends_section(view),
                clv_section(view), backtest_section(view), strategy_section(view)]
    return exports.executive_summary_html(title=t("ex_report_title", lang), meta=meta, sections=sections,
                                          footer=t("ex_generated", lang), lang=lang)


def headline_section(view: View) -> exports.Section:
    lang, currency = view.lang, view.currency
    numbers = view.overview.headline
    kpis = [
        (t("m_customers", lang), fmt_int(numbers["customers"])),
        (t("m_revenue", lang), fmt_money(numbers["revenue"], lang, currency, compact=True)),
        (t("m_orders", lang), fmt_int(numbers["orders"])),
        (t("m_aov", lang), fmt_money(numbers["aov"], lang, currency)),
        (t("m_repeat", lang), fmt_pct(numbers["repeat_share"])),
        (t("m_top_tier", lang) + f" · {numbers['top_tier']}", fmt_pct(numbers["top_tier_revenue_share"])),
    ]
    top20 = view.overview.top20
    notes = [t("ov_pareto_note", lang, share=fmt_pct(top20))]
    notes += [issue.message_zh if lang == "zh" else issue.message_en for issue in view.lint]
    return exports.Section(
        title=t("rp_headline", lang), headline=kpis,
        paragraphs=[t("rp_tiers_text", lang, top=numbers["top_tier"],
                      customers=fmt_int(numbers["top_tier_customers"]),
                      cshare=fmt_pct(numbers["top_tier_customer_share"]),
                      rshare=fmt_pct(numbers["top_tier_revenue_share"]))],
        figures=[tier_charts.pareto_chart(view.overview.pareto, top20=top20, lang=lang)], notes=notes,
    )


def tiers_section(view: View) -> exports.Section:
    lang, currency = view.lang, view.currency
    summary = view.summary
    return exports.Section(
        title=t("rp_tiers", lang),
        tables=[("", tier_table(summary, lang, currency, compact=True))],
        figures=[
            tier_charts.tier_bar(summary, value="customers", lang=lang, currency=currency),
            tier_charts.tier_bar(summary, value="revenue", lang=lang, currency=currency),
        ],
    )


def _span(d1: str, d2: str, lang: str) -> str:
    days = (dt.date.fromisoformat(d2) - dt.date.fromisoformat(d1)).days
    return t("rp_span", lang, days=fmt_int(days))


def move_sentences(moves: pl.DataFrame, lang: str, currency: str) -> list[str]:
    """The largest moves (``segmentation.migration.largest_moves`` rows) as sentences."""
    sentences = []
    for row in moves.iter_rows(named=True):
        key = {"up": "rp_move_up", "down": "rp_move_down"}.get(str(row["direction"]), "rp_move_gone")
        sentences.append(t(key, lang, n=fmt_int(row["customers"]), a=state_label(str(row["from_state"]), lang),
                           b=state_label(str(row["to_state"]), lang),
                           revenue=fmt_money(row["revenue"], lang, currency)))
    return sentences


def migration_section(view: View) -> exports.Section:
    lang, currency = view.lang, view.currency
    title = t("rp_migration", lang)
    period = t(f"tm_period_{view.settings.period}", lang).lower()
    d1, d2 = view.previous_date(), view.as_of
    if d1 is None or d1 >= d2:
        return exports.Section(title=title, paragraphs=[t("rp_no_previous", lang, period=period)])
    dates = (d1, d2)
    result = view.migration(dates, d1, d2)
    overall = M.overall_rates(result.rates)
    gone = ""
    if view.settings.window_days > 0:
        gone = t("rp_migration_gone", lang, gone=fmt_pct(overall.get("gone_rate")))
    text = t("rp_migration_text", lang, d1=fmt_date(d1, lang), d2=fmt_date(d2, lang), span=_span(d1, d2, lang),
             n=fmt_int(overall.get("customers") or 0), up=fmt_pct(overall.get("upgrade_rate")),
             down=fmt_pct(overall.get("downgrade_rate")), same=fmt_pct(overall.get("unchanged_rate")),
             gone=gone, new=fmt_int(M.newcomers(result.matrix)))
    moves = move_sentences(M.largest_moves(result.matrix, n=TOP_MOVES), lang, currency)
    return exports.Section(
        title=title, paragraphs=[text, t("rp_moves", lang) if moves else t("rp_no_moves", lang)], bullets=moves,
        figures=[migration_charts.sankey(result.nodes, result.links, tier_names=result.tier_names, lang=lang,
                                         currency=currency)],
    )


def trends_section(view: View) -> exports.Section:
    lang, currency = view.lang, view.currency
    title = t("rp_trends", lang)
    period = t(f"tm_period_{view.settings.period}", lang).lower()
    if view.customer_level:
        return exports.Section(title=title, paragraphs=[t("rp_trends_customers", lang)])
    trends = K.drop_empty_tiers(view.kpis())
    latest = K.latest_complete(trends, view.last_day)
    if latest.height == 0:
        return exports.Section(title=title, paragraphs=[t("rp_trends_empty", lang, period=period)])
    names = {code: (name, unit) for code, name, _d, unit in kpi_definitions(lang)}
    start, end = latest["period_start"][0], latest["period_end"][0]

    def shown(value: float | None, unit: str) -> str:
        if unit == "ratio":
            return fmt_pct(value)
        if unit == "currency":
            return fmt_money(value, lang, currency)
        return fmt_int(value)

    table = pl.DataFrame({
        t("tier", lang): [state_label(str(v), lang) for v in latest["tier"]],
        **{names[k][0]: [shown(v, names[k][1]) for v in latest[k]] for k in TREND_KPIS if k in latest.columns},
    })
    revenue_name, revenue_unit = names["revenue"]
    chart = trend_charts.kpi_lines(
        K.kpi_series(trends, "revenue", ()), kpi_name=revenue_name, unit=revenue_unit,
        period_label=t(f"tm_period_{view.settings.period}", lang), tier_names=view.tier_names, lang=lang,
        currency=currency,
    )
    return exports.Section(
        title=title,
        paragraphs=[t("rp_trends_text", lang, period=period, start=fmt_date(start, lang), end=fmt_date(end, lang))],
        tables=[("", table)], figures=[chart],
    )


def clv_section(view: View) -> exports.Section:
    lang, currency = view.lang, view.currency
    title = t("rp_clv", lang)
    horizon, discount, margin = RULE_VALUATION
    try:
        scores = view.clv(horizon, discount, margin)
    except DataError as exc:
        return exports.Section(title=title, paragraphs=[t("rp_clv_none", lang, detail=error_text(exc, lang))])
    numbers = clv_overview(scores.frame).row(0, named=True)
    gap = fmt_int(scores.typical_gap_days) if scores.typical_gap_days is not None else "—"
    cards = [
        (t("cl_total", lang), fmt_money(numbers["total_clv"], lang, currency, compact=True)),
        (t("cl_mean", lang), fmt_money(numbers["mean_clv"], lang, currency)),
        (t("cl_alive", lang), fmt_pct(numbers["mean_p_alive_repeat"])),
        (t("cl_at_risk", lang), fmt_int(numbers["at_risk_repeat"])),
        (t("cl_one_time", lang), t("cl_one_time_value", lang, n=fmt_int(numbers["one_time_buyers"]),
                                     share=fmt_pct(numbers["one_time_past_gap_share"]), gap=gap)),
    ]
    paragraphs = [t("rp_clv_text", lang, days=fmt_int(horizon), margin=fmt_pct(margin, lang, 0),
                    discount=fmt_pct(discount, lang, 0))]
    observation_end = view.as_of_date
    calibration_end = observation_end - dt.timedelta(days=HOLDOUT_DAYS)
    try:
        check = view.holdout(calibration_end)
    except DataError as exc:
        paragraphs.append(t("rp_holdout_none", lang, detail=error_text(exc, lang)))
    else:
        paragraphs.append(t("rp_holdout", lang, cal=fmt_date(calibration_end, lang),
                            obs=fmt_date(observation_end, lang), predicted=fmt_int(check.predicted_total),
                            actual=fmt_int(check.actual_total)))
        paragraphs.append(check.verdict.message(lang))
        paragraphs += [w.message(lang) for w in (*scores.warnings, *check.warnings)]
    stats = tier_clv_summary(view.tiered, scores.frame, tier_order=view.tier_names)
    table = pl.DataFrame({
        t("tier", lang): stats["tier"].to_list(),
        t("customers", lang): [fmt_int(v) for v in stats["customers"]],
        t("rp_mean_clv", lang): [fmt_money(v, lang, currency) for v in stats["mean_clv"]],
        t("rp_mean_alive", lang): [fmt_pct(v) for v in stats["mean_p_alive_repeat"]],
    })
    figure = clv_charts.clv_tier_bar(stats, value="mean_clv", tier_names=view.tier_names, lang=lang,
                                     currency=currency)
    return exports.Section(title=title, paragraphs=paragraphs, headline=cards, tables=[("", table)],
                           figures=[figure])


# The quality numbers of the summary, in reading order: how much the top of the ranking holds,
# how much of the possible it achieves, then whether the tiers keep their declared order.
BACKTEST_MEASURES = ("captured_10", "captured_20", "gap_closed", "top_tier_lift", "spearman", "inversions")


def _measure(key: str, values: dict[str, float | None] | None, lang: str) -> str:
    """One quality number as the page shows it ("—" where undefined or not applicable)."""
    if values is None:
        return "—"
    v = values.get(key)
    if v is None:
        return "—"
    if key.startswith(("captured", "random", "perfect")):
        return fmt_pct(v)
    if key == "top_tier_lift":
        return fmt_num(v, lang, 2) + "×"
    if key == "inversions":
        return f"{fmt_int(v)} / {fmt_int(values.get('tier_pairs'))}"
    return fmt_num(v, lang, 3)


def backtest_section(view: View) -> exports.Section:
    """Tiers at the page's T against the h days after it, with the CLV ranking beside them; a
    sentence instead when the data cannot be backtested (customer-level, or shorter than h)."""
    lang, currency = view.lang, view.currency
    title = t("rp_backtest", lang)
    h = view.settings.bt_horizon
    if not view.transactional:
        return exports.Section(title=title, paragraphs=[t("rp_bt_customer_level", lang)])
    try:
        latest = view.bt_latest
    except DataError:
        lo, hi = view.dates
        return exports.Section(title=title, paragraphs=[t(
            "rp_bt_too_short", lang, start=fmt_date(lo, lang), end=fmt_date(hi, lang),
            days=fmt_int((hi - lo).days + 1), h=fmt_int(h))])
    if view.settings.bt_as_of and dt.date.fromisoformat(view.settings.bt_as_of) > latest:
        # As on the page: a date too late for h falls back to the latest one that has a full window.
        view = View(view.settings.replace(bt_as_of=""))
    try:
        result = view.backtest()
    except DataError as exc:
        return exports.Section(title=title, paragraphs=[t("rp_bt_none", lang, detail=error_text(exc, lang))])
    T = dt.date.fromisoformat(view.bt_as_of)
    q = result.current.values
    clv_row = result.comparison.filter(pl.col("ranking") == "clv")
    clv = clv_row.row(0, named=True) if clv_row.height else None
    clv_values = clv if clv is not None and clv.get("captured_10") is not None else None

    tiers = result.current.tiers.filter((pl.col("kind") == "tier") | (pl.col("customers") > 0))
    tier_rows = pl.DataFrame({
        t("tier", lang): [backtest_row_label(r, lang) for r in tiers["row"]],
        t("bt_col_customers", lang): [fmt_int(v) for v in tiers["customers"]],
        t("bt_col_buyer_share", lang): [fmt_pct(v) for v in tiers["buyer_share"]],
        t("bt_col_revenue_per_customer", lang): [fmt_money(v, lang, currency) for v in tiers["revenue_per_customer"]],
        t("bt_col_revenue_share", lang): [fmt_pct(v) for v in tiers["revenue_share"]],
    })
    references = {"captured_10": ("random_10", "perfect_10"), "captured_20": ("random_20", "perfect_20")}
    quality = pl.DataFrame({
        # Short names ("Top 10% share"): on a phone the first cell heads a card and stays on one line.
        t("rp_bt_measure", lang): [t(f"bt_objective_{k}" if k in references else f"bt_m_{k}", lang)
                                   for k in BACKTEST_MEASURES],
        t("bt_rank_current", lang): [_measure(k, q, lang) for k in BACKTEST_MEASURES],
        t("bt_rank_clv", lang): [_measure(k, clv_values, lang) if k in references or k == "gap_closed" else "—"
                                 for k in BACKTEST_MEASURES],
        t("bt_rank_random", lang): [_measure(references[k][0], q, lang) if k in references
                                    else (fmt_num(0, lang, 0) if k == "gap_closed" else "—")
                                    for k in BACKTEST_MEASURES],
        t("bt_rank_perfect", lang): [_measure(references[k][1], q, lang) if k in references
                                     else (fmt_num(1, lang, 0) if k == "gap_closed" else "—")
                                     for k in BACKTEST_MEASURES],
        t("rp_bt_meaning", lang): [t(f"rp_bt_def_{k}", lang) for k in BACKTEST_MEASURES],
    })
    cards = [(t(f"bt_m_{k}", lang), _measure(k, q, lang)) for k in ("captured_10", "captured_20", "gap_closed")]
    cards.append((t("bt_rank_clv", lang) + " · " + t("bt_m_gap_closed", lang), _measure("gap_closed", clv_values, lang)))
    paragraphs = [t("rp_bt_text", lang, t=fmt_date(T, lang), start=fmt_date(T + dt.timedelta(days=1), lang),
                    end=fmt_date(T + dt.timedelta(days=h), lang), h=fmt_int(h), n=fmt_int(q.get("customers")))]
    notes = []
    if clv is not None and clv_values is None and clv.get("note"):
        notes.append(t("rp_bt_clv_none", lang, detail=clv["note"]))
    if any(q.get(k) is None for k in BACKTEST_MEASURES):
        notes.append(t("bt_undefined", lang))
    labels = {
        "current": t("bt_rank_current", lang), "preset": t("bt_rank_preset", lang, preset=view.preset.name(lang)),
        "recency": t("bt_rank_recency", lang), "clv": t("bt_rank_clv", lang), "random": t("bt_rank_random", lang),
        "perfect": t("bt_rank_perfect", lang),
    }
    return exports.Section(
        title=title, paragraphs=paragraphs, headline=cards,
        tables=[(t("rp_bt_tiers", lang), tier_rows), (t("rp_bt_quality", lang), quality)],
        figures=[backtest_charts.gains_chart(result.gains, labels=labels, lang=lang)], notes=notes,
    )


def strategy_section(view: View) -> exports.Section:
    lang, currency = view.lang, view.currency
    plan = view.strategy()
    rows: dict[str, list[str]] = {k: [] for k in ("tier", "customers", "value", "priority", "action", "why")}
    for card in S_.card_rows(plan.summary, view.unassigned):
        if not card["customers"]:
            continue
        plays = S_.suggestions_for(plan.suggestions, card["tier"])[:TOP_SUGGESTIONS] or [None]
        for play in plays:
            rows["tier"].append(card["tier"])
            rows["customers"].append(f"{fmt_int(card['customers'])} ({fmt_pct(card['customer_share'])})")
            rows["value"].append(f"{fmt_money(card['value'], lang, currency, compact=True)} "
                                 f"({fmt_pct(card['value_share'])})")
            if play is None:
                rows["priority"].append("—")
                rows["action"].append(t("rp_none", lang))
                rows["why"].append("")
            else:
                rows["priority"].append(t(f"st_priority_{play['priority']}", lang))
                rows["action"].append(play["action_zh"] if lang == "zh" else play["action_en"])
                rows["why"].append(explain_why(play["why"], lang))
    table = pl.DataFrame({
        t("tier", lang): rows["tier"], t("customers", lang): rows["customers"],
        t("rp_value", lang): rows["value"],
        t("rp_priority", lang): rows["priority"], t("rp_suggestion", lang): rows["action"],
        t("rp_because", lang): rows["why"],
    })
    return exports.Section(title=t("rp_strategy", lang), paragraphs=[t("rp_strategy_text", lang, n=TOP_SUGGESTIONS)],
                           tables=[("", table)])
