"""数据 Data: upload and check a transaction export, save it, switch between data sets."""

from pathlib import Path

import streamlit as st

from segmentation.errors import AmbiguousDatesError, DataError
from ui import cache, datasets, layout, session, widgets
from ui.i18n import fmt_date, fmt_int, t
from ui.settings import DEMO_ID

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FIELDS = ("customer_id", "order_date", "amount", "order_id", "quantity", "unit_price")

view = layout.page_start("da_title", "da_caption")
lang = view.lang

# ---- current data set and the demo
if view.dataset == DEMO_ID:
    lo, hi = view.dates
    st.info(
        t("da_demo_info", lang, customers=fmt_int(view.rfm.height), rows=fmt_int(view.tx.height),
          first=fmt_date(lo, lang), last=fmt_date(hi, lang)),
        icon=":material/science:",
    )
else:
    st.info(t("da_current", lang, name=layout.dataset_label(view)), icon=":material/database:")
    st.button(t("da_use_demo", lang), icon=":material/science:",
              on_click=session.open_dataset, args=(DEMO_ID,))

# ---- upload
st.subheader(t("da_upload", lang))
upload = st.file_uploader(
    t("da_upload", lang), type=["csv", "tsv", "txt", "xlsx", "xls", "parquet"], help=t("da_upload_help", lang),
    key="upload", label_visibility="collapsed",
)
if lang == "zh":
    # The drop zone's own text ("Drag and drop", "Limit 200MB per file", "Browse files") is
    # Streamlit's and has no setting; this line says the same in Chinese.
    st.caption(t("da_upload_limits", lang, mb=st.get_option("server.maxUploadSize")))
if upload is not None:
    data = upload.getvalue()
    try:
        with st.spinner(t("da_reading", lang), show_time=True):
            preview, detected = cache.read_upload(upload.file_id, upload.name, data)
    except DataError as exc:
        st.error(t("da_load_error", lang) + layout.md_escape(str(exc)), icon=":material/error:")
        st.stop()

    with st.expander(t("da_preview", lang)):
        st.dataframe(preview.head(20), width="stretch")

    st.markdown(f"**{t('da_mapping', lang)}**")
    st.caption(t("da_mapping_caption", lang))
    headers = ["", *preview.columns]
    mapping = {}
    cols = st.columns(3)
    for i, field in enumerate(FIELDS):
        guess = detected.get(field, "")
        mapping[field] = cols[i % 3].selectbox(
            t(field, lang), options=headers, index=headers.index(guess) if guess in headers else 0,
            format_func=lambda h: h or t("da_none", lang), key=widgets.relabel(f"map_{field}_{upload.file_id}", lang),
        ) or None

    order_key = f"date_order_{upload.file_id}"
    try:
        with st.spinner(t("da_reading", lang), show_time=True):
            tx, report = cache.load_upload(
                upload.file_id, upload.name, tuple(mapping.items()), st.session_state.get(order_key), data
            )
    except AmbiguousDatesError as exc:
        st.warning(
            t("da_dates_ambiguous", lang, column=layout.md_escape(exc.column),
              examples=layout.md_escape(", ".join(exc.examples[:3]))),
            icon=":material/calendar_month:",
        )
        st.radio(
            t("da_date_order", lang), options=["dmy", "mdy"], index=None, key=widgets.relabel(order_key, lang), label_visibility="collapsed",
            format_func=lambda o: t(f"da_{o}", lang),
        )
        st.stop()
    except DataError as exc:
        st.error(t("da_load_error", lang) + layout.md_escape(str(exc)), icon=":material/error:")
        st.stop()

    st.markdown(f"**{t('da_report', lang)}**")
    m = st.columns(3)
    m[0].metric(t("da_rows_read", lang), fmt_int(report.rows_read), border=True)
    m[1].metric(t("da_rows_kept", lang), fmt_int(report.rows_kept), border=True)
    m[2].metric(t("da_rows_dropped", lang), fmt_int(report.rows_read - report.rows_kept), border=True)
    st.markdown("\n".join(f"- {line}" for line in report.summary_lines(lang)), help=None)
    dropped = datasets.dropped_table(report, lang)
    if dropped.height:
        st.dataframe(
            dropped.rename({"reason": t("da_dropped_reason", lang), "rows": t("da_dropped_count", lang),
                            "examples": t("da_dropped_examples", lang)}),
            hide_index=True, width="stretch",
        )

    # A checked upload becomes the view's data at once (saved under its file name), so "upload,
    # then look at the Overview" shows this file, never the demo. Once per upload and column
    # choice: opening another data set afterwards is not undone by the next rerun.
    name = upload.name.rsplit(".", 1)[0] or upload.name
    checked = (upload.file_id, tuple(mapping.items()), st.session_state.get(order_key))
    if st.session_state.get("_auto_saved") != checked:
        try:
            datasets.save_dataset(tx, name=name, report=report, raw=data)
        except DataError as exc:
            st.error(layout.md_escape(str(exc)), icon=":material/error:")
        else:
            st.session_state["_auto_saved"] = checked
            st.session_state["_saved_name"] = name
            st.rerun()

if "_saved_name" in st.session_state:
    st.success(t("da_saved", lang, name=layout.md_escape(st.session_state.pop("_saved_name"))),
               icon=":material/check_circle:")

# ---- saved data sets
st.subheader(t("da_saved_list", lang))
saved = cache.saved_datasets()
if saved.height == 0:
    st.caption(t("da_saved_empty", lang))
for row in saved.iter_rows(named=True):
    with st.container(border=True, horizontal=True, vertical_alignment="center"):
        st.markdown(f"**{layout.md_escape(row['name'])}**  \n" + t(
            "da_rows_customers", lang, rows=fmt_int(row["rows"]), customers=fmt_int(row["customers"]),
            first=fmt_date(row["first_date"], lang), last=fmt_date(row["last_date"], lang),
        ), width="stretch")
        if row["id"] == view.dataset:
            st.badge(t("da_in_use", lang), color="green")
        else:
            st.button(t("da_open", lang), key=f"open_{row['id']}", on_click=session.open_dataset, args=(row["id"],))
        st.button(t("da_delete", lang), key=f"delete_{row['id']}", on_click=datasets.delete_dataset, args=(row["id"],),
                  icon=":material/delete:", type="tertiary")

# ---- templates
st.subheader(t("da_template", lang))
st.caption(t("da_template_caption", lang))
cols = st.columns(2, width=600)
for col, (file, label) in zip(
    cols, (("sample_transactions.csv", "da_template_en"), ("sample_transactions_zh.csv", "da_template_zh")), strict=True
):
    path = DATA_DIR / file
    if path.exists():
        col.download_button(t(label, lang), data=path.read_bytes(), file_name=file, mime="text/csv",
                            icon=":material/download:", on_click="ignore")
