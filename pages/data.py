"""数据 Data: load transaction exports (several files, workbooks, archives, a server folder),
check them, save them, and switch between data sets and their versions."""

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import streamlit as st

from segmentation.errors import AmbiguousDatesError, DataError
from segmentation.ingest import detect_columns
from ui import cache, customer_load, datasets, layout, session, widgets
from ui.cache import LoadOptions
from ui.i18n import fmt_date, fmt_int, fmt_money, t
from ui.settings import CURRENCIES, DEMO_ID, NAME_PREFIX
from ui.tables import preview_money_config

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FIELDS = ("customer_id", "order_date", "amount", "order_id", "quantity", "unit_price")
UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xls", "parquet", "zip"]

view = layout.page_start("da_title", "da_caption")
lang = view.lang


def money(value: float, currency: str) -> str:
    # To the cent, so read = kept + dropped adds up on screen.
    return fmt_money(value, lang, currency, cents=True)


def load_currency(key: tuple[tuple[Any, ...], ...], detected: str | None) -> str:
    """The currency of this load's money: the data set's once the load is saved and in view."""
    saved = st.session_state.get("_auto_saved")
    saved_id = st.session_state.get("_auto_saved_id") if saved is not None and saved[0] == key else None
    return datasets.report_currency(detected, saved_id=saved_id, view=view)


def load_error(exc: Exception) -> None:
    st.error(t("da_load_error", lang) + layout.error_message(exc, lang), icon=":material/error:")


def keep_currency(dataset_id: str, key: str) -> None:
    datasets.set_currency(dataset_id, st.session_state[key])


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
    with st.container(horizontal=True, vertical_alignment="bottom"):
        # The currency is saved with the data set, so every reader of it (and of any link to it)
        # sees the same symbol, whatever their language.
        saved_currency = view.dataset_currency or "NONE"
        currency_options = list(dict.fromkeys([*CURRENCIES, saved_currency]))
        currency_key = widgets.relabel(f"da_currency_{view.dataset}", lang)
        st.session_state.setdefault(currency_key, saved_currency)
        st.selectbox(
            t("da_currency", lang), options=currency_options,
            format_func=lambda c: t("da_currency_none", lang) if c == "NONE" else c, key=currency_key,
            help=t("da_currency_help", lang), width=240,
            on_change=keep_currency, args=(view.dataset, currency_key),
        )
        st.button(t("da_use_demo", lang), icon=":material/science:",
                  on_click=session.open_dataset, args=(DEMO_ID,))
    if view.settings.currency and view.settings.currency != saved_currency:
        st.caption(t("da_currency_link", lang, code=view.settings.currency))


# ---- where the data comes from: uploads, or the server folder for files too big to upload


def choose_source() -> tuple[tuple[tuple[Any, ...], ...], tuple[bytes | None, ...], str, bytes | None] | None:
    """(cache key, upload bytes or None per file, default name, raw bytes to keep) or None."""
    folder = datasets.server_folder()
    use_server = False
    if folder is not None:
        use_server = st.segmented_control(
            t("da_source", lang), options=["upload", "server"], default="upload", key=widgets.relabel("da_source", lang),
            format_func=lambda o: t(f"da_source_{o}", lang),
        ) == "server"
    if use_server:
        return server_source(folder)  # type: ignore[arg-type]
    uploads = st.file_uploader(
        t("da_upload", lang), type=UPLOAD_TYPES, help=t("da_upload_help", lang), accept_multiple_files=True,
        key="upload", label_visibility="collapsed",
    )
    if lang == "zh":
        # The drop zone's own text ("Drag and drop", "Limit 200MB per file", "Browse files") is
        # Streamlit's and has no setting; this line says the same in Chinese.
        st.caption(t("da_upload_limits", lang, mb=st.get_option("server.maxUploadSize")))
    if not uploads:
        return None
    key = tuple((u.file_id, u.name) for u in uploads)
    data = tuple(u.getvalue() for u in uploads)
    # One file keeps its bytes with the data set (so it can be rebuilt); several are joined or
    # appended, and no single upload stands for the result.
    return key, data, datasets.source_name([u.name for u in uploads]), data[0] if len(data) == 1 else None


def server_source(folder: Path) -> tuple[tuple[tuple[Any, ...], ...], tuple[None, ...], str, None] | None:
    if not folder.is_dir():
        st.warning(t("da_server_missing", lang, folder=layout.md_escape(str(folder))), icon=":material/folder_off:")
        return None
    files = datasets.server_files(folder)
    if not files:
        st.caption(t("da_server_empty", lang))
        return None
    kinds = {f["name"]: f for f in files}
    choice = st.selectbox(
        t("da_server_file", lang), options=list(kinds), index=None, key="server_file",
        placeholder=t("da_server_pick", lang),
        format_func=lambda n: t("da_server_entry", lang, name=n, size=f"{kinds[n]['bytes'] / 1e6:,.1f}",
                                kind=t(f"da_kind_{kinds[n]['kind']}", lang)),
    )
    if choice is None:
        return None
    try:
        paths = datasets.server_source(folder, choice)
        key = datasets.server_key(paths)
    except (DataError, OSError) as exc:
        load_error(exc)
        return None
    return key, (None,) * len(paths), Path(choice).stem, None


# ---- the tables found and how they become one


def combine_block(tables: list[dict[str, Any]], tag: str) -> LoadOptions:
    """The list of tables, and the choice between joining them and reading one."""
    if len(tables) > 1:
        st.markdown(f"**{t('da_tables', lang, n=len(tables))}**")
        st.dataframe(datasets.tables_table(tables), hide_index=True, width="stretch", key=f"tables_{tag}",
                     column_config={"table": t("da_table", lang), "rows": t("da_dropped_count", lang),
                                    "columns": t("da_columns", lang), "names": st.column_config.TextColumn(t("da_column_names", lang), width="medium"),
                                    "transactions": t("da_is_transactions", lang), "header": t("da_has_header", lang)})
    groups = datasets.table_groups(tables)
    if len(tables) > 1 and len(groups) == 1:
        st.caption(t("da_appended", lang, n=len(tables)))
    if len(groups) == 1:
        return LoadOptions()
    suggested = datasets.suggested_keys(tables)
    joinable = any(suggested.values())
    mode = st.radio(
        t("da_combine", lang), options=["join", "pick"], index=0 if joinable else 1, horizontal=True,
        key=widgets.relabel(f"combine_{tag}", lang), format_func=lambda o: t(f"da_combine_{o}", lang),
    )
    if mode == "join":
        return LoadOptions(combine="join")
    # The table most of the way to transactions: Olist's payments (amounts, no customer) before
    # its orders (customers, no amounts), since the money is what a lone table can least lack.
    columns = {tb["table"]: tb["columns"] for tb in tables}
    transactions = {tb["table"]: tb["transactions"] for tb in tables}

    def readiness(i: int) -> tuple[bool, bool, int]:
        found = detect_columns(columns[groups[i][0]])
        has_money = "amount" in found or {"quantity", "unit_price"} <= set(found)
        return transactions[groups[i][0]], has_money, len(found)

    default = max(range(len(groups)), key=readiness)
    picked = st.selectbox(
        t("da_pick_table", lang), options=range(len(groups)), index=default, key=f"pick_{tag}",
        format_func=lambda i: " + ".join(groups[i]),
    )
    if len(groups[picked]) > 1:
        st.caption(t("da_appended", lang, n=len(groups[picked])))
    rows = {tb["table"]: tb["rows"] for tb in tables}
    left = [name for i, g in enumerate(groups) if i != picked for name in g]
    listed = ", ".join(t("da_table_row" if rows[name] == 1 else "da_table_rows", lang, table=name, rows=fmt_int(rows[name])) for name in left)
    st.warning(t("da_not_read", lang, tables=layout.md_escape(listed)), icon=":material/visibility_off:")
    return LoadOptions(sheet=tuple(groups[picked]))


def join_keys_block(tables: list[dict[str, Any]], report: Any, tag: str) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """Editable join keys: the loader's own choice when it joined, else the suggested ones.

    Returns None while they are the loader's choice (so it keeps choosing), else every table's keys.
    """
    st.markdown(f"**{t('da_join_keys', lang)}**")
    st.caption(t("da_join_keys_caption", lang))
    columns = {tb["table"]: tb["columns"] for tb in tables}
    joined = {j["table"]: list(j["on"]) for j in report.joins} if report is not None else {}
    defaults = joined or datasets.suggested_keys(tables)
    chosen: dict[str, list[str]] = {}
    cols = st.columns(min(3, max(1, len(defaults))))
    for i, (table, keys) in enumerate(defaults.items()):
        chosen[table] = cols[i % len(cols)].multiselect(
            table, options=columns.get(table, keys), default=[k for k in keys if k in columns.get(table, keys)],
            key=f"keys_{tag}_{hashlib.sha1(table.encode()).hexdigest()[:8]}",
        )
    if chosen == {k: list(v) for k, v in defaults.items()} and joined:
        return None
    return tuple((table, tuple(keys)) for table, keys in chosen.items() if keys)


def mapping_block(
    tables: list[dict[str, Any]], options: LoadOptions, report: Any, key: tuple[tuple[Any, ...], ...],
    data: tuple[bytes | None, ...], tag: str,
) -> tuple[tuple[str, str | None], ...] | None:
    """Per role what was chosen, why and the runner-up; a mapping by name or position.

    Returns None while the selection is the loader's own choice (so its content inference
    stays in force), else the whole selection.
    """
    picked = set(options.sheet) if options.sheet else None
    headers: list[str] = []
    for tb in tables:
        if picked is None or tb["table"] in picked:
            headers += [c for c in tb["columns"] if c not in headers]
    no_header = any(not tb["has_header"] for tb in tables if picked is None or tb["table"] in picked)
    st.markdown(f"**{t('da_mapping', lang)}**")
    if no_header:
        st.warning(t("da_no_header", lang), icon=":material/table_rows:")
    try:
        preview = cache.table_preview(key, (options.sheet or [tables[0]["table"]])[0], data)
    except DataError:
        preview = None
    if preview is not None:
        with st.expander(t("da_preview", lang), expanded=no_header):
            st.dataframe(preview, width="stretch", key=f"preview_{tag}")
    if report is not None and report.column_choices:
        st.caption(t("da_mapping_why", lang))
        # A static table, so the reasons wrap instead of being cut off (cells are Markdown,
        # hence the escaping of names from the file).
        choices = datasets.choices_table(report, lang, labels={f: t(f, lang) for f in FIELDS})
        titles = {"role": "da_role", "column": "da_chosen", "why": "da_why", "runner_up": "da_runner_up"}
        st.table({t(label, lang): [layout.md_escape(v) for v in choices[c]] for c, label in titles.items()},
                 hide_index=True, border="horizontal")
        defaults = {f: c.get("column") for f, c in report.column_choices.items() if c.get("column")}
    else:
        defaults = detect_columns(headers)
    for value in defaults.values():
        if value not in headers:
            headers.append(value)
    st.caption(t("da_mapping_caption", lang))
    selection = widgets.column_pickers(
        {f: t(f, lang) for f in FIELDS}, headers, defaults, key=lambda f: f"map_{f}_{tag}",
        none_label=t("da_none", lang), lang=lang, per_row=3,
    )
    if report is not None and selection == {f: defaults.get(f) for f in FIELDS}:
        return None
    return tuple(selection.items())


def switches_block(report: Any, tag: str, currency: str) -> dict[str, str | None]:
    """Identical rows, cancelled orders, non-product lines: the loader's defaults, flippable."""
    out: dict[str, str | None] = {}
    st.markdown(f"**{t('da_switches', lang)}**")
    identical = report.identical_rows if report is not None else {}
    policy = identical.get("policy", "drop")
    cols = st.columns(3)
    with cols[0]:
        chosen = st.radio(
            t("da_identical", lang), options=["drop", "keep"], index=["drop", "keep"].index(policy),
            key=widgets.relabel(f"dup_{tag}", lang), format_func=lambda o: t(f"da_identical_{o}", lang),
        )
        if identical:
            st.caption(t(f"da_identical_rule_{identical.get('reason', 'order_id')}", lang,
                         rows=fmt_int(identical.get("rows", 0)), money=money(identical.get("money", 0.0), currency)))
        out["duplicates"] = None if chosen == policy else chosen
    statuses = report.statuses if report is not None else {}
    with cols[1]:
        out["cancelled"] = st.radio(
            t("da_cancelled", lang), options=["drop", "keep"], key=widgets.relabel(f"cancel_{tag}", lang),
            format_func=lambda o: t(f"da_cancelled_{o}", lang), disabled=not statuses.get("rows"),
        )
        if statuses and not statuses.get("rows"):
            st.caption(t("da_statuses_clean", lang, column=layout.md_escape(statuses.get("column", ""))))
        elif statuses:
            found = ", ".join(f"{k} ({fmt_int(v)})" for k, v in sorted(statuses.get("values", {}).items(), key=lambda kv: (-kv[1], str(kv[0]))))
            st.caption(t("da_statuses_found", lang, column=layout.md_escape(statuses.get("column", "")),
                         values=layout.md_escape(found)))
        elif report is not None and report.returns:
            # Online Retail's "C" invoices: no status column, but the cancellations are there.
            st.caption(t("da_statuses_none_returns", lang, rows=fmt_int(report.returns)))
        else:
            st.caption(t("da_statuses_none", lang))
    lines = report.non_product_lines if report is not None else {}
    with cols[2]:
        out["non_product"] = st.radio(
            t("da_non_product", lang), options=["keep", "drop"], key=widgets.relabel(f"fees_{tag}", lang),
            format_func=lambda o: t(f"da_non_product_{o}", lang), disabled=not lines.get("rows"),
        )
        if lines and not lines.get("rows"):
            st.caption(t("da_non_product_clean", lang, column=layout.md_escape(lines.get("column", ""))))
        elif lines:
            found = ", ".join(f"{k} ({fmt_int(v)})" for k, v in sorted(lines.get("codes", {}).items(), key=lambda kv: (-kv[1], str(kv[0]))))
            st.caption(t("da_non_product_found", lang, column=layout.md_escape(lines.get("column", "")),
                         values=layout.md_escape(found), money=money(lines.get("money", 0.0), currency)))
        else:
            st.caption(t("da_non_product_none", lang))
    return out


def report_block(tx: Any, report: Any, tag: str, currency: str) -> None:
    """Rows and money read, kept and dropped (read = kept + dropped), per reason, per file."""
    st.markdown(f"**{t('da_report', lang)}**")
    numbers = datasets.balance(report)
    m = st.columns(3)
    m[0].metric(t("da_rows_read", lang), fmt_int(numbers["rows_read"]), border=True)
    m[1].metric(t("da_rows_kept", lang), fmt_int(numbers["rows_kept"]), border=True)
    m[2].metric(t("da_rows_dropped", lang), fmt_int(numbers["rows_dropped"]), border=True)
    m = st.columns(3)
    m[0].metric(t("da_money_read", lang), money(numbers["money_read"], currency), border=True)
    m[1].metric(t("da_money_kept", lang), money(numbers["money_kept"], currency), border=True)
    m[2].metric(t("da_money_dropped", lang), money(numbers["money_dropped"], currency), border=True)
    st.caption(t("da_balance", lang, read=fmt_int(numbers["rows_read"]), kept=fmt_int(numbers["rows_kept"]),
                 dropped=fmt_int(numbers["rows_dropped"]), money_read=money(numbers["money_read"], currency),
                 money_kept=money(numbers["money_kept"], currency), money_dropped=money(numbers["money_dropped"], currency)))
    lines = report.summary_lines(lang, money=lambda v: money(v, currency))
    st.markdown("\n".join(f"- {layout.md_escape(line)}" for line in lines))
    dropped = datasets.dropped_table(report, lang)
    if dropped.height:
        # Static, like the column choices: on a phone the reasons wrap and rows and money stay
        # in view (a data grid showed only the first column there).
        st.table({
            t("da_dropped_reason", lang): [layout.md_escape(r) for r in dropped["reason"]],
            t("da_dropped_count", lang): [fmt_int(n) for n in dropped["rows"]],
            t("da_dropped_money", lang): [layout.md_escape(money(v, currency)) for v in dropped["money"]],
            t("da_dropped_examples", lang): [layout.md_escape(e) for e in dropped["examples"]],
        }, hide_index=True, border="horizontal")
    if report.returns_only_customers:
        st.info(t("da_returns_only_one" if report.returns_only_customers == 1 else "da_returns_only", lang, customers=fmt_int(report.returns_only_customers),
                  money=money(report.returns_only_money, currency)), icon=":material/undo:")
    if report.parts:
        st.markdown(f"**{t('da_parts', lang)}**")
        st.dataframe(datasets.counts_table(dict(report.parts), "table"), hide_index=True, key=f"parts_{tag}",
                     column_config={"table": t("da_table", lang), "rows": t("da_dropped_count", lang)})
    if report.joins:
        st.markdown(f"**{t('da_joins', lang)}**")
        st.dataframe(datasets.joins_table(report), hide_index=True, width="stretch", key=f"joins_{tag}",
                     column_config={"table": t("da_table", lang), "on": t("da_join_on", lang),
                                    "rows_before": t("da_rows_before", lang), "rows_after": t("da_rows_after", lang),
                                    "rows_matched": t("da_rows_matched", lang)})
    with st.expander(t("da_result_preview", lang)):
        st.dataframe(tx.head(20), width="stretch", key=f"result_{tag}",
                     column_config=preview_money_config(currency))


def load_block() -> None:
    """Upload or pick files, list their tables, combine, map, switch, check, save."""
    st.subheader(t("da_upload", lang))
    source = choose_source()
    if source is None:
        return
    key, data, name, raw = source
    tag = hashlib.sha1(repr(key).encode()).hexdigest()[:10]
    status = st.status(t("da_stage_reading", lang), expanded=False)
    try:
        status.write(t("da_stage_reading", lang))
        tables = cache.source_tables(key, data)
    except DataError as exc:
        status.update(label=t("da_stage_failed", lang), state="error")
        load_error(exc)
        return
    if customer_load.choose_kind(tables, tag, lang) == "customers":
        status.update(label=t("da_stage_done_tables", lang, n=len(tables)), state="complete")
        customer_load.customer_block(key, data, tables, name, raw, tag, lang, view)
        return
    base = combine_block(tables, tag)
    order_key = f"date_order_{tag}"
    first = replace(base, date_order=st.session_state.get(order_key))
    try:
        status.write(t("da_stage_parsing", lang))
        tx, report = cache.load_source(key, first, data)
        error: DataError | None = None
    except AmbiguousDatesError as exc:
        status.update(label=t("da_stage_question", lang), state="error")
        st.warning(
            t("da_dates_ambiguous", lang, column=layout.md_escape(exc.column),
              examples=layout.md_escape(", ".join(exc.examples[:3]))),
            icon=":material/calendar_month:",
        )
        st.radio(
            t("da_date_order", lang), options=["dmy", "mdy"], index=None, key=widgets.relabel(order_key, lang),
            label_visibility="collapsed", format_func=lambda o: t(f"da_{o}", lang),
        )
        return
    except DataError as exc:
        tx = report = None
        error = exc
    final = first
    if first.combine == "join" or (report is not None and report.joins):
        final = replace(final, join_keys=join_keys_block(tables, report, tag))
    currency = load_currency(key, report.currency if report is not None else None)
    final = replace(final, mapping=mapping_block(tables, base, report, key, data, tag),
                    **switches_block(report, tag, currency))
    if final != first:
        try:
            tx, report = cache.load_source(key, final, data)
            error = None
        except DataError as exc:
            error = exc
    if error is not None or tx is None:
        status.update(label=t("da_stage_failed", lang), state="error")
        load_error(error)
        return
    status.write(t("da_stage_checking", lang))
    status.update(label=t("da_stage_done", lang, rows=fmt_int(report.rows_kept), customers=fmt_int(report.customers)),
                  state="complete")
    report_block(tx, report, tag, load_currency(key, report.currency))
    layout.save_controls(
        lambda dataset: datasets.save_dataset(tx, name=name, report=report, raw=raw, dataset=dataset),
        name=name, tag=tag, checked=(key, final), lang=lang,
    )


load_block()

if "_saved_name" in st.session_state:
    st.success(t("da_saved", lang, name=layout.md_escape(st.session_state.pop("_saved_name"))),
               icon=":material/check_circle:")


# ---- named data sets: versions, restore, a link that always shows the newest


def named_block() -> None:
    named = cache.named_datasets()
    if named.height == 0:
        return
    st.subheader(t("da_named", lang))
    st.caption(t("da_named_caption", lang))
    for row in named.iter_rows(named=True):
        name = row["dataset"]
        ref = NAME_PREFIX + name
        with st.container(border=True):
            head = st.container(horizontal=True, vertical_alignment="center")
            head.markdown(f"**{layout.md_escape(name)}** · " + t("da_versions_count", lang, n=row["versions"]),
                          width="stretch")
            if view.dataset_ref == ref:
                head.badge(t("da_following", lang), color="green")
            else:
                head.button(t("da_open_newest", lang), key=f"newest_{row['id']}_{name}",
                            on_click=session.open_dataset, args=(ref,))
            st.caption(t("da_link_newest", lang))
            st.code(f"?dataset={quote(ref, safe=':')}", language=None)
            for version in cache.dataset_versions(name).iter_rows(named=True):
                line = st.container(horizontal=True, vertical_alignment="center")
                line.markdown(t("da_version_line", lang, version=version["version"], rows=fmt_int(version["rows"]),
                                customers=fmt_int(version["customers"]), first=fmt_date(version["first_date"], lang),
                                last=fmt_date(version["last_date"], lang),
                                added=version["added_at"].strftime("%Y-%m-%d %H:%M")), width="stretch")
                if version["current"]:
                    line.badge(t("da_version_current", lang), color="blue")
                else:
                    line.button(t("da_restore", lang), key=f"restore_{name}_{version['version']}",
                                icon=":material/history:", on_click=datasets.restore_version,
                                args=(name, version["id"]))


named_block()


# ---- saved data sets
st.subheader(t("da_saved_list", lang))
saved = cache.saved_datasets()
if saved.height == 0:
    st.caption(t("da_saved_empty", lang))
for row in saved.iter_rows(named=True):
    with st.container(border=True, horizontal=True, vertical_alignment="center"):
        if row["kind"] == "customers":
            line = t("da_customers_line", lang, customers=fmt_int(row["customers"]),
                     n=fmt_int(len(cache.as_of_dates(row["id"]))), first=fmt_date(row["first_date"], lang),
                     last=fmt_date(row["last_date"], lang))
        else:
            line = t("da_rows_customers", lang, rows=fmt_int(row["rows"]), customers=fmt_int(row["customers"]),
                     first=fmt_date(row["first_date"], lang), last=fmt_date(row["last_date"], lang))
        st.markdown(f"**{layout.md_escape(row['name'])}**  \n" + line, width="stretch")
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
