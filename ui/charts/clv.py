"""Charts of lifetime value: distribution, per tier, P(alive) against recency, holdout."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from segmentation import columns as C
from ui.charts.style import (
    ACCENT,
    RETURN_COLOUR,
    layout,
    log_ticks,
    money_axis_parts,
    safe,
    tier_colors,
)
from ui.i18n import fmt_int, fmt_money, fmt_pct, t


def clv_histogram(hist: pl.DataFrame, *, log: bool, horizon_days: int, lang: str = "zh", currency: str = "CNY") -> go.Figure:
    """Customers per CLV bin (``ui.state_time.clv_histogram`` output); log x axis when ``log``."""
    symbol, unit_text = money_axis_parts(currency)
    lower, upper = hist["lower"].to_list(), hist["upper"].to_list()
    if log:
        centres = [math.sqrt(a * b) for a, b in zip(lower, upper, strict=True)]
        widths = [b - a for a, b in zip(lower, upper, strict=True)]
    else:
        centres = [(a + b) / 2 for a, b in zip(lower, upper, strict=True)]
        widths = [b - a for a, b in zip(lower, upper, strict=True)]
    ranges = [f"{fmt_money(a, lang, currency)} – {fmt_money(b, lang, currency)}" for a, b in zip(lower, upper, strict=True)]
    fig = go.Figure(
        go.Bar(
            x=centres, y=hist["customers"].to_list(), width=widths, marker_color=ACCENT, customdata=ranges,
            marker_line={"width": 0.5, "color": "white"},
            hovertemplate=f"%{{customdata}}<br>{t('customers', lang)}: %{{y:,}}<extra></extra>",
        )
    )
    if log:
        ticks = log_ticks(min(lower), max(upper))
        fig.update_xaxes(type="log", tickvals=ticks,
                         ticktext=[fmt_money(v, lang, currency, compact=v >= 10_000) for v in ticks])
    else:
        fig.update_xaxes(type="linear", nticks=12, tickprefix=symbol, separatethousands=True)
    fig.update_xaxes(title_text=t("ch_clv_x", lang, symbol=unit_text))
    fig.update_yaxes(title_text=t("customers", lang), tickformat=",d")
    fig.update_layout(bargap=0)
    return layout(fig, t("ch_clv_hist_title", lang, horizon=fmt_int(horizon_days)), height=380)


def clv_tier_bar(stats: pl.DataFrame, *, value: str, tier_names: Sequence[str], lang: str = "zh",
                 currency: str = "CNY") -> go.Figure:
    """Mean CLV (``value="mean_clv"``) or mean P(alive) (``"mean_p_alive"``) per tier, with counts.

    ``stats`` is :func:`ui.state_time.clv_by_tier` output.
    """
    colours = tier_colors(list(tier_names))
    names = stats[C.TIER].to_list()
    labels = [safe(n) for n in names]
    values = [v if v is not None else 0.0 for v in stats[value].to_list()]
    scored = stats["scored"].to_list()
    symbol, unit_text = money_axis_parts(currency)
    if value == "mean_clv":
        text = [fmt_money(v, lang, currency) for v in values]
        fmt_hover, prefix, title = ",.0f", symbol, t("ch_clv_by_tier_title", lang)
        axis = {"title_text": t("ch_clv_x", lang, symbol=unit_text), "tickprefix": symbol, "tickformat": ",.0f"}
    else:
        text = [fmt_pct(v, lang, 0) for v in values]
        fmt_hover, prefix, title = ".1%", "", t("ch_alive_by_tier_title", lang)
        axis = {"title_text": t("ch_alive_y", lang), "tickformat": ".0%", "range": [0, 1.05]}
    fig = go.Figure(
        go.Bar(
            x=values, y=labels, orientation="h", marker_color=[colours.get(n, ACCENT) for n in names], text=text,
            textposition="auto", customdata=scored,
            hovertemplate=f"%{{y}}<br>{prefix}%{{x:{fmt_hover}}}<br>{t('customers', lang)}: %{{customdata:,}}<extra></extra>",
        )
    )
    fig.update_xaxes(**axis)
    fig.update_yaxes(title_text=t("tier", lang), categoryorder="array", categoryarray=labels[::-1])
    return layout(fig, title, height=max(280, 80 + 34 * len(labels)))


def alive_scatter(sample: pl.DataFrame, *, tier_names: Sequence[str], lang: str = "zh", currency: str = "CNY") -> go.Figure:
    """P(alive) against days since the last purchase, one WebGL trace per tier (a sample).

    Customers with a single purchase get their own muted trace, drawn first (underneath): the
    model rates them 100% because it has no rhythm to judge by, which is no finding.
    """
    colours = tier_colors(list(tier_names))
    symbol, _ = money_axis_parts(currency)
    fig = go.Figure()
    once = sample.filter(pl.col(C.FREQUENCY) <= 1)
    repeat = sample.filter(pl.col(C.FREQUENCY) > 1)

    def hover(label: str) -> str:
        return (
            f"%{{customdata[0]}} · {label}<br>{t('ch_scatter_x', lang)}: %{{x:,}}<br>"
            f"{t('ch_alive_y', lang)}: %{{y:.1%}}<br>{t('frequency', lang)}: %{{customdata[1]}}<br>"
            f"{t('clv', lang)}: {symbol}%{{customdata[2]:,.0f}}<extra></extra>"
        )

    def data(part: pl.DataFrame) -> list[tuple]:
        return list(zip([safe(c) for c in part[C.CUSTOMER_ID].to_list()], part[C.FREQUENCY].to_list(),
                        part[C.CLV].to_list(), strict=True))

    if once.height:
        fig.add_trace(
            go.Scattergl(
                x=once[C.RECENCY].to_list(), y=once[C.P_ALIVE].to_list(), mode="markers",
                name=t("ch_one_timers", lang),
                # Open markers: a filled grey dot would read as a grey tier.
                marker={"size": 6, "opacity": 0.5, "color": "#9E9E9E", "symbol": "circle-open"},
                customdata=data(once), hovertemplate=hover(t("ch_one_timers", lang)),
            )
        )
    present = set(repeat[C.TIER].unique().to_list())
    for name in [n for n in tier_names if n in present]:
        part = repeat.filter(pl.col(C.TIER) == name)
        fig.add_trace(
            go.Scattergl(
                x=part[C.RECENCY].to_list(), y=part[C.P_ALIVE].to_list(), mode="markers", name=safe(name),
                marker={"size": 5, "opacity": 0.6, "color": colours.get(name, ACCENT)},
                customdata=data(part), hovertemplate=hover(safe(name)),
            )
        )
    fig.update_xaxes(title_text=t("ch_scatter_x", lang), tickformat=",d", rangemode="tozero")
    fig.update_yaxes(title_text=t("ch_alive_y", lang), tickformat=".0%", range=[-0.02, 1.04])
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return layout(fig, t("ch_scatter_title", lang), height=480)


def holdout_chart(frame: pl.DataFrame, *, lang: str = "zh") -> go.Figure:
    """Predicted vs actual holdout purchases per customer by calibration repeat purchases."""
    groups = frame["calibration_repeat_purchases"].cast(pl.String).to_list()
    customers = frame["customers"].to_list()
    fig = go.Figure()
    for col, key, colour, dash in (("actual_mean", "cl_actual", ACCENT, "solid"),
                                   ("predicted_mean", "cl_predicted", RETURN_COLOUR, "dash")):
        fig.add_trace(
            go.Scatter(
                x=groups, y=frame[col].to_list(), name=t(key, lang), mode="lines+markers",
                line={"color": colour, "dash": dash, "width": 3}, marker={"size": 8}, customdata=customers,
                hovertemplate=(
                    f"{t('ch_holdout_x', lang)}: %{{x}}<br>{t(key, lang)}: %{{y:.2f}}<br>"
                    f"{t('customers', lang)}: %{{customdata:,}}<extra></extra>"
                ),
            )
        )
    fig.update_xaxes(title_text=t("ch_holdout_x", lang), type="category")
    fig.update_yaxes(title_text=t("ch_holdout_y", lang), rangemode="tozero")
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return layout(fig, t("ch_holdout_title", lang), height=380)
