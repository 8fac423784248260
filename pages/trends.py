"""趋势 Trends: KPI lines per tier over time, each with its definition, and cohort retention."""

import streamlit as st

from segmentation import kpis, summary
from ui import layout, tables, widgets
from ui.charts import trends as trend_charts
from ui.i18n import fmt_date, t
from ui.settings import PERIODS

view = layout.page_start("tr_title", "tr_caption", over_time=True, customers_caption_key="tr_customers_caption")
lang, currency, settings = view.lang, view.currency, view.settings


def customer_tables_trends() -> None:
    """A customer-level data set: tier sizes and changes between its tables' dates, or what is
    missing when it has one table."""
    dates = [d.isoformat() for d in view.table_dates if d <= view.as_of_date]
    if len(dates) < 2:
        st.info(t("tr_customers_one", lang, date=fmt_date(view.as_of_date, lang)), icon=":material/info:")
        return
    measures = {"customers": ("tr_tbl_customers", "count"), "orders": ("tr_tbl_orders", "count"),
                "revenue": ("tr_tbl_revenue", "currency")}
    measure = st.segmented_control(t("tr_kpi", lang), options=list(measures), default="customers", required=True,
                                   format_func=lambda m: t(measures[m][0], lang), key=f"tr_tbl_{lang}")
    label, unit = measures[measure or "customers"]
    series = summary.table_series(view.snapshots(tuple(dates)), measure or "customers")
    figure = trend_charts.kpi_lines(series, kpi_name=t(label, lang), unit=unit, period_label=t("tr_tbl_date", lang),
                                    tier_names=view.tier_names, lang=lang, currency=currency)
    # One tick per table: the dates are the file's, not evenly spaced periods.
    figure.update_xaxes(tickmode="array", tickvals=dates, tickformat="%Y年%-m月%-d日" if lang == "zh" else "%Y-%m-%d",
                        title_text=t("tr_tbl_axis", lang))
    st.plotly_chart(figure, key="tr_tables_chart")


if view.customer_level:
    customer_tables_trends()
    st.stop()

definitions = tables.kpi_definitions(lang)
by_code = {code: (name, text, unit) for code, name, text, unit in definitions}
# A wrapping row: the period switch keeps its natural width, so every option stays readable,
# and on a narrow screen the controls move to a new line instead of being squeezed.
with st.container(horizontal=True, gap="medium"):
    codes = list(by_code)
    kpi = widgets.setting_widget(
        "kpi", st.selectbox, t("tr_kpi", lang), options=codes, format_func=lambda k: by_code[k][0],
        encode=lambda v: v if v in by_code else codes[0], decode=lambda k: "" if k == codes[0] else k,
        per_language=True, width=260,
    )
    widgets.setting_widget(
        "period", st.segmented_control, t("tm_period", lang), options=list(PERIODS),
        format_func=lambda p: t(f"tm_period_{p}", lang), required=True, width="content",
    )
    chosen = widgets.setting_widget(
        "tiers", st.multiselect, t("tr_tiers", lang), options=view.tier_names,
        encode=lambda v: [x for x in v if x in view.tier_names], decode=tuple,
        placeholder=t("tm_all_tiers", lang), select_all=False, width=360,
    )
with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
    show_total = widgets.setting_widget("total", st.toggle, t("tr_total", lang))
    default_gap = view.default_churn_days
    widgets.setting_widget(
        "churn_days", st.number_input, t("tr_churn_days", lang), encode=lambda v: v or default_gap,
        decode=lambda v: 0 if not v or int(v) == default_gap else int(v), min_value=1, max_value=3650, step=1,
        help=t("tr_churn_days_help", lang, days=default_gap), depends_on=(view.dataset, default_gap), width=220,
    )
    st.caption(t("tr_churn_custom" if settings.churn_days else "tr_churn_default", lang, days=view.churn_days))

trends = kpis.drop_empty_tiers(view.kpis())
if trends.height == 0:
    st.info(t("tr_empty", lang), icon=":material/info:")
else:
    if show_total:
        trends = kpis.with_total(trends, view.kpis(by_tier=False))
    name, definition, unit = by_code[kpi]
    series = kpis.kpi_series(trends, kpi, tuple(chosen or ()))
    period_label = t(f"tm_period_{settings.period}", lang)
    st.plotly_chart(
        trend_charts.kpi_lines(series, kpi_name=name, unit=unit, period_label=period_label,
                              tier_names=view.tier_names, lang=lang, currency=currency),
        key="tr_kpi_chart",
    )
    st.info(t("tr_definition", lang, text=definition), icon=":material/menu_book:")
    partial = kpis.partial_period(trends)
    if partial is not None:
        st.caption(t("tr_partial_span", lang, start=fmt_date(partial[0], lang), end=fmt_date(partial[1], lang)))
    st.caption(t("tm_cut_fixed_note" if settings.cut_mode == "fixed" else "tm_cut_recomputed_note", lang))
    with st.expander(t("tr_definitions", lang)):
        every = [*definitions, *tables.kpi_definitions(lang, source="cohort_retention")]
        st.dataframe(
            {t("tr_name", lang): [d[1] for d in every], t("tr_def", lang): [d[2] for d in every]},
            hide_index=True, width="stretch",
        )

st.subheader(t("tr_cohort", lang))
st.caption(t("tr_cohort_caption", lang))
months = widgets.setting_widget("cohort_months", st.slider, t("tr_cohort_months", lang), min_value=3, max_value=24)
cohorts = view.cohorts(max_months=months)
if cohorts.height == 0:
    st.info(t("tr_cohort_empty", lang), icon=":material/info:")
else:
    st.plotly_chart(trend_charts.cohort_heatmap(cohorts, lang=lang), key="tr_cohort_chart")
