"""Charts of the strategy page: budget split and what-if."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from segmentation import columns as C
from ui.charts.style import (
    ACCENT,
    NEW_COLOUR,
    RATE_COLOURS,
    layout,
    log_ticks,
    money_axis,
    money_axis_parts,
    safe,
    tier_colors,
)
from ui.i18n import fmt_money, t


def budget_bar(rows: pl.DataFrame, *, lang: str = "zh", currency: str = "CNY", tier_names: Sequence[str] = ()) -> go.Figure:
    """Spend and expected extra revenue per tier as grouped horizontal bars, tiers in rule order.

    ``rows`` are the tier rows of ``allocate_budget`` (money columns named ``budget`` and
    ``expected_return``). The money axis is logarithmic: one large tier would otherwise
    flatten every other bar to nothing. Tiers with no spend show no bar, only their label.
    """
    _, unit_text = money_axis_parts(currency)
    order = {n: i for i, n in enumerate(tier_names)}
    rows = rows.with_row_index("_pos").sort(
        pl.col(C.TIER).cast(pl.String).replace_strict(order, default=len(order), return_dtype=pl.Int64), "_pos"
    )
    names = rows[C.TIER].cast(pl.String).to_list()
    labels = [safe(n) for n in names]
    colours = tier_colors(list(tier_names) or names)
    budgets = [v or 0.0 for v in rows["spend"].to_list()]
    returns = [v or 0.0 for v in rows["expected_incremental_revenue"].to_list()]
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
    ticks = log_ticks(lo, hi * 3)
    # Room on the right for the value labels (a factor on a log axis).
    fig.update_xaxes(title_text=t("ch_budget_y", lang, symbol=unit_text), type="log", tickvals=ticks,
                     ticktext=[fmt_money(v, lang, currency, compact=v >= 10_000) for v in ticks],
                     range=[math.log10(lo) - 0.3, math.log10(hi) + 0.6])
    fig = layout(fig, t("ch_budget_title", lang), height=max(320, 120 + 52 * len(labels)))
    fig.update_layout(title_subtitle_text=t("ch_budget_sub", lang), margin={"t": 80})
    return fig


def what_if_revenue(
    rows: pl.DataFrame, *, source: str, target: str, net: float, lang: str = "zh", currency: str = "CNY"
) -> go.Figure:
    """The what-if's effect on period revenue as a waterfall: lost with the source tier, gained
    in the target tier, and the net change (``rows`` are the tier rows of ``what_if``).

    Tier sizes hardly move when a small share moves, so bars of sizes before and after look
    the same; the revenue change is what the scenario is about.
    """
    _, unit_text = money_axis_parts(currency)
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
    return layout(fig, t("ch_wi_title", lang), height=340)
