"""One-date summaries of a customer table: what the Overview, Customer, Export and CLV pages show.

Plain functions over small or one-row-per-customer frames (no Streamlit, no Plotly); the UI
caches their results per view and only formats them. Column names come from
:mod:`segmentation.columns`; every function documents the columns it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from . import columns as C

__all__ = [
    "SCATTER_POINTS",
    "alive_sample",
    "clv_histogram",
    "customer_history",
    "customer_row",
    "customers_in",
    "date_bounds",
    "example_customers",
    "find_customer",
    "headline",
    "pareto",
    "rf_grid",
    "table_series",
    "tier_names",
    "tier_summary",
    "top_clv",
    "top_share",
    "unscored",
]

# At most this many customers in a scatter plot (a seeded sample beyond it).
SCATTER_POINTS = 5_000


def date_bounds(tx: pl.DataFrame) -> tuple[dt.date, dt.date]:
    """First and last order day (as dates) of a transactions frame."""
    days = tx.select(
        pl.col(C.ORDER_DATE).min().cast(pl.Date).alias("lo"), pl.col(C.ORDER_DATE).max().cast(pl.Date).alias("hi")
    ).row(0)
    return days[0], days[1]


def tier_names(tiered: pl.DataFrame, order: Sequence[str] = ()) -> list[str]:
    """Tier names best first: ``order`` (the value order) for the names it lists, then the rest
    in rule order (the Enum categories of the ``tier`` column).

    >>> t = pl.DataFrame({"tier": pl.Series(["A", "B", "C"], dtype=pl.Enum(["A", "B", "C"]))})
    >>> tier_names(t), tier_names(t, ("C", "A"))
    (['A', 'B', 'C'], ['C', 'A', 'B'])
    """
    dtype = tiered.schema[C.TIER]
    if isinstance(dtype, pl.Enum):
        names = list(dtype.categories)
    else:
        names = sorted(tiered[C.TIER].unique().drop_nulls().cast(pl.String).to_list())
    first = [n for n in order if n in names]
    return [*first, *(n for n in names if n not in first)]


def tier_summary(tiered: pl.DataFrame, *, unassigned: str | None = None, order: Sequence[str] = ()) -> pl.DataFrame:
    """One row per tier, best first (``order``, see :func:`tier_names`), including tiers with
    no customers.

    ``unassigned`` names the implicit catch-all tier of rules without ``else``; it is left out
    when nobody lands in it (rules that cover every customer should not show an empty tier).

    Columns: tier (String), customers, customer_share, revenue (net monetary), revenue_share,
    avg_monetary, avg_recency, avg_frequency, orders.
    """
    names = tier_names(tiered, order)
    total_customers = max(tiered.height, 1)
    total_revenue = tiered[C.MONETARY].sum() or 0.0
    per = (
        tiered.group_by(C.TIER)
        .agg(
            pl.len().alias("customers"),
            pl.col(C.MONETARY).sum().alias("revenue"),
            pl.col(C.MONETARY).mean().alias("avg_monetary"),
            pl.col(C.RECENCY).mean().alias("avg_recency"),
            pl.col(C.FREQUENCY).mean().alias("avg_frequency"),
            pl.col(C.FREQUENCY).sum().alias("orders"),
        )
        .with_columns(pl.col(C.TIER).cast(pl.String))
    )
    frame = pl.DataFrame({C.TIER: names}, schema={C.TIER: pl.String}).join(per, on=C.TIER, how="left")
    if unassigned is not None and names and names[-1] == unassigned:
        frame = frame.filter((pl.col(C.TIER) != unassigned) | pl.col("customers").is_not_null())
    return frame.with_columns(
        pl.col("customers").fill_null(0).cast(pl.Int64),
        pl.col("revenue").fill_null(0.0),
        pl.col("orders").fill_null(0).cast(pl.Int64),
    ).with_columns(
        (pl.col("customers") / total_customers).alias("customer_share"),
        (pl.col("revenue") / total_revenue if total_revenue else pl.lit(0.0)).alias("revenue_share"),
    ).select(
        C.TIER, "customers", "customer_share", "revenue", "revenue_share", "avg_monetary", "avg_recency",
        "avg_frequency", "orders",
    )


def headline(rfm: pl.DataFrame, tiered: pl.DataFrame | None = None, *, order: Sequence[str] = ()) -> dict[str, float]:
    """Headline numbers of a customer table.

    Keys: customers, revenue (net), orders (purchases), aov (gross purchase value per order),
    repeat_share (customers with 2+ purchases), avg_recency; with ``tiered`` also
    top_tier (name), top_tier_customers and top_tier_revenue_share (the first tier in ``order``, else rule order).
    """
    row = rfm.select(
        pl.len().alias("customers"),
        pl.col(C.MONETARY).sum().alias("revenue"),
        pl.col(C.FREQUENCY).sum().alias("orders"),
        (pl.col(C.AOV) * pl.col(C.FREQUENCY)).sum().alias("gross"),
        (pl.col(C.FREQUENCY) >= 2).mean().alias("repeat_share"),
        pl.col(C.RECENCY).mean().alias("avg_recency"),
    ).row(0, named=True)
    out: dict[str, Any] = {
        "customers": int(row["customers"]),
        "revenue": float(row["revenue"] or 0.0),
        "orders": int(row["orders"] or 0),
        "aov": float(row["gross"] or 0.0) / row["orders"] if row["orders"] else 0.0,
        "repeat_share": float(row["repeat_share"] or 0.0),
        "avg_recency": float(row["avg_recency"] or 0.0),
    }
    if tiered is not None and tiered.height:
        summary = tier_summary(tiered, order=order)
        first = summary.row(0, named=True)
        out["top_tier"] = first[C.TIER]
        out["top_tier_customers"] = int(first["customers"])
        out["top_tier_customer_share"] = float(first["customer_share"])
        out["top_tier_revenue_share"] = float(first["revenue_share"])
    return out


def rf_grid(tiered: pl.DataFrame) -> pl.DataFrame:
    """Customers per (r_score, f_score) cell with average monetary and the most common tier.

    Columns: r_score, f_score, customers, avg_monetary, and dominant_tier when ``tier`` exists.
    """
    aggs = [pl.len().alias("customers"), pl.col(C.MONETARY).mean().alias("avg_monetary")]
    if C.TIER in tiered.columns:
        aggs.append(pl.col(C.TIER).cast(pl.String).mode().sort().first().alias("dominant_tier"))
    return tiered.group_by(C.R_SCORE, C.F_SCORE).agg(aggs).sort(C.R_SCORE, C.F_SCORE)


def pareto(rfm: pl.DataFrame, *, points: int = 200) -> pl.DataFrame:
    """Revenue concentration: cumulative revenue share against cumulative customer share.

    Customers are sorted by net monetary, largest first; customers whose returns exceed their
    purchases count as zero so the curve stays monotone. Down-sampled to about ``points`` rows
    (plus the origin). Columns: customer_share, revenue_share (both 0..1).
    """
    values = rfm.select(pl.col(C.MONETARY).clip(lower_bound=0.0).sort(descending=True).alias("m"))
    n = values.height
    total = values["m"].sum() if n else 0.0
    if n == 0 or not total:
        return pl.DataFrame({"customer_share": [0.0, 1.0], "revenue_share": [0.0, 1.0 if n else 0.0]})
    curve = values.with_row_index("i", offset=1).select(
        (pl.col("i") / n).alias("customer_share"),
        (pl.col("m").cum_sum() / total).alias("revenue_share"),
    )
    step = max(1, n // points)
    sampled = curve.gather_every(step)
    if sampled["customer_share"][-1] != 1.0:
        sampled = pl.concat([sampled, curve.tail(1)])
    origin = pl.DataFrame({"customer_share": [0.0], "revenue_share": [0.0]}, schema=curve.schema)
    return pl.concat([origin, sampled])


def top_share(rfm: pl.DataFrame, customer_share: float = 0.2) -> float:
    """Share of (non-negative) revenue brought by the top ``customer_share`` of customers."""
    values = rfm.select(pl.col(C.MONETARY).clip(lower_bound=0.0).sort(descending=True).alias("m"))["m"]
    total = values.sum()
    if not values.len() or not total:
        return 0.0
    k = max(1, round(values.len() * customer_share))
    return float(values.head(k).sum() / total)


def customer_history(tx: pl.DataFrame, customer_id: str) -> pl.DataFrame:
    """The transactions of one customer, oldest first (all columns of ``tx``)."""
    return tx.filter(pl.col(C.CUSTOMER_ID) == customer_id).sort(C.ORDER_DATE)


def find_customer(ids: pl.DataFrame | pl.Series, query: str) -> list[str]:
    """The customer ids a typed lookup means, verbatim as stored.

    Ids are typed from e-mails, call notes and spreadsheets, so case and spaces are ignored
    ("ab 12" finds "AB12"). An exact match wins; otherwise every id equal to the query after
    dropping whitespace and lower-casing is returned, sorted (several ids that differ only in
    case are different customers: the caller says so).

    Args:
        ids: a frame with ``customer_id`` (transactions or a customer table), or the id Series.
        query: the text typed by the user.

    Returns:
        Matching ids ([] when none or when the query is blank).

    Example:
        >>> ids = pl.Series("customer_id", ["AB12", "007", "ab12x"])
        >>> find_customer(ids, " ab 12 "), find_customer(ids, "007"), find_customer(ids, "7")
        (['AB12'], ['007'], [])
    """
    column = ids[C.CUSTOMER_ID] if isinstance(ids, pl.DataFrame) else ids
    column = column.cast(pl.String)
    if column.is_in([query]).any():
        return [query]
    key = "".join(query.split()).lower()
    if not key:
        return []
    folded = column.str.replace_all(r"\s+", "").str.to_lowercase()
    return column.filter(folded == key).unique().sort().to_list()


def customer_row(tiered: pl.DataFrame, customer_id: str) -> dict[str, Any] | None:
    """The customer-table row of one customer as a dict (None when not in the table)."""
    rows = tiered.filter(pl.col(C.CUSTOMER_ID) == customer_id)
    return rows.row(0, named=True) if rows.height else None


def example_customers(tiered: pl.DataFrame, per_tier: int = 3) -> pl.DataFrame:
    """A few customers per tier (highest monetary first), for picking one to look up.

    Columns: customer_id, tier (String), recency_days, frequency, monetary.
    """
    return (
        tiered.sort(C.MONETARY, descending=True)
        .group_by(C.TIER, maintain_order=True)
        .head(per_tier)
        .sort(C.TIER)
        .select(C.CUSTOMER_ID, pl.col(C.TIER).cast(pl.String), C.RECENCY, C.FREQUENCY, C.MONETARY)
    )


def customers_in(tiered: pl.DataFrame, tiers: tuple[str, ...] | list[str] = ()) -> pl.DataFrame:
    """Customer table rows of the given tiers (all when empty), tier as String, sorted by tier."""
    frame = tiered if not tiers else tiered.filter(pl.col(C.TIER).cast(pl.String).is_in(list(tiers)))
    return frame.sort(C.TIER, pl.col(C.MONETARY), descending=[False, True]).with_columns(
        pl.col(C.TIER).cast(pl.String)
    )


def clv_histogram(frame: pl.DataFrame, *, bins: int = 40, skew_ratio: float = 10.0) -> tuple[pl.DataFrame, bool]:
    """Histogram of CLV: ``lower``, ``upper``, ``customers``; and whether bins are logarithmic.

    Bins are logarithmic when the distribution is skewed (the 99th percentile more than
    ``skew_ratio`` times the median), so the long tail and the crowd are both visible.
    Values below the first edge (near zero) are counted in the first bin.
    """
    # numpy's histogram because Polars has no log-spaced binning; the frame is one row per customer.
    values = frame[C.CLV].drop_nulls().to_numpy()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return pl.DataFrame(schema={"lower": pl.Float64, "upper": pl.Float64, "customers": pl.Int64}), False
    median, p99, top = float(np.median(values)), float(np.quantile(values, 0.99)), float(values.max())
    log = median > 0 and p99 / median > skew_ratio
    if log:
        # Customers worth less than one currency unit share the first bar instead of
        # stretching the axis over decades nobody reads.
        lo = max(float(np.quantile(values, 0.01)), 1.0)
        edges = np.geomspace(lo, max(top, lo * 10), bins + 1)
        counts, _ = np.histogram(np.clip(values, lo, None), bins=edges)
    else:
        counts, edges = np.histogram(values, bins=bins)
    return pl.DataFrame({"lower": edges[:-1], "upper": edges[1:], "customers": counts.astype(np.int64)}), log


def unscored(tiered: pl.DataFrame) -> int:
    """Customers of the tiered table without a CLV score."""
    return int(tiered[C.CLV].null_count()) if C.CLV in tiered.columns else tiered.height


def alive_sample(tiered: pl.DataFrame, n: int = SCATTER_POINTS, seed: int = 0) -> pl.DataFrame:
    """At most ``n`` scored customers (seeded sample): customer_id, tier, recency_days,
    frequency, p_alive, clv."""
    scored = tiered.filter(pl.col(C.P_ALIVE).is_not_null()).select(
        C.CUSTOMER_ID, pl.col(C.TIER).cast(pl.String), C.RECENCY, C.FREQUENCY, C.P_ALIVE, C.CLV
    )
    return scored.sample(n, seed=seed) if scored.height > n else scored


def top_clv(tiered: pl.DataFrame, n: int = 20) -> pl.DataFrame:
    """The ``n`` customers with the highest CLV: id, tier, RFM, p_alive, expected purchases, clv."""
    cols = [C.CUSTOMER_ID, C.TIER, C.RECENCY, C.FREQUENCY, C.MONETARY, C.P_ALIVE, "expected_purchases", C.CLV]
    return (
        tiered.filter(pl.col(C.CLV).is_not_null())
        .sort(C.CLV, descending=True)
        .head(n)
        .select([c for c in cols if c in tiered.columns])
        .with_columns(pl.col(C.TIER).cast(pl.String))
    )




def table_series(snaps: pl.DataFrame, value: str) -> pl.DataFrame:
    """One value per tier and date from snapshots of customer tables (a customer-level data
    set), shaped like :func:`segmentation.kpis.kpi_series` so the trend chart draws it.

    ``value``: "customers" (customers in the tier at the date), "orders" or "revenue" (the
    tier's ``period_orders`` / ``period_revenue``: the change since the previous date; the
    first date has no previous one and is left out of these two).

    Returns period_start, period_end and period_last_day (all the snapshot date),
    period_complete (True), tier (String) and value (Float64), sorted by date and tier.

    Example:
        >>> import datetime as dt
        >>> snaps = pl.DataFrame({"snapshot_date": [dt.date(2024, 3, 31)] * 2 + [dt.date(2024, 6, 30)],
        ...     "tier": ["A", "B", "A"], "period_orders": [1, 1, 2], "period_revenue": [5.0, 1.0, 7.0]})
        >>> table_series(snaps, "customers").select("tier", "value").rows()
        [('A', 1.0), ('B', 1.0), ('A', 1.0)]
        >>> table_series(snaps, "revenue").select("period_end", "value").rows()
        [(datetime.date(2024, 6, 30), 7.0)]
    """
    measures = {"customers": pl.len(), "orders": pl.col("period_orders").sum(), "revenue": pl.col("period_revenue").sum()}
    if value not in measures:
        raise ValueError(f"value must be one of {', '.join(measures)}, not {value!r}")
    frame = snaps
    if value != "customers" and frame.height:
        frame = frame.filter(pl.col("snapshot_date") > pl.col("snapshot_date").min())
    out = (
        frame.group_by("snapshot_date", pl.col(C.TIER).cast(pl.String))
        .agg(measures[value].cast(pl.Float64).alias("value"))
        .sort("snapshot_date", C.TIER)
    )
    day = pl.col("snapshot_date")
    return out.select(day.alias("period_start"), day.alias("period_end"), day.alias("period_last_day"),
                      pl.lit(True).alias("period_complete"), C.TIER, "value")
