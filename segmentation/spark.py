"""The per-customer aggregation on Apache Spark, with the core's exact definitions.

Transactions to customer tables is the one step whose cost grows with the number of
transactions, so it is the one step worth running where big data already lives. This module
computes, with the PySpark DataFrame API (no Python UDFs), the same tables as the Polars core:

- :func:`rfm_table_spark` equals :func:`segmentation.rfm.rfm_table`;
- :func:`snapshot_inputs_spark` equals the per-date customer tables that
  :func:`segmentation.snapshots.snapshots` scores (Migration and Trends), with
  ``first_purchase_ever``, ``period_orders`` and ``period_revenue``.

Everything after these tables (scoring, rules, tiers, summaries) works on one row per
customer and stays in Polars. :func:`spark_session` reaches a cluster the standard way:
``SPARK_REMOTE`` (Spark Connect), else a master URL (``TIERLENS_SPARK_MASTER`` or the
``spark.master`` setting of the Spark installation), else ``local[*]``. Everything here is
DataFrame plans and Arrow batches (no RDDs, no SparkContext, no Python UDFs), so the same code
runs over Spark Connect, where the client has no JVM at all; tests/test_spark_connect.py runs
it against a local Connect server.

Types: Spark has no unsigned or 8/16-bit distinctions that matter here, so Polars ``String``
is ``string``, ``Int64`` is ``bigint``, ``Float64`` is ``double`` and ``Date`` is ``date``;
collected back through Arrow they are the Polars types again. Dates with a time of day are
cut to their calendar day in the session time zone, which :func:`spark_session` sets to UTC,
the zone in which naive timestamps cross the Arrow bridge unchanged.

Money: Polars adds floats in its own order and Spark in another, so sums can differ in the last
bit before rounding; both round to 1e-6 (half to even), which makes equal spend equal. Amounts
with more than six decimals can still differ by 1e-6 between engines.

PySpark is imported lazily: the rest of the core works without it.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import socket
import urllib.parse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import columns as C
from ._dates import to_date
from .errors import DataError

if TYPE_CHECKING:
    import polars as pl
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "MASTER_ENV",
    "REMOTE_ENV",
    "from_spark",
    "rfm_table_spark",
    "snapshot_inputs_spark",
    "spark_available",
    "spark_session",
    "spark_target",
    "to_spark",
]

REMOTE_ENV = "SPARK_REMOTE"
MASTER_ENV = "TIERLENS_SPARK_MASTER"
CONNECT_DEFAULT_PORT = 15002
# The modules of pyspark's "connect" extra that plain pyspark does not bring.
CONNECT_CLIENT = ("grpc", "grpc_status", "google.rpc", "zstandard")
CONNECT_TIMEOUT_S = 10.0

_RFM_COLUMNS = (C.CUSTOMER_ID, C.RECENCY, C.FREQUENCY, C.MONETARY, C.FIRST_PURCHASE, C.LAST_PURCHASE,
                C.TENURE, C.AOV)
SNAPSHOT_DATE = "snapshot_date"
FIRST_PURCHASE_EVER = "first_purchase_ever"
PERIOD_ORDERS = "period_orders"
PERIOD_REVENUE = "period_revenue"
_SNAPSHOT_INPUT_COLUMNS = (SNAPSHOT_DATE, *_RFM_COLUMNS, FIRST_PURCHASE_EVER, PERIOD_ORDERS, PERIOD_REVENUE)
_MONEY_DIGITS = 6


def spark_available() -> bool:
    """Whether PySpark is installed and, unless ``SPARK_REMOTE`` points at a server, Java is found."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    if os.environ.get(REMOTE_ENV):
        return True
    java_home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))))


def spark_session(*, app_name: str = "tierlens", config: dict[str, str] | None = None) -> SparkSession:
    """The Spark session to run on: Spark Connect, a cluster's master, or local mode.

    Resolution order: env ``SPARK_REMOTE`` (e.g. ``sc://spark-connect.internal:15002``) opens a
    Spark Connect session; else env ``TIERLENS_SPARK_MASTER`` (e.g. ``spark://host:7077``,
    ``yarn``, ``k8s://https://api:6443``), else a ``spark.master`` already set for the Spark
    installation (``spark-defaults.conf``, ``spark-submit --master``), else ``local[*]``.
    An already running session is reused.

    Args:
        app_name: the application name shown in the cluster's UI.
        config: extra Spark settings (e.g. ``{"spark.driver.memory": "8g"}``); they apply
            when this call starts the session.

    Raises:
        DataError: PySpark is not installed, Java is missing for local mode, or the cluster
            cannot be reached; the message says what to install or check.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise DataError(
            "The Spark engine needs PySpark; install it with: pip install 'pyspark~=4.3'."
        ) from None
    # Naive timestamps cross the Arrow bridge as UTC wall-clock times, so days are cut in UTC.
    settings = {"spark.sql.session.timeZone": "UTC", "spark.sql.execution.arrow.pyspark.enabled": "true"}
    kind, url = spark_target()
    builder = SparkSession.builder.appName(app_name)
    if kind == "remote":
        where = f"the Spark Connect server at {url} (from {REMOTE_ENV})"
        missing = [m for m in CONNECT_CLIENT if not _installed(m)]
        if missing:
            raise DataError(
                f"Spark Connect ({REMOTE_ENV}) needs its client libraries ({', '.join(missing)} missing); "
                "install them with: pip install 'tierlens[spark]' (or 'pyspark[connect]~=4.3')."
            )
        _check_reachable(url, where)
        builder = builder.remote(url)
    elif not spark_available():
        raise DataError(
            "The Spark engine needs Java 17 or newer for local mode and none was found; install a "
            "JRE (e.g. apt-get install openjdk-17-jre-headless) or set SPARK_REMOTE to a Spark "
            "Connect server."
        )
    elif kind == "master":
        builder = builder.master(url)
        where = f"the Spark master {url}"
    else:
        builder = builder.master(url)
        where = "Spark in local mode"
        # On one machine 200 shuffle partitions are mostly scheduling overhead, and nobody
        # watches the web UI or the console progress bar.
        settings.update({
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": str(max(4, 2 * (os.cpu_count() or 1))),
        })
    for key, value in {**settings, **(config or {})}.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # py4j and gRPC raise their own types; all mean "no Spark"
        raise DataError(f"Could not start or reach {where}: {str(exc).splitlines()[0][:300]}") from exc


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a dotted name whose parent package is missing
        return False


def _check_reachable(url: str, where: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast when nothing listens at a Spark Connect URL.

    The Connect client retries an unreachable server with growing pauses for many minutes
    before it gives up, so the app or a scheduled job would seem to hang; one TCP connection
    tells the same in seconds. ``local`` URLs start a server in this process, so there is
    nothing to reach yet.
    """
    if url.startswith("local"):
        return
    if not url.startswith("sc://"):
        raise DataError(f"{REMOTE_ENV} must look like sc://host:port, not “{url}”.")
    try:
        # The client parses the address the same way: as an http URL.
        address = urllib.parse.urlparse("http" + url[2:])
        host, port = address.hostname, address.port or CONNECT_DEFAULT_PORT
    except ValueError:
        host, port = None, None
    if not host:
        raise DataError(f"{REMOTE_ENV} must look like sc://host:port, not “{url}”.")
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise DataError(
            f"Could not reach {where}: nothing answered at {host}:{port} ({exc.strerror or exc}). "
            "Check that the server is running and the address is right."
        ) from None


def spark_target() -> tuple[str, str]:
    """Where :func:`spark_session` goes: ``("remote", url)``, ``("master", url)`` or ``("local", "local[*]")``.

    A ``spark.master`` counts when the driver was started by ``spark-submit --master`` or
    when ``spark-defaults.conf`` (in ``SPARK_CONF_DIR`` or ``SPARK_HOME/conf``) sets it.

    Example:
        >>> spark_target()[0] in {"remote", "master", "local"}
        True
    """
    remote = os.environ.get(REMOTE_ENV, "").strip()
    if remote:
        return "remote", remote
    master = os.environ.get(MASTER_ENV, "").strip()
    if master:
        return "master", master
    configured = _configured_master()
    return ("master", configured) if configured else ("local", "local[*]")


def _configured_master() -> str | None:
    try:
        from pyspark import SparkConf
    except ImportError:
        return None
    # Under spark-submit the JVM exists already and SparkConf reads its settings.
    master = SparkConf().get("spark.master")
    if master:
        return master
    conf_dir = os.environ.get("SPARK_CONF_DIR") or (
        os.path.join(os.environ["SPARK_HOME"], "conf") if os.environ.get("SPARK_HOME") else None
    )
    return _master_in_defaults(conf_dir) if conf_dir else None


def _master_in_defaults(conf_dir: str) -> str | None:
    path = os.path.join(conf_dir, "spark-defaults.conf")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0] == "spark.master":
                return parts[1].strip()
    return None


# ---------------------------------------------------------------------------------------------
# Arrow bridge


def to_spark(tx: pl.DataFrame | pl.LazyFrame, spark: SparkSession | None = None) -> DataFrame:
    """Canonical transactions (Polars) as a Spark DataFrame, through Arrow.

    Only ``customer_id``, ``order_date``, ``amount`` and ``order_id`` (when present) travel;
    time-zone-aware timestamps become their local wall-clock time first, so each order keeps
    the calendar day Polars gives it.
    """
    import polars as pl

    spark = spark or spark_session()
    frame = tx.collect() if isinstance(tx, pl.LazyFrame) else tx
    cols = [c for c in (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT, C.ORDER_ID) if c in frame.columns]
    frame = frame.select(cols)
    dtype = frame.schema.get(C.ORDER_DATE)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        frame = frame.with_columns(pl.col(C.ORDER_DATE).dt.replace_time_zone(None))
    return spark.createDataFrame(frame.to_arrow())


def from_spark(df: DataFrame) -> pl.DataFrame:
    """A Spark DataFrame collected into Polars through Arrow (no row-by-row conversion)."""
    import polars as pl

    out = pl.from_arrow(df.toArrow())
    assert isinstance(out, pl.DataFrame)
    return out


# ---------------------------------------------------------------------------------------------
# Customer tables


def _check_columns(df: DataFrame) -> None:
    missing = [c for c in (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT) if c not in df.columns]
    if missing:
        raise DataError(
            f"The transactions lack the column(s) {', '.join(missing)}; they need customer_id, "
            "order_date, amount and, when orders span several rows, order_id."
        )


def _rows(df: DataFrame) -> DataFrame:
    """customer_id, _day (Date), amount (double), order_id (string; a row id when absent)."""
    from pyspark.sql import functions as F

    _check_columns(df)
    order = (
        F.col(C.ORDER_ID).cast("string") if C.ORDER_ID in df.columns
        # Without an order column every row is its own order, as ingest numbers them.
        else F.concat(F.lit("row-"), F.monotonically_increasing_id().cast("string"))
    )
    return df.select(
        F.col(C.CUSTOMER_ID).cast("string").alias(C.CUSTOMER_ID),
        F.to_date(F.col(C.ORDER_DATE)).alias("_day"),
        F.col(C.AMOUNT).cast("double").alias(C.AMOUNT),
        order.alias(C.ORDER_ID),
    ).where(F.col("_day").isNotNull())


def _default_as_of(rows: DataFrame) -> dt.date | None:
    from pyspark.sql import functions as F

    last = rows.agg(F.max("_day")).first()[0]
    return None if last is None else last + dt.timedelta(days=1)


def _check_window(window_days: int | None) -> int | None:
    if window_days is not None and int(window_days) <= 0:
        raise DataError("The lookback window must be a positive number of days.")
    return None if window_days is None else int(window_days)


def _money(col: Any) -> Any:
    from pyspark.sql import functions as F

    # Half to even, as Polars rounds.
    return F.bround(col, _MONEY_DIGITS)


def _per_order(rows: DataFrame, keys: Iterable[str]) -> DataFrame:
    """One row per (keys, order): gross purchases, returns, first/last purchase day.

    Counting orders as groups rather than with a distinct count keeps the definition of
    rfm_table exactly, a missing order id included (it is one order, as in Polars), and lets
    Spark combine map-side.
    """
    from pyspark.sql import functions as F

    buy = F.col(C.AMOUNT) > 0
    return rows.groupBy(*keys, C.ORDER_ID).agg(
        F.sum(F.when(buy, F.col(C.AMOUNT))).alias("_gross"),
        F.sum(F.when(F.col(C.AMOUNT) < 0, F.col(C.AMOUNT))).alias("_returned"),
        F.min(F.when(buy, F.col("_day"))).alias("_first"),
        F.max(F.when(buy, F.col("_day"))).alias("_last"),
    )


def _per_customer(orders: DataFrame, keys: Iterable[str]) -> DataFrame:
    from pyspark.sql import functions as F

    return orders.groupBy(*keys).agg(
        F.count("_gross").cast("bigint").alias(C.FREQUENCY),
        F.sum("_gross").alias("_gross"),
        F.coalesce(F.sum("_returned"), F.lit(0.0)).alias("_returned"),
        F.min("_first").alias(C.FIRST_PURCHASE),
        F.max("_last").alias(C.LAST_PURCHASE),
    ).where(F.col(C.LAST_PURCHASE).isNotNull())


def _rfm_select(customers: DataFrame, as_of: Any) -> list[Any]:
    from pyspark.sql import functions as F

    return [
        C.CUSTOMER_ID,
        F.datediff(as_of, F.col(C.LAST_PURCHASE)).cast("bigint").alias(C.RECENCY),
        C.FREQUENCY,
        _money(F.col("_gross") + F.col("_returned")).alias(C.MONETARY),
        C.FIRST_PURCHASE,
        C.LAST_PURCHASE,
        F.datediff(as_of, F.col(C.FIRST_PURCHASE)).cast("bigint").alias(C.TENURE),
        (_money(F.col("_gross")) / F.col(C.FREQUENCY)).alias(C.AOV),
    ]


def rfm_table_spark(
    df: DataFrame,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    window_days: int | None = None,
) -> DataFrame:
    """:func:`segmentation.rfm.rfm_table` on Spark: one row per customer as of a date.

    Args:
        df: transactions with ``customer_id``, ``order_date`` (date or timestamp), ``amount``
            and optionally ``order_id`` (absent: every row is its own order).
        as_of: the reference day; later transactions are ignored and a time of day on it still
            counts. Default: the day after the last dated row (one extra pass over the dates).
        window_days: only transactions dated in ``(as_of - window_days, as_of]``.

    Returns:
        A Spark DataFrame sorted by ``customer_id`` with, per customer that has a purchase
        (amount > 0) in range: ``customer_id`` (string), ``recency_days`` (bigint),
        ``frequency`` (bigint, distinct orders with a purchase), ``monetary`` (double, net,
        returns included, rounded to 1e-6), ``first_purchase``, ``last_purchase`` (date),
        ``tenure_days`` (bigint), ``avg_order_value`` (double, gross purchases / frequency).

    Raises:
        DataError: a needed column is missing, ``as_of`` is not a date, the window is not positive.

    Example (with a running Spark; tests/test_spark.py runs it as a test)::

        df = spark_session().createDataFrame(
            [("a", dt.date(2024, 1, 1), 10.0, "o1"), ("a", dt.date(2024, 1, 5), -5.0, "o2")],
            "customer_id string, order_date date, amount double, order_id string",
        )
        rfm_table_spark(df, as_of="2024-01-10").select("recency_days", "monetary").collect()
        # [Row(recency_days=9, monetary=5.0)]
    """
    from pyspark.sql import functions as F

    w = _check_window(window_days)
    as_of_date = to_date(as_of)
    rows = _rows(df)
    if as_of_date is None:
        as_of_date = _default_as_of(rows)
        if as_of_date is None:  # no dated rows: the empty table, with its types
            as_of_date = dt.date(1970, 1, 1)
    ref = F.lit(as_of_date)
    keep = F.col("_day") <= ref
    if w is not None:
        keep = keep & (F.col("_day") > F.date_sub(ref, w))
    customers = _per_customer(_per_order(rows.where(keep), [C.CUSTOMER_ID]), [C.CUSTOMER_ID])
    return customers.select(*_rfm_select(customers, ref)).orderBy(F.col(C.CUSTOMER_ID).asc_nulls_first())


def snapshot_inputs_spark(
    df: DataFrame,
    dates: Iterable[dt.date | dt.datetime | str],
    *,
    window_days: int | None = None,
) -> DataFrame:
    """The per-date customer tables Migration and Trends score, on Spark.

    For every snapshot date ``d`` the rows equal ``rfm_table(tx, as_of=d,
    window_days=window_days)``, plus what :func:`segmentation.snapshots.snapshots` adds before
    scoring. Each transaction is aggregated per order first and then copied to the snapshot
    dates whose window holds it (without a window: every later date), so the work grows with
    orders x dates in the window rather than transactions x dates.

    Args:
        df: transactions as for :func:`rfm_table_spark`.
        dates: snapshot dates (any order; duplicates ignored); each includes its own day.
        window_days: the lookback window in days, or None for all history.

    Returns:
        A Spark DataFrame sorted by ``customer_id`` then ``snapshot_date``, one row per customer
        and date with a purchase in range: ``snapshot_date`` (date), the ``rfm_table_spark``
        columns, ``first_purchase_ever`` (date, first purchase in the data, ignoring the
        window), ``period_orders`` (bigint, orders whose first purchase line is dated after the
        previous snapshot date and on or before this one; for the first date everything up to it) and
        ``period_revenue`` (double, the net amount of that period).

    Raises:
        DataError: no dates, a date that is not a date, a window that is not positive.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = _check_window(window_days)
    grid = sorted({d for d in (to_date(x) for x in dates) if d is not None})
    if not grid:
        raise DataError("Choose at least one snapshot date.")
    spark = df.sparkSession
    n = len(grid)
    rows = _rows(df).where(F.col("_day") <= F.lit(grid[-1]))
    days = F.array(*[F.lit(d) for d in grid])
    # Step of a day: the index of the first snapshot date on or after it (the number of
    # snapshot dates before it). A higher-order function keeps this inside the JVM.
    k_in = F.size(F.filter(days, lambda d: d < F.col("_day")))
    k_out = F.lit(n) if w is None else F.size(F.filter(days, lambda d: d < F.date_add(F.col("_day"), w)))
    rows = rows.select("*", k_in.alias("_kin"), k_out.alias("_kout"))

    # Activity per period: every row of the period counts, whatever the window. An order whose
    # purchase lines fall in several periods counts once, in the period of its first line (as in
    # segmentation.snapshots).
    buy = F.col(C.AMOUNT) > 0
    first_k = F.min(F.when(buy, F.col("_kin"))).over(Window.partitionBy(C.CUSTOMER_ID, C.ORDER_ID))
    period = (
        rows.select("*", first_k.alias("_first_k"))
        .groupBy(C.CUSTOMER_ID, "_kin", C.ORDER_ID)
        .agg(F.max((buy & (F.col("_kin") == F.col("_first_k"))).cast("int")).alias("_buy"),
             F.sum(C.AMOUNT).alias("_net"))
        .groupBy(C.CUSTOMER_ID, F.col("_kin").alias("_k"))
        .agg(F.sum("_buy").cast("bigint").alias(PERIOD_ORDERS), F.sum("_net").alias("_p_net"))
    )
    first_ever = rows.where(buy).groupBy(C.CUSTOMER_ID).agg(F.min("_day").alias(FIRST_PURCHASE_EVER))

    # A row is in the window of steps kin .. kout-1; rows of one order that share those steps
    # are combined before they are copied to each step.
    spans = _per_order(rows.where(F.col("_kin") < F.col("_kout")), [C.CUSTOMER_ID, "_kin", "_kout"])
    per_step = spans.select(
        "*", F.explode(F.sequence(F.col("_kin"), F.col("_kout") - 1)).alias("_k")
    ).groupBy(C.CUSTOMER_ID, "_k", C.ORDER_ID).agg(
        F.sum("_gross").alias("_gross"),
        F.sum("_returned").alias("_returned"),
        F.min("_first").alias("_first"),
        F.max("_last").alias("_last"),
    )
    customers = _per_customer(per_step, [C.CUSTOMER_ID, "_k"])
    grid_df = spark.createDataFrame([(k, d) for k, d in enumerate(grid)], f"_k int, {SNAPSHOT_DATE} date")
    as_of = F.col(SNAPSHOT_DATE)
    # A missing customer id is a customer too (as in Polars), so ids are joined null-safely.
    c, p, f = customers.alias("c"), period.alias("p"), first_ever.alias("f")
    cid = F.col(f"c.{C.CUSTOMER_ID}")
    out = (
        c.join(F.broadcast(grid_df).alias("g"), F.col("c._k") == F.col("g._k"))
        .join(p, cid.eqNullSafe(F.col(f"p.{C.CUSTOMER_ID}")) & (F.col("c._k") == F.col("p._k")), "left")
        .join(f, cid.eqNullSafe(F.col(f"f.{C.CUSTOMER_ID}")), "left")
        .select("c.*", SNAPSHOT_DATE, PERIOD_ORDERS, "_p_net", FIRST_PURCHASE_EVER)
    )
    return out.select(
        SNAPSHOT_DATE,
        *_rfm_select(out, as_of),
        FIRST_PURCHASE_EVER,
        F.coalesce(PERIOD_ORDERS, F.lit(0)).cast("bigint").alias(PERIOD_ORDERS),
        _money(F.coalesce("_p_net", F.lit(0.0))).alias(PERIOD_REVENUE),
    ).orderBy(F.col(C.CUSTOMER_ID).asc_nulls_first(), SNAPSHOT_DATE)
