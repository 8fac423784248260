"""Per-customer RFM aggregation: the one step whose cost grows with the number of transactions.

Speed notes (10M rows, 2.1M customers, see benchmarks/bench_core.py): grouping on an integer key
is about 3x cheaper than grouping on strings, so customer ids of up to eight bytes are packed into
one UInt64 (an exact, reversible code, not a hash) and unpacked once per customer; longer ids are
grouped as strings. All measures come from one group-by over rows whose non-purchase values are
masked to null, and counting distinct orders per customer is skipped when every purchase row has
its own order id (one order per row, as ingest creates when there is no order column).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from typing import Literal, TypeVar

import polars as pl

from . import columns as C
from ._dates import to_date
from .coding import ORDER_HASH_SEED, distinct_hashes
from .errors import DataError

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
Engine = Literal["polars", "duckdb", "spark"]
ENGINES: tuple[str, ...] = ("polars", "duckdb", "spark")

_DAY = "_day"
_AS_OF = "_as_of"
_LAST_DAY = "_last_day"
_KEY = "_key"
_ORDER = "_order"
_GROSS = "_gross"
_RETURNED = "_returned"
_BUY_DAY = "_buy_day"
_KEY_BYTES = 8
_SAMPLE_HASH_SEED = 0x5EED
# Rows read to place the cuts between customer groups (their customers' ids are kept).
_SAMPLE_ROWS = 200_000

#: Customers aggregated per streaming pass by :func:`customer_table_from_parquet` (default
#: ``partitions``). One pass needed about 0.4 KB per customer at its peak (21.4M customers: 7.9-8.4 GB).
CUSTOMERS_PER_PASS = 5_000_000


def rfm_table(
    tx: FrameT,
    as_of: dt.date | dt.datetime | str | None = None,
    window_days: int | None = None,
    *,
    engine: Engine = "polars",
    ids: pl.Series | None = None,
) -> FrameT:
    """One row per customer with recency, frequency and monetary value as of a date.

    RFM recency here is *days since the last purchase* (lower is better); it is not the
    buy-till-you-die "age at last purchase", which lives in :mod:`segmentation.clv`.

    Args:
        tx: canonical transactions (``customer_id``, ``order_date``, ``amount``, ``order_id``),
            eager or lazy. Negative amounts are returns; zero amounts are not purchases.
        as_of: the reference day. Transactions dated after it are ignored. Default: the day
            after the last order in ``tx``.
        window_days: when given, only transactions in the ``window_days`` days that end on
            ``as_of`` are used (the lookback window): dates in ``(as_of - window_days, as_of]``.
        ids: for a frame whose ``customer_id`` holds integer codes (:func:`segmentation.coding.coded_transactions`,
            ``Store.load_coded``), the sorted customer ids, ``ids[code]`` being the id of a
            code, so the output shows ids verbatim. Integer ids without ``ids`` are shown as text.

    Returns:
        The same kind of frame as ``tx`` with, per customer that has at least one purchase
        (amount > 0) in range: ``customer_id``; ``recency_days`` (Int64, as_of minus the day of
        the last purchase); ``frequency`` (Int64, distinct orders with amount > 0, so order lines
        of one invoice count once); ``monetary`` (Float64, net sum of amounts, returns included);
        ``first_purchase`` and ``last_purchase`` (Date); ``tenure_days`` (Int64, as_of minus the
        first purchase); ``avg_order_value`` (Float64, gross purchase amount / frequency).
        Sorted by ``customer_id``.

    Raises:
        DataError: ``as_of`` is not a date, or ``window_days`` is not positive; with
            ``engine="spark"``, Spark cannot start.
        SettingsError: ``engine`` is not one of polars, duckdb, spark.

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({
        ...     "customer_id": ["a", "a", "a", "b"],
        ...     "order_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 1, 5),
        ...                    dt.date(2024, 1, 3)],
        ...     "amount": [10.0, 5.0, -5.0, 20.0],
        ...     "order_id": ["o1", "o1", "o2", "o3"],
        ... })
        >>> rfm_table(tx, as_of="2024-01-10").select("customer_id", "recency_days",
        ...     "frequency", "monetary").rows()
        [('a', 9, 1, 10.0), ('b', 7, 1, 20.0)]
    """
    if window_days is not None and int(window_days) <= 0:
        raise DataError("The lookback window must be a positive number of days.", code="bad_window")
    as_of_date = to_date(as_of)
    if engine != "polars":
        out = _rfm_elsewhere(tx, as_of_date, window_days, _check_engine(engine))
        return out if isinstance(tx, pl.DataFrame) else out.lazy()
    coded = tx.collect_schema()[C.CUSTOMER_ID].is_integer()
    if not isinstance(tx, pl.DataFrame):
        if coded:
            return _customer_table(tx, as_of_date, window_days, ids=ids, coded=True)
        # A plan cannot look at the data first, so it takes the general route (ids of any
        # length, a distinct count of orders); lazy callers choose their engine when they collect.
        return _customer_table(tx, as_of_date, window_days)

    # An eager frame is looked at first (a few cheap passes) to pick the faster route.
    if as_of_date is None and tx.height:
        # A scalar as-of keeps the plan a plain filter + group-by.
        last = tx.select(pl.col(C.ORDER_DATE).max().cast(pl.Date)).item()
        as_of_date = last + dt.timedelta(days=1) if last is not None else None
    cid = pl.col(C.CUSTOMER_ID)
    short_ids, ascii_ids = (True, False) if coded else tx.select(
        _packable().all(), (cid.str.len_bytes() == cid.str.len_chars()).all().fill_null(True).alias("ascii")
    ).row(0)
    plan = _customer_table(
        tx.lazy(),
        as_of_date,
        window_days,
        one_order_per_row=_one_order_per_row(tx, as_of_date, window_days),
        short_ids=bool(short_ids),
        ascii_ids=bool(ascii_ids),
        coded=coded,
        ids=ids,
    )
    # The streaming engine runs this group-by 2-3x faster than the in-memory one on millions
    # of customers.
    return plan.collect(engine="streaming")


def _check_engine(engine: str) -> str:
    if engine not in ENGINES:
        from .scoring import SettingsError

        raise SettingsError(f"Unknown engine “{engine}”; choose one of: {', '.join(ENGINES)}.")
    return engine


def _rfm_elsewhere(
    tx: pl.DataFrame | pl.LazyFrame | str | os.PathLike[str],
    as_of: dt.date | None,
    window_days: int | None,
    engine: str,
) -> pl.DataFrame:
    """The customer table computed by DuckDB or Spark, collected into Polars."""
    if engine == "duckdb":
        from .store import customer_table_sql

        return customer_table_sql(tx, as_of=as_of, window_days=window_days)
    from . import spark as sp

    session = sp.spark_session()
    if isinstance(tx, pl.DataFrame | pl.LazyFrame):
        df = sp.to_spark(tx, session)
    else:
        reader = session.read.option("recursiveFileLookup", "true") if os.path.isdir(tx) else session.read
        df = reader.parquet(os.fspath(tx))
    return sp.from_spark(sp.rfm_table_spark(df, as_of=as_of, window_days=window_days))


def customer_table_from_parquet(
    path_or_glob: str | os.PathLike[str],
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    window_days: int | None = None,
    engine: Engine = "polars",
    partitions: int | None = None,
) -> pl.DataFrame:
    """:func:`rfm_table` of transactions kept in Parquet, which may be larger than memory.

    Args:
        path_or_glob: a Parquet file, a folder of Parquet files (read recursively) or a glob
            such as ``"exports/2025-*.parquet"``. Columns: ``customer_id``, ``order_date``,
            ``amount`` and, when an order spans several rows, ``order_id`` (without it every
            row is its own order); other columns are not read.
        as_of, window_days: as for :func:`rfm_table`.
        engine: ``"polars"`` (streaming scans, see ``partitions``), ``"duckdb"`` (SQL over
            the files, spilling to disk when it must) or ``"spark"`` (the files read by Spark,
            e.g. on a cluster, the customer table collected here).
        partitions: with ``engine="polars"``, into how many groups of customers the work is
            split; each group (a range of ids) is aggregated in its own streaming pass over
            the files, so the group-by holds one group's customers at a time, and one more
            pass over the ids places the ranges. Default: one pass per
            ``CUSTOMERS_PER_PASS`` customers, estimated with one extra pass over the ids
            when the files hold more rows than that. The result is the same for any value.

    Returns:
        The :func:`rfm_table` columns, one row per customer, sorted by ``customer_id``.

    Raises:
        DataError: the path matches no Parquet file, a needed column is missing, or as for
            :func:`rfm_table`.
        SettingsError: unknown engine, or ``partitions`` is not a positive whole number.
    """
    if window_days is not None and int(window_days) <= 0:
        raise DataError("The lookback window must be a positive number of days.", code="bad_window")
    if partitions is not None and (isinstance(partitions, bool) or not isinstance(partitions, int)
                                   or partitions < 1):
        from .scoring import SettingsError

        raise SettingsError(f"The number of partitions must be a whole number of at least 1, not “{partitions}”.")
    as_of_date = to_date(as_of)
    if _check_engine(engine) != "polars":
        return _rfm_elsewhere(path_or_glob, as_of_date, window_days, engine)
    source = os.fspath(path_or_glob)
    if os.path.isdir(source):
        source = os.path.join(source, "**", "*.parquet")
    try:
        lf = pl.scan_parquet(source)
        columns = lf.collect_schema().names()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataError(f"Could not read the Parquet data at “{path_or_glob}”: {str(exc).splitlines()[0]}") from None
    missing = [c for c in (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT) if c not in columns]
    if missing:
        raise DataError(
            f"The transactions at “{path_or_glob}” lack the column(s) {', '.join(missing)}; they need "
            "customer_id, order_date, amount and, when orders span several rows, order_id."
        )
    own_orders = C.ORDER_ID not in columns
    lf = lf.select(C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT, pl.lit(None, pl.String).alias(C.ORDER_ID)
                   if own_orders else pl.col(C.ORDER_ID))
    # Row counts come from the Parquet footers, without reading any data.
    estimate_customers = partitions is None and lf.select(pl.len()).collect().item() > CUSTOMERS_PER_PASS
    if as_of_date is None or estimate_customers:
        # One streaming pass settles the as-of date (so every plan below is a plain filter +
        # group-by, as on the eager path) and, for large inputs, estimates the customers.
        first = []
        if as_of_date is None:
            first.append(pl.col(C.ORDER_DATE).max().cast(pl.Date).alias("last"))
        if estimate_customers:
            first.append(pl.col(C.CUSTOMER_ID).approx_n_unique().alias("customers"))
        found = lf.select(first).collect(engine="streaming").row(0, named=True)
        if found.get("last") is not None:
            as_of_date = found["last"] + dt.timedelta(days=1)
        if estimate_customers:
            partitions = max(1, -(-found["customers"] // CUSTOMERS_PER_PASS))
    if partitions is None or partitions == 1:
        return _customer_table(lf, as_of_date, window_days, one_order_per_row=own_orders).collect(engine="streaming")
    # The group-by state grows with the customers it holds, so each pass keeps to one group of
    # them. Groups are ranges of ids in sort order: a customer's rows all land in one group, and
    # the groups' sorted tables, put end to end, are the one-pass table exactly, without a final
    # sort (which would hold the whole table twice).
    cuts = _id_cuts(lf, partitions)
    cid = pl.col(C.CUSTOMER_ID)
    ranges = [cid.is_null() | (cid < cuts[0])] if cuts else [pl.lit(True)]
    ranges += [(cid >= lo) & (cid < hi) for lo, hi in itertools.pairwise(cuts)]
    ranges += [cid >= cuts[-1]] if cuts else []
    parts = [
        _customer_table(lf.filter(in_range), as_of_date, window_days, one_order_per_row=own_orders)
        .collect(engine="streaming")
        for in_range in ranges
    ]
    return pl.concat(parts, rechunk=False)


def _id_cuts(lf: pl.LazyFrame, partitions: int) -> list[str]:
    """Up to ``partitions - 1`` ids that cut the sorted customer ids into groups of about equal size.

    The cuts come from a sample of customers (those whose id hash falls in one bucket, so a
    customer is wholly in or out) read in one streaming pass over the id column; an uneven
    sample only makes the groups uneven, never the result different.
    """
    rows = lf.select(pl.len()).collect().item()
    bucket = max(1, rows // _SAMPLE_ROWS)
    cid = pl.col(C.CUSTOMER_ID)
    sample = (
        lf.select(cid).filter(cid.hash(_SAMPLE_HASH_SEED) % bucket == 0).unique()
        .collect(engine="streaming").to_series().drop_nulls().sort()
    )
    if sample.is_empty():
        return []
    picks = [sample.len() * i // partitions for i in range(1, partitions)]
    return sample.gather(picks).unique(maintain_order=True).to_list()


def _in_range(lf: pl.LazyFrame, as_of: dt.date | None, window_days: int | None) -> pl.LazyFrame:
    """Rows dated on or before ``as_of`` (and inside the window), with the order day in ``_day``.

    Without ``as_of`` and window every dated row counts and the as-of day is derived after the
    group-by (:func:`_aggregations`); only a lazy frame with a window but no as-of still needs a
    frame-wide maximum here (column ``_as_of``).
    """
    lf = lf.with_columns(pl.col(C.ORDER_DATE).cast(pl.Date).alias(_DAY))
    if as_of is None and window_days is None:
        return lf.filter(pl.col(_DAY).is_not_null())
    ref = pl.lit(as_of, dtype=pl.Date) if as_of is not None else pl.col(_DAY).max() + pl.duration(days=1)
    keep = pl.col(_DAY) <= ref
    if window_days is not None:
        keep = keep & (pl.col(_DAY) > ref - pl.duration(days=int(window_days)))
    if as_of is None:
        lf = lf.with_columns(ref.alias(_AS_OF))
    return lf.filter(keep)


def _one_order_per_row(tx: pl.DataFrame, as_of: dt.date | None, window_days: int | None) -> bool:
    """Whether every purchase row in range has an order id of its own.

    Then distinct orders per customer are just purchase rows per customer, which a group-by
    counts far more cheaply than distinct values. Distinct hashes imply distinct ids, so a
    ``True`` here is exact; a hash clash only sends the data down the distinct-count path.
    """
    # Strictly increasing numbers are distinct in every subset too: one cheap pass. Saved data
    # sets number their orders so when every purchase has its own order.
    # Compared, not subtracted: ``diff`` of UInt64 hashes overflows Int64 to null, which once
    # let two lines of one order pass as increasing.
    increasing = (pl.col(C.ORDER_ID) > pl.col(C.ORDER_ID).shift(1)).fill_null(pl.int_range(pl.len()) == 0).all()
    if tx.schema[C.ORDER_ID].is_integer() and tx.height and bool(tx.select(increasing).item()):
        return True
    # The purchases' order hashes, filtered once (filtering twice was most of this check's
    # ~0.6 s on 10M rows).
    hashes = (
        _in_range(tx.lazy(), as_of, window_days)
        .filter(pl.col(C.AMOUNT) > 0)
        .select(pl.col(C.ORDER_ID).hash(ORDER_HASH_SEED))
        .collect()
        .to_series()
    )
    return distinct_hashes(hashes)


def _aggregations(*, one_order_per_row: bool, as_of: dt.date | None, window_days: int | None) -> list[pl.Expr]:
    if one_order_per_row:
        frequency = pl.col(_GROSS).count()
    else:
        # Non-purchase rows carry a null order, which n_unique counts as one value.
        frequency = pl.col(_ORDER).n_unique() - (pl.col(_ORDER).null_count() > 0)
    aggs = [
        frequency.cast(pl.Int64).alias(C.FREQUENCY),
        pl.col(_GROSS).sum(),
        pl.col(_RETURNED).sum(),
        pl.col(_BUY_DAY).min().alias(C.FIRST_PURCHASE),
        pl.col(_BUY_DAY).max().alias(C.LAST_PURCHASE),
    ]
    if as_of is None:
        aggs.append(pl.col(_AS_OF).first() if window_days is not None else pl.col(_DAY).max().alias(_LAST_DAY))
    return aggs


def _packable() -> pl.Expr:
    """Ids that :func:`_packed_id` encodes exactly (null ids too: they become a null key)."""
    cid = pl.col(C.CUSTOMER_ID)
    return ((cid.str.len_bytes() <= _KEY_BYTES) & ~cid.str.ends_with("\x00")).fill_null(True)


def _packed_id(ascii_ids: bool = False) -> pl.Expr:
    """An id of up to 8 bytes as one UInt64: its bytes, zero-padded on the right, big-endian.

    Exact for :func:`_packable` ids: padding only appends zero bytes, so two ids share a key only
    if one is the other plus trailing zero bytes, which ``_packable`` rules out. Keys sort like
    the ids (bytewise), with null first.
    """
    cid = pl.col(C.CUSTOMER_ID)
    if ascii_ids:
        # One byte per character: padding to 8 characters is padding to 8 bytes, in half the
        # time of building the padding per id (10M rows: 0.1 s against 0.2 s).
        return cid.str.pad_end(_KEY_BYTES, "\x00").cast(pl.Binary).bin.reinterpret(
            dtype=pl.UInt64, endianness="big"
        ).alias(_KEY)
    pad_len = (pl.lit(_KEY_BYTES, dtype=pl.Int64) - cid.str.len_bytes().cast(pl.Int64)).clip(lower_bound=0)
    padded = pl.concat_str([cid, pl.lit("\x00" * _KEY_BYTES).str.slice(0, pad_len)])
    return padded.cast(pl.Binary).bin.reinterpret(dtype=pl.UInt64, endianness="big").alias(_KEY)


def _unpacked_id(keys: pl.Series) -> pl.Series:
    """Inverse of :func:`_packed_id`, once per customer.

    Polars has no integer-to-bytes cast, so this goes through numpy, whose fixed-width bytes
    type drops trailing zero bytes, i.e. exactly the padding.
    """
    raw = keys.fill_null(0).to_numpy().astype(">u8").view(f"S{_KEY_BYTES}")
    ids = pl.Series(C.CUSTOMER_ID, raw, dtype=pl.Binary).cast(pl.String)
    if keys.null_count():
        ids = pl.select(pl.when(keys.is_not_null()).then(ids)).to_series()
    return ids


def _decoded_id(keys: pl.Series, ids: pl.Series | None) -> pl.Series:
    """Customer codes back to ids, once per customer."""
    if ids is None:
        return keys.cast(pl.String)
    return ids.cast(pl.String).gather(keys)


def _customer_table(
    lf: pl.LazyFrame,
    as_of: dt.date | None,
    window_days: int | None,
    *,
    one_order_per_row: bool = False,
    short_ids: bool = False,
    ascii_ids: bool = False,
    coded: bool = False,
    ids: pl.Series | None = None,
) -> pl.LazyFrame:
    """The customer table as a plan; ``short_ids`` promises that every id is :func:`_packable`,
    ``ascii_ids`` that every id is ASCII (one byte per character).

    ``coded``: ``customer_id`` holds integer codes, grouped as they are and turned into ids
    once per customer.
    """
    # Filter first, then group: per-group filters inside the aggregation are several times
    # slower in Polars, so values that only count for purchases (or returns) are nulled out
    # beforehand and one group-by serves all measures. Orders are counted by a 64-bit hash of
    # their id, which Polars counts faster than the strings; two order ids of one customer
    # colliding is a ~1e-19 event.
    buy = pl.col(C.AMOUNT) > 0
    rows = _in_range(lf, as_of, window_days).with_columns(
        pl.when(buy).then(pl.col(C.ORDER_ID).hash(ORDER_HASH_SEED)).alias(_ORDER),
        pl.when(buy).then(pl.col(C.AMOUNT)).alias(_GROSS),
        pl.when(pl.col(C.AMOUNT) < 0).then(pl.col(C.AMOUNT)).alias(_RETURNED),
        pl.when(buy).then(pl.col(_DAY)).alias(_BUY_DAY),
    )
    aggs = _aggregations(one_order_per_row=one_order_per_row, as_of=as_of, window_days=window_days)
    unpacked = pl.col(_KEY).map_batches(_unpacked_id, return_dtype=pl.String).alias(C.CUSTOMER_ID)
    if coded:
        unpacked = pl.col(_KEY).map_batches(lambda k: _decoded_id(k, ids), return_dtype=pl.String).alias(C.CUSTOMER_ID)
        per_customer = rows.group_by(pl.col(C.CUSTOMER_ID).alias(_KEY)).agg(aggs)
    elif short_ids:
        per_customer = rows.group_by(_packed_id(ascii_ids)).agg(aggs)
    else:
        # Without a look at the data, rows of long ids take the string group-by; a customer's
        # rows all go the same way, so the two parts never share a customer.
        packed = rows.filter(_packable()).group_by(_packed_id()).agg(aggs)
        other = rows.filter(~_packable()).group_by(C.CUSTOMER_ID).agg(aggs)
        per_customer = pl.concat([packed.select(unpacked, pl.exclude(_KEY)), other])

    if as_of is not None:
        ref = pl.lit(as_of, dtype=pl.Date)
    elif window_days is not None:
        ref = pl.col(_AS_OF)
    else:
        # The default as-of is the day after the last dated row of anyone, returns included.
        ref = pl.col(_LAST_DAY).max() + pl.duration(days=1)
    customers = per_customer.with_columns(ref.alias(_AS_OF)).filter(pl.col(C.LAST_PURCHASE).is_not_null())
    # Packed keys sort like the ids, and integers sort far faster than strings.
    customers = customers.sort(_KEY).with_columns(unpacked) if short_ids or coded else customers.sort(C.CUSTOMER_ID)
    return customers.select(
        C.CUSTOMER_ID,
        (pl.col(_AS_OF) - pl.col(C.LAST_PURCHASE)).dt.total_days().cast(pl.Int64).alias(C.RECENCY),
        C.FREQUENCY,
        # Parallel float sums differ in the last bit from run to run; rounding to 1e-6
        # keeps equal spend equal, so tie-aware scores are reproducible.
        (pl.col(_GROSS) + pl.col(_RETURNED)).round(6).cast(pl.Float64).alias(C.MONETARY),
        C.FIRST_PURCHASE,
        C.LAST_PURCHASE,
        (pl.col(_AS_OF) - pl.col(C.FIRST_PURCHASE)).dt.total_days().cast(pl.Int64).alias(C.TENURE),
        (pl.col(_GROSS).round(6) / pl.col(C.FREQUENCY)).cast(pl.Float64).alias(C.AOV),
    )
