"""客户 Customer: one customer's purchases, RFM values and scores, and tier (now and over time)."""

import streamlit as st

from segmentation import columns as C
from segmentation import summary as S
from ui import layout, session, tables, widgets
from ui.charts import customer as customer_charts
from ui.i18n import fmt_date, fmt_int, fmt_money, t

view = layout.page_start("cu_title", "cu_caption")
lang, currency = view.lang, view.currency

tiered = view.tiered
examples = S.example_customers(tiered)
example_id = examples[C.CUSTOMER_ID][0] if examples.height else ""
customer = widgets.setting_widget(
    "customer", st.text_input, t("cu_input", lang), decode=lambda v: (v or "").strip(),
    placeholder=t("cu_placeholder", lang, example=example_id), max_chars=200,
)


def pick_example() -> None:
    rows = st.session_state["cu_examples"].selection.rows
    if rows:
        session.update_settings(customer=examples[C.CUSTOMER_ID][rows[0]])


with st.expander(t("cu_examples", lang), expanded=not customer):
    st.dataframe(
        tables.translated(examples, lang), hide_index=True, width="stretch", key="cu_examples",
        column_config=tables.money_config(lang, currency),
        on_select=pick_example, selection_mode="single-row",
    )

if not customer:
    st.stop()

# Typed ids ignore case and spaces; the id shown from here on is the one in the data.
# A customer-level data set has no purchases: its customers are the rows of its table.
matches = S.find_customer(view.tiered if view.customer_level else view.tx, customer)
if not matches:
    st.warning(t("cu_not_found", lang, customer=layout.md_escape(customer)), icon=":material/person_off:")
    st.stop()
if len(matches) > 1:
    st.info(t("cu_several", lang, ids="、".join(layout.md_escape(m) for m in matches) if lang == "zh"
              else ", ".join(layout.md_escape(m) for m in matches), shown=layout.md_escape(matches[0])),
            icon=":material/group:")
customer = matches[0]
history = None if view.customer_level else S.customer_history(view.tx, customer)

row = S.customer_row(tiered, customer)
if row is None:
    st.info(t("cu_not_in_window", lang, customer=layout.md_escape(customer)), icon=":material/info:")
else:
    with st.container(key="kpis_customer"):
        cols = st.columns([2, 1, 1, 1], wrap=False)
        cols[0].metric(t("cu_tier_now", lang), str(row[C.TIER]), border=True)
        for col, name in zip(cols[1:4], C.SCORE_COLUMNS, strict=True):
            col.metric(t(name, lang), f"{row[name]}/{view.cuts.bins}", border=True)
        st.markdown(f"**{t('cu_scores', lang)}**")
        cols = st.columns(3, wrap=False)
        cols[0].metric(t("recency_days", lang), fmt_int(row[C.RECENCY]), border=True)
        cols[1].metric(t("frequency", lang), fmt_int(row[C.FREQUENCY]), border=True)
        cols[2].metric(t("monetary", lang), fmt_money(row[C.MONETARY], lang, currency), border=True)
        cols = st.columns(3, wrap=False)
        cols[0].metric(t("avg_order_value", lang), fmt_money(row[C.AOV], lang, currency), border=True)
        cols[1].metric(t("first_purchase", lang), fmt_date(row[C.FIRST_PURCHASE], lang), border=True)
        cols[2].metric(t("tenure_days", lang), fmt_int(row[C.TENURE]), border=True)

if history is not None:
    st.plotly_chart(customer_charts.customer_timeline(history, customer=customer, lang=lang, currency=currency),
                    key="timeline")

if row is not None:
    tiers_over_time = view.tier_history(customer)
    if tiers_over_time.height:
        st.plotly_chart(
            customer_charts.tier_history_chart(tiers_over_time, tier_names=view.tier_names, date_col="snapshot_date", lang=lang),
            key="tier_history",
        )

st.markdown(f"**{t('cu_history', lang)}**")
if history is None:
    st.caption(t("cu_no_history", lang))
    st.stop()
st.dataframe(tables.translated(history, lang), hide_index=True, width="stretch",
             column_config=tables.money_config(lang, currency))
st.caption(t("cu_rows", lang, n=fmt_int(history.height)))
