"""价值 CLV: predicted lifetime value and chance of still being active, per customer and tier,
with a holdout check that says whether to trust the numbers."""

import datetime as dt

import streamlit as st

from segmentation import summary as S
from segmentation.clv import clv_overview, tier_clv_summary
from segmentation.enrich import add_clv
from segmentation.errors import DataError
from ui import layout, tables, widgets
from ui.charts import clv as clv_charts
from ui.i18n import fmt_date, fmt_int, fmt_money, fmt_pct, signed, t
from ui.settings import CLV_HOLDOUTS, CLV_HORIZONS

view = layout.page_start("cl_title", "cl_caption")
lang, currency = view.lang, view.currency

if view.customer_level:
    st.info(t("cl_customers", lang), icon=":material/info:")
    st.stop()

st.markdown(f"**{t('cl_settings', lang)}**")
c = st.columns([2, 1, 1])
horizon = widgets.setting_widget(
    "horizon", c[0].segmented_control, t("cl_horizon", lang), options=list(CLV_HORIZONS), required=True,
    format_func=lambda d: t("cl_horizon_days", lang, days=fmt_int(d)),
)
discount = widgets.setting_widget(
    "discount", c[1].number_input, t("cl_discount", lang), min_value=0.0, max_value=100.0, step=1.0,
    format="%.1f", help=t("cl_discount_help", lang), decode=float,
)
margin = widgets.setting_widget(
    "margin", c[2].number_input, t("cl_margin", lang), min_value=1.0, max_value=100.0, step=5.0,
    format="%.0f", help=t("cl_margin_help", lang), decode=float,
)

try:
    with st.spinner(t("cl_title", lang) + "…"):
        scores = view.clv(int(horizon), discount / 100, margin / 100)
except DataError as exc:
    st.error(t("cl_fit_error", lang, detail=layout.error_message(exc, lang)), icon=":material/error:")
    st.stop()

tiered = add_clv(view.tiered, scores.frame)
numbers = clv_overview(scores.frame).row(0, named=True)
gap = fmt_int(scores.typical_gap_days) if scores.typical_gap_days is not None else "—"
with st.container(key="kpis_clv"):  # compact rows on a phone, too
    m = st.columns(5, wrap=False)
    m[0].metric(t("cl_total", lang), fmt_money(numbers["total_clv"], lang, currency, compact=True), border=True)
    m[1].metric(t("cl_mean", lang), fmt_money(numbers["mean_clv"], lang, currency), border=True)
    m[2].metric(t("cl_alive", lang), fmt_pct(numbers["mean_p_alive_repeat"]), help=t("cl_alive_help", lang),
                border=True)
    m[3].metric(t("cl_at_risk", lang), fmt_int(numbers["at_risk_repeat"]), border=True)
    m[4].metric(t("cl_one_time", lang), fmt_int(numbers["one_time_buyers"]),
                help=t("cl_one_time_help", lang, gap=gap), border=True)
st.caption(t("cl_one_time_value", lang, n=fmt_int(numbers["one_time_buyers"]),
             share=fmt_pct(numbers["one_time_past_gap_share"]), gap=gap))
for warning in scores.warnings:
    st.warning(layout.md_escape(warning.message(lang)), icon=":material/warning:")

# ---- distribution
st.subheader(t("cl_dist", lang))
hist, log = S.clv_histogram(scores.frame)
st.plotly_chart(clv_charts.clv_histogram(hist, log=log, horizon_days=int(horizon), lang=lang, currency=currency),
                key="cl_hist")
if log:
    st.caption(t("cl_dist_log", lang))

# ---- per tier
st.subheader(t("cl_by_tier", lang))
stats = tier_clv_summary(view.tiered, scores.frame, tier_order=view.tier_names)
left, right = st.columns(2)
left.plotly_chart(clv_charts.clv_tier_bar(stats, value="mean_clv", tier_names=view.tier_names, lang=lang,
                                           currency=currency), key="cl_tier_clv")
right.plotly_chart(clv_charts.clv_tier_bar(stats, value="mean_p_alive_repeat", tier_names=view.tier_names, lang=lang,
                                            currency=currency), key="cl_tier_alive")
missing = S.unscored(tiered)
if missing:
    st.caption(t("cl_by_tier_missing", lang, n=fmt_int(missing)))

# ---- P(alive) against recency
st.subheader(t("cl_scatter", lang))
sample = S.alive_sample(tiered)
st.plotly_chart(clv_charts.alive_scatter(sample, tier_names=view.tier_names, lang=lang, currency=currency),
                key="cl_scatter_chart")
st.caption(t("cl_scatter_caption", lang, n=fmt_int(S.SCATTER_POINTS)) + " " + t("cl_one_timers", lang))

# ---- holdout check
st.subheader(t("cl_holdout", lang))
length = widgets.setting_widget(
    "holdout", st.segmented_control, t("cl_holdout_days", lang), options=list(CLV_HOLDOUTS), required=True,
    format_func=lambda d: t("cl_horizon_days", lang, days=fmt_int(d)),
)
observation_end = view.as_of_date
calibration_end = observation_end - dt.timedelta(days=int(length))
st.caption(t("cl_holdout_caption", lang, cal=fmt_date(calibration_end, lang), obs=fmt_date(observation_end, lang)))
try:
    check = view.holdout(calibration_end)
except DataError as exc:
    st.warning(t("cl_holdout_error", lang, detail=layout.error_message(exc, lang)), icon=":material/warning:")
else:
    with st.container(key="kpis_holdout"):
        m = st.columns(3, wrap=False)
        m[0].metric(t("cl_predicted", lang), fmt_int(check.predicted_total), border=True)
        m[1].metric(t("cl_actual", lang), fmt_int(check.actual_total), border=True)
        m[2].metric(t("cl_rel_error", lang), signed(fmt_pct(check.relative_error), check.relative_error),
                    border=True)
    show = {"good": st.success, "rough": st.warning, "do_not_use": st.error}[check.verdict.level]
    show(check.verdict.message(lang), icon=":material/fact_check:")
    for warning in check.warnings:
        st.warning(layout.md_escape(warning.message(lang)), icon=":material/warning:")
    st.plotly_chart(clv_charts.holdout_chart(check.frame, lang=lang), key="cl_holdout_chart")

# ---- most valuable customers and use in rules
st.subheader(t("cl_top", lang))
st.dataframe(tables.top_clv_display(S.top_clv(tiered), lang, currency), hide_index=True,
             width="stretch")

with st.expander(t("cl_rules", lang)):
    st.markdown(t("cl_rules_text", lang))
    st.code(t("cl_rules_example", lang), language=None)
