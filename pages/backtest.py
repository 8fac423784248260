"""回测 Backtest: tier the customers at a past date T with the sidebar's settings and see what each
tier did in the h days after it; how well that ranks next-period revenue against random,
perfect hindsight, the preset, recency alone and the CLV forecast; the same at every month or
quarter end; nearby cut points that rank better, applied only on a click."""

import datetime as dt

import streamlit as st

from segmentation.backtest import METRICS
from segmentation.errors import DataError
from ui import cache, exports, layout, session, tables, widgets
from ui.charts import backtest as backtest_charts
from ui.i18n import fmt_date, fmt_int, fmt_num, fmt_pct, t
from ui.settings import BT_MAX_HORIZON, BT_OBJECTIVES, BT_PERIODS, BT_WITHIN
from ui.view import View

view = layout.page_start("bt_title", "bt_caption")
lang, currency, settings = view.lang, view.currency, view.settings

if not view.transactional:
    st.info(t("bt_customer_level", lang), icon=":material/info:")
    st.stop()

# ---- T and h: the default T is the latest one whose window the data covers
first_day = view.dates[0]
with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
    widgets.setting_widget(
        "bt_horizon", st.number_input, t("bt_horizon", lang), min_value=1, max_value=BT_MAX_HORIZON, step=30,
        help=t("bt_horizon_help", lang), width=170,
    )
    latest = view.bt_latest
    if settings.bt_as_of and dt.date.fromisoformat(settings.bt_as_of) > latest:
        st.warning(t("bt_as_of_too_late", lang, value=fmt_date(settings.bt_as_of, lang), latest=fmt_date(latest, lang),
                     h=fmt_int(settings.bt_horizon)), icon=":material/event_busy:")
        settings = session.update_settings(bt_as_of="")
        view = View(settings)
    widgets.setting_widget(
        "bt_as_of", st.date_input, t("bt_as_of", lang),
        encode=lambda v, latest=latest: min(max(dt.date.fromisoformat(v), first_day), latest) if v else latest,
        decode=lambda d, latest=latest: "" if d is None or d == latest else d.isoformat(),
        min_value=first_day, max_value=latest, format="YYYY-MM-DD", depends_on=(view.dataset, latest),
        help=t("bt_as_of_help", lang, latest=fmt_date(latest, lang)), width=190,
    )
    widgets.setting_widget(
        "bt_within", st.selectbox, t("bt_within", lang), options=list(BT_WITHIN),
        format_func=lambda w: t(f"bt_within_{w}", lang), per_language=True, help=t("bt_within_help", lang),
        width=240,
    )

T = dt.date.fromisoformat(view.bt_as_of)
h = settings.bt_horizon
st.caption(t("bt_window", lang, t=fmt_date(T, lang), start=fmt_date(T + dt.timedelta(days=1), lang),
             end=fmt_date(T + dt.timedelta(days=h), lang), h=fmt_int(h)))

with st.spinner(t("bt_title", lang) + "…"):
    result = view.backtest()
current = result.current
q = current.values


def definition(metric: str) -> str:
    return METRICS[metric][lang]


# ---- quality numbers, each with its definition
st.subheader(t("bt_quality", lang))
with st.container(horizontal=True, key="bt_quality_metrics"):
    box = {"width": 250, "border": True}
    st.metric(t("bt_m_captured_10", lang), fmt_pct(q["captured_10"]), help=definition("captured_10"), **box)
    st.metric(t("bt_m_captured_20", lang), fmt_pct(q["captured_20"]), help=definition("captured_20"), **box)
    st.metric(t("bt_m_gap_closed", lang), fmt_num(q["gap_closed"], lang, 3), help=definition("gap_closed"), **box)
    lift = q["top_tier_lift"]
    st.metric(t("bt_m_top_tier_lift", lang), "—" if lift is None else fmt_num(lift, lang, 2) + "×",
              help=definition("top_tier_lift"), **box)
    st.metric(t("bt_m_spearman", lang), fmt_num(q["spearman"], lang, 3), help=definition("spearman"), **box)
    st.metric(t("bt_m_inversions", lang), f"{fmt_int(q['inversions'])} / {fmt_int(q['tier_pairs'])}",
              help=definition("inversions"), **box)
st.caption(t("bt_references", lang, p10=fmt_pct(q["perfect_10"]), p20=fmt_pct(q["perfect_20"])))
with st.expander(t("bt_definitions", lang), icon=":material/menu_book:"):
    st.markdown("\n".join(f"- **{t(f'bt_m_{k}', lang)}**: {definition(k)}" for k in METRICS))
    st.caption(t("bt_undefined", lang))

# ---- the same customers ranked other ways
st.subheader(t("bt_compare", lang))
st.caption(t("bt_compare_caption", lang))
labels = {
    "current": t("bt_rank_current", lang), "preset": t("bt_rank_preset", lang, preset=view.preset.name(lang)),
    "recency": t("bt_rank_recency", lang), "clv": t("bt_rank_clv", lang), "random": t("bt_rank_random", lang),
    "perfect": t("bt_rank_perfect", lang),
}
st.plotly_chart(backtest_charts.gains_chart(result.gains, labels=labels, lang=lang), key="bt_gains")
clv_missing = view.clv_missing()
clv_note = {"clv": layout.error_text(clv_missing, lang)} if clv_missing is not None else {}
st.dataframe(tables.backtest_comparison_display(result.comparison, q, labels, lang, clv_note), hide_index=True,
             width="stretch", key="bt_comparison")

# ---- per tier
st.subheader(t("bt_tiers", lang))
st.dataframe(tables.backtest_tiers_display(current.tiers, lang, currency), hide_index=True, width="stretch",
             height=tables.table_height(current.tiers.height), key="bt_tier_table")
st.caption(t("bt_tiers_caption", lang))
empty = tables.backtest_empty_tiers(current.tiers)
if empty:
    st.caption(t("bt_tiers_empty", lang, tiers="、".join(empty) if lang == "zh" else ", ".join(empty)))

# ---- walk-forward
st.subheader(t("bt_walk", lang))
widgets.setting_widget(
    "bt_period", st.segmented_control, t("bt_walk_period", lang), options=list(BT_PERIODS),
    format_func=lambda p: t(f"bt_walk_{p}", lang), required=True,
)
try:
    walk = layout.with_progress(view.walk_forward, remembered=cache.has_search(view.walk_forward_key()),
                                label=lambda done, total: t("bt_walk_progress", lang, done=done, total=total))
except DataError as exc:
    st.warning(t("bt_walk_error", lang, detail=layout.error_message(exc, lang)), icon=":material/warning:")
else:
    st.plotly_chart(backtest_charts.walk_forward_chart(walk, lang=lang, as_of=T), key="bt_walk_chart")
    st.caption(t("bt_walk_caption", lang, period=t(f"bt_walk_{settings.bt_period}", lang), h=fmt_int(h)))

# ---- suggestions: searched only when asked, applied only on a click
st.subheader(t("bt_suggest", lang))
st.caption(t("bt_suggest_caption", lang))
with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
    widgets.setting_widget("bt_suggest", st.toggle, t("bt_suggest_toggle", lang))
    widgets.setting_widget(
        "bt_objective", st.selectbox, t("bt_objective", lang), options=list(BT_OBJECTIVES),
        format_func=lambda o: t(f"bt_objective_{o}", lang), per_language=True, width=220,
    )


def apply(spec_bins: int, thresholds: str) -> None:
    session.update_settings(method="thresholds", bins=spec_bins, thresholds=thresholds)


if settings.bt_suggest:
    objective = settings.bt_objective
    try:
        found = layout.with_progress(view.suggestions, remembered=cache.has_search(view.suggestions_key()),
                                     label=lambda done, total: t("bt_suggest_progress", lang, done=done, total=total))
    except DataError as exc:
        st.warning(t("bt_suggest_error", lang, detail=layout.error_message(exc, lang)), icon=":material/warning:")
    else:
        st.caption(t("bt_suggest_dates", lang, fit=fmt_date(found.fit_as_of, lang),
                     check=fmt_date(found.check_as_of, lang), tried=fmt_int(found.tried)))

        def shown(v: float | None) -> str:
            return fmt_num(v, lang, 3) if objective == "gap_closed" else fmt_pct(v)

        if not found.items:
            st.info(t("bt_suggest_none", lang), icon=":material/check_circle:")
        for k, item in enumerate(found.items):
            with st.container(border=True, key=f"bt_suggestion_{k}"):
                with st.container(horizontal=True, vertical_alignment="center"):
                    st.markdown(f"**{layout.md_escape(item.change_zh if lang == 'zh' else item.change_en)}**",
                                width="stretch")
                    st.button(t("bt_apply", lang), key=f"bt_apply_{k}", help=t("bt_apply_help", lang),
                              icon=":material/done:", on_click=apply, args=(item.spec.bins, item.spec.thresholds))
                fit_line = t("bt_suggest_fit", lang, date=fmt_date(found.fit_as_of, lang),
                             before=shown(item.fit_before[objective]), after=shown(item.fit_after[objective]))
                check_line = t("bt_suggest_check", lang, date=fmt_date(found.check_as_of, lang),
                               before=shown(item.check_before[objective]), after=shown(item.check_after[objective]))
                st.caption(f"{t(f'bt_objective_{objective}', lang)} · {fit_line} · {check_line}")
                before, after = item.check_before[objective], item.check_after[objective]
                if before is not None and after is not None and after < before:
                    st.caption(":orange[" + t("bt_suggest_worse", lang) + "]")
        for en, zh in found.notes:
            st.caption(layout.md_escape(zh if lang == "zh" else en))

# ---- customer lists with what each customer did next
st.subheader(t("bt_list", lang))
names = tables.backtest_tier_names(current.tiers)
first_tier = names[0] if names else ""
pick = widgets.setting_widget(
    "bt_tier", st.selectbox, t("bt_list_tier", lang), options=names,
    encode=lambda v, names=tuple(names), first=first_tier: v if v in names else first,
    decode=lambda v, first=first_tier: "" if v == first else v, depends_on=tuple(names), width=320,
)
tier = pick if pick in names else first_tier
customers = view.backtest_customers()
chosen = tables.backtest_customer_list(customers, (tier,), lang)
st.caption(t("bt_list_caption", lang, tier=layout.md_escape(tier), n=fmt_int(chosen.height)))
st.dataframe(tables.display_frame(chosen.head(200)), hide_index=True, width="stretch",
             height=tables.table_height(min(chosen.height, 8)), key="bt_customers",
             column_config=tables.money_config(lang, currency, tables.BT_MONEY_COLUMNS))
stem = f"tierlens-backtest-{T.isoformat()}-{h}d-{names.index(tier) + 1 if tier in names else 0:02d}"
with st.container(horizontal=True):
    st.download_button(t("tm_csv", lang), data=lambda: exports.to_csv_bytes(chosen), file_name=f"{stem}.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore", key="bt_csv")
    st.download_button(
        t("tm_xlsx", lang), data=lambda: exports.to_xlsx_bytes(chosen, all_sheet=tier), file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", icon=":material/download:",
        on_click="ignore", key="bt_xlsx",
    )
    st.download_button(
        t("bt_all_tiers_xlsx", lang),
        data=lambda: exports.to_xlsx_bytes(tables.backtest_customer_list(customers, (), lang),
                                           split_by=tables.column_label("tier", lang)),
        file_name=f"tierlens-backtest-{T.isoformat()}-{h}d.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", icon=":material/download:",
        on_click="ignore", key="bt_xlsx_all",
    )
