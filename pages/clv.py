"""价值 CLV: predicted lifetime value and chance of still being active, per customer and tier,
with a holdout check that says whether to trust the numbers."""

import datetime as dt

import streamlit as st

from segmentation.errors import DataError
from ui import charts_time, components, state, state_time
from ui.i18n import fmt_date, fmt_int, fmt_money, fmt_pct
from ui.i18n_time import t

HORIZONS = (90, 180, 365, 730)
HOLDOUTS = (90, 180, 365)

ctx = state.get_context()
lang, currency = ctx.lang, ctx.currency
st.title(t("cl_title", lang))
st.caption(t("cl_caption", lang))
st.caption(components.view_summary(ctx))

st.markdown(f"**{t('cl_settings', lang)}**")
c = st.columns([2, 1, 1])
horizon = c[0].segmented_control(
    t("cl_horizon", lang), options=list(HORIZONS), default=365, required=True, key=components.relabel("cl_horizon", lang),
    format_func=lambda d: t("cl_horizon_days", lang, days=fmt_int(d)),
)
discount = c[1].number_input(t("cl_discount", lang), min_value=0.0, max_value=100.0, value=10.0, step=1.0,
                             format="%.1f", help=t("cl_discount_help", lang), key="cl_discount")
margin = c[2].number_input(t("cl_margin", lang), min_value=1.0, max_value=100.0, value=100.0, step=5.0,
                           format="%.0f", help=t("cl_margin_help", lang), key="cl_margin")

try:
    with st.spinner(t("cl_title", lang) + "…"):
        scores = state_time.clv_scores(ctx.dataset, ctx.as_of_date.isoformat(), int(horizon), discount / 100,
                                       margin / 100)
except DataError as exc:
    st.error(t("cl_fit_error", lang, detail=components.error_message(exc, lang)), icon=":material/error:")
    st.stop()

tiered = state_time.tiered_with_clv(ctx, scores)
numbers = state_time.clv_headline(scores.frame)
m = st.columns(4)
m[0].metric(t("cl_total", lang), fmt_money(numbers["total"], lang, currency, compact=True), border=True)
m[1].metric(t("cl_mean", lang), fmt_money(numbers["mean"], lang, currency), border=True)
m[2].metric(t("cl_alive", lang), fmt_pct(numbers["alive"]), help=t("cl_alive_help", lang), border=True)
m[3].metric(t("cl_at_risk", lang), fmt_int(numbers["at_risk"]), border=True)

# ---- distribution
st.subheader(t("cl_dist", lang))
hist, log = state_time.clv_histogram(scores.frame)
st.plotly_chart(charts_time.clv_histogram(hist, log=log, horizon_days=int(horizon), lang=lang, currency=currency),
                key="cl_hist")
if log:
    st.caption(t("cl_dist_log", lang))

# ---- per tier
st.subheader(t("cl_by_tier", lang))
stats = state_time.clv_by_tier(tiered)
left, right = st.columns(2)
left.plotly_chart(charts_time.clv_tier_bar(stats, value="mean_clv", tier_names=ctx.tier_names, lang=lang,
                                           currency=currency), key="cl_tier_clv")
right.plotly_chart(charts_time.clv_tier_bar(stats, value="mean_p_alive", tier_names=ctx.tier_names, lang=lang,
                                            currency=currency), key="cl_tier_alive")
missing = state_time.unscored(tiered)
if missing:
    st.caption(t("cl_by_tier_missing", lang, n=fmt_int(missing)))

# ---- P(alive) against recency
st.subheader(t("cl_scatter", lang))
sample = state_time.alive_sample(tiered)
st.plotly_chart(charts_time.alive_scatter(sample, tier_names=ctx.tier_names, lang=lang, currency=currency),
                key="cl_scatter_chart")
st.caption(t("cl_scatter_caption", lang, n=fmt_int(state_time.SCATTER_POINTS)) + " " + t("cl_one_timers", lang))

# ---- holdout check
st.subheader(t("cl_holdout", lang))
length = st.segmented_control(
    t("cl_holdout_days", lang), options=list(HOLDOUTS), default=180, required=True, key=components.relabel("cl_holdout_days", lang),
    format_func=lambda d: t("cl_horizon_days", lang, days=fmt_int(d)),
)
observation_end = state_time.trend_end(ctx)
calibration_end = observation_end - dt.timedelta(days=int(length))
st.caption(t("cl_holdout_caption", lang, cal=fmt_date(calibration_end, lang), obs=fmt_date(observation_end, lang)))
try:
    check = state_time.holdout(ctx.dataset, calibration_end.isoformat(), observation_end.isoformat())
except DataError as exc:
    st.warning(t("cl_holdout_error", lang, detail=components.error_message(exc, lang)), icon=":material/warning:")
else:
    m = st.columns(3)
    m[0].metric(t("cl_predicted", lang), fmt_int(check.predicted_total), border=True)
    m[1].metric(t("cl_actual", lang), fmt_int(check.actual_total), border=True)
    m[2].metric(t("cl_rel_error", lang), state_time.signed(fmt_pct(check.relative_error), check.relative_error),
                border=True)
    level = state_time.trust_level(check.relative_error)
    verdict = t(f"cl_trust_{level}", lang, err=fmt_pct(abs(check.relative_error)))
    {"good": st.success, "fair": st.warning, "poor": st.error}[level](verdict, icon=":material/fact_check:")
    st.plotly_chart(charts_time.holdout_chart(check.frame, lang=lang), key="cl_holdout_chart")

# ---- most valuable customers and use in rules
st.subheader(t("cl_top", lang))
st.dataframe(state_time.top_clv_display(state_time.top_clv(tiered), lang, currency), hide_index=True,
             width="stretch")

with st.expander(t("cl_rules", lang)):
    st.markdown(t("cl_rules_text", lang))
    st.code(t("cl_rules_example", lang), language=None)
