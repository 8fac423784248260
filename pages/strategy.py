"""策略 Strategy: suggestions per tier with the numbers behind them and each tier's customer list,
a budget split and what-ifs, each in its own tab so the suggestions come first."""

import streamlit as st

from segmentation import columns as C
from segmentation import strategy
from segmentation.errors import DataError
from segmentation.playbook import KINDS
from segmentation.strategy import (
    allocate_budget,
    what_if,
    window_periods,
)
from ui import exports, layout, report, session, tables, widgets
from ui.charts import strategy as strategy_charts
from ui.i18n import (
    channel_label,
    explain_why,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_num,
    fmt_pct,
    kind_label,
    signed,
    t,
)
from ui.settings import (
    MAX_BUDGET,
    MAX_COST,
    MAX_UPLIFT,
    PERIOD_NAMES,
    PERIODS,
    STRATEGY_TABS,
    format_costs,
    format_rates,
)

view = layout.page_start("st_title", "st_caption", over_time=True)
lang, currency, settings = view.lang, view.currency, view.settings

if view.rfm.height == 0:
    st.info(t("ov_empty", lang), icon=":material/info:")
    st.stop()

# The period sets both the comparison date and the churn period; the sentence beside it says which dates.
with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
    widgets.setting_widget(
        "period", st.segmented_control, t("tm_period", lang), options=list(PERIODS),
        format_func=lambda p: t(f"tm_period_{p}", lang), required=True, width="content",
    )
    plan = view.strategy()
    period_name = t(f"tm_period_{settings.period}", lang).lower()
    if plan.previous is None:
        prev_text = "—"
    else:
        prev_text = fmt_date(plan.previous, lang)
        st.caption(t("st_compared", lang, prev=prev_text, now=fmt_date(plan.now, lang), period=period_name))
if plan.previous is None:
    st.warning(t("st_no_previous_customers" if view.customer_level else "st_no_previous", lang),
               icon=":material/history:")

PRIORITY_COLOUR = {1: "red", 2: "orange", 3: "gray"}
# Shape as well as colour tells the priorities apart (red and orange look alike when small).
PRIORITY_ICON = {1: ":material/priority_high:", 2: ":material/event_upcoming:", 3: ":material/autorenew:"}
# The open tab is part of the view (Settings.tab), so a shared link opens the same section.
TAB_CODES = ("", *STRATEGY_TABS)
tab_labels = [t("st_cards", lang), t("st_budget", lang), t("st_what_if", lang)]
tabs_key = f"st_tabs_{lang}"  # tabs hold their label, so each language has its own


def tab_changed(labels: list[str], key: str) -> None:
    label = st.session_state.get(key)
    session.update_settings(tab=TAB_CODES[labels.index(label)] if label in labels else "")


tab_tiers, tab_budget, tab_what_if = st.tabs(
    tab_labels, default=tab_labels[TAB_CODES.index(settings.tab)], key=tabs_key, on_change=tab_changed,
    args=(tab_labels, tabs_key),
)

# ---- one tier at a time: pick it, read its suggestions and numbers, download its customers
with tab_tiers:
    churn_help = next(d for code, _n, d, _u in tables.kpi_definitions(lang) if code == "churn_rate")
    cards = strategy.card_rows(plan.summary, view.unassigned)
    plays_of = {row["tier"]: strategy.suggestions_for(plan.suggestions, row["tier"]) for row in cards}
    top_of = {tier: min((p["priority"] for p in plays), default=None) for tier, plays in plays_of.items()}
    first = next((i for i, row in enumerate(cards) if row["customers"]), 0)

    def pill_label(i: int) -> str:
        # The icon repeats the tier's top priority, so the picker doubles as an overview.
        name = layout.md_escape(cards[i]["tier"])
        top = top_of[cards[i]["tier"]]
        return f":{PRIORITY_COLOUR[top]}[{PRIORITY_ICON[top]}] {name}" if top in (1, 2) else name

    # The tier shown is part of the view (Settings.focus, by name, so a shared link opens the
    # same tier); "" or a name the current rules do not have shows the first tier with customers.
    # Page scripts run at module level, so the callbacks bind this run's values explicitly
    # (a later assignment to the same global name would otherwise leak into them).
    order = tuple(row["tier"] for row in cards)
    pick = widgets.setting_widget(
        "focus", st.pills, t("st_pick", lang), options=list(range(len(cards))), format_func=pill_label,
        encode=lambda name, order=order, first=first: order.index(name) if name in order else first,
        decode=lambda i, order=order, first=first: "" if i == first else order[i],
        depends_on=order, required=True, help=t("st_pick_help", lang),
    )
    i = first if pick is None else pick
    row = cards[i]
    tier, plays, top = row["tier"], plays_of[row["tier"]], top_of[row["tier"]]
    with st.container(border=True):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f"#### {layout.md_escape(tier)}", width="content")
            st.badge(t("st_kind", lang, kind=kind_label(row["kind"], lang)), color="blue")
            if top is not None:
                st.badge(f"{t('st_priority', lang)}: {t(f'st_priority_{top}', lang)}", color=PRIORITY_COLOUR[top],
                         icon=PRIORITY_ICON[top])
        if not row["customers"]:
            st.caption(t("st_empty_tier", lang))
        else:
            # Suggestions on the left, the list and the numbers on the right; on a narrow
            # screen the right block wraps below instead of squeezing both.
            with st.container(horizontal=True, gap="large"):
                with st.container(width="stretch"):
                    if not plays:
                        st.caption(t("st_no_suggestion", lang))
                    for play in plays:
                        action = play["action_zh"] if lang == "zh" else play["action_en"]
                        level = play["priority"]
                        badge = t(f"st_priority_{level}", lang)
                        st.markdown(f":{PRIORITY_COLOUR[level]}-badge[{badge}] {layout.md_escape(action)}")
                        st.caption(t("st_why", lang, why=explain_why(play["why"], lang)) + " · "
                                   + t("st_channel", lang, channel=channel_label(play["channel"], lang)))
                with st.container(width=400):
                    st.markdown(f"**{t('st_list', lang, n=fmt_int(row['customers']))}**")
                    stem = report.download_name(view, f"tierlens-{i + 1:02d}-{tier}", "")
                    with st.container(horizontal=True):
                        st.download_button(
                            t("tm_csv", lang),
                            data=lambda tier=tier: exports.to_csv_bytes(tables.customer_list(view.tiered, (tier,), lang)),
                            file_name=f"{stem}.csv", mime="text/csv", icon=":material/download:", on_click="ignore",
                            key=f"st_csv_{i}",
                        )
                        st.download_button(
                            t("tm_xlsx", lang),
                            data=lambda tier=tier: exports.to_xlsx_bytes(tables.customer_list(view.tiered, (tier,), lang),
                                                               all_sheet=tier),
                            file_name=f"{stem}.xlsx", icon=":material/download:", on_click="ignore",
                            key=f"st_xlsx_{i}",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        )
                    change = row["customers_change"]
                    with st.container(horizontal=True, gap="small"):
                        box = {"width": 120}
                        st.metric(t("st_size", lang), fmt_int(row["customers"]),
                                  help=t("st_size_sub", lang, share=fmt_pct(row["customer_share"])), **box)
                        st.metric(t("st_revenue_share", lang), fmt_pct(row["revenue_share"]), **box,
                                  help=t("st_revenue_share_help", lang, prev=prev_text, now=fmt_date(plan.now, lang)))
                        st.metric(t("st_change", lang), signed(fmt_pct(change), change or 0.0),
                                  help=t("st_change_help", lang, prev=prev_text), **box)
                        st.metric(t("st_churn", lang), fmt_pct(plan.churn.get(tier)), help=churn_help, **box)
                        st.metric(t("st_in", lang), fmt_pct(row["inflow_rate"]), help=t("st_in_help", lang), **box)
                        st.metric(t("st_out", lang), fmt_pct(row["outflow_rate"]), **box,
                                  help=t("st_out_help", lang, prev=prev_text))
    st.caption(t("tm_export_note", lang))

    # Every tier in one table, for comparing them without clicking through.
    with st.expander(t("st_compare_all", lang), icon=":material/table_rows:"):
        def pct(v: float | None) -> float | None:
            return None if v is None else v * 100

        names = {
            "tier": t("budget_tier", lang), "kind": t("budget_kind", lang), "priority": t("st_priority", lang),
            "customers": t("st_size", lang), "revenue_share": t("st_revenue_share", lang),
            "change": t("st_change", lang), "churn": t("st_churn", lang), "in": t("st_in", lang),
            "out": t("st_out", lang),
        }
        st.dataframe(
            {
                names["tier"]: [r["tier"] for r in cards],
                names["kind"]: [kind_label(r["kind"], lang) for r in cards],
                names["priority"]: [t(f"st_priority_{top_of[r['tier']]}", lang) if top_of[r["tier"]] else "—"
                                    for r in cards],
                names["customers"]: [r["customers"] for r in cards],
                names["revenue_share"]: [pct(r["revenue_share"]) for r in cards],
                names["change"]: [pct(r["customers_change"]) for r in cards],
                names["churn"]: [pct(plan.churn.get(r["tier"])) for r in cards],
                names["in"]: [pct(r["inflow_rate"]) for r in cards],
                names["out"]: [pct(r["outflow_rate"]) for r in cards],
            },
            column_config={
                names["tier"]: st.column_config.TextColumn(width=160),
                names["kind"]: st.column_config.TextColumn(width=100),
                names["priority"]: st.column_config.TextColumn(width=90),
                names["customers"]: st.column_config.NumberColumn(format="localized", width=85),
                names["revenue_share"]: st.column_config.NumberColumn(format="%.1f%%", width=110),
                names["change"]: st.column_config.NumberColumn(format="%+.1f%%", width=115),
                names["churn"]: st.column_config.NumberColumn(format="%.1f%%", width=75),
                names["in"]: st.column_config.NumberColumn(format="%.1f%%", width=85),
                names["out"]: st.column_config.NumberColumn(format="%.1f%%", width=90),
            },
            hide_index=True, width="stretch", placeholder="—", key="st_compare_table",
        )

# ---- budget split
with tab_budget:
    st.caption(t("st_budget_caption", lang))
    channels = settings.channel_costs()
    # Wrapping rows of fixed-width fields and numbers: one line on a wide screen, several on a
    # narrow one, never labels squeezed onto three lines.
    with st.container(horizontal=True):
        budget = widgets.setting_widget(
            "budget", st.number_input, t("st_total_budget", lang), min_value=0.0, max_value=MAX_BUDGET,
            step=1_000.0, format="%.0f", decode=float, width=170,
        )
        # Each assumption is part of the view (Settings.costs / rates / uplift / negative), so a
        # shared link splits the budget the same way; one box changes its own entry only.
        for ch in channels:
            widgets.setting_widget(
                "costs", st.number_input, t("st_cost", lang, channel=channel_label(ch, lang)), min_value=0.0,
                max_value=MAX_COST, step=0.01, format="%.2f", width=170, key_suffix=ch,
                encode=lambda v, ch=ch: settings.replace(costs=v).channel_costs()[ch],
                decode=lambda v, ch=ch: format_costs({**session.current_settings().channel_costs(), ch: v}),
            )
    usable = {ch: c for ch, c in settings.channel_costs().items() if c > 0}
    periods = window_periods(view.dates[0], view.as_of_date, period=PERIOD_NAMES[settings.period],
                             window_days=settings.window_days or None)
    with st.expander(t("st_assumptions", lang)):
        st.markdown(t("st_model", lang, period=period_name, periods=fmt_num(periods, lang, 1)))
        fields = st.columns(len(KINDS) + 1)
        for j, kind in enumerate(KINDS):
            with fields[j]:
                widgets.setting_widget(
                    "rates", st.number_input, t("st_response_rate", lang, kind=kind_label(kind, lang)),
                    min_value=0.0, max_value=100.0, step=0.5, format="%.1f", key_suffix=kind,
                    help=t("st_response_rate_help", lang),
                    encode=lambda v, kind=kind: round(settings.replace(rates=v).response_rates()[kind] * 100, 6),
                    decode=lambda v, kind=kind: format_rates({**session.current_settings().response_rates(),
                                                              kind: v / 100}),
                )
        with fields[-1]:
            widgets.setting_widget("uplift", st.number_input, t("st_spend_uplift", lang), min_value=0.0,
                                   max_value=MAX_UPLIFT, step=0.25, format="%.2f", decode=float,
                                   help=t("st_spend_uplift_help", lang))
        widgets.setting_widget("negative", st.checkbox, t("st_allow_negative", lang))
    rates, uplift, allow_negative = settings.response_rates(), settings.uplift, settings.negative
    try:
        allocation = allocate_budget(plan.summary, budget, usable, periods_in_window=periods, response_rates=rates,
                                     spend_uplift=uplift, allow_negative=allow_negative)
    except DataError as exc:
        st.error(layout.error_message(exc, lang), icon=":material/error:")
    else:
        rows, spent, expected, left_over, left_reason = strategy.budget_split(allocation)
        with st.container(horizontal=True):
            st.metric(t("st_spent", lang), fmt_money(spent, lang, currency), width=220,
                      help=t("st_total_budget", lang) + ": " + fmt_money(budget, lang, currency))
            st.metric(t("st_expected_total", lang), fmt_money(expected, lang, currency), width=220)
            st.metric(t("st_roi", lang), fmt_num(expected / spent, lang, 2) + "×" if spent else "—", width=220)
        if left_over > 0.005 and left_reason in ("roi_below_1", "all_covered"):
            st.warning(t(f"st_left_{left_reason}", lang, amount=fmt_money(left_over, lang, currency)),
                       icon=":material/savings:")
        elif left_over > 0.005:
            st.caption(t("st_left_too_small", lang, amount=fmt_money(left_over, lang, currency)))
        st.plotly_chart(strategy_charts.budget_bar(rows, lang=lang, currency=currency, tier_names=view.tier_names),
                        key="st_budget_chart")
        st.caption(t("st_budget_order", lang))
        tiers_col = {t("budget_tier", lang): rows[C.TIER].to_list()}
        st.dataframe({
            **tiers_col,
            t("budget_channel", lang): [channel_label(c, lang) for c in rows["channel"]],
            t("budget_contacted", lang): [fmt_int(v) for v in rows["contacted"]],
            t("budget_coverage", lang): [fmt_pct(v, lang, 0) for v in rows["coverage"]],
            t("budget_spend", lang): [fmt_money(v, lang, currency) for v in rows["spend"]],
            t("budget_return", lang): [fmt_money(v, lang, currency) for v in rows["expected_incremental_revenue"]],
            t("budget_roi", lang): [fmt_num(v, lang, 2) + "×" if v is not None else "—" for v in rows["roi"]],
        }, hide_index=True, width="stretch", key="st_budget_table")
        # The inputs behind each row are for checking, not for reading first: keep the tab short.
        with st.expander(t("st_budget_details", lang)):
            st.dataframe({
                **tiers_col,
                t("budget_kind", lang): [kind_label(k, lang) for k in rows["kind"]],
                t("budget_customers", lang): [fmt_int(v) for v in rows["customers"]],
                t("budget_cost", lang): [fmt_money(v, lang, currency) for v in rows["cost_per_contact"]],
                t("budget_per_customer", lang): [fmt_money(v, lang, currency)
                                                 for v in rows["revenue_per_customer_period"]],
                t("budget_response", lang): [fmt_pct(v, lang, 1) for v in rows["response_rate"]],
                t("budget_spend_uplift", lang): [fmt_num(v, lang, 2) for v in rows["spend_uplift"]],
                t("budget_reason", lang): [t(f"budget_reason_{r}", lang) for r in rows["reason"]],
            }, hide_index=True, width="stretch", key="st_budget_details_table")

# ---- what if
with tab_what_if:
    st.caption(t("st_what_if_caption", lang))
    tiers = strategy.populated_tiers(plan.summary)
    if len(tiers) < 2:
        st.info(t("st_wi_too_few", lang), icon=":material/info:")
    else:
        with st.container(horizontal=True, gap="medium"):
            # By tier name in the link; "" or a tier without customers = the default move (second -> first).
            wi_default = (tiers[min(1, len(tiers) - 1)], tiers[0])
            source = widgets.setting_widget(
                "wi_from", st.selectbox, t("st_wi_from", lang), options=tiers,
                encode=lambda v, d=wi_default[0], tiers=tuple(tiers): v if v in tiers else d,
                decode=lambda v, d=wi_default[0]: "" if v == d else v, depends_on=tuple(tiers), width=260,
            )
            target = widgets.setting_widget(
                "wi_to", st.selectbox, t("st_wi_to", lang), options=tiers,
                encode=lambda v, d=wi_default[1], tiers=tuple(tiers): v if v in tiers else d,
                decode=lambda v, d=wi_default[1]: "" if v == d else v, depends_on=tuple(tiers), width=260,
            )
            share = widgets.setting_widget(
                "wi_share", st.slider, t("st_wi_share", lang), min_value=0, max_value=100, step=1, format="%d%%",
                width=300,
            )
        if source == target:
            st.info(t("st_wi_same", lang), icon=":material/info:")
        else:
            try:
                result = what_if(plan.summary, source, target, share / 100)
            except DataError as exc:
                st.warning(layout.error_message(exc, lang), icon=":material/warning:")
            else:
                rows, total = strategy.what_if_rows(result)
                moved = strategy.tier_row(rows, target).get("customers_change", 0)
                with st.container(horizontal=True):
                    box = {"width": 205}
                    st.metric(t("st_wi_moved", lang), fmt_int(moved), **box)
                    st.metric(t("st_wi_revenue", lang),
                              signed(fmt_money(total.get("amount_change", 0.0), lang, currency),
                                                total.get("amount_change", 0.0)), **box)
                    st.metric(t("st_wi_from_size", lang, tier=source),
                              fmt_int(strategy.tier_row(rows, source).get("customers_after")), delta=-moved,
                              delta_color="off", **box)
                    st.metric(t("st_wi_to_size", lang, tier=target),
                              fmt_int(strategy.tier_row(rows, target).get("customers_after")), delta=moved,
                              delta_color="off", **box)
                st.plotly_chart(
                    strategy_charts.what_if_revenue(rows, source=source, target=target,
                                                net=total.get("amount_change", 0.0), lang=lang, currency=currency),
                    key="st_what_if_chart",
                )
                st.dataframe(tables.what_if_display(rows, lang, currency), hide_index=True, width="stretch",
                             key="st_what_if_table")
