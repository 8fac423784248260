"""报告导出 Export: the executive summary (one offline HTML file) and customer lists per tier."""

import streamlit as st

from ui import exports, layout, report, tables, widgets
from ui.i18n import fmt_int, t

view = layout.page_start("ex_title", "ex_caption")
lang, currency = view.lang, view.currency

if view.rfm.height == 0:
    st.info(t("ov_empty", lang), icon=":material/info:")
    st.stop()

st.subheader(t("ex_summary", lang))
st.caption(t("ex_summary_caption", lang))
st.download_button(
    t("ex_summary_button", lang), data=lambda: report.summary_html(view).encode("utf-8"), file_name=report.download_name(view),
    mime="text/html", icon=":material/description:", type="primary", on_click="ignore",
)

st.subheader(t("ex_lists", lang))
chosen = widgets.setting_widget(
    "tiers", st.multiselect, t("ex_lists_tiers", lang), options=view.tier_names,
    encode=lambda v: [x for x in v if x in view.tier_names], decode=tuple,
    # None chosen already means all; Streamlit's "Select all" entry is English-only and redundant.
    placeholder=t("tm_all_tiers", lang), select_all=False,
)
customers = tables.customer_list(view.tiered, tuple(chosen or ()), lang)
st.caption(t("ex_lists_count", lang, n=fmt_int(customers.height)))
st.dataframe(tables.display_frame(customers.head(200)), hide_index=True, width="stretch",
             column_config=tables.money_config(lang, currency))
cols = st.columns(2, width=500)
cols[0].download_button(
    t("ex_csv", lang), data=lambda: exports.to_csv_bytes(customers), file_name=report.download_name(view, "tierlens-customers", "csv"),
    mime="text/csv", icon=":material/download:", on_click="ignore",
)
cols[1].download_button(
    t("ex_xlsx", lang), data=lambda: exports.to_xlsx_bytes(customers, split_by=t("tier", lang),
                                                           all_sheet=t("ex_all_sheet", lang)),
    file_name=report.download_name(view, "tierlens-customers", "xlsx"), icon=":material/download:", on_click="ignore",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
st.caption(t("ex_lists_note", lang))
