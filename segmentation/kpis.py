"""KPI trends per period and tier, and cohort retention.

A customer's tier in a period is their tier as of the period's last day (scored as in
:func:`segmentation.snapshots.snapshots`). Every KPI has a one-line definition in Chinese and
English in :data:`KPI_DEFINITIONS`, which the UI shows next to the number.

Counts and sums add up over tiers to the all-customer value; rates are ratios of such counts, and
the frame carries the numerators and denominators so any grouping can recompute them.

The as-of date (``end``) is a hard cut, with the meaning it has in
:func:`segmentation.rfm.rfm_table`: transactions dated on or before it count, nothing after it.
When it falls inside a period, that period is partial: ``period_last_day`` is the as-of date,
``period_complete`` is false, and the rates that need a whole period (repurchase, no-repeat,
period retention, churn) are null, because a fortnight is not comparable with a month.

Two measures look back one period and belong to the tier a customer held at the end of the
previous period: *no-repeat* (bought last period, not this one) and *period retention* (bought
last period and again this one). *Churn* is what a marketer means by it: of the customers who
were active at the start of the period (a purchase within the last ``churn_days`` days), the
share whose last purchase is more than ``churn_days`` days old at its end.
:func:`typical_gap_days` gives a default ``churn_days`` from the data. Cohort retention
(:func:`cohort_retention`) is a different measure with a different name: the share of a
first-purchase month's customers who buy in a later month.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import polars as pl

from . import columns as C
from .errors import DataError
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

__all__ = ["ALL", "COHORT_DEFINITIONS", "KPI_DEFINITIONS", "cohort_retention", "kpi_definitions", "kpi_trends", "latest_complete", "typical_gap_days"]


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
    ("no_repeat_rate", "本期未复购率", "Did not buy again",
     "上期有购买、且上期末在该层级的客户中，本期没有再购买的比例（本期未复购）。",
     "Of the customers who bought last period and were in the tier at its end, the share who did not buy again this period.",
     "ratio"),
    ("period_retention_rate", "上期客户本期回购率", "Bought again (period retention)",
     "上期有购买、且上期末在该层级的客户中，本期再次购买的比例（= 1 − 本期未复购率）。与同期群留存不同。",
     "Of the customers who bought last period and were in the tier at its end, the share who bought again this period (1 − did not buy again). Not the cohort retention.",
     "ratio"),
    ("churn_rate", "流失率", "Churn rate",
     "期初活跃（最近 N 天内有购买）且期初在该层级的客户中，到期末已超过 N 天没有购买的比例；N 默认取客户两次购买间隔的 90% 分位数，可修改。",
     "Of the customers active at the start of the period (a purchase in the last N days) and in the tier then, the share whose last purchase is more than N days old at its end; N defaults to the 90% quantile of the gaps between a customer's purchases and can be changed.",
     "ratio"),
)

# Measures of other functions, same layout: cohort retention is not a kpi_trends column.
COHORT_DEFINITIONS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("cohort_retention", "同期群留存率", "Cohort retention",
     "首购月份相同的客户中，在首购后第 k 个月有购买的比例（与“上期客户本期回购率”不同）。",
     "Of the customers whose first purchase was in the same month, the share who bought in the k-th month after it (not the period retention).",
     "ratio"),
)


def kpi_definitions(*, source: str | None = "kpi_trends") -> pl.DataFrame:
    """Measure definitions, the one table the UI shows next to the numbers.

    Args:
        source: "kpi_trends" (default: the KPI columns of :func:`kpi_trends`, the choices of a
            KPI picker), "cohort_retention" (the cohort heatmap's ``retention``) or None (all).

    Returns:
        ``kpi``, ``name_zh``, ``name_en``, ``definition_zh``, ``definition_en``, ``unit`` and
        ``source`` (which function's output the measure is a column of).

    Example:
        >>> kpi_definitions().filter(pl.col("kpi") == "aov")["name_en"].item()
        'Average order value'
        >>> kpi_definitions(source="cohort_retention")["name_en"].to_list()
        ['Cohort retention']
    """
    table = pl.DataFrame(
        [(*d, "kpi_trends") for d in KPI_DEFINITIONS] + [(*d, "cohort_retention") for d in COHORT_DEFINITIONS],
        schema=["kpi", "name_zh", "name_en", "definition_zh", "definition_en", "unit", "source"],
        orient="row",
    )
    return table if source is None else table.filter(pl.col("source") == source)


def _grid(tx: pl.DataFrame | pl.LazyFrame, period: str, start: dt.date | None, end: dt.date | None) -> list[dt.date]:
    lo, hi, every = _period_range(tx, period, start, end)
    # Two extra period ends before the first period: the first one closes "everything before",
    # the second one closes the previous period, whose activity the first churn rate needs.
    first = pl.select(pl.lit(lo).dt.truncate(every).dt.offset_by("-2" + every[1:])).item()
    starts = pl.date_range(first, pl.select(pl.lit(hi).dt.truncate(every)).item(), interval=every, eager=True)
    return starts.dt.offset_by(every).dt.offset_by("-1d").to_list()


def typical_gap_days(
    tx: pl.DataFrame | pl.LazyFrame,
    *,
    quantile: float = 0.9,
    end: dt.date | str | None = None,
    default: int = 365,
) -> int:
    """The default ``churn_days``: a high quantile of the days between a customer's purchases.

    A customer who has not bought for longer than 90% of all observed gaps between two
    purchases (of the same customer, on different days) is unlikely to be merely between
    purchases. Show the number next to the churn rate so a marketer can change it.

    Args:
        tx: canonical transactions (eager or lazy); purchases are rows with amount > 0.
        quantile: which quantile of the gaps (nearest rank, so the result is an observed gap).
        end: the as-of date; purchases after it are ignored.
        default: returned when nobody bought on two different days.

    Returns:
        Whole days (int).

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({"customer_id": ["a", "a", "a"], "amount": [1.0, 1.0, 1.0],
        ...     "order_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 11), dt.date(2024, 3, 1)]})
        >>> typical_gap_days(tx)
        50
    """
    return _gap_quantile(_purchase_days(tx, to_date(end)), quantile, default)


_SEED_CUSTOMER = 0x6A9


def _purchase_days(tx: pl.DataFrame | pl.LazyFrame, end: dt.date | None) -> pl.DataFrame:
    """Every (customer, purchase day) up to ``end``, sorted: ``_h`` (UInt64, a 64-bit hash of the
    customer id: integers sort several times faster than strings, and a rare clash only merges
    two customers' gaps in a quantile) and ``_d`` (Int32 day). Several purchases on one day
    stay as repeated rows."""
    day = pl.col(C.ORDER_DATE).cast(pl.Date).cast(pl.Int32)
    lf = tx.lazy().filter(pl.col(C.AMOUNT) > 0, pl.col(C.CUSTOMER_ID).is_not_null())
    if end is not None:
        lf = lf.filter(day <= pl.lit(end, pl.Date).cast(pl.Int32))
    return lf.select(pl.col(C.CUSTOMER_ID).hash(_SEED_CUSTOMER).alias("_h"), day.alias("_d")).sort("_h", "_d").collect()


def _gap_quantile(days: pl.DataFrame, quantile: float, default: int) -> int:
    h, d = pl.col("_h"), pl.col("_d")
    gaps = (
        days.lazy()
        .select(pl.when(h == h.shift(1)).then(d - d.shift(1)).alias("g"))
        .filter(pl.col("g") > 0)
        .select(pl.col("g").sort())
        .collect()
        .get_column("g")
    )
    if gaps.is_empty():
        return int(default)
    rank = max(1, math.ceil(float(quantile) * gaps.len()))
    return int(gaps[rank - 1])


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
    churn_days: int | None = None,
) -> pl.DataFrame:
    """KPIs per period and tier (see :data:`KPI_DEFINITIONS` for each definition).

    Args:
        tx: canonical transactions, eager or lazy.
        spec, rules, bins, method, thresholds, window_days, cut_mode, reference_date, cuts,
            clv_model: as in :func:`segmentation.snapshots.snapshots`; tiers are taken at each
            period's last day (rules on P_ALIVE or CLV need ``clv_model``). Fixed cut points
            are fitted at ``reference_date``, by default the as-of date ``end``: pass the
            view's as-of date so every page shares one set of cut points.
        period: "week", "month" or "quarter" (calendar periods; weeks start on Monday).
        start: any day in the first period to report (default: the first transaction).
        end: the as-of date, a hard cut with the meaning of ``rfm_table(as_of=end)``:
            transactions dated on or before it count, nothing after it. Default: the day of
            the last transaction. A period that runs past it is partial.
        by_tier: False gives one row per period for all customers (``tier`` = ``"__all__"``).
        churn_days: N of the churn rate (a customer lapses when the last purchase is more than
            N days old). Default: :func:`typical_gap_days` up to ``end``; the column
            ``churn_days`` says which N was used.

    Returns:
        ``period_start``, ``period_end`` (Date, the calendar period), ``period_last_day``
        (Date: the period's end, or the as-of date in a partial last period),
        ``period_complete`` (Boolean), ``tier`` (String: tier names best first by the spec's
        ``tier_order`` (value order, else rule order), then
        ``"__gone__"`` for customers with activity in the period but no purchase in the window
        at its end, listed only when there are any), the counts ``customers``,
        ``active_customers``, ``new_customers``, ``orders`` (an order over several days counts
        once, in the period of its first line), ``repeat_customers``, ``prev_active`` (bought
        in the previous period, by tier at its end), ``not_repeated`` (of those, no purchase
        this period), ``active_start`` (a purchase within ``churn_days`` at the previous
        period's end, by tier then), ``lapsed`` (of those, no purchase within ``churn_days`` at
        this period's last day), the sums ``revenue``, ``gross`` (purchases before returns),
        the ratios ``revenue_share``, ``aov`` (gross / orders), ``repurchase_rate`` (repeat /
        active), ``no_repeat_rate`` (not_repeated / prev_active), ``period_retention_rate``
        (1 - no_repeat_rate), ``churn_rate`` (lapsed / active_start), and ``churn_days``
        (Int64). Ratios are null on empty denominators; the four rates that need a whole
        period are null in a partial one. Sorted by period, then tier order.

    Raises:
        DataError, SettingsError, RuleError: as :func:`snapshots`.

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({"customer_id": ["a", "a", "a", "b"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 1, 9), dt.date(2024, 2, 3),
        ...                    dt.date(2024, 1, 10)],
        ...     "amount": [10.0, 20.0, 30.0, 5.0], "order_id": ["1", "2", "3", "4"]})
        >>> k = kpi_trends(tx, rules="All: else", by_tier=False, end="2024-02-29")
        >>> k.select("period_end", "active_customers", "orders", "revenue", "no_repeat_rate").rows()
        [(datetime.date(2024, 1, 31), 2, 3, 35.0, None), (datetime.date(2024, 2, 29), 1, 1, 30.0, 0.5)]
        >>> kpi_trends(tx, rules="All: else", by_tier=False)["period_last_day"].to_list()
        [datetime.date(2024, 1, 31), datetime.date(2024, 2, 3)]
    """
    spec = as_spec(spec, rules, bins=bins, method=method, thresholds=thresholds, window_days=window_days)
    rs = _as_rules(spec.ruleset, clv_model)
    cut = to_date(end)
    if cut is None:
        cut = tx.lazy().select(pl.col(C.ORDER_DATE).cast(pl.Date).max()).collect().item()
    calendar = _grid(tx, period, to_date(start), cut)
    # The last step is the as-of date itself when it falls inside a period: nothing after it counts.
    grid = [*calendar[:-1], min(calendar[-1], cut)] if cut is not None else calendar
    if churn_days is not None and int(churn_days) <= 0:
        raise DataError(f"Churn needs a positive number of days without a purchase, not {churn_days}.",
            code="bad_churn_days")
    days_out: list[pl.DataFrame] = []
    rows, _, _ = _tiered_timeline(
        tx, grid, rs, with_ids=False, bins=spec.bins, method=spec.method, thresholds=spec.thresholds_map,
        window_days=spec.window_days, cut_mode=cut_mode, reference_date=reference_date, cuts=cuts,
        clv_model=clv_model, order=spec.tier_order, days_out=days_out,
    )
    days = days_out[0]
    if churn_days is None:
        churn_days = _gap_quantile(days, 0.9, 365)
    lapse = _lapse_steps(days, grid, int(churn_days))
    return _kpis(rows, grid, calendar, spec.tier_order, by_tier=by_tier, lapse=lapse, churn_days=int(churn_days))


def _lapse_steps(days: pl.DataFrame, grid: list[dt.date], n_days: int) -> pl.DataFrame:
    """``_code``, ``_k``: customers active at grid step ``k`` (a purchase within ``n_days``
    days up to ``grid[k]``) and ``_lapsed`` (no such purchase at step ``k + 1``).

    ``days``: purchase rows sorted by customer and day, ``_h`` being the customer's code (as
    :func:`segmentation.snapshots._timeline` gives them).
    """
    grid_int = pl.Series("d", grid, dtype=pl.Date).cast(pl.Int32)
    h, d = pl.col("_h"), pl.col("_d")
    # A purchase on day p keeps its customer active on days p .. p + n_days; purchases closer
    # than that merge into one interval. Intervals of a customer are more than n_days apart, so
    # no grid step falls in two of them and the expanded steps need no de-duplication.
    start = ((h != h.shift(1)) | (d - d.shift(1) > n_days)).fill_null(True)
    flagged = days.lazy().with_columns(start.alias("_start"))
    lo = flagged.filter("_start").select("_h", d.alias("_lo"))
    hi = flagged.filter(pl.col("_start").shift(-1).fill_null(True)).select((d + n_days).alias("_hi"))
    steps = (
        pl.concat([lo, hi], how="horizontal")
        .select(
            pl.col("_h").cast(pl.UInt32).alias("_code"),
            pl.lit(grid_int).search_sorted(pl.col("_lo"), side="left").cast(pl.Int32).alias("_k0"),
            pl.lit(grid_int).search_sorted(pl.col("_hi"), side="right").cast(pl.Int32).alias("_k1"),
        )
        .filter(pl.col("_k1") > pl.col("_k0"))
        .select("_code", pl.int_ranges("_k0", "_k1", dtype=pl.Int32).alias("_k"))
        .explode("_k")
        .collect()
    )
    same_next = (pl.col("_code") == pl.col("_code").shift(-1)) & (pl.col("_k").shift(-1) == pl.col("_k") + 1)
    return steps.with_columns((~same_next.fill_null(False)).alias("_lapsed"))


# Steps 0 and 1 of the KPI grid only close "everything before" and the period before the first.
_FIRST_K = 2


def _tiered_timeline(
    tx: pl.DataFrame | pl.LazyFrame, grid: list[dt.date], rs: RuleSet, *, with_ids: bool,
    reference_date: dt.date | str | None, days_out: list[pl.DataFrame] | None = None, **settings: object,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """(all rows with ``_t`` = tier index or len(tiers) for GONE, present rows with tiers, the
    customer ids ``_code`` indexes); ``days_out`` as in :func:`segmentation.snapshots._timeline`."""
    tl, ids, scale = _timeline(tx, grid, settings["window_days"], keep_active=True, days_out=days_out)  # type: ignore[arg-type]
    frame = _rfm_columns(tl.lazy(), grid, ids if with_ids else None, scale).collect()
    del tl
    present = frame.with_row_index("_row").filter("present")
    tiered = _score_and_tier(
        present.drop("present"), tx, grid, rs, reference_date=reference_date or grid[-1], ids=ids,
        **settings,  # type: ignore[arg-type]
    )
    # Put tiers back by row position: keeps the (customer, step) order without a re-sort.
    # Tier codes follow the tier Enum's order (``order``); len(tiers) stands for GONE.
    t = pl.Series("_t", [len(rs.names)], dtype=pl.UInt32).gather([0] * frame.height).scatter(
        present.get_column("_row"), tiered.get_column(C.TIER).to_physical().cast(pl.UInt32)
    )
    return frame.select("_k", "_code", "present", FIRST_PURCHASE_EVER, PERIOD_ORDERS, PERIOD_REVENUE,
                        "_p_gross").with_columns(t), tiered, ids


def _kpis(
    rows: pl.DataFrame, grid: list[dt.date], calendar: list[dt.date], names: Sequence[str], *,
    by_tier: bool, lapse: pl.DataFrame, churn_days: int,
) -> pl.DataFrame:
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
            (~pl.col("_active_next")).sum().cast(pl.Int64).alias("not_repeated"),
        )
    )
    # Churn of period k: customers active at the end of period k - 1, by their tier then
    # (customers outside the lookback window then count under GONE).
    # One Int64 key per (customer, step): a join on it is much cheaper than on two columns.
    span = len(grid) + 1
    step_key = (pl.col("_code").cast(pl.Int64) * span + pl.col("_k").cast(pl.Int64)).alias("_ck")
    tier_then = rows_lf.select(step_key, "_tcode")
    lapsing = (
        lapse.lazy()
        .with_columns(step_key)
        .join(tier_then, on="_ck", how="left")
        .with_columns(pl.col("_tcode").fill_null(n_labels - 1))
        .group_by(((pl.col("_k").cast(pl.Int64) + 1) * n_labels + pl.col("_tcode")).alias("_g"))
        .agg(pl.len().cast(pl.Int64).alias("active_start"), pl.col("_lapsed").sum().cast(pl.Int64).alias("lapsed"))
    )
    current, looking_back, lapsing = (
        f.with_columns(
            (pl.col("_g") // n_labels).cast(pl.Int32).alias("_k"),
            (pl.col("_g") % n_labels).cast(pl.UInt32).alias("_tcode"),
        ).drop("_g")
        for f in pl.collect_all([current, looking_back, lapsing])
    )
    skeleton = pl.DataFrame(
        {"_k": [k for k in range(_FIRST_K, len(grid)) for _ in labels],
         "_tcode": [t for _ in range(_FIRST_K, len(grid)) for t in range(len(labels))]},
        schema={"_k": pl.Int32, "_tcode": pl.UInt32},
    )
    out = (
        skeleton.join(current.with_columns(pl.col("_k").cast(pl.Int32)), on=["_k", "_tcode"], how="left")
        .join(looking_back.with_columns(pl.col("_k").cast(pl.Int32)), on=["_k", "_tcode"], how="left")
        .join(lapsing.with_columns(pl.col("_k").cast(pl.Int32)), on=["_k", "_tcode"], how="left")
        .with_columns(
            pl.col(c).fill_null(0) for c in (
                "customers", "active_customers", "new_customers", "orders", "repeat_customers",
                "prev_active", "not_repeated", "active_start", "lapsed")
        )
        .with_columns(pl.col("revenue").fill_null(0.0), pl.col("gross").fill_null(0.0))
    )
    if by_tier:
        gone_idx = len(labels) - 1
        has_gone = out.filter(pl.col("_tcode") == gone_idx).select(
            (pl.col("active_customers") + pl.col("prev_active") + pl.col("orders") + pl.col("active_start")).sum()
            + pl.col("revenue").abs().sum() + pl.col("gross").abs().sum()
        ).item()
        if not has_gone:
            out = out.filter(pl.col("_tcode") != gone_idx)

    def ratio(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) != 0).then(pl.col(num) / pl.col(den))

    def whole(rate: pl.Expr) -> pl.Expr:
        # A partial period is shorter, so its rates are not comparable with whole periods.
        return pl.when(pl.col("period_complete")).then(rate)

    period_rev = pl.col("revenue").sum().over("_k")
    cal = pl.Series("c", calendar, dtype=pl.Date)
    return out.sort("_k", "_tcode").with_columns(
        (pl.lit(dates).gather(pl.col("_k")) == pl.lit(cal).gather(pl.col("_k"))).alias("period_complete")
    ).select(
        (pl.lit(cal).gather(pl.col("_k") - 1) + pl.duration(days=1)).alias("period_start"),
        pl.lit(cal).gather(pl.col("_k")).alias("period_end"),
        pl.lit(dates).gather(pl.col("_k")).alias("period_last_day"),
        "period_complete",
        pl.lit(pl.Series(labels)).gather(pl.col("_tcode")).alias(C.TIER),
        "customers", "active_customers", "new_customers", "orders", "repeat_customers",
        "prev_active", "not_repeated", "active_start", "lapsed", "revenue", "gross",
        pl.when(period_rev != 0).then(pl.col("revenue") / period_rev).alias("revenue_share"),
        ratio("gross", "orders").alias("aov"),
        whole(ratio("repeat_customers", "active_customers")).alias("repurchase_rate"),
        whole(ratio("not_repeated", "prev_active")).alias("no_repeat_rate"),
        whole(1 - ratio("not_repeated", "prev_active")).alias("period_retention_rate"),
        whole(ratio("lapsed", "active_start")).alias("churn_rate"),
        pl.lit(churn_days, pl.Int64).alias("churn_days"),
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
        end: the as-of date, with the meaning it has in :func:`kpi_trends` and ``rfm_table``:
            transactions dated on or before it count, nothing after it. Default: the day of
            the last purchase.

    Returns:
        ``cohort`` (Date, first day of the month of the first purchase), ``months_since``
        (Int32, k; 0 is the cohort month itself, so its retention is 1), ``cohort_size``,
        ``active`` (cohort customers with a purchase in month cohort + k, up to ``end``),
        ``month_complete`` (Boolean: month cohort + k ends on or before ``end``) and
        ``retention`` (active / cohort_size; null for a partial month, which is not
        comparable with whole ones). Months after ``end`` are not listed.

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({"customer_id": ["a", "a", "b"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 2, 3), dt.date(2024, 1, 10)],
        ...     "amount": [10.0, 30.0, 5.0], "order_id": ["1", "2", "3"]})
        >>> cohort_retention(tx, end="2024-02-29").select("months_since", "active", "retention").rows()
        [(0, 2, 1.0), (1, 1, 0.5)]
        >>> cohort_retention(tx).select("months_since", "month_complete", "retention").rows()
        [(0, True, 1.0), (1, False, None)]
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
                                    "active": pl.Int64, "month_complete": pl.Boolean, "retention": pl.Float64})
    if cut is None:
        cut = lf.select(pl.col(C.ORDER_DATE).cast(pl.Date).max()).collect().item()
    else:
        # The months run to the as-of date even when the last purchases came earlier.
        last = cut.year * 12 + cut.month
    # The as-of month is whole only when the as-of date is its last day.
    whole_until = last if (cut + dt.timedelta(days=1)).month != cut.month else last - 1
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
        .with_columns(
            ((pl.col("cohort").dt.year() * 12 + pl.col("cohort").dt.month()).cast(pl.Int32)
             + pl.col("months_since") <= whole_until).alias("month_complete")
        )
        .with_columns(pl.when("month_complete").then(pl.col("active") / pl.col("cohort_size")).alias("retention"))
        .select("cohort", "months_since", "cohort_size", "active", "month_complete", "retention")
        .sort("cohort", "months_since")
    )


# ----------------------------------------------------------------------------- page summaries


def drop_empty_tiers(trends: pl.DataFrame) -> pl.DataFrame:
    """KPI rows without tiers that never had a customer or any activity (e.g. an unused catch-all)."""
    busy = trends.group_by(C.TIER).agg((pl.col("customers").sum() + pl.col("active_customers").sum()).alias("_n"))
    keep = busy.filter(pl.col("_n") > 0)[C.TIER]
    return trends.filter(pl.col(C.TIER).is_in(keep.implode()))


def kpi_series(trends: pl.DataFrame, kpi: str, tiers: tuple[str, ...] | list[str] = ()) -> pl.DataFrame:
    """``period_start``, ``period_end``, ``period_last_day`` (the last day counted: earlier than
    ``period_end`` in a partial last period), ``period_complete``, ``tier`` and the chosen KPI as
    ``value``, for the chosen tiers (all when empty; ``__all__`` rows are always kept)."""
    span = [c for c in ("period_last_day", "period_complete") if c in trends.columns]
    frame = trends.select("period_start", "period_end", *span, C.TIER, pl.col(kpi).cast(pl.Float64).alias("value"))
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
    """Churn rate per tier in the latest complete period of a KPI table (a partial period has
    no churn rate; :func:`kpi_trends` leaves it null)."""
    if "period_complete" in trends.columns:
        trends = trends.filter("period_complete")
    if trends.height == 0:
        return {}
    last = trends.filter(pl.col("period_end") == pl.col("period_end").max())
    return dict(last.select(C.TIER, "churn_rate").iter_rows())


def last_cohorts(cohorts: pl.DataFrame, n: int) -> pl.DataFrame:
    """The rows of the latest ``n`` cohorts of a :func:`cohort_retention` table."""
    keep = cohorts["cohort"].unique().sort().tail(n)
    return cohorts.filter(pl.col("cohort").is_in(keep.implode()))


def partial_period(trends: pl.DataFrame) -> tuple[dt.date, dt.date] | None:
    """(start, last day counted) of a KPI table's partial last period, or None when every period
    is complete (see ``period_complete`` in :func:`kpi_trends`)."""
    if trends.height == 0 or "period_complete" not in trends.columns:
        return None
    partial = trends.filter(~pl.col("period_complete"))
    if partial.height == 0:
        return None
    row = partial.select(pl.col("period_start").max(), pl.col("period_last_day").max()).row(0)
    return row[0], row[1]
