"""价值 CLV: predicted lifetime value and chance of still being active, per customer and tier,
with a holdout check that says whether to trust the numbers."""

import datetime as dt

import streamlit as st

from segmentation import summary as S
from segmentation.enrich import RULE_VALUATION, add_clv
from segmentation.errors import DataError
from ui import layout, tables, widgets
from ui.charts import clv as clv_charts
from ui.i18n import fmt_date, fmt_int, fmt_money, fmt_pct, signed, t

HORIZONS = (90, 180, 365, 730)
# The defaults are the valuation tier rules on P_ALIVE / CLV use, so both show the same fit.
DEFAULT_HORIZON, DEFAULT_DISCOUNT, DEFAULT_MARGIN = RULE_VALUATION
HOLDOUTS = (90, 180, 365)

view = layout.page_start("cl_title", "cl_caption")
lang, currency = view.lang, view.currency

st.markdown(f"**{t('cl_settings', lang)}**")
c = st.columns([2, 1, 1])
horizon = c[0].segmented_control(
    t("cl_horizon", lang), options=list(HORIZONS), default=DEFAULT_HORIZON, required=True, key=widgets.relabel("cl_horizon", lang),
    format_func=lambda d: t("cl_horizon_days", lang, days=fmt_int(d)),
)
discount = c[1].number_input(t("cl_discount", lang), min_value=0.0, max_value=100.0, value=DEFAULT_DISCOUNT * 100, step=1.0,
                             format="%.1f", help=t("cl_discount_help", lang), key="cl_discount")
margin = c[2].number_input(t("cl_margin", lang), min_value=1.0, max_value=100.0, value=DEFAULT_MARGIN * 100, step=5.0,
                           format="%.0f", help=t("cl_margin_help", lang), key="cl_margin")

try:
    with st.spinner(t("cl_title", lang) + "…"):
        scores = view.clv(int(horizon), discount / 100, margin / 100)
except DataError as exc:
    st.error(t("cl_fit_error", lang, detail=layout.error_message(exc, lang)), icon=":material/error:")
    st.stop()

tiered = add_clv(view.tiered, scores.frame)
numbers = S.clv_headline(scores.frame)
with st.container(key="kpis_clv"):  # one compact row on a phone, too
    m = st.columns(4, wrap=False)
    m[0].metric(t("cl_total", lang), fmt_money(numbers["total"], lang, currency, compact=True), border=True)
    m[1].metric(t("cl_mean", lang), fmt_money(numbers["mean"], lang, currency), border=True)
    m[2].metric(t("cl_alive", lang), fmt_pct(numbers["alive"]), help=t("cl_alive_help", lang), border=True)
    m[3].metric(t("cl_at_risk", lang), fmt_int(numbers["at_risk"]), border=True)

# ---- distribution
st.subheader(t("cl_dist", lang))
hist, log = S.clv_histogram(scores.frame)
st.plotly_chart(clv_charts.clv_histogram(hist, log=log, horizon_days=int(horizon), lang=lang, currency=currency),
                key="cl_hist")
if log:
    st.caption(t("cl_dist_log", lang))

# ---- per tier
st.subheader(t("cl_by_tier", lang))
stats = S.clv_by_tier(tiered)
left, right = st.columns(2)
left.plotly_chart(clv_charts.clv_tier_bar(stats, value="mean_clv", tier_names=view.tier_names, lang=lang,
                                           currency=currency), key="cl_tier_clv")
right.plotly_chart(clv_charts.clv_tier_bar(stats, value="mean_p_alive", tier_names=view.tier_names, lang=lang,
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
length = st.segmented_control(
    t("cl_holdout_days", lang), options=list(HOLDOUTS), default=180, required=True, key=widgets.relabel("cl_holdout_days", lang),
    format_func=lambda d: t("cl_horizon_days", lang, days=fmt_int(d)),
)
observation_end = view.last_day
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
    level = S.trust_level(check.relative_error)
    verdict = t(f"cl_trust_{level}", lang, err=fmt_pct(abs(check.relative_error)))
    {"good": st.success, "fair": st.warning, "poor": st.error}[level](verdict, icon=":material/fact_check:")
    st.plotly_chart(clv_charts.holdout_chart(check.frame, lang=lang), key="cl_holdout_chart")

# ---- most valuable customers and use in rules
st.subheader(t("cl_top", lang))
st.dataframe(tables.top_clv_display(S.top_clv(tiered), lang, currency), hide_index=True,
             width="stretch")

with st.expander(t("cl_rules", lang)):
    st.markdown(t("cl_rules_text", lang))
    st.code(t("cl_rules_example", lang), language=None)
