"""Charts of KPI trends per tier and cohort retention."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from segmentation import columns as C
from segmentation.kpis import ALL
from segmentation.snapshots import GONE
from ui.charts.style import (
    ALL_COLOUR,
    layout,
    money_axis,
    money_axis_parts,
    safe,
    state_colours,
    state_text,
)
from ui.i18n import fmt_date, fmt_pct, t


def kpi_lines(
    series: pl.DataFrame,
    *,
    kpi_name: str,
    unit: str,
    period_label: str,
    tier_names: Sequence[str],
    lang: str = "zh",
    currency: str = "CNY",
) -> go.Figure:
    """One line per tier of a KPI over time (:func:`ui.state_time.kpi_series` output).

    ``unit`` is "count", "currency" or "ratio" (from the KPI definitions) and sets the axis
    format; ``__all__`` rows (all customers) are drawn as a dark dashed line. A partial last
    period (``period_complete`` False) gets a hollow marker and its real span in the hover
    (e.g. 2025-03-01 – 14 Mar), so it is never read as a whole period.
    """
    colours = state_colours(tier_names)
    symbol, unit_text = money_axis_parts(currency)
    if unit == "ratio":
        y_fmt, axis = ".1%", kpi_name
        tick = {"tickformat": ".0%"}
    elif unit == "currency":
        y_fmt, axis = ",.0f", f"{kpi_name} ({unit_text})"
        tick = money_axis([0.0, *series["value"].to_list()], lang=lang, currency=currency)
    else:
        y_fmt, axis = ",.0f", kpi_name
        tick = {"tickformat": ",d"}
    prefix = symbol if unit == "currency" else ""
    fig = go.Figure()
    present = series[C.TIER].unique(maintain_order=True).to_list()
    order = [*[n for n in tier_names if n in present], *[n for n in present if n not in tier_names]]
    for name in order:
        part = series.filter(pl.col(C.TIER) == name).sort("period_end")
        complete = part["period_complete"].to_list() if "period_complete" in part.columns else [True] * part.height
        last_days = part["period_last_day"] if "period_last_day" in part.columns else part["period_end"]
        is_all = name == ALL
        label = t("tm_all_customers", lang) if is_all else state_text(name, lang)
        fig.add_trace(
            go.Scatter(
                x=part["period_start"].to_list(), y=part["value"].to_list(), name=label, mode="lines+markers",
                line={"color": ALL_COLOUR if is_all else colours.get(name, "#7F7F7F"), "width": 3 if is_all else 2,
                      "dash": "dash" if is_all or name == GONE else "solid"},
                marker={"size": [5 if c else 10 for c in complete],
                        "symbol": ["circle" if c else "circle-open" for c in complete]},
                customdata=[fmt_date(d, lang) + ("" if c else t("ch_kpi_partial", lang))
                            for d, c in zip(last_days.to_list(), complete, strict=True)],
                hovertemplate=(
                    f"{label}<br>%{{x|%Y-%m-%d}} – %{{customdata}}<br>{safe(kpi_name)}: {prefix}%{{y:{y_fmt}}}<extra></extra>"
                ),
            )
        )
    fig.update_xaxes(title_text=t("ch_kpi_x", lang) + f" ({period_label})", type="date",
                     tickformat="%Y年%-m月" if lang == "zh" else "%Y-%m")
    fig.update_yaxes(title_text=safe(axis), rangemode="tozero", **tick)
    fig.update_layout(legend={"orientation": "h", "y": -0.22}, hovermode="closest")
    return layout(fig, t("ch_kpi_title", lang, kpi=safe(kpi_name), period=period_label), height=440)


def cohort_heatmap(cohorts: pl.DataFrame, *, lang: str = "zh") -> go.Figure:
    """Cohort month (rows, oldest on top) × months since first purchase, % labels in cells.

    ``cohorts`` is :func:`segmentation.kpis.cohort_retention` output.
    """
    months = sorted(set(cohorts["months_since"].to_list()))
    cohort_days = sorted(set(cohorts["cohort"].to_list()))
    cells = {(c, m): (r, a, n) for c, m, r, a, n in
             cohorts.select("cohort", "months_since", "retention", "active", "cohort_size").iter_rows()}
    labels = [f"{d.year}-{d.month:02d}" for d in cohort_days]
    z = [[cells[(c, m)][0] if (c, m) in cells else None for m in months] for c in cohort_days]
    custom = [[[cells[(c, m)][1], cells[(c, m)][2]] if (c, m) in cells else [0, 0] for m in months] for c in cohort_days]
    text = [[fmt_pct(v, lang, 0) if v is not None else "" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=months, y=labels, text=text, texttemplate="%{text}", customdata=custom, colorscale="Blues",
            zmin=0, zmax=max([v for row in z[:] for v in row[1:] if v is not None] or [1.0]),
            xgap=1, ygap=1, hovertemplate=t("ch_cohort_hover", lang) + "<extra></extra>",
            colorbar={"title": {"text": t("ch_cohort_colour", lang)}, "tickformat": ".0%"},
        )
    )
    fig.update_xaxes(title_text=t("ch_cohort_x", lang), tickmode="array", tickvals=months, side="top")
    fig.update_yaxes(title_text=t("ch_cohort_y", lang), autorange="reversed", type="category")
    fig = layout(fig, t("ch_cohort_title", lang), height=max(380, 130 + 24 * len(labels)))
    # The month axis and its title sit on top; the chart title goes to the very top of the
    # figure, with room below it, or the two run into each other.
    fig.update_layout(margin={"t": 120}, title={"yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 12}})
    return fig
