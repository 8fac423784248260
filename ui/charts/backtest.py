"""Charts of the backtest: the gains curve of every ranking, and the walk-forward line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import plotly.graph_objects as go
import polars as pl

from ui.charts.style import ACCENT, date_axis, layout, safe
from ui.i18n import t

# Rankings in drawing order (the current tiers last, on top), with their line style. The two
# references are grey and thin so they read as the frame, not as contenders.
GAINS_STYLE: dict[str, dict] = {
    "random": {"color": "#9E9E9E", "width": 1.5, "dash": "dash"},
    "perfect": {"color": "#333333", "width": 1.5, "dash": "dot"},
    "recency": {"color": "#E69F00", "width": 2, "dash": "dashdot"},
    "preset": {"color": "#009E73", "width": 2, "dash": "dash"},
    "clv": {"color": "#CC79A7", "width": 2, "dash": "longdash"},
    "current": {"color": ACCENT, "width": 3.5, "dash": "solid"},
}
# Legend order: best reference first, then the rankings, then random.
LEGEND_RANK = {"perfect": 1, "current": 2, "preset": 3, "clv": 4, "recency": 5, "random": 6}


def gains_chart(gains: pl.DataFrame, *, labels: Mapping[str, str], lang: str = "zh") -> go.Figure:
    """Cumulative share of customers (best ranked first) -> share of next-period revenue.

    ``gains`` has ``ranking``, ``customer_share``, ``revenue_share`` (``BacktestView.gains``);
    ``labels`` names each ranking in ``lang``. A ranking whose curve is undefined (window revenue
    not positive) is left out.
    """
    fig = go.Figure()
    present = gains.get_column("ranking").unique(maintain_order=True).to_list()
    for ranking in [r for r in GAINS_STYLE if r in present] + [r for r in present if r not in GAINS_STYLE]:
        part = gains.filter(pl.col("ranking") == ranking).drop_nulls("revenue_share")
        if part.height == 0:
            continue
        name = safe(labels.get(ranking, ranking))
        fig.add_trace(go.Scatter(
            x=part["customer_share"].to_list(), y=part["revenue_share"].to_list(), mode="lines", name=name,
            line=GAINS_STYLE.get(ranking, {"width": 2}), legendrank=LEGEND_RANK.get(ranking, 10),
            hovertemplate=f"{name}<br>{t('ch_gains_x', lang)}: %{{x:.0%}}<br>{t('ch_gains_y', lang)}: %{{y:.1%}}"
                          "<extra></extra>",
        ))
    fig.update_xaxes(title_text=t("ch_gains_x", lang), tickformat=".0%", range=[0, 1], dtick=0.1)
    fig.update_yaxes(title_text=t("ch_gains_y", lang), tickformat=".0%", range=[0, 1.02])
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0}, hovermode="closest")
    return layout(fig, t("ch_gains_title", lang), height=460)


WALK_LINES = (
    ("captured_10", "bt_m_captured_10", "#56B4E9", "y"),
    ("captured_20", "bt_m_captured_20", ACCENT, "y"),
    ("gap_closed", "bt_m_gap_closed", "#D55E00", "y2"),
)


def walk_forward_chart(table: pl.DataFrame, *, lang: str = "zh", as_of: dt.date | str | None = None) -> go.Figure:
    """Captured value (left axis, shares) and gap closed (right axis, 0..1) at every backtest date.

    ``table`` is ``walk_forward`` output (``as_of`` and the measures); ``as_of`` marks the
    page's current T with a vertical line.
    """
    fig = go.Figure()
    dates = table["as_of"].to_list()
    for col, key, colour, axis in WALK_LINES:
        name = t(key, lang)
        fmt = ".1%" if axis == "y" else ".3f"
        fig.add_trace(go.Scatter(
            x=dates, y=table[col].to_list(), mode="lines+markers", name=name, yaxis=axis,
            line={"color": colour, "width": 2.5 if col == "gap_closed" else 2,
                  "dash": "solid" if axis == "y" else "dot"},
            hovertemplate=f"{name}<br>%{{x|%Y-%m-%d}}: %{{y:{fmt}}}<extra></extra>",
        ))
    if as_of is not None:
        day = as_of if isinstance(as_of, str) else as_of.isoformat()
        fig.add_vline(x=day, line={"color": "#9E9E9E", "width": 1, "dash": "dash"})
    fig.update_xaxes(title_text=t("ch_walk_x", lang), **date_axis(lang))
    fig.update_layout(
        yaxis={"title": {"text": t("ch_walk_share", lang)}, "tickformat": ".0%", "rangemode": "tozero"},
        yaxis2={"title": {"text": t("ch_walk_gap", lang)}, "overlaying": "y", "side": "right", "range": [0, 1],
                "tickmode": "linear", "tick0": 0, "dtick": 0.25, "tickformat": ".2f", "showgrid": False},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0},
    )
    return layout(fig, t("ch_walk_title", lang), height=380)
