"""KPI trends per period and tier, and cohort retention.

A customer's tier in a period is their tier as of the period's last day (scored as in
:func:`segmentation.snapshots.snapshots`). Every KPI has a one-line definition in Chinese and
English in :data:`KPI_DEFINITIONS`, which the UI shows next to the number.

Counts and sums add up over tiers to the all-customer value; rates are ratios of such counts, and
the frame carries the numerators and denominators so any grouping can recompute them.
Churn looks back one period: the churn of tier T in period p is about the customers who bought
in the previous period and were in T at its end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import polars as pl

from . import columns as C
from .rfm import to_date
from .rules import RuleSet
from .scoring import Cuts, Method
from .snapshots import (
    FIRST_PURCHASE_EVER,
    GONE,
    PERIOD_ORDERS,
    PERIOD_REVENUE,
    CutMode,
    Period,
    _as_rules,
    _period_range,
    _rfm_columns,
    _score_and_tier,
    _timeline,
)
from .spec import TieringSpec, as_spec

if TYPE_CHECKING:
    from .clv import ClvModel

__all__ = ["ALL", "KPI_DEFINITIONS", "cohort_retention", "kpi_definitions", "kpi_trends", "latest_complete"]


ALL = C.ALL_TIERS

# code, name_zh, name_en, definition_zh, definition_en, unit (count | currency | ratio)
KPI_DEFINITIONS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("customers", "客户数", "Customers",
     "期末处于该层级的客户数（回看窗口内至少购买过一次）。",
     "Customers in the tier at the end of the period (at least one purchase in the lookback window).",
     "count"),
    ("active_customers", "活跃客户数", "Active customers",
     "本期内至少下过一笔订单的客户数。",
     "Customers with at least one order in the period.",
     "count"),
    ("new_customers", "新客户数", "New customers",
     "首次购买发生在本期的客户数。",
     "Customers whose first purchase ever falls in the period.",
     "count"),
    ("orders", "订单数", "Orders",
     "本期内金额为正的不同订单数。",
     "Distinct orders with a positive amount in the period.",
     "count"),
    ("revenue", "销售额", "Revenue",
     "本期内的净金额（扣除退货）。",
     "Net amount in the period, returns deducted.",
     "currency"),
    ("revenue_share", "销售额占比", "Share of revenue",
     "该层级本期销售额占全部客户本期销售额的比例。",
     "The tier's revenue over the revenue of all customers in the period.",
     "ratio"),
    ("aov", "客单价", "Average order value",
     "本期购买金额（不扣退货）除以订单数。",
     "Purchase amount in the period (before returns) divided by orders.",
     "currency"),
    ("repurchase_rate", "复购率", "Repurchase rate",
     "本期活跃客户中，本期下单两笔及以上的比例。",
     "Share of the period's active customers with two or more orders in the period.",
     "ratio"),
    ("churn_rate", "流失率", "Churn rate",
     "上期有购买、且上期末在该层级的客户中，本期没有再购买的比例。",
     "Of the customers who bought last period and were in the tier at its end, the share with no purchase this period.",
     "ratio"),
    ("retention_rate", "留存率", "Retention rate",
     "上期有购买、且上期末在该层级的客户中，本期再次购买的比例（= 1 − 流失率）。",
     "Of the customers who bought last period and were in the tier at its end, the share who bought again this period (1 − churn rate).",
     "ratio"),
)


def kpi_definitions() -> pl.DataFrame:
    """The KPI table: ``kpi``, ``name_zh``, ``name_en``, ``definition_zh``, ``definition_en``, ``unit``.

    Example:
        >>> kpi_definitions().filter(pl.col("kpi") == "aov")["name_en"].item()
        'Average order value'
    """
    return pl.DataFrame(
        KPI_DEFINITIONS,
        schema=["kpi", "name_zh", "name_en", "definition_zh", "definition_en", "unit"],
        orient="row",
    )


def _grid(tx: pl.DataFrame | pl.LazyFrame, period: str, start: dt.date | None, end: dt.date | None) -> list[dt.date]:
    lo, hi, every = _period_range(tx, period, start, end)
    # Two extra period ends before the first period: the first one closes "everything before",
    # the second one closes the previous period, whose activity the first churn rate needs.
    first = pl.select(pl.lit(lo).dt.truncate(every).dt.offset_by("-2" + every[1:])).item()
    starts = pl.date_range(first, pl.select(pl.lit(hi).dt.truncate(every)).item(), interval=every, eager=True)
    return starts.dt.offset_by(every).dt.offset_by("-1d").to_list()


def kpi_trends(
    tx: pl.DataFrame | pl.LazyFrame,
    spec: TieringSpec | None = None,
    *,
    rules: RuleSet | str | None = None,
    period: Period = "month",
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    bins: int = 5,
    method: Method = "quantile",
    thresholds: Mapping[str, Sequence[float]] | None = None,
    window_days: int | None = None,
    cut_mode: CutMode = "fixed",
    reference_date: dt.date | str | None = None,
    cuts: Cuts | None = None,
    by_tier: bool = True,
    clv_model: ClvModel | None = None,
) -> pl.DataFrame:
    """KPIs per period and tier (see :data:`KPI_DEFINITIONS` for each definition).

    Args:
        tx: canonical transactions, eager or lazy.
        spec, rules, bins, method, thresholds, window_days, cut_mode, reference_date, cuts,
            clv_model: as in :func:`segmentation.snapshots.snapshots`; tiers are taken at each
            period's end (rules on P_ALIVE or CLV need ``clv_model``).
        period: "week", "month" or "quarter" (calendar periods; weeks start on Monday).
        start, end: any day in the first / last period to report (default: the data's range).
        by_tier: False gives one row per period for all customers (``tier`` = ``"__all__"``).

    Returns:
        ``period_start``, ``period_end`` (Date), ``tier`` (String: tier names best first, then
        ``"__gone__"`` for customers with activity in the period but no purchase in the window
        at its end, listed only when there are any), the counts ``customers``,
        ``active_customers``, ``new_customers``, ``orders``, ``repeat_customers``,
        ``prev_active`` (bought in the previous period, by tier at its end), ``churned``, the
        sums ``revenue``, ``gross`` (purchases before returns), and the ratios ``revenue_share``,
        ``aov`` (gross / orders), ``repurchase_rate`` (repeat / active), ``churn_rate``
        (churned / prev_active), ``retention_rate`` (1 - churn). Ratios are null on empty
        denominators. Sorted by period, then tier order.

    Raises:
        DataError, SettingsError, RuleError: as :func:`snapshots`.

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({"customer_id": ["a", "a", "a", "b"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 1, 9), dt.date(2024, 2, 3),
        ...                    dt.date(2024, 1, 10)],
        ...     "amount": [10.0, 20.0, 30.0, 5.0], "order_id": ["1", "2", "3", "4"]})
        >>> k = kpi_trends(tx, rules="All: else", by_tier=False)
        >>> k.select("period_end", "active_customers", "orders", "revenue", "churn_rate").rows()
        [(datetime.date(2024, 1, 31), 2, 3, 35.0, None), (datetime.date(2024, 2, 29), 1, 1, 30.0, 0.5)]
    """
    spec = as_spec(spec, rules, bins=bins, method=method, thresholds=thresholds, window_days=window_days)
    rs = _as_rules(spec.ruleset, clv_model)
    grid = _grid(tx, period, to_date(start), to_date(end))
    rows, _ = _tiered_timeline(
        tx, grid, rs, with_ids=False, bins=spec.bins, method=spec.method, thresholds=spec.thresholds_map,
        window_days=spec.window_days, cut_mode=cut_mode, reference_date=reference_date, cuts=cuts,
        clv_model=clv_model,
    )
    return _kpis(rows, grid, rs.names, by_tier=by_tier)


# Steps 0 and 1 of the KPI grid only close "everything before" and the period before the first.
_FIRST_K = 2


def _tiered_timeline(
    tx: pl.DataFrame | pl.LazyFrame, grid: list[dt.date], rs: RuleSet, *, with_ids: bool,
    reference_date: dt.date | str | None, **settings: object,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(all rows with ``_t`` = tier index or len(tiers) for GONE, present rows with tiers)."""
    tl, ids, scale = _timeline(tx, grid, settings["window_days"], keep_active=True)  # type: ignore[arg-type]
    frame = _rfm_columns(tl.lazy(), grid, ids if with_ids else None, scale).collect()
    del tl
    present = frame.with_row_index("_row").filter("present")
    tiered = _score_and_tier(
        present.drop("present"), tx, grid, rs, reference_date=reference_date or grid[-1], ids=ids,
        **settings,  # type: ignore[arg-type]
    )
    # Put tiers back by row position: keeps the (customer, step) order without a re-sort.
    t = pl.Series("_t", [len(rs.names)], dtype=pl.UInt32).gather([0] * frame.height).scatter(
        present.get_column("_row"), tiered.get_column(C.TIER).to_physical().cast(pl.UInt32)
    )
    return frame.select("_k", "_code", "present", FIRST_PURCHASE_EVER, PERIOD_ORDERS, PERIOD_REVENUE,
                        "_p_gross").with_columns(t), tiered


def _kpis(rows: pl.DataFrame, grid: list[dt.date], names: Sequence[str], *, by_tier: bool) -> pl.DataFrame:
    if by_tier:
        labels = [*names, GONE]
        rows = rows.rename({"_t": "_tcode"})
    else:
        labels = [ALL]
        rows = rows.with_columns(pl.lit(0, pl.UInt32).alias("_tcode"))
    dates = pl.Series("d", grid, dtype=pl.Date)
    prev_end = pl.lit(dates).gather((pl.col("_k") - 1).clip(0, None))
    active = pl.col("period_orders") > 0
    same_next = (pl.col("_code") == pl.col("_code").shift(-1)) & (pl.col("_k").shift(-1) == pl.col("_k") + 1)
    active_next = (same_next & (pl.col("period_orders").shift(-1) > 0)).fill_null(False)
    n_labels = len(labels)
    rows_lf = rows.lazy().with_columns(
        active.alias("_active"),
        (active & (pl.col("first_purchase_ever") > prev_end)).alias("_new"),
        (pl.col("period_orders") >= 2).alias("_repeat"),
        active_next.alias("_active_next"),
    )
    # One small integer key per (period, tier): grouping on it beats grouping on two columns.
    current = rows_lf.group_by((pl.col("_k").cast(pl.Int64) * n_labels + pl.col("_tcode")).alias("_g")).agg(
        pl.col("present").sum().cast(pl.Int64).alias("customers"),
        pl.col("_active").sum().cast(pl.Int64).alias("active_customers"),
        pl.col("_new").sum().cast(pl.Int64).alias("new_customers"),
        pl.col("period_orders").sum().cast(pl.Int64).alias("orders"),
        pl.col("_repeat").sum().cast(pl.Int64).alias("repeat_customers"),
        pl.col("period_revenue").sum().alias("revenue"),
        pl.col("_p_gross").sum().alias("gross"),
    )
    # Churn of period k belongs to the tier the customer held at the end of period k - 1.
    looking_back = (
        rows_lf.filter("_active")
        .group_by(((pl.col("_k").cast(pl.Int64) + 1) * n_labels + pl.col("_tcode")).alias("_g"))
        .agg(
            pl.len().cast(pl.Int64).alias("prev_active"),
            (~pl.col("_active_next")).sum().cast(pl.Int64).alias("churned"),
        )
    )
    current, looking_back = (
        f.with_columns(
            (pl.col("_g") // n_labels).cast(pl.Int32).alias("_k"),
            (pl.col("_g") % n_labels).cast(pl.UInt32).alias("_tcode"),
        ).drop("_g")
        for f in pl.collect_all([current, looking_back])
    )
    skeleton = pl.DataFrame(
        {"_k": [k for k in range(_FIRST_K, len(grid)) for _ in labels],
         "_tcode": [t for _ in range(_FIRST_K, len(grid)) for t in range(len(labels))]},
        schema={"_k": pl.Int32, "_tcode": pl.UInt32},
    )
    out = (
        skeleton.join(current.with_columns(pl.col("_k").cast(pl.Int32)), on=["_k", "_tcode"], how="left")
        .join(looking_back.with_columns(pl.col("_k").cast(pl.Int32)), on=["_k", "_tcode"], how="left")
        .with_columns(
            pl.col(c).fill_null(0) for c in (
                "customers", "active_customers", "new_customers", "orders", "repeat_customers",
                "prev_active", "churned")
        )
        .with_columns(pl.col("revenue").fill_null(0.0), pl.col("gross").fill_null(0.0))
    )
    if by_tier:
        gone_idx = len(labels) - 1
        has_gone = out.filter(pl.col("_tcode") == gone_idx).select(
            (pl.col("active_customers") + pl.col("prev_active") + pl.col("orders")).sum()
            + pl.col("revenue").abs().sum() + pl.col("gross").abs().sum()
        ).item()
        if not has_gone:
            out = out.filter(pl.col("_tcode") != gone_idx)

    def ratio(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) != 0).then(pl.col(num) / pl.col(den))

    period_rev = pl.col("revenue").sum().over("_k")
    return out.sort("_k", "_tcode").select(
        (pl.lit(dates).gather(pl.col("_k") - 1) + pl.duration(days=1)).alias("period_start"),
        pl.lit(dates).gather(pl.col("_k")).alias("period_end"),
        pl.lit(pl.Series(labels)).gather(pl.col("_tcode")).alias(C.TIER),
        "customers", "active_customers", "new_customers", "orders", "repeat_customers",
        "prev_active", "churned", "revenue", "gross",
        pl.when(period_rev != 0).then(pl.col("revenue") / period_rev).alias("revenue_share"),
        ratio("gross", "orders").alias("aov"),
        ratio("repeat_customers", "active_customers").alias("repurchase_rate"),
        ratio("churned", "prev_active").alias("churn_rate"),
        (1 - ratio("churned", "prev_active")).alias("retention_rate"),
    )


def cohort_retention(
    tx: pl.DataFrame | pl.LazyFrame,
    *,
    max_months: int | None = None,
    end: dt.date | str | None = None,
) -> pl.DataFrame:
    """Share of each first-purchase-month cohort that buys again k months later.

    Args:
        tx: canonical transactions (eager or lazy). Purchases are rows with amount > 0.
        max_months: keep k = 0..max_months only.
        end: ignore transactions after this date.

    Returns:
        ``cohort`` (Date, first day of the month of the first purchase), ``months_since``
        (Int32, k; 0 is the cohort month itself, so its retention is 1), ``cohort_size``,
        ``active`` (cohort customers with a purchase in month cohort + k) and ``retention``
        (active / cohort_size). Months after the data ends are not listed.

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({"customer_id": ["a", "a", "b"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 2, 3), dt.date(2024, 1, 10)],
        ...     "amount": [10.0, 30.0, 5.0], "order_id": ["1", "2", "3"]})
        >>> cohort_retention(tx).select("months_since", "active", "retention").rows()
        [(0, 2, 1.0), (1, 1, 0.5)]
    """
    lf = tx.lazy().filter(pl.col(C.AMOUNT) > 0)
    cut = to_date(end)
    if cut is not None:
        lf = lf.filter(pl.col(C.ORDER_DATE).cast(pl.Date) <= cut)
    month = pl.col(C.ORDER_DATE).cast(pl.Date).dt.truncate("1mo")
    cm = lf.select(C.CUSTOMER_ID, month.alias("_m")).unique()
    idx = (pl.col("_m").dt.year() * 12 + pl.col("_m").dt.month()).cast(pl.Int32)
    cm = cm.with_columns(idx.alias("_mi")).with_columns(
        pl.col("_mi").min().over(C.CUSTOMER_ID).alias("_ci"),
        pl.col("_m").min().over(C.CUSTOMER_ID).alias("cohort"),
    )
    sizes = cm.filter(pl.col("_mi") == pl.col("_ci")).group_by("cohort").agg(pl.len().cast(pl.Int64).alias("cohort_size"))
    act = cm.group_by("cohort", (pl.col("_mi") - pl.col("_ci")).alias("months_since")).agg(
        pl.len().cast(pl.Int64).alias("active")
    )
    last = cm.select(pl.col("_mi").max()).collect().item()
    if last is None:
        return pl.DataFrame(schema={"cohort": pl.Date, "months_since": pl.Int32, "cohort_size": pl.Int64,
                                    "active": pl.Int64, "retention": pl.Float64})
    horizon = sizes.with_columns(
        (last - (pl.col("cohort").dt.year() * 12 + pl.col("cohort").dt.month()).cast(pl.Int32)).alias("_h")
    ).collect()
    grid = horizon.select(
        "cohort", "cohort_size", pl.int_ranges(0, pl.col("_h") + 1, dtype=pl.Int32).alias("months_since")
    ).explode("months_since")
    if max_months is not None:
        grid = grid.filter(pl.col("months_since") <= int(max_months))
    return (
        grid.join(act.collect(), on=["cohort", "months_since"], how="left")
        .with_columns(pl.col("active").fill_null(0))
        .with_columns((pl.col("active") / pl.col("cohort_size")).alias("retention"))
        .select("cohort", "months_since", "cohort_size", "active", "retention")
        .sort("cohort", "months_since")
    )


# ----------------------------------------------------------------------------- page summaries


def drop_empty_tiers(trends: pl.DataFrame) -> pl.DataFrame:
    """KPI rows without tiers that never had a customer or any activity (e.g. an unused catch-all)."""
    busy = trends.group_by(C.TIER).agg((pl.col("customers").sum() + pl.col("active_customers").sum()).alias("_n"))
    keep = busy.filter(pl.col("_n") > 0)[C.TIER]
    return trends.filter(pl.col(C.TIER).is_in(keep.implode()))


def kpi_series(trends: pl.DataFrame, kpi: str, tiers: tuple[str, ...] | list[str] = ()) -> pl.DataFrame:
    """``period_start``, ``period_end``, ``tier`` and the chosen KPI as ``value``, for the chosen
    tiers (all when empty; ``__all__`` rows are always kept)."""
    frame = trends.select("period_start", "period_end", C.TIER, pl.col(kpi).cast(pl.Float64).alias("value"))
    if tiers:
        frame = frame.filter(pl.col(C.TIER).is_in([*tiers, ALL]))
    return frame


def with_total(trends: pl.DataFrame, total: pl.DataFrame) -> pl.DataFrame:
    """Per-tier KPI rows plus the all-customer rows (``tier = "__all__"``)."""
    return pl.concat([trends, total.select(trends.columns)], how="vertical_relaxed")


def last_period(trends: pl.DataFrame) -> tuple[dt.date, dt.date] | None:
    """(start, end) of the latest period of a KPI table."""
    if trends.height == 0:
        return None
    row = trends.select(pl.col("period_start").max(), pl.col("period_end").max()).row(0)
    return row[0], row[1]


def latest_complete(trends: pl.DataFrame, last_day: dt.date | str) -> pl.DataFrame:
    """The rows of the latest period that ends on or before ``last_day``.

    A period still running at the view's last day would read as a sudden drop in a summary,
    so the last finished one is reported.

    Args:
        trends: output of :func:`kpi_trends`. last_day: the last day with data.

    Returns:
        The same columns, the rows of one period (empty when no period has finished).

    Example:
        >>> t = pl.DataFrame({"period_end": [dt.date(2024, 1, 31), dt.date(2024, 2, 29)], "revenue": [5.0, 1.0]})
        >>> latest_complete(t, "2024-02-20")["revenue"].to_list()
        [5.0]
    """
    end = dt.date.fromisoformat(last_day) if isinstance(last_day, str) else last_day
    done = trends.filter(pl.col("period_end") <= end)
    if done.height == 0:
        return done
    return done.filter(pl.col("period_end") == done["period_end"].max())


def latest_churn(trends: pl.DataFrame) -> dict[str, float | None]:
    """Churn rate per tier in the latest period of a KPI table."""
    if trends.height == 0:
        return {}
    last = trends.filter(pl.col("period_end") == pl.col("period_end").max())
    return dict(last.select(C.TIER, "churn_rate").iter_rows())


def last_cohorts(cohorts: pl.DataFrame, n: int) -> pl.DataFrame:
    """The rows of the latest ``n`` cohorts of a :func:`cohort_retention` table."""
    keep = cohorts["cohort"].unique().sort().tail(n)
    return cohorts.filter(pl.col("cohort").is_in(keep.implode()))
