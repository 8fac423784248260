"""The Data page's part for files with one row per customer: which kind a file is, the column
mapping, the check report per customer table, and saving them as a customer-level data set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import streamlit as st

from segmentation.customers import CUSTOMER_FIELDS, as_of_column, detect_customer_columns, detect_kind
from segmentation.customers import reason_text as customer_reason_text
from segmentation.errors import AmbiguousDatesError, DataError
from ui import cache, datasets, layout, widgets
from ui.i18n import fmt_date, fmt_int, fmt_money, t
from ui.tables import preview_money_config

__all__ = ["KINDS", "choose_kind", "customer_block", "error_text"]

KINDS = ("transactions", "customers")


def choose_kind(tables: Sequence[dict[str, Any]], tag: str, lang: str) -> str:
    """One row per order or per customer: detected from the columns, with the reason shown and
    a switch to override it. Returns "transactions" or "customers"."""
    headers: list[str] = []
    for table in tables:
        headers += [str(c) for c in table["columns"] if str(c) not in headers]
    detected, why_en, why_zh = detect_kind(headers)
    chosen = st.segmented_control(
        t("da_kind", lang), options=list(KINDS), default=detected, required=True,
        key=widgets.relabel(f"kind_{tag}", lang), format_func=lambda k: t(f"da_kind_{k}", lang),
    )
    st.caption(t("da_kind_why", lang, why=layout.md_escape(why_zh if lang == "zh" else why_en)))
    return chosen or detected


def error_text(exc: DataError, lang: str) -> str:
    """A customer file's load error in the page's language, escaped for markdown."""
    code, params = getattr(exc, "code", ""), getattr(exc, "params", {})
    if code == "cust_missing":
        names = [f"{t('last_purchase', lang)} / {t('recency_days', lang)}" if f == "last_purchase" else t(f, lang)
                 for f in params.get("fields", ())]
        return t("err_cust_missing", lang, file=layout.md_escape(params.get("file", "")),
                 fields=("、" if lang == "zh" else ", ").join(names), columns=layout.md_escape(params.get("columns", "")))
    if code == "cust_no_rows":
        return t("err_cust_no_rows", lang, file=layout.md_escape(params.get("file", "")), rows=params.get("rows", ""),
                 reason=customer_reason_text(params.get("reason", ""), lang))
    return layout.error_message(exc, lang)


def _mapping(headers: list[str], used: dict[str, str], tag: str, lang: str) -> tuple[tuple[str, str | None], ...] | None:
    """Per customer field the column in use, correctable; None while it is the automatic choice."""
    st.markdown(f"**{t('da_mapping', lang)}**")
    st.caption(t("da_cust_mapping_caption", lang))
    selection = widgets.column_pickers(
        {f: t(f, lang) for f in CUSTOMER_FIELDS}, headers, used, key=lambda f: f"cmap_{f}_{tag}",
        none_label=t("da_none", lang), lang=lang, per_row=4,
    )
    if selection == {f: used.get(f) for f in CUSTOMER_FIELDS}:
        return None
    return tuple(selection.items())


def _report(frame: Any, reports: list[Any], tag: str, lang: str, currency: str) -> None:
    """Rows read, customers kept and rows dropped (per table and reason), the newest table's
    total spend in the data set's currency, and the tables' dates."""
    st.markdown(f"**{t('da_report', lang)}**")
    read = sum(r.rows_read for r in reports)
    kept = sum(r.rows_kept for r in reports)
    m = st.columns(4)
    m[0].metric(t("da_rows_read", lang), fmt_int(read), border=True)
    m[1].metric(t("da_cust_customers_kept", lang), fmt_int(kept), border=True)
    m[2].metric(t("da_rows_dropped", lang), fmt_int(read - kept), border=True)
    newest = reports[-1].as_of
    spend = datasets.newest_spend(frame)
    m[3].metric(t("da_cust_spend", lang), fmt_money(spend, lang, currency, cents=True), border=True,
                help=t("da_cust_spend_help", lang, date=fmt_date(newest, lang)))
    if len(reports) > 1:
        dates = "、".join(fmt_date(r.as_of, lang) for r in reports) if lang == "zh" else \
            ", ".join(fmt_date(r.as_of, lang) for r in reports)
        st.info(t("da_cust_tables", lang, n=len(reports), dates=dates), icon=":material/calendar_month:")
    else:
        st.info(t("da_cust_one_table", lang, date=fmt_date(reports[0].as_of, lang)), icon=":material/calendar_month:")
    for report in reports:
        lines = report.summary_lines(lang)
        st.markdown("\n".join(f"- {layout.md_escape(line)}" for line in lines))
    dropped = datasets.customer_dropped_table(reports, lang)
    if dropped.height:
        st.dataframe(dropped, hide_index=True, width="stretch", key=f"cdropped_{tag}", column_config={
            "table": t("da_cust_table", lang), "reason": t("da_dropped_reason", lang),
            "rows": t("da_dropped_count", lang), "examples": t("da_dropped_examples", lang)})
    with st.expander(t("da_result_preview", lang)):
        st.dataframe(frame.head(20), width="stretch", key=f"cresult_{tag}", column_config=preview_money_config(currency))


def customer_block(
    key: tuple[tuple[Any, ...], ...], data: tuple[bytes | None, ...], tables: Sequence[dict[str, Any]],
    name: str, raw: bytes | None, tag: str, lang: str, view: Any,
) -> None:
    """Map, check and save customer files (one table per file or sheet, or per date of an as_of
    column)."""
    headers: list[str] = []
    for table in tables:
        headers += [str(c) for c in table["columns"] if str(c) not in headers]
    as_of_day = None
    # A date column or several files date the tables themselves.
    if len(data) == 1 and len(tables) == 1 and as_of_column(headers) is None:
        as_of_day = st.date_input(t("da_cust_as_of", lang), value=None, key=f"cas_of_{tag}", format="YYYY-MM-DD",
                                  help=t("da_cust_as_of_help", lang), max_value=dt.date(2100, 12, 31), width=320)
    as_of = as_of_day.isoformat() if isinstance(as_of_day, dt.date) else None
    order_key = f"cdate_order_{tag}"
    order = st.session_state.get(order_key)
    mapping_key = f"_cmapping_{tag}"
    mapping = st.session_state.get(mapping_key)
    status = st.status(t("da_stage_parsing", lang), expanded=False)
    frame = reports = None
    error: DataError | None = None
    try:
        frame, reports = cache.load_customer_source(key, mapping, as_of, order, data)
    except AmbiguousDatesError as exc:
        status.update(label=t("da_stage_question", lang), state="error")
        st.warning(t("da_dates_ambiguous", lang, column=layout.md_escape(exc.column),
                     examples=layout.md_escape(", ".join(exc.examples[:3]))), icon=":material/calendar_month:")
        st.radio(t("da_date_order", lang), options=["dmy", "mdy"], index=None, key=widgets.relabel(order_key, lang),
                 label_visibility="collapsed", format_func=lambda o: t(f"da_{o}", lang))
        return
    except DataError as exc:
        error = exc
    if reports:
        used = dict(reports[-1].mapping_used)
    else:
        try:
            used = detect_customer_columns(headers, dict(mapping) if mapping else None)
        except DataError:
            used = {}
    chosen = _mapping(headers, used, tag, lang)
    if chosen is not None and chosen != mapping:
        st.session_state[mapping_key] = chosen
        st.rerun()
    if error is not None or frame is None or not reports:
        status.update(label=t("da_stage_failed", lang), state="error")
        st.error(t("da_load_error", lang) + error_text(error, lang), icon=":material/error:")
        return
    status.update(label=t("da_stage_done_customers", lang, customers=fmt_int(reports[-1].customers),
                          tables=fmt_int(len(reports))), state="complete")
    checked = (key, mapping, as_of, order)
    detected = next((r.currency for r in reversed(reports) if r.currency), None)
    saved_id = st.session_state.get("_auto_saved_id") if st.session_state.get("_auto_saved") == checked else None
    _report(frame, reports, tag, lang, datasets.report_currency(detected, saved_id=saved_id, view=view))
    layout.save_controls(
        lambda dataset: datasets.save_customers(frame, name=name, reports=reports, raw=raw, dataset=dataset),
        name=name, tag=tag, checked=checked, lang=lang, prefix="c",
    )
