"""迁移 Migration: how customers moved between tiers across two or more chosen dates."""

import itertools

import streamlit as st

from segmentation import columns as C
from segmentation import migration
from segmentation.snapshots import state_label
from ui import exports, layout, report, tables, widgets
from ui.charts import migration as migration_charts
from ui.i18n import column_label, fmt_date, fmt_int, fmt_money, fmt_pct, fmt_span, t
from ui.settings import CUT_MODES, PERIODS

# More dates than this make a Sankey nobody can read.
MAX_COMPARE = 6

view = layout.page_start("mg_title", "mg_caption", over_time=True)
lang, currency, settings = view.lang, view.currency, view.settings

if view.customer_level and len(view.table_dates) < 2:
    st.info(t("mg_customers_one", lang, date=fmt_date(view.as_of_date, lang)), icon=":material/info:")
    st.stop()

# ---- controls: dates, period behind the date choices, cut-point mode
options = view.compare_options()
# One period apart, so "month" compares about a month and "quarter" about three; customer
# tables are compared at their last two dates, whatever their spacing.
default = options[-2:] if view.customer_level else migration.period_pair(options, view.period_name)
# A wrapping row: the two switches keep their natural width (every option readable) and move
# below the dates on a narrow screen instead of being cut off.
with st.container(horizontal=True, gap="medium"):
    chosen = widgets.setting_widget(
        "compare", st.multiselect, t("mg_dates", lang), options=options,
        encode=lambda v: [d for d in v if d in options] or default, decode=lambda v: tuple(sorted(v or ())),
        format_func=lambda d: fmt_date(d, lang), max_selections=MAX_COMPARE,
        help=t("mg_dates_help", lang), depends_on=tuple(options), width=420, placeholder=t("mg_dates_placeholder", lang),
    )
    # Customer tables are compared at their own dates, so a week/month/quarter step has
    # nothing to choose between.
    if not view.customer_level:
        widgets.setting_widget(
            "period", st.segmented_control, t("tm_period", lang), options=list(PERIODS),
            format_func=lambda p: t(f"tm_period_{p}", lang), required=True, width="content",
        )
    widgets.setting_widget(
        "cut_mode", st.segmented_control, t("tm_cut_mode", lang), options=list(CUT_MODES),
        format_func=lambda m: t(f"tm_cut_{m}", lang), required=True, width="content",
    )
if view.customer_level:
    st.caption(t("mg_period_customers", lang))
st.caption(t("tm_cut_fixed_note", lang) + "  \n" + t("tm_cut_recomputed_note", lang))

if len(options) < 2:
    st.info(t("mg_no_options", lang), icon=":material/info:")
    st.stop()
dates = tuple(sorted(chosen or ()))
if len(dates) < 2:
    st.info(t("mg_need_two", lang), icon=":material/info:")
    st.stop()

pairs = list(itertools.pairwise(dates))
if len(dates) > 2:
    pairs.append((dates[0], dates[-1]))
    # The pair is part of the view (Settings.pair); () or a pair not among these dates = first to last.
    d1, d2 = widgets.setting_widget(
        "pair", st.selectbox, t("mg_pair", lang), options=pairs,
        encode=lambda v, pairs=tuple(pairs): tuple(v) if tuple(v) in pairs else pairs[-1],
        decode=lambda p, last=pairs[-1]: () if tuple(p) == last else tuple(p),
        format_func=lambda p: t("mg_pair_fmt", lang, a=fmt_date(p[0], lang), b=fmt_date(p[1], lang)),
        depends_on=tuple(pairs), per_language=True,
    )
else:
    d1, d2 = pairs[0]

result = view.migration(dates, d1, d2)
overall = migration.overall_rates(result.rates)
n_from = overall.get("customers") or 0
rate_help = t("mg_rate_help", lang, a=fmt_date(d1, lang), b=fmt_date(d2, lang), n=fmt_int(n_from))
# Without a lookback window nobody leaves, so "left the window" would always read 0%.
with_window = settings.window_days > 0
st.markdown("**" + t("mg_span", lang, a=fmt_date(d1, lang), b=fmt_date(d2, lang), span=fmt_span(d1, d2, lang)) + "**")
# Fixed-width boxes that wrap on a narrow screen, instead of columns that cut the numbers off.
with st.container(horizontal=True):
    box = {"help": rate_help, "border": True, "width": 170}
    st.metric(t("mg_upgrade", lang), fmt_pct(overall.get("upgrade_rate")), **box)
    st.metric(t("mg_downgrade", lang), fmt_pct(overall.get("downgrade_rate")), **box)
    st.metric(t("mg_unchanged", lang), fmt_pct(overall.get("unchanged_rate")), **box)
    if with_window:
        st.metric(t("mg_gone", lang), fmt_pct(overall.get("gone_rate")), **box)
    st.metric(t("mg_new", lang), fmt_int(migration.newcomers(result.matrix)),
              **(box | {"help": t("mg_new_help", lang, a=fmt_date(d1, lang))}))

if settings.cut_mode == "recomputed":
    moved, relative = view.relative_moves(d1, d2)
    if moved:
        st.info(t("mg_effect", lang, n=fmt_int(moved), k=fmt_int(relative), share=fmt_pct(relative / moved)),
                icon=":material/balance:")

st.subheader(t("mg_sankey", lang))
st.plotly_chart(
    migration_charts.sankey(result.nodes, result.links, tier_names=result.tier_names, lang=lang, currency=currency),
    key="mg_sankey_chart",
)
st.caption(t("mg_sankey_caption", lang))

st.subheader(t("mg_matrix", lang))
st.plotly_chart(
    migration_charts.transition_heatmap(result.matrix, tier_names=result.tier_names, d1=d1, d2=d2, lang=lang),
    key="mg_matrix_chart",
)
st.caption(t("mg_matrix_caption", lang))

st.subheader(t("mg_rates", lang))
st.plotly_chart(migration_charts.rates_bar(migration.tier_rates(result.rates), d1=d1, d2=d2, lang=lang),
                key="mg_rates_chart")

# ---- movers: pick a path, see and download who took it
st.subheader(t("mg_movers", lang))
st.caption(t("mg_movers_caption", lang))
sources = migration.state_names(result.tier_names, sources=True)
targets = migration.state_names(result.tier_names, sources=False)
label = state_label
first_tier = result.tier_names[0]
suggested = migration.largest_move(result.matrix, first_tier) or targets[-1]
left, right = st.columns(2)
# The path is part of the view (Settings.mv_from / mv_to, by state name); "" or a state these
# rules do not have = the suggested path.
from_state = widgets.setting_widget(
    "mv_from", left.selectbox, t("mg_from", lang), options=sources, format_func=lambda s: label(s, lang),
    encode=lambda v, first=first_tier: v if v in sources else first,
    decode=lambda s, first=first_tier: "" if s == first else s, depends_on=tuple(sources), per_language=True,
)
to_state = widgets.setting_widget(
    "mv_to", right.selectbox, t("mg_to", lang), options=targets, format_func=lambda s: label(s, lang),
    encode=lambda v, suggested=suggested: v if v in targets else suggested,
    decode=lambda s, suggested=suggested: "" if s == suggested else s, depends_on=(tuple(targets), suggested),
    per_language=True,
)
who = view.movers(dates, from_state, to_state, d1, d2)
if who.height == 0:
    st.info(t("mg_movers_empty", lang), icon=":material/info:")
else:
    st.caption(t("mg_movers_count", lang, n=fmt_int(who.height),
                 revenue=fmt_money(migration.movers_total(who), lang, currency)))
    table = tables.movers_display(who, lang)
    # On screen: who, where from and to, and how their buying changed; the download keeps every column.
    # Money in whole units (step=1) with the symbol in the header, so every currency reads the same.
    now, then = t("mg_now", lang), t("mg_then", lang)
    shown = {
        column_label(C.CUSTOMER_ID, lang): st.column_config.TextColumn(t("mg_col_customer", lang), width=90),
        t("from_state", lang): st.column_config.TextColumn(width=135),
        t("to_state", lang): st.column_config.TextColumn(width=135),
        column_label(C.RECENCY, lang) + now: st.column_config.NumberColumn(
            t("mg_col_days", lang), help=t("mg_col_days_help", lang), format="%d", width=135),
        column_label(C.FREQUENCY, lang) + then: st.column_config.NumberColumn(
            t("mg_col_orders_then", lang), help=t("mg_col_orders_help", lang), format="%d", width=90),
        column_label(C.FREQUENCY, lang) + now: st.column_config.NumberColumn(
            t("mg_col_orders_now", lang), help=t("mg_col_orders_help", lang), format="%d", width=90),
        t("mg_revenue_between", lang): st.column_config.NumberColumn(
            tables.money_header(t("mg_col_between", lang), currency), help=t("mg_col_between_help", lang), format="localized",
            step=1, width=130),
        column_label(C.MONETARY, lang) + now: st.column_config.NumberColumn(
            tables.money_header(t("mg_col_spend", lang), currency), help=t("mg_col_spend_help", lang), format="localized",
            step=1, width=120),
    }
    st.dataframe(tables.display_frame(table.head(200)), hide_index=True, width="stretch",
                 column_order=list(shown), column_config=shown, key="mg_movers_table")
    more = "mg_movers_more_clv" if "p_alive_now" in who.columns else "mg_movers_more"
    st.caption((t("mg_movers_shown", lang, n=200) + " " if who.height > 200 else "") + t(more, lang))
    cols = st.columns(2, width=500)
    name = report.download_name(view, "tierlens-movers", "", date=f"{d1}-{d2}")
    cols[0].download_button(
        t("tm_csv", lang), data=lambda: exports.to_csv_bytes(table), file_name=f"{name}.csv", mime="text/csv",
        icon=":material/download:", on_click="ignore", key="mg_csv",
    )
    cols[1].download_button(
        t("tm_xlsx", lang), data=lambda: exports.to_xlsx_bytes(table, all_sheet=t("mg_movers", lang)),
        file_name=f"{name}.xlsx", icon=":material/download:", on_click="ignore", key="mg_xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    st.caption(t("tm_export_note", lang))
