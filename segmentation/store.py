"""The embedded data set store: transaction frames kept in DuckDB under a content-hash id.

This is the only module that talks to DuckDB. Statements are fixed text with ``?`` parameters
(the only generated parts are internal names: a random view name and ``e0, e1, ...`` for extra
columns); data enters through registered Arrow tables, so nothing a user typed (data set names,
column names, cell values) ever becomes SQL.

Layout
------
- The database file: env ``TIERLENS_DB``, else ``data/tierlens.duckdb`` in the project root.
- ``raw/`` next to the database file: ``<id>.parquet`` holds the canonical frame of every saved
  data set (with its name and report in the Parquet metadata) and ``<id>.upload`` the original
  upload bytes when given. Both are written atomically (temp file, fsync, ``os.replace``)
  before the database commit, so :meth:`Store.rebuild_from_raw` can restore a lost database.
- Two tables with a fixed schema: ``datasets`` (one metadata row per data set, including the
  names and types of its columns) and ``transactions`` (the canonical columns plus the extra
  columns of each row as a list of text values, in the order the metadata lists them).
  A save writes both in one transaction, and readers only see data sets whose metadata row
  exists, so a crash mid-save never leaves a half data set behind.

Identity
--------
A data set id is the first 32 hex digits (128 bits) of the SHA-256 of a canonical text form of
the transactions frame: a header with the column names and types, then the rows as CSV in their
given order (row order is part of the content; the upload bytes, name and report are not).
Saving the same frame twice is therefore a no-op returning the same id, whatever it is called.
The text form depends on Polars' CSV writer; should that change between versions, identical
data would at worst be stored a second time, never mistaken for different data.

Hardening
---------
The connection is opened with external access disabled (no reading or writing files, no
ATTACH, COPY, INSTALL or LOAD), extension auto-install/auto-load off, and the configuration
locked, so even a crafted statement cannot reach the file system or turn those back on.
DuckDB allows one writing process per database file; a second Tierlens process gets a
:class:`~segmentation.errors.DataError` saying so instead of a crash.

Threads share one connection per process (:func:`get_store`); each thread works through its own
cursor, which DuckDB treats as an independent connection with its own transactions.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from . import columns as C
from .errors import DataError

__all__ = ["DB_ENV", "Store", "content_id", "customer_table_sql", "default_db_path", "get_store"]

DB_ENV = "TIERLENS_DB"
SCHEMA_VERSION = 1
_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_CANONICAL = (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT, C.ORDER_ID)
_HASH_HEADER = b"tierlens-transactions-v1\n"
_META_PREFIX = "tierlens."

# Options given at connect time, so no statement ever runs on an unlocked connection.
# DuckDB applies them before the database is usable; lock_configuration comes last.
_DUCKDB_CONFIG: dict[str, Any] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS store_meta (
        key VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS datasets (
        id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        n_rows BIGINT NOT NULL,
        customers BIGINT NOT NULL,
        first_date DATE,
        last_date DATE,
        report_json VARCHAR NOT NULL,
        columns_json VARCHAR NOT NULL,
        raw_sha256 VARCHAR,
        raw_bytes BIGINT
    )""",
    """CREATE TABLE IF NOT EXISTS transactions (
        dataset_id VARCHAR NOT NULL,
        row_no BIGINT NOT NULL,
        customer_id VARCHAR,
        order_date TIMESTAMP,
        amount DOUBLE,
        order_id VARCHAR,
        extras VARCHAR[]
    )""",
)

_LIST_SCHEMA = {
    "id": pl.String,
    "name": pl.String,
    "created_at": pl.Datetime("us", "UTC"),
    "rows": pl.Int64,
    "customers": pl.Int64,
    "first_date": pl.Date,
    "last_date": pl.Date,
}

# A save calls this at named points; the crash test sets it to stop a save where it wants.
# Never set outside tests.
_stage_hook: Callable[[str], None] | None = None


def _stage(name: str) -> None:
    if _stage_hook is not None:
        _stage_hook(name)


# --------------------------------------------------------------------------------------------
# Paths


def default_db_path() -> Path:
    """Where the database lives: env ``TIERLENS_DB``, else ``data/tierlens.duckdb``.

    The default is resolved from the package location, not the working directory, so the app
    finds the same file however it is started.
    """
    env = os.environ.get(DB_ENV, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parent.parent / "data" / "tierlens.duckdb"


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


def _hash_canonical(frame: pl.DataFrame) -> str:
    sink = _Sha256Writer()
    sink.write(_HASH_HEADER)
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


# --------------------------------------------------------------------------------------------
# Storage encoding of a canonical frame


def _utc_naive(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return expr


def _to_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """An extra column as text that :func:`_from_text` turns back into the same values."""
    return _utc_naive(pl.col(name), dtype).cast(pl.String)


def _from_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    # Polars 2 no longer casts text to dates or booleans, hence the explicit parsers.
    if isinstance(dtype, pl.Boolean):
        return expr == "true"
    if isinstance(dtype, pl.Date):
        return expr.str.to_date("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime):
        parsed = expr.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit=dtype.time_unit)
        return _restore(parsed, dtype)
    return expr.cast(dtype)


def _to_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The frame in the shape the insert statement reads; returns it and its extras count.

    Extra columns are renamed e0, e1, ... as text; the insert packs them into one list per row
    (DuckDB builds that list much faster than Polars), and their real names and types live in
    the metadata row, so user column names never appear in SQL.
    """
    schema = frame.schema
    extras = [name for name in frame.columns if name not in _CANONICAL]
    rows = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("row_no"),
        pl.col(C.CUSTOMER_ID),
        _utc_naive(pl.col(C.ORDER_DATE), schema[C.ORDER_DATE]).cast(pl.Datetime("us")),
        pl.col(C.AMOUNT),
        pl.col(C.ORDER_ID),
        *(_to_text(name, schema[name]).alias(f"e{i}") for i, name in enumerate(extras)),
    )
    return rows, len(extras)


def _restore(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        expr = expr.cast(pl.Datetime(dtype.time_unit))
        if dtype.time_zone is not None:
            expr = expr.dt.replace_time_zone("UTC").dt.convert_time_zone(dtype.time_zone)
        return expr
    return expr.cast(dtype)


def _from_rows(rows: pl.DataFrame, spec: list[list[str]]) -> pl.DataFrame:
    dtypes = {name: _dtype_from_token(token) for name, token in spec}
    extras = [name for name, _ in spec if name not in _CANONICAL]
    return rows.select(
        pl.col(C.CUSTOMER_ID),
        _restore(pl.col(C.ORDER_DATE), dtypes[C.ORDER_DATE]),
        pl.col(C.AMOUNT),
        pl.col(C.ORDER_ID),
        *(
            _from_text(pl.col("extras").list.get(i, null_on_oob=True), dtypes[name]).alias(name)
            for i, name in enumerate(extras)
        ),
    )


# --------------------------------------------------------------------------------------------
# Files


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write via a temp file in the same folder, then rename: readers never see half a file."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        _stage("raw_tmp_written")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsynced
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _first(cur: duckdb.DuckDBPyConnection, query: str, params: list[Any]) -> tuple[Any, ...] | None:
    """First row of a small query; fetches all so no unfinished result blocks the cursor."""
    rows = cur.execute(query, params).fetchall()
    return rows[0] if rows else None


def _unknown(dataset_id: str) -> DataError:
    return DataError(
        f"That data set is not in the store (id {dataset_id!r}). "
        "It may have been deleted; upload the file again or pick another data set."
    )


def _open_error(path: Path, exc: duckdb.Error) -> DataError:
    text = str(exc)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        who = f" (pid {pid.group(1)})" if pid else ""
        return DataError(
            f"The Tierlens database at {path} is in use by another process{who}. "
            f"Close the other Tierlens instance or set {DB_ENV} to another file."
        )
    return DataError(
        f"The Tierlens database at {path} could not be opened ({text}). "
        f"Move the file away to start with an empty store, or set {DB_ENV} to another file."
    )


# --------------------------------------------------------------------------------------------
# The store


class Store:
    """Data sets in one DuckDB file; see the module docstring for layout and guarantees.

    Open with :meth:`Store.open` (or :func:`get_store` for the process-wide instance). Methods
    may be called from any thread: each thread uses its own DuckDB cursor.

    Example
    -------
    >>> store = Store.open("/tmp/example.duckdb")        # doctest: +SKIP
    >>> dataset_id = store.save(tx, name="orders 2024")  # doctest: +SKIP
    >>> store.load(dataset_id).equals(tx)                # doctest: +SKIP
    True
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, raw_dir: Path) -> None:
        self._con = con
        self.path = path
        self.raw_dir = raw_dir
        self._local = threading.local()
        self._cursor_lock = threading.Lock()

    @classmethod
    def open(
        cls, path: str | os.PathLike[str] | None = None, *, raw_dir: str | os.PathLike[str] | None = None
    ) -> Store:
        """Open (creating if needed) the store at ``path`` (default: :func:`default_db_path`).

        ``raw_dir`` defaults to ``raw/`` next to the database file.

        Raises
        ------
        DataError : another process holds the file, or the file is not a usable database.
        """
        db = Path(path).expanduser().resolve() if path is not None else default_db_path()
        raw = Path(raw_dir).expanduser().resolve() if raw_dir is not None else db.parent / "raw"
        db.parent.mkdir(parents=True, exist_ok=True)
        raw.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(db), config=dict(_DUCKDB_CONFIG))
        except duckdb.Error as exc:
            raise _open_error(db, exc) from exc
        store = cls(con, db, raw)
        try:
            store._init_schema()
        except BaseException:
            con.close()
            raise
        # Temp files of a save that was killed before its rename are garbage.
        for stale in raw.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        _open_stores.add(store)
        return store

    def _init_schema(self) -> None:
        cur = self._cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            for statement in _SCHEMA:
                cur.execute(statement)
            cur.execute(
                "INSERT INTO store_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                [str(SCHEMA_VERSION)],
            )
            row = _first(cur, "SELECT value FROM store_meta WHERE key = 'schema_version'", [])
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        if row is None or int(row[0]) > SCHEMA_VERSION:
            raise DataError(
                f"The Tierlens database at {self.path} was written by a newer Tierlens. "
                f"Upgrade Tierlens or set {DB_ENV} to another file."
            )

    def close(self) -> None:
        """Close the connection (and with it every thread's cursor); releases the file lock."""
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._cursor_lock:
                cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
            _stage("before_commit")
            cur.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            raise

    # ---- reading

    def exists(self, dataset_id: str) -> bool:
        """Whether a data set with this id is in the store."""
        if not isinstance(dataset_id, str) or not _ID_RE.fullmatch(dataset_id):
            return False
        row = _first(self._cursor(), "SELECT count(*) FROM datasets WHERE id = ?", [dataset_id])
        return bool(row and row[0])

    def list(self) -> pl.DataFrame:
        """All data sets, newest first.

        Returns columns id (String), name (String), created_at (Datetime UTC), rows (Int64),
        customers (Int64), first_date and last_date (Date: first and last order day).
        """
        table = (
            self._cursor()
            .sql(
                'SELECT id, name, created_at, n_rows AS "rows", customers, first_date, last_date '
                "FROM datasets ORDER BY created_at DESC, id"
            )
            .to_arrow_table()
        )
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame.with_columns(pl.col("created_at").dt.replace_time_zone("UTC")).cast(_LIST_SCHEMA)  # type: ignore[arg-type]

    def _meta(self, dataset_id: str, column: str) -> str:
        # column is one of two literals chosen below, never caller input.
        query = {
            "report_json": "SELECT report_json FROM datasets WHERE id = ?",
            "columns_json": "SELECT columns_json FROM datasets WHERE id = ?",
        }[column]
        if not isinstance(dataset_id, str) or not _ID_RE.fullmatch(dataset_id):
            raise _unknown(str(dataset_id))
        row = _first(self._cursor(), query, [dataset_id])
        if row is None:
            raise _unknown(dataset_id)
        return row[0]

    def report(self, dataset_id: str) -> dict[str, Any]:
        """The ingest report saved with the data set (``{}`` when none was given).

        Raises DataError when the id is unknown.
        """
        return json.loads(self._meta(dataset_id, "report_json"))

    def load(self, dataset_id: str) -> pl.DataFrame:
        """The transactions frame of a data set, as it was saved.

        Returns customer_id (String), order_date (Date or Datetime, as saved), amount
        (Float64), order_id (String), then the extra columns with their saved names and types,
        rows in saved order. Extra columns of types outside the store's vocabulary (lists,
        durations, ...) come back as text.

        Raises DataError when the id is unknown.
        """
        cur = self._cursor()
        # One read transaction, so a delete from another thread cannot land between the two reads.
        cur.execute("BEGIN TRANSACTION")
        try:
            spec = json.loads(self._meta(dataset_id, "columns_json"))
            table = cur.sql(
                "SELECT customer_id, order_date, amount, order_id, extras FROM transactions "
                "WHERE dataset_id = ? ORDER BY row_no",
                params=[dataset_id],
            ).to_arrow_table()
        finally:
            cur.execute("COMMIT")
        rows = pl.from_arrow(table)
        assert isinstance(rows, pl.DataFrame)
        return _from_rows(rows, spec)

    # ---- writing

    def save(
        self,
        tx: pl.DataFrame | pl.LazyFrame,
        *,
        name: str,
        report: dict[str, Any] | None = None,
        raw: bytes | None = None,
    ) -> str:
        """Store a transactions frame; return its id (see :func:`content_id`).

        Saving a frame already in the store changes nothing and returns the same id (the
        first name is kept). The raw files are written first, then the metadata row and all
        transactions in one database transaction.

        Parameters
        ----------
        tx : transactions (eager or lazy) with customer_id, order_date, amount, order_id and
            any extra columns.
        name : label shown in the data set list.
        report : the ingest report; stored as JSON (values JSON cannot hold become text).
        raw : the original upload bytes, kept as ``raw/<id>.upload``.

        Raises
        ------
        DataError : the frame is empty or not a transactions frame.
        """
        return self._save(_canonical(tx), name=name, report=report, raw=raw, created_at=None)

    def _save(
        self,
        frame: pl.DataFrame,
        *,
        name: str,
        report: dict[str, Any] | None,
        raw: bytes | None,
        created_at: datetime | None,
    ) -> str:
        if not isinstance(name, str) or not name.strip():
            raise DataError("Give the data set a name before saving it.")
        if frame.height == 0:
            raise DataError("The table has no rows, so there is nothing to save.")
        name = name.strip()
        _stage("start")
        dataset_id = _hash_canonical(frame)
        report_json = json.dumps(report or {}, ensure_ascii=False, default=str, sort_keys=True)
        spec = _columns_spec(frame)
        _stage("hashed")

        parquet = self.raw_dir / f"{dataset_id}.parquet"
        if self.exists(dataset_id):
            if not parquet.exists():
                self._write_raw(frame, dataset_id, name, report_json, created_at, raw)
            return dataset_id

        created = (created_at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
        self._write_raw(frame, dataset_id, name, report_json, created, raw)
        _stage("raw_written")

        stats = frame.select(
            pl.col(C.CUSTOMER_ID).drop_nulls().n_unique().alias("customers"),
            pl.col(C.ORDER_DATE).min().cast(pl.Date).alias("first"),
            pl.col(C.ORDER_DATE).max().cast(pl.Date).alias("last"),
        ).row(0)
        rows, n_extras = _to_rows(frame)
        arrow_rows = rows.to_arrow()
        # Only generated names reach this text: the view name and e0, e1, ... for extras.
        view = f"incoming_{uuid.uuid4().hex}"
        extras_sql = f"list_value({', '.join(f'e{i}' for i in range(n_extras))})" if n_extras else "NULL"
        insert_sql = (
            # The id goes in as a parameter: a constant costs nothing, a 1M-row text column does.
            "INSERT INTO transactions SELECT ?, row_no, customer_id, order_date, "
            f"amount, order_id, {extras_sql} FROM {view}"
        )
        try:
            with self._transaction() as cur:
                cur.execute(
                    "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        dataset_id,
                        name,
                        created,
                        frame.height,
                        stats[0],
                        stats[1],
                        stats[2],
                        report_json,
                        json.dumps(spec, ensure_ascii=False),
                        hashlib.sha256(raw).hexdigest() if raw is not None else None,
                        len(raw) if raw is not None else None,
                    ],
                )
                cur.register(view, arrow_rows)
                try:
                    _stage("insert_started")
                    cur.execute(insert_sql, [dataset_id])
                finally:
                    cur.unregister(view)
        except (duckdb.ConstraintException, duckdb.TransactionException):
            # Another thread saved the same data first; its copy is identical by construction.
            if self.exists(dataset_id):
                return dataset_id
            raise
        return dataset_id

    def _write_raw(
        self,
        frame: pl.DataFrame,
        dataset_id: str,
        name: str,
        report_json: str,
        created_at: datetime | None,
        raw: bytes | None,
    ) -> None:
        created = created_at or datetime.now(UTC).replace(tzinfo=None)
        metadata = {
            f"{_META_PREFIX}format": "1",
            f"{_META_PREFIX}name": name,
            f"{_META_PREFIX}report": report_json,
            f"{_META_PREFIX}created_at": created.isoformat(),
        }
        _stage("raw_started")
        _atomic_write(
            self.raw_dir / f"{dataset_id}.parquet",
            lambda tmp: frame.write_parquet(tmp, metadata=metadata),
        )
        if raw is not None:
            _atomic_write(self.raw_dir / f"{dataset_id}.upload", lambda tmp: tmp.write_bytes(raw))

    def delete(self, dataset_id: str) -> None:
        """Remove a data set: its raw files first, then its rows and metadata in one transaction.

        Raises DataError when the id is unknown.
        """
        if not self.exists(dataset_id):
            raise _unknown(str(dataset_id))
        # Raw files go first so a crash in between cannot bring the set back via a rebuild.
        for suffix in (".parquet", ".upload"):
            (self.raw_dir / f"{dataset_id}{suffix}").unlink(missing_ok=True)
        with self._transaction() as cur:
            cur.execute("DELETE FROM transactions WHERE dataset_id = ?", [dataset_id])
            cur.execute("DELETE FROM datasets WHERE id = ?", [dataset_id])

    def rebuild_from_raw(self) -> dict[str, str]:
        """Restore every data set whose ``raw/<id>.parquet`` is not in the database.

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
                frame = _canonical(pl.read_parquet(path))
            except (OSError, pl.exceptions.PolarsError, DataError) as exc:
                outcome[dataset_id] = f"skipped: unreadable ({exc})"
                continue
            if _hash_canonical(frame) != dataset_id:
                outcome[dataset_id] = "skipped: content does not match its id"
                continue
            upload = self.raw_dir / f"{dataset_id}.upload"
            created_text = meta.get(f"{_META_PREFIX}created_at")
            self._save(
                frame,
                name=meta.get(f"{_META_PREFIX}name") or dataset_id,
                report=json.loads(meta.get(f"{_META_PREFIX}report") or "{}"),
                raw=upload.read_bytes() if upload.exists() else None,
                created_at=datetime.fromisoformat(created_text).replace(tzinfo=UTC) if created_text else None,
            )
            outcome[dataset_id] = "restored"
        return outcome


_instances: dict[Path, Store] = {}
# Every store still open at exit is closed before interpreter teardown: DuckDB then checkpoints
# and releases its file lock cleanly instead of leaking its bindings.
_open_stores: weakref.WeakSet[Store] = weakref.WeakSet()


@atexit.register
def _close_open_stores() -> None:
    for store in list(_open_stores):
        with contextlib.suppress(Exception):
            store.close()
_instances_lock = threading.Lock()


def get_store(path: str | os.PathLike[str] | None = None) -> Store:
    """The process-wide store for ``path`` (default: :func:`default_db_path`), opened once.

    Raises DataError as :meth:`Store.open` does.
    """
    db = Path(path).expanduser().resolve() if path is not None else default_db_path()
    with _instances_lock:
        store = _instances.get(db)
        if store is None:
            store = Store.open(db)
            _instances[db] = store
            # Close before interpreter teardown, so DuckDB checkpoints and releases the lock cleanly.
            atexit.register(store.close)
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
# Reading Parquet needs file access, so that connection keeps it; it holds no data of the store.
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
