"""Chart builders of the time pages: migration, KPI trends, cohorts, strategy and lifetime value.

Plain functions from small frames to Plotly figures, tested on ``fig.data``. Every figure has
a title, axis titles with units and hover text; tier colours come from
:func:`ui.charts.tier_colors` (position in rule order), so a tier looks the same on every page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from segmentation import columns as C
from ui.charts import ACCENT, RETURN_COLOUR, _layout, money_axis, safe, tier_colors
from ui.i18n import currency_symbol, fmt_date, fmt_int, fmt_money, fmt_pct
from ui.i18n_time import t

# New and returning customers get colours outside the first tier hues, so they never read as a tier.
NEW_COLOUR = "#37474F"
BACK_COLOUR = "#9467BD"
GONE_COLOUR = "#BDBDBD"
ALL_COLOUR = "#333333"
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
RATE_COLOURS = {"upgrade": "#009E73", "unchanged": "#9E9E9E", "downgrade": "#D55E00", "gone": "#BDBDBD"}


def _label(state: str, lang: str) -> str:
    from segmentation.snapshots import state_label

    return safe(state_label(state, lang))


def state_colours(tier_names: Sequence[str]) -> dict[str, str]:
    """Colour of every migration state: tiers by rule order, New / Returning / Left fixed."""
    from segmentation.snapshots import BACK, GONE, NEW

    return {**tier_colors(list(tier_names)), NEW: NEW_COLOUR, BACK: BACK_COLOUR, GONE: GONE_COLOUR}


def _money_axis(currency: str) -> tuple[str, str]:
    symbol = currency_symbol(currency)
    return symbol, symbol.strip() or "#"


# --------------------------------------------------------------------------------- migration


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
    links are coloured by direction (up, down, same, new, returning, left).
    """
    from segmentation.snapshots import BACK, GONE, NEW

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
    labels = [f"{_label(r['state'], lang)} · {fmt_int(r['customers'])}" for r in rows]
    size_of = {r["node"]: r["customers"] for r in rows}
    name_of = {r["node"]: f"{_label(r['state'], lang)} ({fmt_date(r['date'], lang)})" for r in rows}
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
    fig = _layout(fig, t("ch_sankey_title", lang), height=max(460, 26 * len(tier_names) + 260))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 90, "b": 10})
    return fig


def transition_heatmap(
    matrix: pl.DataFrame, *, tier_names: Sequence[str], d1: str, d2: str, lang: str = "zh"
) -> go.Figure:
    """Share of each earlier state (rows) going to each later state (columns), with counts.

    ``matrix`` is :func:`segmentation.migration.migration_matrix` output (long form). Rows are
    New, Returning and the tiers; columns the tiers and Left; states nobody is in are left out.
    """
    from segmentation.snapshots import BACK, GONE, NEW

    cells = {
        (str(f), str(to)): (n, s)
        for f, to, n, s in matrix.select("from_state", "to_state", "customers", "share").iter_rows()
    }
    row_states = [s for s in [NEW, BACK, *tier_names] if any(k[0] == s for k in cells)]
    col_states = [s for s in [*tier_names, GONE] if any(k[1] == s for k in cells)]
    z = [[cells.get((r, c), (0, 0.0))[1] for c in col_states] for r in row_states]
    counts = [[cells.get((r, c), (0, 0.0))[0] for c in col_states] for r in row_states]
    text = [[_share_text(v, n, lang) for v, n in zip(zr, nr, strict=True)] for zr, nr in zip(z, counts, strict=True)]
    rows = [_label(s, lang) for s in row_states]
    cols = [_wrap(_label(s, lang), 6 if lang == "zh" else 12) for s in col_states]
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
    fig.update_xaxes(title_text=t("ch_matrix_x", lang), side="bottom", tickangle=0)
    fig.update_yaxes(title_text=t("ch_matrix_y", lang), autorange="reversed")
    title = t("ch_matrix_title", lang, a=fmt_date(d1, lang), b=fmt_date(d2, lang))
    return _layout(fig, title, height=max(440, 140 + 48 * len(rows)))


def _wrap(label: str, width: int) -> str:
    """A short axis label on up to a few lines (``<br>``), breaking at spaces or, for text
    without spaces (Chinese), every ``width`` characters; horizontal labels stay uncrowded."""
    words = label.split(" ") if " " in label else [label[i:i + width] for i in range(0, len(label), width)]
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width and " " in label:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _share_text(share: float, count: int, lang: str) -> str:
    # A flow of a few customers should not read "0%" next to an empty cell.
    if not count:
        return ""
    return "<1%" if share < 0.005 else fmt_pct(share, lang, 0)


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
    title = t("ch_rates_title", lang, a=fmt_date(d1, lang), b=fmt_date(d2, lang))
    return _layout(fig, title, height=max(300, 90 + 34 * len(names)))


# --------------------------------------------------------------------------------- trends


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
    format; ``__all__`` rows (all customers) are drawn as a dark dashed line.
    """
    from segmentation.kpis import ALL
    from segmentation.snapshots import GONE

    colours = state_colours(tier_names)
    symbol, unit_text = _money_axis(currency)
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
        is_all = name == ALL
        label = t("tm_all_customers", lang) if is_all else _label(name, lang)
        fig.add_trace(
            go.Scatter(
                x=part["period_start"].to_list(), y=part["value"].to_list(), name=label, mode="lines+markers",
                line={"color": ALL_COLOUR if is_all else colours.get(name, "#7F7F7F"), "width": 3 if is_all else 2,
                      "dash": "dash" if is_all or name == GONE else "solid"},
                marker={"size": 5},
                customdata=[fmt_date(d, lang) for d in part["period_end"].to_list()],
                hovertemplate=(
                    f"{label}<br>%{{x|%Y-%m-%d}} – %{{customdata}}<br>{safe(kpi_name)}: {prefix}%{{y:{y_fmt}}}<extra></extra>"
                ),
            )
        )
    fig.update_xaxes(title_text=t("ch_kpi_x", lang) + f" ({period_label})", type="date", tickformat="%Y-%m")
    fig.update_yaxes(title_text=safe(axis), rangemode="tozero", **tick)
    fig.update_layout(legend={"orientation": "h", "y": -0.22}, hovermode="closest")
    return _layout(fig, t("ch_kpi_title", lang, kpi=safe(kpi_name), period=period_label), height=440)


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
    fig = _layout(fig, t("ch_cohort_title", lang), height=max(380, 130 + 24 * len(labels)))
    # The month axis and its title sit on top; the chart title goes to the very top of the
    # figure, with room below it, or the two run into each other.
    fig.update_layout(margin={"t": 120}, title={"yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 12}})
    return fig


# --------------------------------------------------------------------------------- strategy


def budget_bar(rows: pl.DataFrame, *, lang: str = "zh", currency: str = "CNY", tier_names: Sequence[str] = ()) -> go.Figure:
    """Spend and expected extra revenue per tier as grouped horizontal bars, tiers in rule order.

    ``rows`` are the tier rows of ``allocate_budget`` (money columns named ``budget`` and
    ``expected_return``). The money axis is logarithmic: one large tier would otherwise
    flatten every other bar to nothing. Tiers with no spend show no bar, only their label.
    """
    _, unit_text = _money_axis(currency)
    order = {n: i for i, n in enumerate(tier_names)}
    rows = rows.with_row_index("_pos").sort(
        pl.col(C.TIER).cast(pl.String).replace_strict(order, default=len(order), return_dtype=pl.Int64), "_pos"
    )
    names = rows[C.TIER].cast(pl.String).to_list()
    labels = [safe(n) for n in names]
    colours = tier_colors(list(tier_names) or names)
    budgets = [v or 0.0 for v in rows["budget"].to_list()]
    returns = [v or 0.0 for v in rows["expected_return"].to_list()]
    fig = go.Figure()
    # Horizontal groups stack their first trace at the bottom: add the return first so the
    # budget bar sits on top.
    # Hatched light grey for the return: a tier may itself be grey, and solid means money spent.
    hatched = {"color": "rgba(158,158,158,0.35)", "line": {"color": "#757575", "width": 1},
               "pattern": {"shape": "/", "fgcolor": "#9E9E9E", "size": 6}}
    for key, values, marker in (("budget_return", returns, hatched),
                                ("budget_budget", budgets, {"color": [colours.get(n, ACCENT) for n in names]})):
        shown = [v if v > 0 else None for v in values]  # a log axis cannot draw zero
        fig.add_trace(go.Bar(
            y=labels, x=shown, orientation="h", name=t(key, lang), marker=marker,
            text=[fmt_money(v, lang, currency, compact=v >= 10_000) if v > 0 else "" for v in values],
            textposition="outside", cliponaxis=False,
            customdata=[fmt_money(v, lang, currency) for v in values],
            hovertemplate=f"%{{y}}<br>{t(key, lang)}: %{{customdata}}<extra></extra>",
        ))
    positive = [v for v in budgets + returns if v > 0]
    lo, hi = (min(positive), max(positive)) if positive else (1.0, 10.0)
    # The spend bars wear their tier's colour, so a legend swatch (the first tier's colour) would
    # mislabel them; the subtitle says which bar is which instead.
    fig.update_layout(barmode="group", showlegend=False)
    fig.update_yaxes(title_text=t("tier", lang), categoryorder="array", categoryarray=labels[::-1])
    ticks = _log_ticks(lo, hi * 3)
    # Room on the right for the value labels (a factor on a log axis).
    fig.update_xaxes(title_text=t("ch_budget_y", lang, symbol=unit_text), type="log", tickvals=ticks,
                     ticktext=[fmt_money(v, lang, currency, compact=v >= 10_000) for v in ticks],
                     range=[math.log10(lo) - 0.3, math.log10(hi) + 0.6])
    fig = _layout(fig, t("ch_budget_title", lang), height=max(320, 120 + 52 * len(labels)))
    fig.update_layout(title_subtitle_text=t("ch_budget_sub", lang), margin={"t": 80})
    return fig


def what_if_bar(rows: pl.DataFrame, *, tier_names: Sequence[str], lang: str = "zh") -> go.Figure:
    """Tier sizes now and after the what-if move (``what_if`` tier rows), horizontal bars."""
    colours = tier_colors(list(tier_names))
    names = rows[C.TIER].to_list()
    labels = [safe(n) for n in names]
    fig = go.Figure()
    fig.add_trace(go.Bar(
        y=labels, x=rows["customers_before"].to_list(), name=t("ch_what_if_before", lang), marker_color="#BDBDBD",
        orientation="h", hovertemplate=f"%{{y}}<br>{t('ch_what_if_before', lang)}: %{{x:,}}<extra></extra>",
    ))
    fig.add_trace(go.Bar(
        y=labels, x=rows["customers_after"].to_list(), name=t("ch_what_if_after", lang), orientation="h",
        marker_color=[colours.get(n, ACCENT) for n in names],
        hovertemplate=f"%{{y}}<br>{t('ch_what_if_after', lang)}: %{{x:,}}<extra></extra>",
    ))
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.2})
    fig.update_yaxes(title_text=t("tier", lang), categoryorder="array", categoryarray=labels[::-1])
    fig.update_xaxes(title_text=t("customers", lang), tickformat=",d")
    return _layout(fig, t("ch_what_if_title", lang), height=max(320, 110 + 44 * len(labels)))


def what_if_revenue(
    rows: pl.DataFrame, *, source: str, target: str, net: float, lang: str = "zh", currency: str = "CNY"
) -> go.Figure:
    """The what-if's effect on period revenue as a waterfall: lost with the source tier, gained
    in the target tier, and the net change (``rows`` are the tier rows of ``what_if``).

    Tier sizes hardly move when a small share moves, so bars of sizes before and after look
    the same; the revenue change is what the scenario is about.
    """
    _, unit_text = _money_axis(currency)
    change = dict(rows.select(pl.col(C.TIER).cast(pl.String), "amount_change").iter_rows())
    lost, gained = change.get(source, 0.0) or 0.0, change.get(target, 0.0) or 0.0

    def signed(v: float) -> str:
        return ("+" if v > 0 else "") + fmt_money(v, lang, currency)

    fig = go.Figure(
        go.Waterfall(
            x=[t("ch_wi_out", lang, tier=safe(source)), t("ch_wi_in", lang, tier=safe(target)), t("ch_wi_net", lang)],
            y=[lost, gained, net], measure=["relative", "relative", "total"],
            text=[signed(lost), signed(gained), signed(net)], textposition="outside", cliponaxis=False,
            customdata=[t("ch_wi_hover_out", lang, tier=safe(source)), t("ch_wi_hover_in", lang, tier=safe(target)),
                        t("st_wi_revenue", lang)],
            hovertemplate="%{x}<br>%{text}<br>%{customdata}<extra></extra>",
            decreasing={"marker": {"color": RATE_COLOURS["downgrade"]}},
            increasing={"marker": {"color": RATE_COLOURS["upgrade"]}},
            totals={"marker": {"color": NEW_COLOUR}},
            connector={"line": {"color": "#BDBDBD", "dash": "dot"}},
        )
    )
    levels = (0.0, lost, lost + gained, net)  # where each bar starts or ends
    top, bottom = max(levels), min(levels)
    pad = (top - bottom) * 0.15 or 1.0
    ticks = money_axis(levels, lang=lang, currency=currency)
    if "tickprefix" in ticks:
        # Small ranges: the symbol is in the axis title, as a tick prefix would read "$-2,000".
        ticks = {"tickformat": ",.0f"}
    fig.update_yaxes(title_text=t("ch_wi_y", lang, symbol=unit_text), zeroline=True, zerolinecolor="#9E9E9E",
                     range=[bottom - pad, top + pad], **ticks)
    fig.update_layout(showlegend=False)
    return _layout(fig, t("ch_wi_title", lang), height=340)


# --------------------------------------------------------------------------------- CLV


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 steps between ``lo`` and ``hi`` for a log axis (Plotly labels only the decades)."""
    lo = max(lo, 1e-9)
    return [m * 10 ** e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(max(hi, lo))) + 1)
            for m in (1, 2, 5) if lo <= m * 10 ** e <= hi]


def clv_histogram(hist: pl.DataFrame, *, log: bool, horizon_days: int, lang: str = "zh", currency: str = "CNY") -> go.Figure:
    """Customers per CLV bin (``ui.state_time.clv_histogram`` output); log x axis when ``log``."""
    symbol, unit_text = _money_axis(currency)
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
        ticks = _log_ticks(min(lower), max(upper))
        fig.update_xaxes(type="log", tickvals=ticks,
                         ticktext=[fmt_money(v, lang, currency, compact=v >= 10_000) for v in ticks])
    else:
        fig.update_xaxes(type="linear", nticks=12, tickprefix=symbol, separatethousands=True)
    fig.update_xaxes(title_text=t("ch_clv_x", lang, symbol=unit_text))
    fig.update_yaxes(title_text=t("customers", lang), tickformat=",d")
    fig.update_layout(bargap=0)
    return _layout(fig, t("ch_clv_hist_title", lang, horizon=fmt_int(horizon_days)), height=380)


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
    symbol, unit_text = _money_axis(currency)
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
    return _layout(fig, title, height=max(280, 80 + 34 * len(labels)))


def alive_scatter(sample: pl.DataFrame, *, tier_names: Sequence[str], lang: str = "zh", currency: str = "CNY") -> go.Figure:
    """P(alive) against days since the last purchase, one WebGL trace per tier (a sample).

    Customers with a single purchase get their own muted trace, drawn first (underneath): the
    model rates them 100% because it has no rhythm to judge by, which is no finding.
    """
    colours = tier_colors(list(tier_names))
    symbol, _ = _money_axis(currency)
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
    return _layout(fig, t("ch_scatter_title", lang), height=480)


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
    return _layout(fig, t("ch_holdout_title", lang), height=380)
