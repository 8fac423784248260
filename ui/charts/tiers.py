"""Charts of the tiers at one date: sizes and value, the R x F grid, revenue concentration."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from segmentation import columns as C
from ui.charts.style import (
    ACCENT,
    RETURN_COLOUR,
    layout,
    money_axis,
    safe,
    tier_colors,
)
from ui.i18n import currency_symbol, fmt_pct, t


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
    if value == "revenue":
        axis = money_axis(values, lang=lang, currency=currency)
    else:
        # Head counts are whole: a handful of customers gets one tick per customer, not 0.2 steps.
        axis = {"separatethousands": True, **({"dtick": 1} if max(values, default=0) <= 5 else {})}
    fig.update_xaxes(title_text=axis_title, **axis)
    return layout(fig, title, height=max(260, 60 + 34 * len(names)))


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
        by_name = tier_colors(list(tier_names))
        colours = [by_name[name] for name in tier_names]
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
    return layout(fig, title, height=420)


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
    return layout(fig, t("ch_pareto_title", lang), height=400)
