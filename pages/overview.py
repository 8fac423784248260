"""总览 Overview: headline numbers, tier sizes and value, the R×F grid, cut points, concentration."""

import streamlit as st

from ui import layout, session, tables, widgets
from ui.charts import tiers as tier_charts
from ui.i18n import fmt_int, fmt_money, fmt_pct, t
from ui.settings import GRID_COLOURS

view = layout.page_start("ov_title", "ov_caption")
lang, currency = view.lang, view.currency

if view.rfm.height == 0:
    st.info(t("ov_empty", lang), icon=":material/info:")
    st.stop()

tiered = view.tiered
numbers = view.overview.headline
# Two rows of three, so labels and values are never cut off on a laptop screen; on a phone
# the rows stay rows (compact), so the first chart is on the first screen.
with st.container(key="kpis_overview"):
    cols = st.columns(3, wrap=False)
    cols[0].metric(t("m_customers", lang), fmt_int(numbers["customers"]), help=t("m_customers_help", lang), border=True)
    cols[1].metric(t("m_revenue", lang), fmt_money(numbers["revenue"], lang, currency, compact=True),
                   help=t("m_revenue_help", lang), border=True)
    cols[2].metric(t("m_orders", lang), fmt_int(numbers["orders"]), border=True)
    cols = st.columns(3, wrap=False)
    cols[0].metric(t("m_aov", lang), fmt_money(numbers["aov"], lang, currency), help=t("m_aov_help", lang), border=True)
    cols[1].metric(t("m_repeat", lang), fmt_pct(numbers["repeat_share"]), help=t("m_repeat_help", lang), border=True)
    cols[2].metric(
        t("m_top_tier", lang), fmt_pct(numbers["top_tier_revenue_share"]), border=True,
        help=t("m_top_tier_help", lang, tier=layout.md_escape(numbers["top_tier"]),
               share=fmt_pct(numbers["top_tier_customer_share"])),
    )

st.subheader(t("ov_tiers", lang))
summary = view.summary
left, right = st.columns(2)
left.plotly_chart(tier_charts.tier_bar(summary, value="customers", lang=lang, currency=currency), key="tier_customers")
right.plotly_chart(tier_charts.tier_bar(summary, value="revenue", lang=lang, currency=currency), key="tier_revenue")
with st.expander(t("ov_tier_table", lang), expanded=not view.settings.present):
    st.dataframe(tables.tier_table(summary, lang, currency, compact=True), hide_index=True, width="stretch",
                 height=tables.table_height(summary.height, max_rows=30))

st.subheader(t("ov_grid", lang))
left, right = st.columns([3, 2])
with left:
    colour = widgets.setting_widget(
        "grid", st.segmented_control, t("ov_grid_colour", lang), options=list(GRID_COLOURS), required=True,
        format_func=lambda c: t("ov_grid_by_m" if c == "monetary" else "ov_grid_by_tier", lang),
    )
    st.plotly_chart(
        tier_charts.rf_heatmap(view.overview.rf_grid, bins=view.cuts.bins, colour_by=colour, tier_names=view.tier_names,
                          lang=lang, currency=currency),
        key="rf_grid",
    )
    st.caption(t("ov_grid_caption", lang, colour=t("ov_grid_by_m" if colour == "monetary" else "ov_grid_by_tier", lang)))
with right:
    st.markdown(f"**{t('ov_cuts', lang)}**")
    st.dataframe(tables.cuts_display(view.cuts, lang, currency), hide_index=True, width="stretch")
    st.caption(t("ov_cuts_caption", lang))
    levels = view.levels
    if levels is not None and levels.empty.height:
        for message in levels.empty[f"message_{lang}"].to_list():
            st.info(layout.md_escape(message), icon=":material/info:")
        st.button(t("ov_use_suggested", lang, cuts=levels.suggested), key="ov_use_suggested", icon=":material/tune:",
                  on_click=session.update_settings,
                  kwargs={"method": "thresholds", "thresholds": levels.suggested, "bins": view.bins})
        st.caption(t("ov_use_suggested_help", lang))

st.subheader(t("ov_pareto", lang))
top20 = view.overview.top20
st.plotly_chart(tier_charts.pareto_chart(view.overview.pareto, top20=top20, lang=lang), key="pareto")
st.caption(t("ov_pareto_note", lang, share=fmt_pct(top20)))

layout.show_lint(view)
