"""Charts of one customer: purchases over time and tier history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from segmentation import columns as C
from ui.charts.style import (
    ACCENT,
    RETURN_COLOUR,
    date_axis,
    layout,
    money_axis,
    safe,
    tier_colors,
)
from ui.i18n import currency_symbol, t


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
    fig.update_xaxes(title_text=t("order_date", lang), **date_axis(lang))
    fig.update_yaxes(title_text=f"{t('amount', lang)} ({symbol.strip() or '#'})", zeroline=True,
                     **money_axis(history[C.AMOUNT].to_list(), lang=lang, currency=currency))
    fig.update_layout(legend={"orientation": "h", "y": -0.25}, bargap=0.2)
    return layout(fig, t("ch_timeline_title", lang, customer=safe(customer)), height=360)


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
    fig.update_xaxes(title_text=t("sb_as_of", lang), **date_axis(lang))
    return layout(fig, t("ch_tier_history_title", lang), height=320)
