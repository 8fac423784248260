"""Chart builders: plain functions from small frames to Plotly figures.

Every figure has a title, axis titles with units and hover text, so it reads on its own in a
shared link or an exported report. Tier colours are keyed by the tier's position in rule
order, so the same tier has the same colour on every chart of a view.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from segmentation import columns as C
from ui.i18n import currency_symbol, fmt_money, fmt_pct, t

# Distinct, colour-blind-aware hues (Okabe-Ito first, then Tableau); readable on white and dark.
TIER_PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#7F7F7F",
    "#8C564B", "#17BECF", "#BCBD22", "#9467BD",
)
ACCENT = "#0072B2"
RETURN_COLOUR = "#D55E00"
FONT = "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, Source Sans Pro, sans-serif"


def safe(text: object) -> str:
    """Text from the data made literal for Plotly, which reads a subset of HTML in labels."""
    return html.escape(str(text), quote=False)


def tier_colors(names: Sequence[str]) -> dict[str, str]:
    """Colour per tier by position in rule order (cycles after 12 tiers)."""
    return {name: TIER_PALETTE[i % len(TIER_PALETTE)] for i, name in enumerate(names)}


def money_axis(values: Sequence[float | None], *, lang: str = "zh", currency: str = "CNY", ticks: int = 5) -> dict:
    """Axis (or colour bar) settings that label money the way the rest of the page does.

    Plotly only knows SI suffixes (k, M, G), so a Chinese page would read ¥1M next to metrics
    in 万; here tick positions are picked on a 1/2/2.5/5 x 10^k grid (the usual "nice numbers")
    and labelled with :func:`ui.i18n.fmt_money` in compact form: ¥100万, $1.5M. Small ranges
    (under 10,000) keep Plotly's own ticks with the currency symbol.

    Example:
        >>> money_axis([0, 4_238_641], lang="zh")["ticktext"]
        ['¥0', '¥100万', '¥200万', '¥300万', '¥400万']
    """
    present = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    low, high = min([*present, 0.0]), max([*present, 0.0])
    if high - low < 1e4:
        return {"tickprefix": currency_symbol(currency), "tickformat": ",.0f"}
    raw = (high - low) / max(1, ticks)
    scale = 10 ** math.floor(math.log10(raw))
    step = next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= raw)
    first = math.floor(low / step) * step
    count = math.floor((high - first) / step + 1e-9) + 1
    vals = [first + i * step for i in range(count)]
    return {"tickvals": vals, "ticktext": [fmt_money(v, lang, currency, compact=True) for v in vals]}


def _layout(fig: go.Figure, title: str, *, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        font={"family": FONT},
        hoverlabel={"font": {"family": FONT}},
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def tier_bar(summary: pl.DataFrame, *, value: str = "customers", lang: str = "zh", currency: str = "CNY") -> go.Figure:
    """Horizontal bars per tier (first tier on top) of customers or revenue, with shares.

    ``summary`` is :func:`ui.state.tier_summary` output (tier, customers, customer_share,
    revenue, revenue_share, ...); ``value`` is "customers" or "revenue".
    """
    share_col = "customer_share" if value == "customers" else "revenue_share"
    names = [safe(n) for n in summary[C.TIER].to_list()]
    colours = tier_colors(names)
    values = summary[value].to_list()
    shares = summary[share_col].to_list()
    symbol = currency_symbol(currency) if value == "revenue" else ""
    number = ",.0f"
    text = [f"{symbol}{v:{number}} ({fmt_pct(s, lang)})" for v, s in zip(values, shares, strict=True)]
    label = t("customers" if value == "customers" else "revenue", lang)
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            marker_color=[colours[n] for n in names],
            text=text,
            textposition="auto",
            cliponaxis=False,
            customdata=shares,
            hovertemplate=(
                f"%{{y}}<br>{label}: {symbol}%{{x:{number}}}<br>{t(share_col, lang)}: %{{customdata:.1%}}<extra></extra>"
            ),
        )
    )
    title = t("ch_customers_per_tier" if value == "customers" else "ch_revenue_per_tier", lang)
    axis_title = label + (f" ({symbol.strip()})" if symbol.strip() else "")
    fig.update_yaxes(title_text=t("tier", lang), categoryorder="array", categoryarray=names[::-1])
    axis = money_axis(values, lang=lang, currency=currency) if value == "revenue" else {"separatethousands": True}
    fig.update_xaxes(title_text=axis_title, **axis)
    return _layout(fig, title, height=max(260, 60 + 34 * len(names)))


def rf_heatmap(
    grid: pl.DataFrame,
    *,
    bins: int,
    colour_by: str = "monetary",
    tier_names: Sequence[str] = (),
    lang: str = "zh",
    currency: str = "CNY",
) -> go.Figure:
    """R score (rows) × F score (columns) heatmap with the customer count in each cell.

    ``grid`` is :func:`ui.state.rf_grid` output. ``colour_by`` "monetary" colours cells by
    average spend; "tier" colours them by the most common tier (tier colours).
    """
    scores = list(range(1, bins + 1))
    cells = {(r, f): row for r, f, *row in grid.select(C.R_SCORE, C.F_SCORE, "customers", "avg_monetary",
                                                        *(["dominant_tier"] if "dominant_tier" in grid.columns else [])).iter_rows()}
    symbol = currency_symbol(currency)
    counts = [[cells.get((r, f), [0])[0] for f in scores] for r in scores]
    money = [[cells[(r, f)][1] if (r, f) in cells else None for f in scores] for r in scores]
    dominant = [[cells[(r, f)][2] if (r, f) in cells and len(cells[(r, f)]) > 2 else "" for f in scores] for r in scores]
    dominant_text = [[safe(d) for d in row] for row in dominant]
    text = [[f"{c:,}" if c else "" for c in row] for row in counts]
    hover = (
        f"{t('r_score', lang)} %{{y}} · {t('f_score', lang)} %{{x}}<br>{t('customers', lang)}: %{{text}}"
        f"<br>{t('avg_monetary', lang)}: {symbol}%{{customdata[0]:,.0f}}<br>{t('tier', lang)}: %{{customdata[1]}}<extra></extra>"
    )
    custom = [[[money[i][j] if money[i][j] is not None else float("nan"), dominant_text[i][j]] for j in range(bins)]
              for i in range(bins)]
    if colour_by == "tier" and tier_names:
        index = {name: i for i, name in enumerate(tier_names)}
        z = [[index.get(d) if d else None for d in row] for row in dominant]
        n = len(tier_names)
        colours = [TIER_PALETTE[i % len(TIER_PALETTE)] for i in range(n)]
        # Discrete colour scale: one flat band per tier index.
        scale = []
        for i, c in enumerate(colours):
            lo, hi = i / n, (i + 1) / n
            scale += [[lo, c], [hi, c]]
        trace = go.Heatmap(
            z=z, x=scores, y=scores, text=text, texttemplate="%{text}", customdata=custom,
            hovertemplate=hover, colorscale=scale, zmin=-0.5, zmax=n - 0.5, showscale=False, xgap=2, ygap=2,
        )
        title = t("ch_rf_title_tier", lang)
    else:
        trace = go.Heatmap(
            z=money, x=scores, y=scores, text=text, texttemplate="%{text}", customdata=custom,
            hovertemplate=hover, colorscale="Blues", xgap=2, ygap=2,
            colorbar={"title": {"text": f"{t('avg_monetary', lang)} ({symbol.strip() or '#'})"},
                      **money_axis([v for row in money for v in row], lang=lang, currency=currency)},
        )
        title = t("ch_rf_title_m", lang)
    fig = go.Figure(trace)
    fig.update_xaxes(title_text=t("ch_f_axis", lang), tickmode="array", tickvals=scores, side="bottom")
    fig.update_yaxes(title_text=t("ch_r_axis", lang), tickmode="array", tickvals=scores)
    return _layout(fig, title, height=420)


def pareto_chart(curve: pl.DataFrame, *, top20: float, lang: str = "zh") -> go.Figure:
    """Cumulative revenue share vs cumulative customer share, with the top-20% point marked.

    ``curve`` is :func:`ui.state.pareto` output; ``top20`` the revenue share of the top 20%.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name=t("ch_pareto_equal", lang),
            line={"dash": "dot", "color": "#9E9E9E"}, hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=curve["customer_share"].to_list(), y=curve["revenue_share"].to_list(), mode="lines",
            name=t("ch_pareto_y", lang), line={"color": ACCENT, "width": 3},
            hovertemplate=f"{t('ch_pareto_x', lang)}: %{{x:.1%}}<br>{t('ch_pareto_y', lang)}: %{{y:.1%}}<extra></extra>",
        )
    )
    note = t("ch_pareto_note", lang, share=fmt_pct(top20, lang))
    fig.add_trace(
        go.Scatter(
            x=[0.2], y=[top20], mode="markers", marker={"size": 11, "color": RETURN_COLOUR}, name=note,
            hovertemplate=f"{note}<extra></extra>",
        )
    )
    fig.add_annotation(x=0.2, y=top20, text=note, showarrow=True, arrowhead=2, ax=70, ay=40,
                       bgcolor="rgba(255,255,255,0.85)", font={"color": "#333"})
    fig.update_xaxes(title_text=t("ch_pareto_x", lang), tickformat=".0%", range=[0, 1])
    fig.update_yaxes(title_text=t("ch_pareto_y", lang), tickformat=".0%", range=[0, 1.02])
    fig.update_layout(showlegend=False)
    return _layout(fig, t("ch_pareto_title", lang), height=400)


def customer_timeline(history: pl.DataFrame, *, customer: str, lang: str = "zh", currency: str = "CNY") -> go.Figure:
    """One customer's transactions over time: purchases as bars up, returns as bars down."""
    symbol = currency_symbol(currency)
    fig = go.Figure()
    # Bars on a date axis are as wide as the gap between points unless told otherwise; one
    # day reads as "one order" while staying visible over a multi-year history.
    days = history.select((pl.col(C.ORDER_DATE).max() - pl.col(C.ORDER_DATE).min()).dt.total_days()).item() or 0
    width_ms = 86_400_000 * max(1.0, days / 120)
    purchases = history.filter(pl.col(C.AMOUNT) > 0)
    returns = history.filter(pl.col(C.AMOUNT) < 0)
    for frame, name, colour in ((purchases, t("ch_purchase", lang), ACCENT), (returns, t("ch_return", lang), RETURN_COLOUR)):
        if frame.height == 0:
            continue
        fig.add_trace(
            go.Bar(
                x=frame[C.ORDER_DATE].to_list(), y=frame[C.AMOUNT].to_list(), name=name, marker_color=colour,
                width=width_ms,
                customdata=[safe(x) for x in frame[C.ORDER_ID].to_list()],
                hovertemplate=(
                    f"{name}<br>{t('order_date', lang)}: %{{x|%Y-%m-%d}}<br>{t('amount', lang)}: {symbol}%{{y:,.2f}}"
                    f"<br>{t('order_id', lang)}: %{{customdata}}<extra></extra>"
                ),
            )
        )
    if history.height:
        # Pad the range so a single order is shown against a few weeks, not stretched over hours.
        lo, hi = history[C.ORDER_DATE].min(), history[C.ORDER_DATE].max()
        pad = dt.timedelta(days=max(15.0, days * 0.03))
        fig.update_xaxes(range=[lo - pad, hi + pad])
    fig.update_xaxes(title_text=t("order_date", lang), type="date")
    fig.update_yaxes(title_text=f"{t('amount', lang)} ({symbol.strip() or '#'})", zeroline=True,
                     **money_axis(history[C.AMOUNT].to_list(), lang=lang, currency=currency))
    fig.update_layout(legend={"orientation": "h", "y": -0.25}, bargap=0.2)
    return _layout(fig, t("ch_timeline_title", lang, customer=safe(customer)), height=360)


def tier_history_chart(history: pl.DataFrame, *, tier_names: Sequence[str], date_col: str, lang: str = "zh") -> go.Figure:
    """A customer's tier at each snapshot date (step line over the tiers in rule order)."""
    colours = tier_colors([safe(n) for n in tier_names])
    tiers = [safe(x) for x in history[C.TIER].cast(pl.String).to_list()]
    fig = go.Figure(
        go.Scatter(
            x=history[date_col].to_list(), y=tiers, mode="lines+markers", line={"shape": "hv", "color": "#9E9E9E"},
            marker={"size": 12, "color": [colours.get(x, "#7F7F7F") for x in tiers]},
            hovertemplate=f"%{{x|%Y-%m-%d}}<br>{t('tier', lang)}: %{{y}}<extra></extra>",
        )
    )
    fig.update_yaxes(title_text=t("tier", lang), categoryorder="array", categoryarray=[safe(n) for n in tier_names][::-1])
    fig.update_xaxes(title_text=t("sb_as_of", lang))
    return _layout(fig, t("ch_tier_history_title", lang), height=320)
