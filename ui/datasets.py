"""Data sets on the Data page: saving, opening, deleting and restoring them, what a load read
(tables, column choices, drops with their money), and the server folder of large files."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from segmentation import columns as C
from segmentation.combine import suggest_join_keys
from segmentation.customers import reason_text as customer_reason_text
from segmentation.customers import stored_report
from segmentation.errors import DataError
from segmentation.ingest import example_place, reason_text
from ui import cache, session
from ui.settings import DEMO_ID

__all__ = [
    "DATA_DIR_ENV",
    "DEMO_ID",
    "balance",
    "choices_table",
    "counts_table",
    "customer_dropped_table",
    "delete_dataset",
    "dropped_table",
    "joins_table",
    "newest_spend",
    "report_currency",
    "restore_version",
    "save_customers",
    "save_dataset",
    "server_files",
    "server_folder",
    "server_key",
    "server_source",
    "set_currency",
    "source_name",
    "suggested_keys",
    "table_groups",
    "tables_table",
]


def save_dataset(tx: pl.DataFrame, *, name: str, report: Any, raw: bytes | None, dataset: str | None = None,
                 currency: str | None = None) -> str:
    """Store a loaded data set and make it the current one; returns its id.

    ``dataset``: a stable name; the saved data becomes its newest version (links to
    ``name:<dataset>`` show it). ``currency``: the amounts' currency when the user chose one
    (None keeps what is saved, else what the loader found).
    """
    dataset_id = cache.store().save(tx, name=name, report=report.to_dict() if hasattr(report, "to_dict") else report,
                                    raw=raw, dataset=dataset or None, currency=currency)
    cache.forget_datasets()
    session.open_dataset(dataset_id)
    return dataset_id


def set_currency(dataset_id: str, currency: str) -> None:
    """Save the currency of a stored data set's amounts: every view of it (and every link to it
    that names no currency) shows money in it, whatever the reader's language."""
    cache.store().set_currency(dataset_id, currency)
    cache.forget_datasets()


def newest_spend(tables: pl.DataFrame) -> float:
    """The customers' total spend in the newest customer table (tables of several dates are
    not added up: each already sums every purchase up to its date)."""
    if "as_of" in tables.columns:
        tables = tables.filter(pl.col("as_of") == pl.col("as_of").max())
    return float(tables[C.MONETARY].sum())


def report_currency(detected: str | None, *, saved_id: str | None, view: Any) -> str:
    """The currency of a load report's money: once the load is saved and in view, the data
    set's (what every page shows, a choice in the picker included); before that, the one the
    loader found in the amounts ("USD ($)" -> "USD"), or "NONE" for plain numbers."""
    if saved_id is not None and saved_id == view.dataset:
        return str(view.currency)
    code = str(detected or "").split(" ")[0].upper()
    return code if len(code) == 3 and code.isalpha() and code.isascii() else "NONE"


def save_customers(tables: pl.DataFrame, *, name: str, reports: Sequence[Any], raw: bytes | None,
                   dataset: str | None = None) -> str:
    """Store customer tables (one per date, an ``as_of`` column) as a customer-level data set
    and make it the current one; returns its id. The newest table's report is kept, with
    every table's report beside it."""
    report = stored_report(reports)
    dataset_id = cache.store().save_customers(tables, name=name, report=report, raw=raw, dataset=dataset or None)
    cache.forget_datasets()
    session.open_dataset(dataset_id)
    return dataset_id


def delete_dataset(dataset_id: str) -> None:
    """Remove a stored data set; the view falls back to the demo when it was the current one."""
    cache.store().delete(dataset_id)
    cache.forget_datasets()
    if session.current_settings().dataset == dataset_id:
        session.open_dataset(DEMO_ID)


def restore_version(name: str, dataset_id: str) -> None:
    """Make an earlier version of a named data set its current one (links to the name follow)."""
    cache.store().restore(name, dataset_id)
    cache.forget_datasets()


# --------------------------------------------------------------------------------- what was read


def table_groups(tables: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Tables with the same column names, in the order found (the loader appends each group).

    Example:
        >>> table_groups([{"table": "a", "columns": ["x", "y"]}, {"table": "b", "columns": ["y", "x"]},
        ...               {"table": "c", "columns": ["z"]}])
        [['a', 'b'], ['c']]
    """
    groups: dict[frozenset[str], list[str]] = {}
    for table in tables:
        groups.setdefault(frozenset(table["columns"]), []).append(table["table"])
    return list(groups.values())


def suggested_keys(tables: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Per table (the first of each same-column group), the id-like columns it shares with the
    others: the join keys to offer before the loader has joined anything."""
    first = {group[0] for group in table_groups(tables)}
    frames = {t["table"]: pl.DataFrame(schema=dict.fromkeys(t["columns"], pl.String))
              for t in tables if t["table"] in first}
    out: dict[str, list[str]] = {name: [] for name in frames}
    for (a, b), keys in suggest_join_keys(frames).items():
        for name in (a, b):
            out[name] += [k for k in keys if k not in out[name]]
    return out


def _examples(examples: Sequence[Mapping[str, Any]], lang: str) -> str:
    """Example rows as a list: bare row numbers, or with their sheet or file when several were read."""
    return ", ".join(example_place(e, lang) if e.get("table") else str(e.get("row", "")) for e in examples)


def dropped_table(report: Any, lang: str) -> pl.DataFrame:
    """Dropped rows and their money per reason, with example row numbers (reason text from the
    loader), in the loader's order of reasons.

    Columns: reason, rows (Int64), money (Float64), examples (String).
    """
    rows = []
    money = getattr(report, "dropped_money", {}) or {}
    for reason, n in report.dropped.items():
        if not n:
            continue
        examples = report.examples.get(reason, ())
        rows.append((reason_text(reason, lang), int(n), float(money.get(reason, 0.0)),
                     _examples(examples, lang)))
    return pl.DataFrame(rows, schema={"reason": pl.String, "rows": pl.Int64, "money": pl.Float64, "examples": pl.String},
                        orient="row")


def customer_dropped_table(reports: Sequence[Any], lang: str) -> pl.DataFrame:
    """Rows dropped from customer files per table and reason, with example row numbers.

    Columns: table (the table's date), reason, rows (Int64), examples (String).
    """
    rows = []
    for report in reports:
        for reason, n in report.dropped.items():
            if n:
                examples = report.examples.get(reason, ())
                rows.append((report.as_of, customer_reason_text(reason, lang), int(n),
                             _examples(examples, lang)))
    return pl.DataFrame(rows, schema={"table": pl.String, "reason": pl.String, "rows": pl.Int64, "examples": pl.String},
                        orient="row")


def balance(report: Any) -> dict[str, float]:
    """Rows and money read, kept and dropped, from the report's own parts (so the page can show
    that read = kept + dropped)."""
    dropped_rows = sum(int(n) for n in report.dropped.values())
    dropped_money = math.fsum(float(v) for v in (report.dropped_money or {}).values())
    return {
        "rows_read": report.rows_read, "rows_kept": report.rows_kept, "rows_dropped": dropped_rows,
        "money_read": report.money_read, "money_kept": report.money_kept, "money_dropped": dropped_money,
    }


def source_name(file_names: Sequence[str]) -> str:
    """The default name of a data set loaded from these files: the file's own name, or the
    name several files share (Olist's three files are "olist"), else the first and a count.

    Example:
        >>> source_name(["olist_orders.csv", "olist_order_payments.csv", "olist_customers.csv"])
        'olist'
        >>> source_name(["monthly_2024_01.csv", "monthly_2024_02.csv"]), source_name(["a.csv", "b.csv"])
        ('monthly_2024', 'a + 1')
    """
    stems = [Path(n).stem for n in file_names]
    if len(stems) == 1:
        return stems[0]
    shared = os.path.commonprefix(stems)  # noqa: RUF071 - a shared start of names, not a path
    # Cut back to a whole word: "monthly_2024_0" -> "monthly_2024".
    if shared not in stems:
        shared = re.sub(r"[^\s_.\-]*$", "", shared)
    shared = shared.strip(" _.-")
    return shared if len(shared) >= 3 else f"{stems[0]} + {len(stems) - 1}"


def choices_table(report: Any, lang: str, *, labels: Mapping[str, str] | None = None) -> pl.DataFrame:
    """Per role, the column the loader chose, why (in ``lang``) and the runner-up.

    ``labels`` names the roles on screen. Columns: role, column, why, runner_up (String).
    """
    rows = []
    for role, choice in report.column_choices.items():
        why = choice.get("why_zh" if lang == "zh" else "why") or choice.get("why") or ""
        rows.append(((labels or {}).get(role, role), str(choice.get("column") or ""), str(why), str(choice.get("runner_up") or "")))
    if getattr(report, "amount_source", "column") == "quantity_x_unit_price":
        # No amount column: the amount is a product, so it has a row of its own here (the
        # amount picker rightly shows none).
        qty, price = (str(report.column_choices.get(f, {}).get("column") or f) for f in ("quantity", "unit_price"))
        why = (f"没有金额列，每行金额按“{qty}”×“{price}”计算。" if lang == "zh"
               else f"The file has no amount column, so each row's amount is “{qty}” × “{price}”.")
        rows.append(((labels or {}).get("amount", "amount"), f"{qty} × {price}", why, ""))
    return pl.DataFrame(rows, schema={"role": pl.String, "column": pl.String, "why": pl.String, "runner_up": pl.String},
                        orient="row")


def counts_table(counts: Mapping[str, Any], label: str) -> pl.DataFrame:
    """``{value: rows}`` from the report (statuses, fee codes, rows per file) as a two-column table."""
    return pl.DataFrame([(str(k), int(v)) for k, v in counts.items()], schema={label: pl.String, "rows": pl.Int64},
                        orient="row")


def tables_table(tables: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """The tables found (from ``list_tables``): table, rows, columns (count), names (the first
    eight headers), transactions and header (Boolean)."""
    rows = [(tb["table"], int(tb["rows"]), len(tb["columns"]),
             ", ".join(str(c) for c in tb["columns"][:8]) + (", …" if len(tb["columns"]) > 8 else ""),
             bool(tb["transactions"]), bool(tb["has_header"])) for tb in tables]
    return pl.DataFrame(rows, schema={"table": pl.String, "rows": pl.Int64, "columns": pl.Int64, "names": pl.String,
                                      "transactions": pl.Boolean, "header": pl.Boolean}, orient="row")


def joins_table(report: Any) -> pl.DataFrame:
    """One row per joined table: table, on (String), rows_before, rows_after, rows_matched."""
    rows = [(j["table"], ", ".join(j["on"]), j["rows_before"], j["rows_after"], j["rows_matched"]) for j in report.joins]
    return pl.DataFrame(rows, schema={"table": pl.String, "on": pl.String, "rows_before": pl.Int64,
                                      "rows_after": pl.Int64, "rows_matched": pl.Int64}, orient="row")


# --------------------------------------------------------------------------------- server folder

DATA_DIR_ENV = "TIERLENS_DATA_DIR"
SERVER_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet", ".zip")
MAX_SERVER_FILES = 500


def server_folder() -> Path | None:
    """The folder named by ``TIERLENS_DATA_DIR`` (resolved), or None when it is not set."""
    raw = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(raw).resolve() if raw else None


def _inside(folder: Path, path: Path) -> bool:
    # Resolving follows every symlink and "..", so a link pointing out of the folder is outside.
    try:
        return path.resolve().is_relative_to(folder)
    except OSError:
        return False


def server_files(folder: Path) -> list[dict[str, Any]]:
    """The files a user may load from the server folder, sorted by name.

    Lists CSV/TSV/TXT, Excel, Parquet and ZIP files, and folders of Parquet files (one entry
    each, as Spark and DuckDB write them), at any depth; symlinks that lead out of the folder
    are left out. Returns dicts with name (path relative to the folder, "/"-separated),
    kind ("file" or "parquet_folder") and bytes; at most MAX_SERVER_FILES.
    """
    out: list[dict[str, Any]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        parts = [f for f in filenames if f.lower().endswith(".parquet") and _inside(folder, here / f)]
        if here != folder and parts:
            out.append({"name": here.relative_to(folder).as_posix(), "kind": "parquet_folder",
                        "bytes": sum((here / f).stat().st_size for f in parts)})
        for f in sorted(filenames):
            path = here / f
            if f.startswith(".") or not f.lower().endswith(SERVER_SUFFIXES) or not _inside(folder, path):
                continue
            if here != folder and f in parts:
                continue
            out.append({"name": path.relative_to(folder).as_posix(), "kind": "file", "bytes": path.stat().st_size})
        if len(out) >= MAX_SERVER_FILES:
            break
    return sorted(out, key=lambda e: e["name"])[:MAX_SERVER_FILES]


def server_source(folder: Path, name: str) -> list[Path]:
    """The file(s) behind a name from :func:`server_files`: one file, or a Parquet folder's parts.

    Raises:
        DataError: the name leads outside the server folder (``..``, an absolute path, a
            symlink), or to nothing readable.
    """
    target = folder / name
    if not _inside(folder, target):
        raise DataError(f"“{name}” is outside the server's data folder, so it cannot be read. "
                        "Pick one of the files listed.", code="server_outside", params={"name": name})
    target = target.resolve()
    if target.is_dir():
        parts = sorted(p for p in target.glob("*.parquet") if _inside(folder, p) and p.is_file())
        if not parts:
            raise DataError(f"The folder “{name}” holds no Parquet files. Pick one of the files listed.",
                            code="server_no_parquet", params={"name": name})
        return parts
    if not target.is_file() or not target.name.lower().endswith(SERVER_SUFFIXES):
        raise DataError(f"There is no readable file called “{name}” in the server's data folder. "
                        "Pick one of the files listed.", code="server_no_file", params={"name": name})
    return [target]


def server_key(paths: Sequence[Path]) -> tuple[tuple[Any, ...], ...]:
    """The cache key of server files: path, modification time and size, so a file replaced in
    place is read again."""
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
