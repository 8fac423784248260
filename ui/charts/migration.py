"""Charts of tier migration: Sankey flows, the transition matrix, up/down rates."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from segmentation import columns as C
from segmentation.snapshots import BACK, GONE, NEW
from ui.charts.style import (
    RATE_COLOURS,
    layout,
    safe,
    share_text,
    state_colours,
    state_text,
    wrap,
)
from ui.i18n import fmt_date, fmt_int, fmt_money, fmt_pct, t

# Light, translucent flows: the node labels are drawn on top of them and must stay readable.
LINK_COLOURS = {
    "up": "rgba(0,158,115,0.30)",
    "down": "rgba(213,94,0,0.30)",
    "same": "rgba(170,170,170,0.18)",
    "new": "rgba(55,71,79,0.16)",
    "back": "rgba(148,103,189,0.25)",
    "gone": "rgba(189,189,189,0.30)",
}

# Dark text with a white halo reads on any flow colour behind it.
NODE_TEXT = {"color": "#1F2328", "size": 13,
             "shadow": "1px 1px 2px #fff, -1px -1px 2px #fff, 1px -1px 2px #fff, -1px 1px 2px #fff"}


def readable_labels(rows: Sequence[dict], y_pos: dict, *, plot_px: float, line_px: float = 17) -> set:
    """Nodes whose labels can be drawn without overlapping another label of the same date.

    Small tiers sit close together and their labels would print over each other; larger
    nodes keep theirs first, and a node without a label still names itself on hover.

    Example:
        >>> rows = [{"node": n, "date": 1, "customers": c} for n, c in (("a", 500), ("b", 3), ("c", 4))]
        >>> sorted(readable_labels(rows, {"a": 0.5, "b": 0.97, "c": 0.99}, plot_px=400))
        ['a', 'c']
    """
    kept: dict[object, list[float]] = {}
    shown = set()
    for r in sorted(rows, key=lambda r: -r["customers"]):
        y = y_pos[r["node"]] * plot_px
        taken = kept.setdefault(r["date"], [])
        if all(abs(y - other) >= line_px for other in taken):
            taken.append(y)
            shown.add(r["node"])
    return shown


def sankey(
    nodes: pl.DataFrame,
    links: pl.DataFrame,
    *,
    tier_names: Sequence[str],
    lang: str = "zh",
    currency: str = "CNY",
) -> go.Figure:
    """Flows between tiers across dates (``segmentation.migration.sankey_flows`` output).

    One column of nodes per date, states in business order (New, Returning, tiers best first,
    Left) top to bottom; node labels carry the head count, the dates are column headers, and
    links are coloured by direction (up, down, same, new, returning, left). Labels that would
    overlap on small tiers are left out (see :func:`readable_labels`); hover still names the node.
    """
    colours = state_colours(tier_names)
    order = {s: i for i, s in enumerate([NEW, BACK, *tier_names, GONE])}
    rows = nodes.with_columns(pl.col("state").cast(pl.String)).to_dicts()
    dates = sorted({r["date"] for r in rows})
    col_of = {d: i for i, d in enumerate(dates)}
    # Explicit positions keep each date in its own column and states in rule order; Plotly
    # otherwise places nodes by its own heuristic, which mixes up tiers between columns.
    x_pos, y_pos = {}, {}
    for d in dates:
        column = sorted((r for r in rows if r["date"] == d), key=lambda r: order.get(r["state"], 99))
        total = sum(max(r["customers"], 1) for r in column) or 1
        gap = 0.04 / max(len(column), 1)
        used = 0.0
        for r in column:
            h = max(r["customers"], 1) / total * (1 - 0.04)
            y_pos[r["node"]] = min(0.99, max(0.01, used + h / 2))
            used += h + gap
            x_pos[r["node"]] = 0.01 + 0.98 * (col_of[d] / max(len(dates) - 1, 1))
    ids = [r["node"] for r in rows]
    index = {node: i for i, node in enumerate(ids)}
    height = max(460, 26 * len(tier_names) + 260)
    shown = readable_labels(rows, y_pos, plot_px=height - 100)
    labels = [f"{state_text(r['state'], lang)} · {fmt_int(r['customers'])}" if r["node"] in shown else ""
              for r in rows]
    size_of = {r["node"]: r["customers"] for r in rows}
    name_of = {r["node"]: f"{state_text(r['state'], lang)} ({fmt_date(r['date'], lang)})" for r in rows}
    link_rows = links.with_columns(pl.col("direction").cast(pl.String)).to_dicts()
    hover = [
        t("ch_sankey_hover", lang, a=name_of[lk["source"]], b=name_of[lk["target"]], n=fmt_int(lk["customers"]),
          share=fmt_pct(lk["customers"] / size_of[lk["source"]] if size_of[lk["source"]] else None),
          revenue=fmt_money(lk["revenue"], lang, currency))
        for lk in link_rows
    ]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": labels,
                "color": [colours.get(r["state"], "#7F7F7F") for r in rows],
                "x": [x_pos[n] for n in ids],
                "y": [y_pos[n] for n in ids],
                "pad": 12,
                "thickness": 16,
                "customdata": [name_of[n] for n in ids],
                "hovertemplate": "%{customdata}<br>" + t("customers", lang) + ": %{value:,}<extra></extra>",
            },
            link={
                "source": [index[lk["source"]] for lk in link_rows],
                "target": [index[lk["target"]] for lk in link_rows],
                "value": [lk["customers"] for lk in link_rows],
                "color": [LINK_COLOURS.get(lk["direction"], LINK_COLOURS["same"]) for lk in link_rows],
                "customdata": hover,
                "hovertemplate": "%{customdata}<extra></extra>",
            },
            valueformat=",d",
            textfont=NODE_TEXT,
        )
    )
    for d in dates:
        fig.add_annotation(
            x=0.01 + 0.98 * (col_of[d] / max(len(dates) - 1, 1)), y=1.06, xref="paper", yref="paper",
            text=f"<b>{fmt_date(d, lang)}</b>", showarrow=False,
            xanchor="left" if col_of[d] == 0 else "right" if col_of[d] == len(dates) - 1 else "center",
        )
    fig = layout(fig, t("ch_sankey_title", lang), height=height)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 90, "b": 10})
    return fig


def transition_heatmap(
    matrix: pl.DataFrame, *, tier_names: Sequence[str], d1: str, d2: str, lang: str = "zh"
) -> go.Figure:
    """Share of each earlier state (rows) going to each later state (columns), with counts.

    ``matrix`` is :func:`segmentation.migration.migration_matrix` output (long form). Rows are
    New, Returning and the tiers; columns the tiers and Left; states nobody is in are left out.
    """
    cells = {
        (str(f), str(to)): (n, s)
        for f, to, n, s in matrix.select("from_state", "to_state", "customers", "share").iter_rows()
    }
    row_states = [s for s in [NEW, BACK, *tier_names] if any(k[0] == s for k in cells)]
    col_states = [s for s in [*tier_names, GONE] if any(k[1] == s for k in cells)]
    z = [[cells.get((r, c), (0, 0.0))[1] for c in col_states] for r in row_states]
    counts = [[cells.get((r, c), (0, 0.0))[0] for c in col_states] for r in row_states]
    text = [[share_text(v, n, lang) for v, n in zip(zr, nr, strict=True)] for zr, nr in zip(z, counts, strict=True)]
    rows = [state_text(s, lang) for s in row_states]
    cols = [wrap(state_text(s, lang), 6 if lang == "zh" else 12) for s in col_states]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=cols, y=rows, text=text, texttemplate="%{text}", customdata=counts, colorscale="Blues",
            zmin=0, zmax=1, xgap=2, ygap=2,
            colorbar={"title": {"text": t("ch_matrix_colour", lang)}, "tickformat": ".0%"},
            hovertemplate=(
                f"{t('ch_matrix_y', lang)}: %{{y}}<br>{t('ch_matrix_x', lang)}: %{{x}}<br>"
                f"{t('customers', lang)}: %{{customdata:,}}<br>{t('ch_matrix_colour', lang)}: %{{z:.1%}}<extra></extra>"
            ),
        )
    )
    # Plotly turns the column labels when they would overlap (a phone); flat otherwise.
    fig.update_xaxes(title_text=t("ch_matrix_x", lang), side="bottom")
    fig.update_yaxes(title_text=t("ch_matrix_y", lang), autorange="reversed")
    dates = t("mg_pair_fmt", lang, a=fmt_date(d1, lang), b=fmt_date(d2, lang))
    return layout(fig, t("ch_matrix_title", lang), height=max(440, 140 + 48 * len(rows)), subtitle=dates)


def rates_bar(rates: pl.DataFrame, *, d1: str, d2: str, lang: str = "zh") -> go.Figure:
    """Stacked horizontal bars per tier: upgraded, unchanged, downgraded, left (shares of 100%).

    ``rates`` is :func:`segmentation.migration.migration_rates` without the total row.
    """
    names = [safe(n) for n in rates[C.TIER].to_list()]
    customers = rates["customers"].to_list()
    fig = go.Figure()
    for part, key, count_col in (
        ("upgrade", "mg_upgrade", "upgraded"), ("unchanged", "mg_unchanged", "unchanged"),
        ("downgrade", "mg_downgrade", "downgraded"), ("gone", "mg_gone", "gone"),
    ):
        values = [v or 0.0 for v in rates[f"{part}_rate"].to_list()]
        fig.add_trace(
            go.Bar(
                y=names, x=values, name=t(key, lang), orientation="h", marker_color=RATE_COLOURS[part],
                # A share that is zero for every tier (nobody can leave without a lookback window)
                # would only add a legend entry for something that never shows.
                showlegend=any(v > 0 for v in values),
                text=[fmt_pct(v, lang, 0) if v >= 0.04 else "" for v in values], textposition="inside",
                customdata=list(zip(rates[count_col].to_list(), customers, strict=True)),
                hovertemplate=(
                    f"%{{y}}<br>{t(key, lang)}: %{{x:.1%}}<br>%{{customdata[0]:,}} / %{{customdata[1]:,}} "
                    f"{t('customers', lang)}<extra></extra>"
                ),
            )
        )
    fig.update_layout(barmode="stack", legend={"orientation": "h", "y": -0.2, "traceorder": "normal"})
    fig.update_xaxes(title_text=t("ch_rates_x", lang), tickformat=".0%", range=[0, 1])
    fig.update_yaxes(title_text=t("tier", lang), categoryorder="array", categoryarray=names[::-1])
    dates = t("mg_pair_fmt", lang, a=fmt_date(d1, lang), b=fmt_date(d2, lang))
    return layout(fig, t("ch_rates_title", lang), height=max(300, 90 + 34 * len(names)), subtitle=dates)
