"""The data set store: immutable Parquet files under a content-hash id and a small JSON catalog.

This module is the store's only door to the file system. The store runs no SQL: data sets are
Parquet files that Polars reads directly, and the catalog is plain JSON, so nothing a user typed
(data set names, column names, cell values) can become a statement or a path. The one SQL here
is :func:`customer_table_sql`, the DuckDB engine of ``rfm_table``: fixed text with ``$n``
parameters on a throw-away in-memory connection, kept in this module because it is the core's
only door to DuckDB.

Layout
------
``TIERLENS_DB`` names the store's folder (default ``data/store`` in the project root):

- ``raw/<id>.parquet``: the canonical frame of a data set (its name and report also in the
  Parquet metadata), written once and never changed; ``raw/<id>.upload``: the original upload
  bytes when given.
- A data set has a kind: ``"transactions"`` (one row per order line, the usual case) or
  ``"customers"`` (one row per customer and as-of date: a CRM export or a warehouse's customer
  tables, see :meth:`Store.save_customers`). Catalog entries written before kinds existed are
  transactions.
- ``catalog/<id>.json``: one small entry per data set (name, created_at, row and customer
  counts, date span, column types, report). A data set is visible exactly when its entry and
  its Parquet file both exist.
- ``names/<key>.json``: one file per named data set (``refresh ... --dataset sales``): its name
  and the history of versions (ids), the newest last. ``key`` is a hash of the name, so any
  name, Chinese or with slashes, is a safe file name.
- ``store.json``: the store's format version; ``.lock``: the writers' lock file.

Coexistence
-----------
Any number of processes may use one store at once (the app serving links while a scheduled
``tierlens refresh`` imports a file). Every file is written under a temporary name, fsynced and
renamed into place (``os.replace``), so a reader sees a whole file or none. A save writes the
Parquet file first and the catalog entry after it; a named refresh then moves the name to the
new id. Writers hold an OS file lock (``flock`` on ``.lock``) only for the catalog step, a few
milliseconds; readers take no lock at all. A writer killed at any point leaves every earlier
data set intact and no half data set visible: at worst a finished Parquet file without an entry
(:meth:`Store.rebuild_from_raw` turns it into a data set) or a temporary file, removed when a
store is next opened once its writer is gone.

Identity
--------
A data set id is the first 32 hex digits (128 bits) of the SHA-256 of a canonical text form of
the transactions frame: a header with the column names and types, then the rows as CSV in their
given order (row order is part of the content; the upload bytes, name and report are not).
Saving the same frame twice is therefore a no-op returning the same id, whatever it is called.
The text form depends on Polars' CSV writer; should that change between versions, identical
data would at worst be stored a second time, never mistaken for different data.

Named data sets
---------------
A link may point at ``name:sales`` instead of an id; :meth:`Store.resolve` turns it into the
newest version's id. Earlier versions stay listed (:meth:`Store.versions`) and one of them can
be made current again (:meth:`Store.restore`), which adds it to the history as a new version.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from . import columns as C
from .coding import ORDER_HASH_SEED, coded_transactions
from .errors import DataError

__all__ = [
    "AS_OF",
    "CUSTOMERS",
    "DB_ENV",
    "KINDS",
    "NAME_PREFIX",
    "TRANSACTIONS",
    "Store",
    "content_id",
    "customer_table_sql",
    "customers_content_id",
    "default_db_path",
    "get_store",
]

DB_ENV = "TIERLENS_DB"
NAME_PREFIX = "name:"
FORMAT_VERSION = 2
_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_TMP_RE = re.compile(r"^\..+\.(\d+)\.[^.]+\.tmp$")
_CANONICAL = (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT, C.ORDER_ID)
_HASH_HEADER = b"tierlens-transactions-v1\n"
TRANSACTIONS, CUSTOMERS = "transactions", "customers"
KINDS = (TRANSACTIONS, CUSTOMERS)
# The as-of date of each customer table in a customer-level data set.
AS_OF = "as_of"
_CUSTOMER_CANONICAL: dict[str, pl.DataType] = {
    AS_OF: pl.Date(),
    C.CUSTOMER_ID: pl.String(),
    C.RECENCY: pl.Int64(),
    C.FREQUENCY: pl.Int64(),
    C.MONETARY: pl.Float64(),
    C.FIRST_PURCHASE: pl.Date(),
    C.LAST_PURCHASE: pl.Date(),
    C.TENURE: pl.Int64(),
    C.AOV: pl.Float64(),
}
_CUSTOMERS_HASH_HEADER = b"tierlens-customers-v1\n"
_META_PREFIX = "tierlens."
_MAX_NAME = 200

_LIST_SCHEMA = {
    "id": pl.String,
    "name": pl.String,
    "created_at": pl.Datetime("us", "UTC"),
    "rows": pl.Int64,
    "customers": pl.Int64,
    "first_date": pl.Date,
    "last_date": pl.Date,
    "kind": pl.String,
}
_VERSIONS_SCHEMA = {
    "version": pl.Int64,
    "id": pl.String,
    "added_at": pl.Datetime("us", "UTC"),
    "current": pl.Boolean,
    "restored": pl.Boolean,
    "rows": pl.Int64,
    "customers": pl.Int64,
    "first_date": pl.Date,
    "last_date": pl.Date,
    "kind": pl.String,
}
_DATASETS_SCHEMA = {
    "dataset": pl.String,
    "id": pl.String,
    "versions": pl.Int64,
    "updated_at": pl.Datetime("us", "UTC"),
}

# A save calls this at named points; the crash tests set it to stop a save where they want.
# Never set outside tests.
_stage_hook: Callable[[str], None] | None = None


def _stage(name: str) -> None:
    if _stage_hook is not None:
        _stage_hook(name)


# --------------------------------------------------------------------------------------------
# Paths


def default_db_path() -> Path:
    """The store's folder: env ``TIERLENS_DB``, else ``data/store`` in the project root.

    The default is resolved from the package location, not the working directory, so the app
    and the command line find the same store however they are started.
    """
    env = os.environ.get(DB_ENV, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parent.parent / "data" / "store"


# --------------------------------------------------------------------------------------------
# Column types: a small vocabulary that survives JSON, Parquet metadata and Polars upgrades

_SIMPLE_TYPES: dict[str, pl.DataType] = {
    "String": pl.String(),
    "Boolean": pl.Boolean(),
    "Int8": pl.Int8(),
    "Int16": pl.Int16(),
    "Int32": pl.Int32(),
    "Int64": pl.Int64(),
    "UInt8": pl.UInt8(),
    "UInt16": pl.UInt16(),
    "UInt32": pl.UInt32(),
    "UInt64": pl.UInt64(),
    "Float32": pl.Float32(),
    "Float64": pl.Float64(),
    "Date": pl.Date(),
    "Categorical": pl.Categorical(),
}
_TOKEN_RE = re.compile(r"^(Datetime|Decimal)\[([^,\]]+)(?:,([^\]]+))?\]$")


def _dtype_token(dtype: pl.DataType) -> str | None:
    """A stable name for a supported dtype, or None when it is stored as text."""
    if isinstance(dtype, pl.Datetime):
        tz = dtype.time_zone
        return f"Datetime[{dtype.time_unit}]" if tz is None else f"Datetime[{dtype.time_unit},{tz}]"
    if isinstance(dtype, pl.Decimal):
        return f"Decimal[{dtype.precision},{dtype.scale}]"
    for token, simple in _SIMPLE_TYPES.items():
        if dtype == simple:
            return token
    return None


def _dtype_from_token(token: str) -> pl.DataType:
    if token in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[token]
    match = _TOKEN_RE.match(token)
    if match and match.group(1) == "Datetime":
        return pl.Datetime(match.group(2), match.group(3))  # type: ignore[arg-type]
    if match and match.group(1) == "Decimal":
        return pl.Decimal(int(match.group(2)), int(match.group(3) or 0))
    return pl.String()


# --------------------------------------------------------------------------------------------
# Canonical frame and content id


def _canonical(tx: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The frame as the store keeps it: canonical columns first, supported dtypes only."""
    frame = tx.collect() if isinstance(tx, pl.LazyFrame) else tx
    if not isinstance(frame, pl.DataFrame):
        raise DataError("Only a table of transactions can be saved.")
    missing = [name for name in _CANONICAL if name not in frame.columns]
    if missing:
        raise DataError(
            "The table cannot be saved because it lacks the column(s) "
            + ", ".join(missing)
            + ". Load the file with load_transactions first."
        )
    if not isinstance(frame.schema[C.ORDER_DATE], pl.Date | pl.Datetime):
        raise DataError("The order_date column must hold dates before the table can be saved.")
    try:
        core = [
            pl.col(C.CUSTOMER_ID).cast(pl.String),
            pl.col(C.ORDER_DATE),
            pl.col(C.AMOUNT).cast(pl.Float64),
            pl.col(C.ORDER_ID).cast(pl.String),
        ]
        extras = [
            pl.col(name) if _dtype_token(dtype) else _as_text(name, dtype)
            for name, dtype in frame.schema.items()
            if name not in _CANONICAL
        ]
        return frame.select(*core, *extras)
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"The table cannot be saved: {exc}") from exc


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """Types outside the small vocabulary (lists, durations, ...) are kept as text."""
    if dtype.is_nested():
        # Polars cannot cast nested values to text; their JSON form is the faithful one.
        as_json = (
            pl.struct(pl.col(name).alias("v"))
            .struct.json_encode()
            .str.strip_prefix('{"v":')
            .str.strip_suffix("}")
        )
        return pl.when(pl.col(name).is_null()).then(None).otherwise(as_json).alias(name)
    if isinstance(dtype, pl.Duration):
        return pl.col(name).dt.to_string("iso")
    return pl.col(name).cast(pl.String)


def _columns_spec(frame: pl.DataFrame) -> list[list[str]]:
    return [[name, _dtype_token(dtype) or "String"] for name, dtype in frame.schema.items()]


class _Sha256Writer:
    """File-like sink so Polars streams its CSV straight into the hash, never into memory."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()

    def write(self, data: bytes | str) -> int:
        chunk = data.encode() if isinstance(data, str) else data
        self.hash.update(chunk)
        return len(chunk)

    def flush(self) -> None:
        pass


# zstd at level 1: ~25% faster to write than Polars' default level on 10M rows, and no
# larger for these columns (149 MB -> 145 MB).
_PARQUET: dict[str, Any] = {"compression": "zstd", "compression_level": 1}


def _hash_canonical(frame: pl.DataFrame, header: bytes = _HASH_HEADER) -> str:
    sink = _Sha256Writer()
    sink.write(header)
    sink.write(json.dumps(_columns_spec(frame), ensure_ascii=False).encode() + b"\n")
    # Quoting every non-numeric value tells an empty text ("") from a missing one (nothing).
    frame.write_csv(sink, include_header=False, quote_style="non_numeric")  # type: ignore[arg-type]
    return sink.hash.hexdigest()[:32]


def content_id(tx: pl.DataFrame | pl.LazyFrame) -> str:
    """The id a transactions frame gets in the store (32 hex digits of its SHA-256).

    Parameters
    ----------
    tx : transactions frame (eager or lazy) with at least customer_id, order_date, amount and
        order_id; further columns are extras and count as content too.

    Raises
    ------
    DataError : the frame lacks a canonical column or order_date is not a date.

    Example
    -------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({"customer_id": ["A"], "order_date": [dt.date(2024, 1, 2)],
    ...                    "amount": [9.5], "order_id": ["1"]})
    >>> len(content_id(tx))
    32
    """
    return _hash_canonical(_canonical(tx))


def _canonical_customers(tables: pl.DataFrame | pl.LazyFrame, as_of: Any = None) -> pl.DataFrame:
    """Customer tables as the store keeps them: ``as_of`` and the customer table's columns
    first (fixed types), extras after, rows sorted by as_of then customer_id."""
    import datetime as dt

    frame = tables.collect() if isinstance(tables, pl.LazyFrame) else tables
    if not isinstance(frame, pl.DataFrame):
        raise DataError("Only a table of customers can be saved as a customer-level data set.")
    if AS_OF not in frame.columns:
        if as_of is None:
            raise DataError("A customer table needs the date it describes (as_of) before it can be saved.",
                            code="store_cust_no_date")
        day = as_of.date() if isinstance(as_of, dt.datetime) else as_of
        day = dt.date.fromisoformat(day) if isinstance(day, str) else day
        frame = frame.with_columns(pl.lit(day, pl.Date).alias(AS_OF))
    needed = (C.CUSTOMER_ID, C.RECENCY, C.FREQUENCY, C.MONETARY)
    missing = [name for name in needed if name not in frame.columns]
    if missing:
        raise DataError(
            "The customer table cannot be saved because it lacks the column(s) " + ", ".join(missing)
            + ". Load the file with load_customers first."
        )
    try:
        core = [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in _CUSTOMER_CANONICAL.items()
        ]
        extras = [
            pl.col(name) if _dtype_token(dtype) else _as_text(name, dtype)
            for name, dtype in frame.schema.items()
            if name not in _CUSTOMER_CANONICAL
        ]
        out = frame.select(*core, *extras).sort(AS_OF, C.CUSTOMER_ID, nulls_last=True, maintain_order=True)
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"The customer table cannot be saved: {exc}") from exc
    if out[AS_OF].null_count() or out[C.CUSTOMER_ID].null_count():
        raise DataError("Every customer row needs a customer id and the date its table describes (as_of).",
                        code="store_cust_blank")
    twice = out.filter(pl.struct(AS_OF, C.CUSTOMER_ID).is_duplicated())
    if twice.height:
        first = twice.row(0, named=True)
        raise DataError(
            f"The customer id “{first[C.CUSTOMER_ID]}” appears twice in the table of {first[AS_OF]}; "
            "a customer table holds one row per customer and date.",
            code="store_cust_twice", params={"id": str(first[C.CUSTOMER_ID])[:40], "date": str(first[AS_OF])},
        )
    return out


def customers_content_id(tables: pl.DataFrame | pl.LazyFrame, as_of: Any = None) -> str:
    """The id customer tables get in the store (32 hex digits of a SHA-256, never equal to a
    transactions id: the hashed text starts with a different header).

    Raises DataError as :meth:`Store.save_customers` does.
    """
    return _hash_canonical(_canonical_customers(tables, as_of), _CUSTOMERS_HASH_HEADER)


# --------------------------------------------------------------------------------------------
# Files


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsynced
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _atomic_write(path: Path, write: Callable[[Path], None], *, stage: str = "") -> None:
    """Write via a temp file in the same folder, fsync, then rename: readers never see half a file.

    The temp name carries the writer's pid, so a later open can tell a dead writer's leftover
    from a file another process is still writing.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        if stage:
            _stage(stage)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _write_json(path: Path, value: Any, *, stage: str = "") -> None:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1)
    _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), stage=stage)


def _read_json(path: Path) -> Any | None:
    """The file's JSON value, or None when the file is missing or not JSON (never half: see
    :func:`_atomic_write`; a hand-edited broken file is treated as missing)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_dead_temps(folder: Path) -> None:
    for stale in folder.glob(".*.tmp"):
        match = _TMP_RE.match(stale.name)
        if match is None or int(match.group(1)) == os.getpid() or _pid_alive(int(match.group(1))):
            continue
        stale.unlink(missing_ok=True)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def _from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _unknown(dataset_id: str) -> DataError:
    return DataError(
        f"That data set is not in the store (id {dataset_id!r}). "
        "It may have been deleted; upload the file again or pick another data set.",
        code="store_unknown_id", params={"id": str(dataset_id)[:40]},
    )


def _clean_name(name: Any, what: str = "data set") -> str:
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"Give the {what} a name before saving it.", code="store_name_missing")
    name = name.strip()
    if len(name) > _MAX_NAME or any(ord(ch) < 32 for ch in name):
        raise DataError(
            f"The {what} name {name[:40]!r} is too long or holds control characters; "
            f"use at most {_MAX_NAME} plain characters.",
            code="store_name_bad", params={"limit": _MAX_NAME},
        )
    return name


_CURRENCY_RE = re.compile(r"^[A-Z]{3,4}$")


def _clean_currency(currency: Any) -> str:
    """An ISO 4217 code ("USD"), or "NONE" for plain numbers; "" when none is given."""
    code = str(currency or "").strip().upper()
    if code and not _CURRENCY_RE.fullmatch(code):
        raise DataError(f"{str(currency)[:20]!r} is not a currency code; use a three-letter code such as CNY or USD.",
                        code="store_bad_currency", params={"currency": str(currency)[:20]})
    return code


def _detected_currency(report: Any) -> str:
    """The ISO code of the currency the loader found in the amounts ("CNY (¥)" -> "CNY"), or ""."""
    text = str(report.get("currency") or "") if isinstance(report, dict) else ""
    code = text.split(" ")[0].upper()
    return code if _CURRENCY_RE.fullmatch(code) else ""


def _kind(entry: dict[str, Any]) -> str:
    # Entries written before data sets had kinds hold transactions.
    kind = entry.get("kind") or TRANSACTIONS
    return kind if kind in KINDS else TRANSACTIONS


def _name_key(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]


# --------------------------------------------------------------------------------------------
# The store


class Store:
    """Data sets in one folder; see the module docstring for layout and guarantees.

    Open with :meth:`Store.open` (or :func:`get_store` for the process-wide instance). Methods
    may be called from any thread and from any number of processes at once.

    Example
    -------
    >>> import datetime as dt, tempfile
    >>> tx = pl.DataFrame({"customer_id": ["A"], "order_date": [dt.date(2024, 1, 2)],
    ...                    "amount": [9.5], "order_id": ["1"]})
    >>> folder = tempfile.TemporaryDirectory()
    >>> store = Store.open(folder.name)
    >>> dataset_id = store.save(tx, name="orders 2024", dataset="orders")
    >>> store.resolve("name:orders") == dataset_id and store.load(dataset_id).equals(tx)
    True
    >>> folder.cleanup()
    """

    def __init__(self, path: Path, raw_dir: Path) -> None:
        self.path = path
        self.raw_dir = raw_dir
        self.catalog_dir = path / "catalog"
        self.names_dir = path / "names"
        self._lock_path = path / ".lock"
        # flock locks belong to an open file; threads of one process also queue on this lock,
        # so a thread never waits on a lock its own process holds through another handle.
        self._thread_lock = threading.Lock()

    @classmethod
    def open(
        cls, path: str | os.PathLike[str] | None = None, *, raw_dir: str | os.PathLike[str] | None = None
    ) -> Store:
        """Open (creating if needed) the store in folder ``path`` (default: :func:`default_db_path`).

        ``raw_dir`` defaults to ``raw/`` inside the folder.

        Raises
        ------
        DataError : the path is a file, or the store was written by a newer Tierlens.
        """
        folder = Path(path).expanduser().resolve() if path is not None else default_db_path()
        if folder.exists() and not folder.is_dir():
            raise DataError(
                f"The Tierlens store at {folder} could not be opened: it is a file (older versions kept "
                f"a DuckDB file there), and {DB_ENV} now names a folder. Set it to a folder; the "
                "README's Storage section shows how to carry earlier data sets over.",
                code="store_unavailable", params={"folder": str(folder)},
            )
        raw = Path(raw_dir).expanduser().resolve() if raw_dir is not None else folder / "raw"
        try:
            for needed in (folder, raw, folder / "catalog", folder / "names"):
                needed.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(
                f"The Tierlens store at {folder} could not be opened ({exc.strerror}). "
                f"Set {DB_ENV} to a folder Tierlens may write to.",
                code="store_unavailable", params={"folder": str(folder)},
            ) from exc
        store = cls(folder, raw)
        store._check_format()
        for sub in (raw, store.catalog_dir, store.names_dir, folder):
            _remove_dead_temps(sub)
        return store

    def _check_format(self) -> None:
        marker = self.path / "store.json"
        found = _read_json(marker)
        if found is None:
            with self._write_lock():
                if _read_json(marker) is None:
                    _write_json(marker, {"format": FORMAT_VERSION})
            return
        version = found.get("format") if isinstance(found, dict) else None
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise DataError(
                f"The Tierlens store at {self.path} was written by a newer Tierlens. "
                f"Upgrade Tierlens or set {DB_ENV} to another folder.",
                code="store_newer", params={"folder": str(self.path)},
            )

    def close(self) -> None:
        """Nothing stays open between calls; kept so a store can be used as a context manager."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """The writers' lock across threads and processes; held only for catalog updates."""
        with self._thread_lock, open(self._lock_path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _parquet(self, dataset_id: str) -> Path:
        return self.raw_dir / f"{dataset_id}.parquet"

    def _entry_path(self, dataset_id: str) -> Path:
        return self.catalog_dir / f"{dataset_id}.json"

    def _entry(self, dataset_id: Any) -> dict[str, Any] | None:
        """The catalog entry of a visible data set, else None."""
        if not isinstance(dataset_id, str) or not _ID_RE.fullmatch(dataset_id):
            return None
        entry = _read_json(self._entry_path(dataset_id))
        if not isinstance(entry, dict) or not self._parquet(dataset_id).exists():
            return None
        return entry

    # ---- reading

    def exists(self, dataset_id: str) -> bool:
        """Whether a data set with this id is in the store."""
        return self._entry(dataset_id) is not None

    def list(self) -> pl.DataFrame:
        """All data sets, newest first.

        Returns columns id (String), name (String), created_at (Datetime UTC), rows (Int64),
        customers (Int64), first_date and last_date (Date: first and last order day; for a
        customer-level data set its first and last as-of date) and kind (String:
        "transactions" or "customers").
        """
        rows = []
        for path in self.catalog_dir.glob("*.json"):
            entry = self._entry(path.stem)
            if entry is not None:
                rows.append(self._summary(entry))
        frame = pl.DataFrame(rows, schema=_LIST_SCHEMA, orient="row")
        return frame.sort(["created_at", "id"], descending=[True, False])

    @staticmethod
    def _summary(entry: dict[str, Any]) -> tuple[Any, ...]:
        def day(text: str | None) -> Any:
            return datetime.fromisoformat(text).date() if text else None

        return (
            entry["id"],
            entry["name"],
            _from_iso(entry["created_at"]),
            entry["rows"],
            entry["customers"],
            day(entry.get("first_date")),
            day(entry.get("last_date")),
            _kind(entry),
        )

    def report(self, dataset_id: str) -> dict[str, Any]:
        """The ingest report saved with the data set (``{}`` when none was given).

        Raises DataError when the id is unknown.
        """
        entry = self._entry(dataset_id)
        if entry is None:
            raise _unknown(str(dataset_id))
        return entry.get("report") or {}

    def currency(self, dataset_id: str) -> str:
        """The currency of the data set's amounts: the one saved with it (chosen by the user),
        else the one the loader found in the file; "" when neither says.

        Raises DataError when the id is unknown.
        """
        entry = self._entry(dataset_id)
        if entry is None:
            raise _unknown(str(dataset_id))
        return str(entry.get("currency") or "") or _detected_currency(entry.get("report"))

    def set_currency(self, dataset_id: str, currency: str) -> None:
        """Save the currency of a data set's amounts (ISO code, "NONE" for plain numbers, ""
        to go back to what the loader found). The data and its id do not change.

        Raises DataError when the id is unknown or the code is not a currency code.
        """
        code = _clean_currency(currency)
        with self._write_lock():
            entry = self._entry(dataset_id)
            if entry is None:
                raise _unknown(str(dataset_id))
            if str(entry.get("currency") or "") != code:
                _write_json(self._entry_path(dataset_id), {**entry, "currency": code}, stage="entry_tmp_written")

    def kind(self, dataset_id: str) -> str:
        """``"transactions"`` or ``"customers"`` (entries saved before kinds existed are
        transactions).

        Raises DataError when the id is unknown.
        """
        entry = self._entry(dataset_id)
        if entry is None:
            raise _unknown(str(dataset_id))
        return _kind(entry)

    def as_of_dates(self, dataset_id: str) -> tuple[Any, ...]:
        """The as-of dates (``datetime.date``, ascending) of a customer-level data set's tables;
        ``()`` for transactions.

        Raises DataError when the id is unknown.
        """
        entry = self._entry(dataset_id)
        if entry is None:
            raise _unknown(str(dataset_id))
        return tuple(datetime.fromisoformat(d).date() for d in entry.get("as_of_dates") or ())

    def load(self, dataset_id: str) -> pl.DataFrame:
        """The frame of a data set, as it was saved: transactions, or for a customer-level data
        set its customer tables (see :meth:`save_customers`).

        Returns customer_id (String), order_date (Date or Datetime, as saved), amount
        (Float64), order_id (String), then the extra columns with their saved names and types,
        rows in saved order. Extra columns of types outside the store's vocabulary (lists,
        durations, ...) come back as text.

        Raises DataError when the id is unknown.
        """
        if self._entry(dataset_id) is None:
            raise _unknown(str(dataset_id))
        try:
            return pl.read_parquet(self._parquet(dataset_id))
        except FileNotFoundError:  # deleted by another process since the check above
            raise _unknown(dataset_id) from None

    def load_coded(self, dataset_id: str) -> tuple[pl.DataFrame, pl.Series]:
        """The data set coded for fast customer tables: ``(coded, ids)`` of
        :func:`~segmentation.coding.coded_transactions`, cached beside the data set.

        ``rfm_table(coded, as_of=..., window_days=..., ids=ids)`` equals the customer table of
        :meth:`load`'s frame, with ids verbatim, at several times the speed on millions of rows
        (grouping integers, not strings). The canonical frame from :meth:`load` is unchanged.
        The cache is written on first use (atomically; readers never see half a file).

        Raises DataError when the id is unknown.
        """

        entry = self._entry(dataset_id)
        if entry is None:
            raise _unknown(str(dataset_id))
        if _kind(entry) != TRANSACTIONS:
            raise DataError("This data set holds one row per customer, not transactions, so it has no coded form.")
        coded_path = self.raw_dir / f"{dataset_id}.coded.parquet"
        ids_path = self.raw_dir / f"{dataset_id}.ids.parquet"
        if coded_path.exists() and ids_path.exists():
            try:
                return pl.read_parquet(coded_path), pl.read_parquet(ids_path).to_series()
            except (FileNotFoundError, pl.exceptions.PolarsError):
                pass  # removed or unreadable: build it again below
        coded, ids = coded_transactions(self.load(dataset_id))
        # The ids first: the coded file's presence is what marks the pair complete.
        _atomic_write(ids_path, lambda tmp: ids.to_frame().write_parquet(tmp, **_PARQUET))
        _atomic_write(coded_path, lambda tmp: coded.write_parquet(tmp, **_PARQUET))
        return coded, ids

    def resolve(self, ref: str) -> str:
        """The data set id a reference stands for: an id, or ``name:<data set name>`` (the
        name's current version, normally the newest refresh).

        Raises DataError when the id or the name is unknown.

        Example: ``store.resolve("name:sales")`` -> ``"3f2a..."`` (32 hex digits).
        """
        if isinstance(ref, str) and ref.startswith(NAME_PREFIX):
            name = ref[len(NAME_PREFIX) :].strip()
            history = self._history(name)
            if history is None or not history["versions"]:
                raise DataError(
                    f"No data set is called {name!r}. Check the name in the link, or import it "
                    f"with: tierlens refresh FILE --dataset {json.dumps(name, ensure_ascii=False)}",
                    code="store_unknown_name", params={"name": name},
                )
            current = history["versions"][-1]["id"]
            if not self.exists(current):
                raise _unknown(current)
            return current
        if not self.exists(ref):
            raise _unknown(str(ref))
        return ref

    def _history(self, name: str) -> dict[str, Any] | None:
        found = _read_json(self.names_dir / f"{_name_key(name)}.json")
        return found if isinstance(found, dict) and found.get("name") == name else None

    def datasets(self) -> pl.DataFrame:
        """The named data sets, most recently updated first.

        Returns columns dataset (String, the stable name), id (String, current version),
        versions (Int64, entries in its history) and updated_at (Datetime UTC).
        """
        rows = []
        for path in self.names_dir.glob("*.json"):
            history = _read_json(path)
            if not isinstance(history, dict) or not history.get("versions"):
                continue
            last = history["versions"][-1]
            rows.append((history["name"], last["id"], len(history["versions"]), _from_iso(last["at"])))
        frame = pl.DataFrame(rows, schema=_DATASETS_SCHEMA, orient="row")
        return frame.sort(["updated_at", "dataset"], descending=[True, False])

    def versions(self, name: str) -> pl.DataFrame:
        """The history of a named data set, newest first.

        Returns columns version (Int64, 1 = first import), id, added_at (Datetime UTC: when the
        version became current), current (Boolean), restored (Boolean: made current again by
        :meth:`restore`), then rows, customers, first_date, last_date as in :meth:`list`.

        Raises DataError when no data set has this name.
        """
        history = self._history(name.strip() if isinstance(name, str) else name)
        if history is None:
            raise DataError(f"No data set is called {name!r}. Check the name, or list them with: tierlens datasets",
                code="store_unknown_name", params={"name": name})
        rows = []
        for number, version in enumerate(history["versions"], start=1):
            entry = self._entry(version["id"])
            if entry is None:
                continue
            summary = self._summary(entry)
            rows.append(
                (
                    number,
                    version["id"],
                    _from_iso(version["at"]),
                    number == len(history["versions"]),
                    bool(version.get("restored")),
                    *summary[3:],
                )
            )
        frame = pl.DataFrame(rows, schema=_VERSIONS_SCHEMA, orient="row")
        return frame.sort("version", descending=True)

    # ---- writing

    def save(
        self,
        tx: pl.DataFrame | pl.LazyFrame,
        *,
        name: str,
        report: dict[str, Any] | None = None,
        raw: bytes | None = None,
        dataset: str | None = None,
        currency: str | None = None,
    ) -> str:
        """Store a transactions frame; return its id (see :func:`content_id`).

        Saving a frame already in the store changes nothing and returns the same id (the
        first name is kept). The Parquet file (and upload bytes) are written first, then the
        catalog entry, then, with ``dataset``, the name's history.

        Parameters
        ----------
        tx : transactions (eager or lazy) with customer_id, order_date, amount, order_id and
            any extra columns.
        name : label shown in the data set list.
        report : the ingest report; stored as JSON (values JSON cannot hold become text).
        raw : the original upload bytes, kept as ``raw/<id>.upload``.
        dataset : a stable name; the saved id becomes its newest version, so a link to
            ``name:<dataset>`` shows this data from now on (see :meth:`resolve`).
        currency : ISO code of the amounts' currency (see :meth:`currency`); the currency
            belongs to the data, so every reader sees the same symbol. Given for data already
            stored, it replaces the saved one. Without it, a new version of a named data set
            keeps the currency chosen for the name's current version.

        Raises
        ------
        DataError : the frame is empty or not a transactions frame, a name is blank, or the
            currency is not a currency code.
        """
        code = _clean_currency(currency) if currency is not None else None
        if code is None and dataset is not None:
            # A new version of a named data set keeps the currency chosen for the name, so a
            # link to the name does not change symbol after a refresh.
            code = self._chosen_currency(dataset) or None
        dataset_id = self._save(_canonical(tx), name=name, report=report, raw=raw, created_at=None, dataset=dataset)
        if code is not None:
            self.set_currency(dataset_id, code)
        return dataset_id

    def _chosen_currency(self, dataset: str) -> str:
        """The currency saved by hand for the current version of a named data set ("" if none)."""
        history = self._history(str(dataset).strip())
        if not history or not history["versions"]:
            return ""
        entry = self._entry(history["versions"][-1]["id"])
        return str(entry.get("currency") or "") if entry else ""

    def save_customers(
        self,
        tables: pl.DataFrame | pl.LazyFrame,
        *,
        name: str,
        as_of: Any = None,
        report: dict[str, Any] | None = None,
        raw: bytes | None = None,
        dataset: str | None = None,
        currency: str | None = None,
    ) -> str:
        """Store a customer-level data set (one or more customer tables); return its id.

        Saving the same tables twice is a no-op returning the same id, as for :meth:`save`.

        Parameters
        ----------
        tables : the customer table of :func:`segmentation.customers.load_customers` (columns
            customer_id, recency_days, frequency, monetary and optionally first_purchase,
            last_purchase, tenure_days, avg_order_value, extras), with an ``as_of`` column
            (Date) when it holds several dates: one table per date, one row per customer in each.
        as_of : the date of a table without an ``as_of`` column.
        name, report, raw, dataset, currency : as in :meth:`save` (the currency is the one of
            the total spend; without it, the one ``report["currency"]`` names).

        :meth:`load` gives the tables back with ``as_of`` first, sorted by as_of then
        customer_id; :meth:`as_of_dates` lists the dates.

        Raises
        ------
        DataError : no rows, a needed column missing, no date, or a customer twice on one date.
        """
        code = _clean_currency(currency) if currency is not None else None
        if code is None and dataset is not None:
            code = self._chosen_currency(dataset) or None
        dataset_id = self._save(_canonical_customers(tables, as_of), name=name, report=report, raw=raw,
                                created_at=None, dataset=dataset, kind=CUSTOMERS)
        if code is not None:
            self.set_currency(dataset_id, code)
        return dataset_id

    def refresh(
        self,
        tx: pl.DataFrame | pl.LazyFrame,
        *,
        dataset: str,
        report: dict[str, Any] | None = None,
        raw: bytes | None = None,
    ) -> str:
        """Save ``tx`` as the newest version of the named data set ``dataset``; return its id.

        The same as ``save(tx, name=dataset, dataset=dataset, ...)``; importing unchanged data
        again adds no version.
        """
        return self.save(tx, name=dataset, report=report, raw=raw, dataset=dataset)

    def _save(
        self,
        frame: pl.DataFrame,
        *,
        name: str,
        report: dict[str, Any] | None,
        raw: bytes | None,
        created_at: datetime | None,
        dataset: str | None,
        added_at: datetime | None = None,
        kind: str = TRANSACTIONS,
    ) -> str:
        name = _clean_name(name)
        if dataset is not None:
            dataset = _clean_name(dataset, "named data set")
        if frame.height == 0:
            raise DataError("The table has no rows, so there is nothing to save.", code="nothing_to_save")
        _stage("start")
        dataset_id = _hash_canonical(frame, _CUSTOMERS_HASH_HEADER if kind == CUSTOMERS else _HASH_HEADER)
        report_json = json.dumps(report or {}, ensure_ascii=False, default=str, sort_keys=True)
        _stage("hashed")
        created = created_at or _utc_now()

        def write_raw() -> None:
            self._write_raw(frame, dataset_id, name, report_json, created, raw, dataset, kind)

        known = self._entry(dataset_id) is not None
        if known and dataset is None:
            return dataset_id
        if not known:
            write_raw()
            _stage("raw_written")
        with self._write_lock():
            if not self._parquet(dataset_id).exists():
                write_raw()  # deleted since we looked, or removed by hand
            if not isinstance(_read_json(self._entry_path(dataset_id)), dict):
                entry = self._new_entry(frame, dataset_id, name, created, report_json, raw, dataset, kind)
                _write_json(self._entry_path(dataset_id), entry, stage="entry_tmp_written")
                _stage("entry_written")
            if dataset is not None:
                self._add_version(dataset, dataset_id, at=added_at or _utc_now(), rebuilt=added_at is not None)
        return dataset_id

    @staticmethod
    def _new_entry(
        frame: pl.DataFrame,
        dataset_id: str,
        name: str,
        created: datetime,
        report_json: str,
        raw: bytes | None,
        dataset: str | None,
        kind: str = TRANSACTIONS,
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if kind == CUSTOMERS:
            days = frame[AS_OF].unique().sort().to_list()
            first, last = days[0], days[-1]
            extra = {"kind": CUSTOMERS, "as_of_dates": [d.isoformat() for d in days]}
        else:
            first, last = frame.select(
                pl.col(C.ORDER_DATE).min().cast(pl.Date).alias("first"),
                pl.col(C.ORDER_DATE).max().cast(pl.Date).alias("last"),
            ).row(0)
        return {
            "format": FORMAT_VERSION,
            "id": dataset_id,
            "name": name,
            "created_at": _iso(created),
            "rows": frame.height,
            # Counted on 64-bit hashes (a distinct count of 10M id strings took ~1 s); a hash
            # clash, ~1e-7 for 2M ids, could only make this listing's count one lower.
            "customers": frame[C.CUSTOMER_ID].drop_nulls().hash(ORDER_HASH_SEED).n_unique(),
            "first_date": first.isoformat() if first else None,
            "last_date": last.isoformat() if last else None,
            "columns": _columns_spec(frame),
            "report": json.loads(report_json),
            "raw_sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
            "raw_bytes": len(raw) if raw is not None else None,
            "dataset": dataset,
            **extra,
        }

    def _write_raw(
        self,
        frame: pl.DataFrame,
        dataset_id: str,
        name: str,
        report_json: str,
        created_at: datetime,
        raw: bytes | None,
        dataset: str | None,
        kind: str = TRANSACTIONS,
    ) -> None:
        metadata = {
            f"{_META_PREFIX}format": str(FORMAT_VERSION),
            f"{_META_PREFIX}name": name,
            f"{_META_PREFIX}report": report_json,
            f"{_META_PREFIX}created_at": _iso(created_at),
        }
        if dataset is not None:
            metadata[f"{_META_PREFIX}dataset"] = dataset
        if kind != TRANSACTIONS:
            metadata[f"{_META_PREFIX}kind"] = kind
        _stage("raw_started")
        # The upload goes first: once the Parquet file is in place, a rebuild may restore the set.
        if raw is not None:
            _atomic_write(self.raw_dir / f"{dataset_id}.upload", lambda tmp: tmp.write_bytes(raw))
        _atomic_write(
            self._parquet(dataset_id),
            lambda tmp: frame.write_parquet(tmp, metadata=metadata, **_PARQUET),
            stage="raw_tmp_written",
        )

    def _add_version(
        self, dataset: str, dataset_id: str, *, at: datetime, restored: bool = False, rebuilt: bool = False
    ) -> bool:
        """Make ``dataset_id`` the current version of ``dataset`` (caller holds the write lock).

        Returns False when it already is (nothing written).
        """
        path = self.names_dir / f"{_name_key(dataset)}.json"
        history = self._history(dataset) or {"name": dataset, "versions": []}
        versions = history["versions"]
        if versions and versions[-1]["id"] == dataset_id:
            return False
        version: dict[str, Any] = {"id": dataset_id, "at": _iso(at)}
        if restored:
            version["restored"] = True
        if rebuilt:
            if any(v["id"] == dataset_id for v in versions):
                return False
            # A version brought back by a rebuild takes its place in time, not the newest slot.
            history["versions"] = sorted([*versions, version], key=lambda v: v["at"])
        else:
            history["versions"] = [*versions, version]
        _write_json(path, history, stage="name_tmp_written")
        _stage("name_written")
        return True

    def restore(self, dataset: str, dataset_id: str) -> None:
        """Make an earlier version of a named data set current again (links to
        ``name:<dataset>`` show it from now on); the history keeps every version.

        Raises DataError when the name is unknown or the id was never one of its versions.
        """
        dataset = _clean_name(dataset, "named data set")
        with self._write_lock():
            history = self._history(dataset)
            if history is None:
                raise DataError(f"No data set is called {dataset!r}. Check the name, or list them with: tierlens datasets",
                    code="store_unknown_name", params={"name": dataset})
            if dataset_id not in {v["id"] for v in history["versions"]} or not self.exists(dataset_id):
                raise DataError(
                    f"{dataset_id!r} is not a stored version of {dataset!r}. "
                    "Pick one of the ids its version list shows.",
                    code="store_not_a_version", params={"name": dataset, "id": str(dataset_id)[:40]},
                )
            self._add_version(dataset, dataset_id, at=_utc_now(), restored=True)

    def delete(self, dataset_id: str) -> None:
        """Remove a data set: its files, its catalog entry, and its place in any name's history
        (a name whose current version goes falls back to the newest one left).

        Raises DataError when the id is unknown.
        """
        with self._write_lock():
            if not self.exists(dataset_id):
                raise _unknown(str(dataset_id))
            # The Parquet file goes first: from then on the set is invisible, and a crash before
            # the entry is removed cannot bring it back through a rebuild.
            for suffix in (".parquet", ".upload", ".coded.parquet", ".ids.parquet"):
                (self.raw_dir / f"{dataset_id}{suffix}").unlink(missing_ok=True)
            self._entry_path(dataset_id).unlink(missing_ok=True)
            _fsync_dir(self.raw_dir)
            for path in self.names_dir.glob("*.json"):
                history = _read_json(path)
                if not isinstance(history, dict):
                    continue
                kept = [v for v in history.get("versions", []) if v["id"] != dataset_id]
                if len(kept) == len(history.get("versions", [])):
                    continue
                if kept:
                    _write_json(path, {**history, "versions": kept})
                else:
                    path.unlink(missing_ok=True)

    def rebuild_from_raw(self) -> dict[str, str]:
        """Restore every data set whose ``raw/<id>.parquet`` has no catalog entry (after a
        refresh was killed between the two, or a catalog was lost); named data sets get their
        version back in the history.

        Each file is checked against its id (the content hash) before it is restored.

        Returns a dict id -> "restored" | "present" | "skipped: <reason>".
        """
        outcome: dict[str, str] = {}
        for path in sorted(self.raw_dir.glob("*.parquet")):
            dataset_id = path.stem
            if not _ID_RE.fullmatch(dataset_id):
                continue
            if self.exists(dataset_id):
                outcome[dataset_id] = "present"
                continue
            try:
                meta = pl.read_parquet_metadata(path)
                kind = meta.get(f"{_META_PREFIX}kind") or TRANSACTIONS
                stored = pl.read_parquet(path)
                frame = _canonical_customers(stored) if kind == CUSTOMERS else _canonical(stored)
            except (OSError, pl.exceptions.PolarsError, DataError) as exc:
                outcome[dataset_id] = f"skipped: unreadable ({exc})"
                continue
            header = _CUSTOMERS_HASH_HEADER if kind == CUSTOMERS else _HASH_HEADER
            if _hash_canonical(frame, header) != dataset_id:
                outcome[dataset_id] = "skipped: content does not match its id"
                continue
            upload = self.raw_dir / f"{dataset_id}.upload"
            created_text = meta.get(f"{_META_PREFIX}created_at")
            created = _from_iso(created_text) if created_text else None
            self._save(
                frame,
                name=meta.get(f"{_META_PREFIX}name") or dataset_id,
                report=json.loads(meta.get(f"{_META_PREFIX}report") or "{}"),
                raw=upload.read_bytes() if upload.exists() else None,
                created_at=created,
                dataset=meta.get(f"{_META_PREFIX}dataset"),
                added_at=created,
                kind=kind,
            )
            outcome[dataset_id] = "restored"
        return outcome


_instances: dict[Path, Store] = {}
_instances_lock = threading.Lock()


def get_store(path: str | os.PathLike[str] | None = None) -> Store:
    """The process-wide store for folder ``path`` (default: :func:`default_db_path`), opened once.

    Raises DataError as :meth:`Store.open` does.
    """
    folder = Path(path).expanduser().resolve() if path is not None else default_db_path()
    with _instances_lock:
        store = _instances.get(folder)
        if store is None:
            store = Store.open(folder)
            _instances[folder] = store
        return store


# ---------------------------------------------------------------------------------------------
# The customer table in SQL, for data DuckDB reads faster than Polars holds it in memory


# Same definitions as segmentation.rfm.rfm_table; parameters: as-of date (NULL: the day after
# the last dated row) and lookback window in days (NULL: all history). Orders are grouped per
# customer first, so a missing order id is one order, as in Polars. {order} is one of the two
# fixed expressions in _ORDER_EXPR, never text from outside.
_CUSTOMER_SQL = """
WITH r AS (
    SELECT CAST(customer_id AS VARCHAR) AS customer_id, CAST(order_date AS DATE) AS d,
           CAST(amount AS DOUBLE) AS amount, {order} AS order_id
    FROM _tx WHERE order_date IS NOT NULL
),
ref AS (SELECT COALESCE(CAST($1 AS DATE), max(d) + 1) AS as_of, CAST($2 AS BIGINT) AS w FROM r),
o AS (
    SELECT customer_id, order_id,
           sum(amount) FILTER (WHERE amount > 0) AS g,
           sum(amount) FILTER (WHERE amount < 0) AS rt,
           min(d) FILTER (WHERE amount > 0) AS f,
           max(d) FILTER (WHERE amount > 0) AS l
    FROM r, ref
    WHERE r.d <= ref.as_of AND (ref.w IS NULL OR r.d > ref.as_of - CAST(ref.w AS INTEGER))
    GROUP BY customer_id, order_id
),
c AS (
    SELECT customer_id, count(g) AS frequency, sum(g) AS g, COALESCE(sum(rt), 0) AS rt,
           min(f) AS first_purchase, max(l) AS last_purchase
    FROM o GROUP BY customer_id HAVING max(l) IS NOT NULL
)
SELECT c.customer_id,
       CAST(ref.as_of - c.last_purchase AS BIGINT) AS recency_days,
       CAST(c.frequency AS BIGINT) AS frequency,
       round_even(c.g + c.rt, 6) AS monetary,
       c.first_purchase, c.last_purchase,
       CAST(ref.as_of - c.first_purchase AS BIGINT) AS tenure_days,
       round_even(c.g, 6) / c.frequency AS avg_order_value
FROM c, ref
ORDER BY c.customer_id NULLS FIRST
"""
_ORDER_EXPR = {
    True: "CAST(order_id AS VARCHAR)",
    # Without an order column every row is its own order.
    False: "CAST(row_number() OVER () AS VARCHAR)",
}
# Connections for this query only, in memory: no extension is installed or loaded and the
# configuration is locked. Frames enter as registered Arrow tables; only reading Parquet files
# needs file access, so only that connection has it. It holds no data of the store.
_DUCKDB_CONFIG: dict[str, Any] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}
_SCAN_CONFIG: dict[str, Any] = {**_DUCKDB_CONFIG, "enable_external_access": True}


def customer_table_sql(
    source: pl.DataFrame | pl.LazyFrame | str | os.PathLike[str],
    *,
    as_of: Any = None,
    window_days: int | None = None,
) -> pl.DataFrame:
    """:func:`segmentation.rfm.rfm_table` computed by DuckDB, in memory or over Parquet files.

    Args:
        source: canonical transactions (a Polars frame), or a Parquet file, folder or glob with
            ``customer_id``, ``order_date``, ``amount`` and optionally ``order_id``.
        as_of: the reference date (``datetime.date``; None: the day after the last dated row).
        window_days: lookback window in days, or None.

    Returns:
        The ``rfm_table`` columns and types, sorted by ``customer_id`` (missing id first).

    Raises:
        DataError: the files cannot be read or lack a needed column.
    """
    import datetime as dt

    if isinstance(source, pl.LazyFrame):
        source = source.collect()
    if isinstance(source, pl.DataFrame):
        cols = [c for c in _CANONICAL if c in source.columns]
        frame = source.select(cols)
        dtype = frame.schema.get(C.ORDER_DATE)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            # Days are cut in the data's own zone, as Polars does.
            frame = frame.with_columns(pl.col(C.ORDER_DATE).dt.replace_time_zone(None))
        con = duckdb.connect(":memory:", config=dict(_DUCKDB_CONFIG))
        con.register("_tx", frame.to_arrow())
        columns = set(cols)
    else:
        path = Path(source)
        pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(source)
        con = duckdb.connect(":memory:", config=dict(_SCAN_CONFIG))
        try:
            con.read_parquet(pattern).create_view("_tx")
            columns = set(con.sql("SELECT * FROM _tx LIMIT 0").columns)
        except duckdb.Error as exc:
            con.close()
            raise DataError(f"Could not read the Parquet data at “{source}”: {str(exc).splitlines()[0]}") from exc
    try:
        missing = [c for c in (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT) if c not in columns]
        if missing:
            raise DataError(
                f"The transactions lack the column(s) {', '.join(missing)}; they need customer_id, "
                "order_date, amount and, when orders span several rows, order_id."
            )
        query = _CUSTOMER_SQL.format(order=_ORDER_EXPR[C.ORDER_ID in columns])
        day = as_of.date() if isinstance(as_of, dt.datetime) else as_of
        table = con.sql(query, params=[day, None if window_days is None else int(window_days)]).to_arrow_table()
        out = pl.DataFrame(pl.from_arrow(table))
    finally:
        con.close()
    return out.with_columns(pl.col(C.FREQUENCY, C.RECENCY, C.TENURE).cast(pl.Int64))
