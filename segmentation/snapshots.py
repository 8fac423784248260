"""Tier snapshots over time: every customer's RFM, scores and tier as of many dates at once.

A snapshot at date ``d`` is exactly ``rfm_table(tx, as_of=d, window_days=w)`` followed by
``score`` and ``assign_tiers``: only transactions dated on or before ``d`` (and inside the
lookback window) count. Computing 36 monthly snapshots that way re-reads every transaction 36
times; :func:`snapshots` reads them once instead.

How the work is shared: every transaction row becomes two events on the snapshot grid, one
where it enters the window (the first snapshot dated on or after it) and, with a window, one
where it leaves (the first snapshot at least ``window_days`` later). Events are aggregated per
customer and grid step, running sums over them give each customer's state at every step where
something changed, and each state is then repeated until the next change. Money is summed as
integers (millionths of the currency unit), so a running total minus the part that left the
window is exact and the same history always gives the same number, whatever the order of rows.

Two ways to score a series of snapshots (``cut_mode``):

- ``"fixed"``: the cut points are fitted once, on the reference date, and applied to every
  snapshot. Customers change tier only because their own behaviour changed. Use this for
  migration and trends.
- ``"recomputed"``: every snapshot is scored against its own population (quantiles, mean or
  median of that date). A customer can change tier although nothing about them changed, because
  other customers moved. Use this to see relative standing.

With ``method="thresholds"`` the cut points are the user's and both modes agree.

Rules on ``P_ALIVE`` and ``CLV`` work over time the same way as fixed cut points: the caller
passes one fitted lifetime-value model (``clv_model``, a :class:`segmentation.clv.ClvModel`,
usually fitted on the history up to the as-of date) and every snapshot scores each customer
with it from their own history up to that date: x = repeat purchase days, t_x = age at the
last purchase, T = age at the snapshot date (ages count from the first purchase ever, in the
model's time unit; t_x is *not* the days since the last purchase), m = mean spend of the
repeat purchase days. The population-level parameters stay put, so a customer's P(alive) or
CLV changes only because of what they did (or, for P(alive), because time passed without a
purchase). These inputs use all history up to the date, like
:func:`segmentation.clv.score_customers`, whatever the lookback window; the window still
decides who is in a snapshot. The model is fitted in one place and not re-fitted per date.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import polars as pl

from . import columns as C
from .enrich import CLV_COLUMNS, needs_clv
from .errors import DataError, RuleError
from .rfm import rfm_table, to_date
from .rules import RuleSet, assign_tiers, parse_rules
from .scoring import MAX_BINS as _MAX_BINS
from .scoring import Cuts, Method, _check_bins, _midrank_score, fit_cuts, score

if TYPE_CHECKING:
    from .clv import ClvModel

__all__ = [
    "BACK",
    "CUT_MODES",
    "CUT_MODE_NOTES",
    "FIRST_PURCHASE_EVER",
    "GONE",
    "NEW",
    "PERIODS",
    "PERIOD_ORDERS",
    "PERIOD_REVENUE",
    "SNAPSHOT_DATE",
    "STATE_LABELS",
    "STATE_NOTES",
    "fixed_cuts",
    "period_ends",
    "snapshots",
    "state_label",
]

CutMode = Literal["fixed", "recomputed"]
CUT_MODES: tuple[str, ...] = ("fixed", "recomputed")
Period = Literal["week", "month", "quarter"]
PERIODS: dict[str, str] = {"week": "1w", "month": "1mo", "quarter": "1q"}

SNAPSHOT_DATE = "snapshot_date"
FIRST_PURCHASE_EVER = "first_purchase_ever"
PERIOD_ORDERS = "period_orders"
PERIOD_REVENUE = "period_revenue"
# Columns of a snapshot table, in order.
_SNAPSHOT_COLUMNS: tuple[str, ...] = (
    SNAPSHOT_DATE, C.CUSTOMER_ID, C.RECENCY, C.FREQUENCY, C.MONETARY, C.FIRST_PURCHASE,
    C.LAST_PURCHASE, C.TENURE, C.AOV, C.R_SCORE, C.F_SCORE, C.M_SCORE, C.TIER,
    FIRST_PURCHASE_EVER, PERIOD_ORDERS, PERIOD_REVENUE,
)

# States that are not tiers. Codes (never shown) plus labels the UI localises; a user tier
# cannot be called like this (checked), so codes and tier names never collide.
NEW = "__new__"
BACK = "__back__"
GONE = "__gone__"
STATE_LABELS: dict[str, dict[str, str]] = {
    NEW: {"zh": "新客", "en": "New"},
    BACK: {"zh": "回流客户", "en": "Returning"},
    GONE: {"zh": "离开窗口", "en": "Left"},
}
STATE_NOTES: dict[str, dict[str, str]] = {
    NEW: {
        "zh": "较早日期之前从未购买过、之后才首次购买的客户。",
        "en": "No purchase before the earlier date; first bought after it.",
    },
    BACK: {
        "zh": "较早日期之前买过，但当时已不在回看窗口内，之后又重新购买的客户。",
        "en": "Bought before the earlier date but was outside the lookback window then; bought again since.",
    },
    GONE: {
        "zh": "较早日期在某个层级中，较晚日期已不在回看窗口内（窗口内没有购买）的客户。",
        "en": "In a tier at the earlier date, no purchase inside the lookback window at the later date.",
    },
}

CUT_MODE_NOTES: dict[str, dict[str, str]] = {
    "fixed": {
        "zh": "评分分界点固定在参考日期：客户换层只因为自己的购买行为变了。",
        "en": "Cut points fixed at the reference date: customers change tier only when their own behaviour changes.",
    },
    "recomputed": {
        "zh": "每个日期按当时的客户群重新计算分界点：即使客户行为不变，也可能因为别人变化而换层（相对排名）。",
        "en": "Cut points recomputed at every date: a customer can change tier although nothing about them changed, because others moved (relative standing).",
    },
}

# Money is summed as integers of 1/SCALE currency units: exact running sums and differences.
_SCALE = 1_000_000
_INT_BUDGET = 2**62

_CODE, _KEY, _K, _TYPE = "_code", "_key", "_k", "_type"


def state_label(state: str, lang: str = "zh") -> str:
    """Display label of a tier or state code (``NEW``/``BACK``/``GONE``); tier names pass through.

    Example:
        >>> state_label("__new__", "en"), state_label("Champions", "en")
        ('New', 'Champions')
    """
    labels = STATE_LABELS.get(state)
    if labels is None:
        return state
    return labels["zh"] if lang == "zh" else labels["en"]


def _as_rules(rules: RuleSet | str, clv_model: ClvModel | None = None) -> RuleSet:
    rs = rules if isinstance(rules, RuleSet) else parse_rules(rules)
    clash = [n for n in rs.names if n in STATE_LABELS]
    if clash:
        raise DataError(f"Tier name '{clash[0]}' is reserved; please rename the tier.")
    if clv_model is None and needs_clv(rs.columns_used):
        # Said up front: otherwise the whole timeline is built before assign_tiers finds out.
        raise RuleError(
            "These tier rules use P_ALIVE or CLV; tiering past dates with them needs the fitted "
            "lifetime-value model (clv_model, from segmentation.clv.score_customers), and none was given."
        )
    return rs


def _normalise_dates(dates: Iterable[dt.date | dt.datetime | str]) -> list[dt.date]:
    out = sorted({d for d in (to_date(x) for x in dates) if d is not None})
    if not out:
        raise DataError("Choose at least one snapshot date.")
    return out


def period_ends(
    tx: pl.DataFrame | pl.LazyFrame,
    *,
    period: Period = "month",
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
) -> list[dt.date]:
    """The last day of every calendar period from the first to the last transaction.

    Args:
        tx: canonical transactions (eager or lazy).
        period: "week" (Monday to Sunday), "month" or "quarter".
        start, end: limit the range (any day inside the first / last period).

    Returns:
        Ascending list of dates; the last period may extend past the data (a partial period).

    Raises:
        DataError: unknown period or no transactions.

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({"order_date": [dt.date(2024, 1, 5), dt.date(2024, 3, 2)]})
        >>> period_ends(tx)
        [datetime.date(2024, 1, 31), datetime.date(2024, 2, 29), datetime.date(2024, 3, 31)]
    """
    lo, hi, every = _period_range(tx, period, start, end)
    starts = pl.date_range(
        pl.lit(lo).dt.truncate(every), pl.lit(hi).dt.truncate(every), interval=every, eager=True
    )
    return starts.dt.offset_by(every).dt.offset_by("-1d").to_list()


def _period_range(
    tx: pl.DataFrame | pl.LazyFrame,
    period: str,
    start: dt.date | str | None,
    end: dt.date | str | None,
) -> tuple[dt.date, dt.date, str]:
    """``(first day, last day, interval)`` for a period grid: ``start``/``end`` or the data's range.

    Raises:
        DataError: unknown period, or no transactions and no ``start``/``end`` to stand in.
    """
    if period not in PERIODS:
        raise DataError(f"Unknown period '{period}'; use week, month or quarter.")
    lo, hi = tx.lazy().select(
        pl.col(C.ORDER_DATE).cast(pl.Date).min().alias("lo"),
        pl.col(C.ORDER_DATE).cast(pl.Date).max().alias("hi"),
    ).collect().row(0)
    lo = to_date(start) or lo
    hi = to_date(end) or hi
    if lo is None or hi is None:
        raise DataError("There are no transactions to build periods from.")
    return lo, hi, PERIODS[period]


def _scale_for(lf: pl.LazyFrame) -> int:
    total = lf.select(pl.col(C.AMOUNT).abs().sum()).collect().item() or 0.0
    scale = _SCALE
    # Keep every running total inside Int64; huge currencies lose sub-unit digits, not sums.
    while scale > 1 and total * scale >= _INT_BUDGET:
        scale //= 10
    if total * scale >= _INT_BUDGET:
        raise DataError("Amounts are too large to add up safely; check the amount column.")
    return scale


_SEED_ORDER, _SEED_CHECK = 0x7131, 0x2B7E
_DAY_BITS = 16


def _customer_order(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series, bool]:
    """Give every row ``_code`` (the rank of its customer id) and sort rows by code and day.

    Returns ``(rows without customer_id, sorted distinct ids, sorted)``; ``sorted`` is False only
    on the fallback for unusual input (null ids, or dates spanning more than 179 years).
    """
    cid = rows.get_column(C.CUSTOMER_ID)
    day = rows.get_column("_day").cast(pl.Int32)
    if rows.height and cid.null_count() == 0 and day.null_count() == 0:
        lo, hi = day.min(), day.max()
        if hi - lo < 2**_DAY_BITS:  # type: ignore[operator]
            fast = _order_by_hash(cid, day, lo)  # type: ignore[arg-type]
            if fast is not None:
                final, code, ids = fast
                out = rows.drop(C.CUSTOMER_ID).select(pl.all().gather(final))
                return out.select(code.alias(_CODE), pl.all()), ids, True
    ids = cid.unique().sort()
    codes = pl.DataFrame({C.CUSTOMER_ID: ids, _CODE: pl.int_range(ids.len(), dtype=pl.Int64, eager=True)})
    out = rows.join(codes, on=C.CUSTOMER_ID, how="left").drop(C.CUSTOMER_ID)
    return out.select(_CODE, pl.exclude(_CODE)), ids, False


def _order_by_hash(cid: pl.Series, day: pl.Series, lo: int) -> tuple[pl.Series, pl.Series, pl.Series] | None:
    """Row order by (customer id, day), per-row codes and the sorted ids; None on a hash clash.

    Grouping or joining on millions of distinct strings is slow. Instead one integer sort on
    (48-bit hash of the id, day) puts each customer's rows together; sorting only the distinct
    ids then tells where each customer's block goes. A second hash checks that no two ids share
    a 48-bit prefix (then the caller takes the exact, slower route).
    """
    shift = 2**_DAY_BITS
    prefix = pl.lit(cid.hash(_SEED_ORDER)) // shift
    key = pl.select(prefix * shift + (pl.lit(day) - lo).cast(pl.UInt64)).to_series()
    perm = key.arg_sort()
    cust = pl.select(pl.lit(key.gather(perm)) // shift).to_series()
    new = pl.select((pl.lit(cust) != pl.lit(cust).shift(1)).fill_null(True)).to_series()
    starts = new.arg_true()
    seg = new.cum_sum().cast(pl.Int64) - 1
    firsts = perm.gather(starts)
    check = cid.hash(_SEED_CHECK)
    if (check.gather(perm) != check.gather(firsts).gather(seg)).any():
        return None
    ids = cid.gather(firsts).sort()
    # Blocks are in prefix order, so ranking the sorted ids' prefixes maps codes to blocks.
    code_of_block = pl.select(pl.lit(ids.hash(_SEED_ORDER)) // shift).to_series().arg_sort()
    block_of_code = pl.Series(values=[0], dtype=pl.UInt32).gather([0] * len(ids)).scatter(
        code_of_block, pl.int_range(len(ids), dtype=pl.UInt32, eager=True)
    )
    ends = starts.slice(1).append(pl.Series([cid.len()], dtype=starts.dtype))
    st, en = starts.gather(block_of_code), ends.gather(block_of_code)
    final = perm.gather(pl.select(pl.int_ranges(pl.lit(st), pl.lit(en), dtype=pl.UInt32).explode()).to_series())
    code = pl.select(
        pl.int_range(len(ids), dtype=pl.Int64).repeat_by(pl.lit(en - st)).explode()
    ).to_series()
    return final, code, ids


def _all_distinct(ids: pl.LazyFrame, n: int) -> bool:
    """Whether the ``n`` values of the frame's single column are all different."""
    # Distinct hashes prove distinct values and are much cheaper to count than strings; only
    # equal hashes (a duplicate or, rarely, a collision) need the exact count.
    col = pl.col(ids.collect_schema().names()[0])
    if ids.select(col.hash(0x5EED).n_unique()).collect().item() == n:
        return True
    return ids.select(col.n_unique()).collect().item() == n


def _seg_cumsum(col: str) -> pl.Expr:
    """Running sum within each customer on a frame sorted by customer (no per-group hashing)."""
    cs = pl.col(col).cum_sum()
    start = pl.col(_CODE) != pl.col(_CODE).shift(1).fill_null(-1)
    base = pl.when(start).then(cs - pl.col(col)).forward_fill()
    return cs - base


def _timeline(
    tx: pl.DataFrame | pl.LazyFrame,
    dates: Sequence[dt.date],
    window_days: int | None,
    *,
    keep_active: bool = False,
) -> tuple[pl.DataFrame, pl.Series, int]:
    """Per customer and grid step: RFM state and the activity since the previous date.

    Returns ``(frame, customer_ids, scale)``. ``frame`` has one row per customer and step where
    the customer is in the window (``present``) or, with ``keep_active``, bought or returned
    anything in the step. Columns: ``_code`` (index into ``customer_ids``), ``_k`` (index into
    ``dates``), ``present``, ``frequency``, ``net`` and ``gross`` (Int64 in 1/scale units, in the
    window), ``first_day``, ``last_day`` (purchase days in the window, Int32 days since epoch),
    ``first_ever`` (first purchase in the data), ``p_orders``, ``p_net`` (orders and net amount
    in ``(dates[k-1], dates[k]]``; for k = 0 everything up to ``dates[0]``). Sorted by code, k.
    """
    if window_days is not None and int(window_days) <= 0:
        raise DataError("The lookback window must be a positive number of days.")
    w = None if window_days is None else int(window_days)
    grid = pl.Series("d", dates, dtype=pl.Date)
    grid_int = grid.cast(pl.Int32)
    n_steps = len(dates)

    base = tx.lazy().select(
        C.CUSTOMER_ID,
        pl.col(C.ORDER_DATE).cast(pl.Date).alias("_day"),
        pl.col(C.AMOUNT).cast(pl.Float64),
        pl.col(C.ORDER_ID),
    ).filter(pl.col("_day") <= dates[-1])
    rows = base.collect()
    scale = _scale_for(rows.lazy())

    n_purchase_rows = int(rows.select((pl.col(C.AMOUNT) > 0).sum()).item())
    # Fast path: one purchase row per order (the usual export shape). Otherwise orders are
    # counted from distinct (customer, order, day) triples, which handles multi-line invoices.
    simple_orders = _all_distinct(rows.lazy().filter(pl.col(C.AMOUNT) > 0).select(C.ORDER_ID), n_purchase_rows)
    rows, ids, in_order = _customer_order(rows if not simple_orders else rows.drop(C.ORDER_ID))
    purchase = pl.col(C.AMOUNT) > 0
    day_int = pl.col("_day").cast(pl.Int32)
    rows = (
        rows.lazy()
        .select(
            _CODE,
            day_int.alias("_d"),
            purchase.fill_null(False).alias("_p"),
            (pl.col(C.AMOUNT) * scale).round().cast(pl.Int64).fill_null(0).alias("_u"),
            # Purchase-only copies: plain sums/mins in the group-bys below stay on Polars' fast
            # path, where a filter inside an aggregation would run group by group.
            pl.when(purchase).then((pl.col(C.AMOUNT) * scale).round().cast(pl.Int64)).otherwise(0).alias("_ug"),
            pl.when(purchase).then(day_int).alias("_dp"),
            pl.lit(grid).search_sorted(pl.col("_day"), side="left").cast(pl.Int32).alias("_kin"),
            *(
                [pl.lit(grid).search_sorted(pl.col("_day") + pl.duration(days=w), side="left")
                 .cast(pl.Int32).alias("_kout")]
                if w is not None else []
            ),
            *([] if simple_orders else [C.ORDER_ID]),
        )
        .collect()
    )

    # Rows sorted by customer and day are sorted by (customer, step) both where they enter and
    # where they leave the window: the group-bys below then run over sorted runs, not hashes.
    span = n_steps + 1
    rows = rows.with_columns(
        (pl.col(_CODE) * span + pl.col("_kin")).alias("_ck_in"),
        *([(pl.col(_CODE) * span + pl.col("_kout")).alias("_ck_out")] if w is not None else []),
    )
    if in_order:
        rows = rows.with_columns(pl.col("_ck_in").set_sorted(), *([pl.col("_ck_out").set_sorted()] if w is not None else []))
    # One Int64 key per (customer, step) groups and sorts much faster than two columns.
    ent = (
        rows.lazy()
        .group_by(pl.col("_ck_in").alias("_ck"), maintain_order=in_order)
        .agg(
            pl.col("_u").sum().alias("d_net"),
            pl.col("_ug").sum().alias("d_gross"),
            pl.col("_p").sum().cast(pl.Int64).alias("d_np"),
            pl.col("_dp").max().alias("en_max"),
            pl.col("_dp").min().alias("en_min"),
        )
        .with_columns((pl.col("_ck") // span).alias(_CODE), (pl.col("_ck") % span).cast(pl.Int32).alias(_KEY))
    )
    ext = None
    if w is not None:
        ext = (
            rows.lazy()
            .group_by(pl.col("_ck_out").alias("_ck"), maintain_order=in_order)
            .agg(
                (-pl.col("_u").sum()).alias("d_net"),
                (-pl.col("_ug").sum()).alias("d_gross"),
                (-pl.col("_p").sum().cast(pl.Int64)).alias("x_np"),
                pl.col("_dp").min().alias("ex_min"),
            )
            .with_columns((pl.col("_ck") // span).alias(_CODE), (pl.col("_ck") % span).cast(pl.Int32).alias(_KEY))
        )

    if simple_orders:
        ent = ent.with_columns(pl.col("d_np").alias("d_freq"), pl.col("d_np").alias("p_orders"))
        if ext is not None:
            ext = ext.with_columns(pl.col("x_np").alias("d_freq"))
    else:
        od = rows.lazy().filter("_p").select(_CODE, C.ORDER_ID, "_d", "_kin").unique()
        p_orders = od.group_by(_CODE, "_kin").agg(pl.col(C.ORDER_ID).n_unique().cast(pl.Int64).alias("p_orders"))
        if w is None:
            starts = od.group_by(_CODE, C.ORDER_ID).agg(pl.col("_kin").min().alias(_KEY))
            f_in = starts.group_by(_CODE, _KEY).agg(pl.len().cast(pl.Int64).alias("d_freq"))
        else:
            # An order counts while any of its purchase days is in the window: merge the
            # [day, day + w) spans of its days into intervals, each entering and leaving once.
            iv = (
                od.sort(_CODE, C.ORDER_ID, "_d")
                .with_columns(
                    (
                        (pl.col(_CODE) != pl.col(_CODE).shift(1))
                        | (pl.col(C.ORDER_ID) != pl.col(C.ORDER_ID).shift(1))
                        | (pl.col("_d") - pl.col("_d").shift(1) >= w)
                    ).fill_null(True).cum_sum().alias("_iv")
                )
                .group_by("_iv")
                .agg(pl.col(_CODE).first(), pl.col("_d").min().alias("s"), pl.col("_d").max().alias("e"))
                .with_columns(
                    pl.lit(grid_int).search_sorted(pl.col("s"), side="left").cast(pl.Int32).alias("ks"),
                    pl.lit(grid_int).search_sorted(pl.col("e") + w, side="left").cast(pl.Int32).alias("ke"),
                )
            )
            f_in = iv.group_by(_CODE, pl.col("ks").alias(_KEY)).agg(pl.len().cast(pl.Int64).alias("d_freq"))
            f_out = iv.group_by(_CODE, pl.col("ke").alias(_KEY)).agg((-pl.len().cast(pl.Int64)).alias("d_freq"))
            ext = ext.join(f_out, on=[_CODE, _KEY], how="left").with_columns(pl.col("d_freq").fill_null(0))
        ent = (
            ent.join(f_in, on=[_CODE, _KEY], how="left")
            .join(p_orders.rename({"_kin": _KEY}), on=[_CODE, _KEY], how="left")
            .with_columns(pl.col("d_freq").fill_null(0), pl.col("p_orders").fill_null(0))
        )

    ent = ent.with_columns(pl.lit(0, pl.Int8).alias(_TYPE))
    if ext is not None:
        ext = ext.with_columns(pl.lit(1, pl.Int8).alias(_TYPE)).drop("x_np")
    if ext is not None and in_order and simple_orders:
        # Both event lists come out of the group-bys already sorted: merge instead of sorting.
        cols = {"_ck": pl.Int64, "d_net": pl.Int64, "d_gross": pl.Int64, "d_np": pl.Int64,
                "en_max": pl.Int32, "en_min": pl.Int32, "ex_min": pl.Int32, _CODE: pl.Int64,
                _KEY: pl.Int32, "d_freq": pl.Int64, "p_orders": pl.Int64, _TYPE: pl.Int8}
        zero = {"d_np", "p_orders", "d_freq"}

        def aligned(f: pl.LazyFrame) -> pl.LazyFrame:
            have = f.collect_schema().names()
            return f.select(
                (pl.col(c) if c in have else pl.lit(0 if c in zero else None)).cast(t).alias(c)
                for c, t in cols.items()
            ).with_columns((pl.col("_ck") * 2 + pl.col(_TYPE)).alias("_ek"))

        a, b = pl.collect_all([aligned(ent), aligned(ext)])
        events = a.merge_sorted(b, key="_ek").drop("_ek")
    else:
        events = pl.concat([ent, ext], how="diagonal_relaxed") if ext is not None else ent
        events = events.sort(pl.col("_ck") * 2 + pl.col(_TYPE))
    events = events.with_columns(
        *(pl.col(c).fill_null(0) for c in ("d_net", "d_gross", "d_freq", "d_np", "p_orders"))
    )
    events = events.collect() if isinstance(events, pl.LazyFrame) else events

    same_key_prev = (pl.col(_CODE) == pl.col(_CODE).shift(1)) & (pl.col(_KEY) == pl.col(_KEY).shift(1))
    nxt_same_cust = pl.col(_CODE) == pl.col(_CODE).shift(-1)
    state = events.lazy().with_columns(
        _seg_cumsum("d_freq").alias(C.FREQUENCY),
        _seg_cumsum("d_net").alias("net"),
        _seg_cumsum("d_gross").alias("gross"),
        _seg_cumsum("d_np").alias("_np_cum"),
        pl.col("en_max").forward_fill().alias("last_day"),
        pl.when(nxt_same_cust).then(pl.col(_KEY).shift(-1)).otherwise(n_steps).alias("_next"),
        # Activity of a step lives on its entry row; an exit row at the same step inherits it.
        pl.when(pl.col(_TYPE) == 0).then(pl.col("d_net"))
        .when(same_key_prev.fill_null(False)).then(pl.col("d_net").shift(1)).otherwise(0).alias("p_net"),
        pl.when(pl.col(_TYPE) == 0).then(pl.col("d_gross"))
        .when(same_key_prev.fill_null(False)).then(pl.col("d_gross").shift(1)).otherwise(0).alias("p_gross"),
        pl.when(pl.col(_TYPE) == 0).then(pl.col("p_orders"))
        .when(same_key_prev.fill_null(False)).then(pl.col("p_orders").shift(1)).otherwise(0).alias("p_orders"),
        pl.when(pl.col(_TYPE) == 0).then(pl.col("d_np") > 0)
        .when(same_key_prev.fill_null(False)).then(pl.col("d_np").shift(1) > 0).otherwise(False).alias("_had_rows"),
    )
    first_cols = []
    if w is not None:
        # First purchase still in the window: the earliest purchase that leaves at a later step.
        first_cols.append(pl.col("ex_min").shift(-1).backward_fill().alias("first_day"))
    state = state.with_columns(
        *first_cols,
        # Fills run across customers; masks below keep only values of the row's own customer.
        pl.when(pl.col("_np_cum") > 0).then(
            pl.when(pl.col("_np_cum") == pl.col("d_np")).then(pl.col("en_min")).forward_fill()
        ).alias("first_ever"),
        (pl.col(C.FREQUENCY) > 0).alias("present"),
    )
    if w is None:
        state = state.with_columns(pl.col("first_ever").alias("first_day"))
    state = state.with_columns(
        pl.when(pl.col("present")).then(pl.col(c)).alias(c) for c in ("first_day", "last_day")
    )
    active_here = (pl.col("p_orders") > 0) | (pl.col("p_net") != 0) | pl.col("_had_rows")
    keep = pl.col("present") if not keep_active else pl.col("present") | active_here
    span = pl.when(pl.col("present")).then(pl.col("_next") - pl.col(_KEY)).otherwise(1)
    out = (
        state.filter((pl.col(_KEY) < pl.col("_next")) & keep)
        .select(
            _CODE,
            pl.int_ranges(pl.col(_KEY), pl.col(_KEY) + span, dtype=pl.Int32).alias(_K),
            pl.col(_KEY),
            "present", C.FREQUENCY, "net", "gross", "first_day", "last_day", "first_ever",
            "p_orders", "p_net", "p_gross",
        )
        .explode(_K)
        .with_columns(
            pl.when(pl.col(_K) == pl.col(_KEY)).then(pl.col(c)).otherwise(0).alias(c)
            for c in ("p_orders", "p_net", "p_gross")
        )
        .drop(_KEY)
        .collect()
    )
    return out, ids, scale


def _rfm_columns(tl: pl.LazyFrame, dates: Sequence[dt.date], ids: pl.Series | None, scale: int) -> pl.LazyFrame:
    grid = pl.Series("d", dates, dtype=pl.Date)
    as_of = pl.lit(grid.cast(pl.Int32)).gather(pl.col(_K))
    return tl.select(
        _K,
        _CODE,
        pl.lit(grid).gather(pl.col(_K)).alias(SNAPSHOT_DATE),
        *([pl.lit(ids).gather(pl.col(_CODE)).alias(C.CUSTOMER_ID)] if ids is not None else []),
        (as_of - pl.col("last_day")).cast(pl.Int64).alias(C.RECENCY),
        pl.col(C.FREQUENCY).cast(pl.Int64),
        (pl.col("net") / scale).alias(C.MONETARY),
        pl.col("first_day").cast(pl.Date).alias(C.FIRST_PURCHASE),
        pl.col("last_day").cast(pl.Date).alias(C.LAST_PURCHASE),
        (as_of - pl.col("first_day")).cast(pl.Int64).alias(C.TENURE),
        ((pl.col("gross") / scale) / pl.col(C.FREQUENCY)).alias(C.AOV),
        pl.col("first_ever").cast(pl.Date).alias(FIRST_PURCHASE_EVER),
        pl.col("p_orders").cast(pl.Int64).alias(PERIOD_ORDERS),
        (pl.col("p_net") / scale).alias(PERIOD_REVENUE),
        (pl.col("p_gross") / scale).alias("_p_gross"),
        "present",
    )


def _score_recomputed(
    frame: pl.DataFrame, *, bins: int, method: str, thresholds: Mapping[str, Sequence[float]] | None
) -> pl.DataFrame:
    score_of = {C.RECENCY: C.R_SCORE, C.FREQUENCY: C.F_SCORE, C.MONETARY: C.M_SCORE}
    if method == "quantile":
        bins = _check_bins(bins, method)
        return frame.with_columns(
            _midrank_score(axis, bins).over(_K).alias(score_of[axis]) for axis in C.RFM_AXES
        )
    if method == "thresholds":
        return score(frame, bins=bins, method=method, thresholds=thresholds)
    # mean / median: one centre per snapshot; score 2 when strictly better than it (as fit_cuts).
    centres = (
        frame.group_by(_K)
        .agg(getattr(pl.col(a).cast(pl.Float64), method)().alias(a) for a in C.RFM_AXES)
        .sort(_K)
    )
    edges = {}
    for axis in C.RFM_AXES:
        direction = -math.inf if axis in C.LOWER_IS_BETTER else math.inf
        vals = [math.nextafter(0.0 if c is None else float(c), direction) for c in centres[axis].to_list()]
        edges[axis] = pl.Series(vals, dtype=pl.Float64)
    # Steps without customers have no centre; map every step to its row in ``centres``.
    pos = pl.Series([-1] * (int(frame[_K].max() or 0) + 1), dtype=pl.Int64)
    pos = pos.scatter(centres[_K].cast(pl.Int64).to_list(), list(range(centres.height)))
    idx = pl.lit(pos).gather(pl.col(_K))
    exprs = []
    for axis in C.RFM_AXES:
        edge = pl.lit(edges[axis]).gather(idx)
        hit = pl.col(axis) <= edge if axis in C.LOWER_IS_BETTER else pl.col(axis) >= edge
        exprs.append((hit.cast(pl.Int8) + 1).cast(pl.Int8).alias(score_of[axis]))
    return frame.with_columns(exprs)


def snapshots(
    tx: pl.DataFrame | pl.LazyFrame,
    dates: Iterable[dt.date | dt.datetime | str],
    *,
    rules: RuleSet | str,
    bins: int = 5,
    method: Method = "quantile",
    thresholds: Mapping[str, Sequence[float]] | None = None,
    window_days: int | None = None,
    cut_mode: CutMode = "fixed",
    reference_date: dt.date | str | None = None,
    cuts: Cuts | None = None,
    clv_model: ClvModel | None = None,
) -> pl.DataFrame:
    """Every customer's RFM, scores and tier as of each date, in one long table.

    Each snapshot equals ``rfm_table(tx, as_of=d, window_days=window_days)`` scored and tiered
    with the same settings; the work is shared across dates (see the module docstring).

    Args:
        tx: canonical transactions, eager or lazy.
        dates: snapshot dates (any order, duplicates ignored); each includes its own day.
        rules: tier rules (text or :class:`~segmentation.rules.RuleSet`).
        bins, method, thresholds: scoring settings as in :func:`segmentation.scoring.score`.
        window_days: lookback window in days (None: all history up to each date).
        cut_mode: "fixed" (cut points fitted on ``reference_date`` and held for every date:
            only behaviour moves customers) or "recomputed" (each date scored on its own
            population: relative standing, so customers move when others do).
        reference_date: the date whose customers fix the cut points (default: the latest
            snapshot date). It need not be one of ``dates``.
        cuts: explicit cut points for "fixed" mode (overrides ``reference_date``).
        clv_model: a fitted lifetime-value model (``score_customers(...).model``), held fixed
            across dates in both cut modes. Given, every snapshot row gets ``p_alive``, ``clv``
            and ``expected_purchases`` from the customer's history up to that date (see the
            module docstring) before the rules run; needed when the rules use P_ALIVE or CLV.
            At the date the model was fitted on, these equal ``score_customers``' own scores.

    Returns:
        A DataFrame sorted by ``customer_id`` then ``snapshot_date``, one row per customer and
        date where the customer has a purchase in range: ``snapshot_date`` (Date),
        ``customer_id``, the ``rfm_table`` columns (``recency_days``, ``frequency``,
        ``monetary``, ``first_purchase``, ``last_purchase``, ``tenure_days``,
        ``avg_order_value``), ``r_score``, ``f_score``, ``m_score``, ``tier`` (Enum in rule
        order, best first), plus ``first_purchase_ever`` (Date, first purchase in the data,
        ignoring the window), ``period_orders`` (Int64) and ``period_revenue`` (Float64, net
        amount) since the previous snapshot date (for the first date: everything up to it).
        With ``clv_model``, then ``p_alive``, ``clv`` and ``expected_purchases`` (Float64).

    Raises:
        DataError: no dates, bad window, a reserved tier name.
        SettingsError: bad scoring settings. RuleError: bad rules, or rules using P_ALIVE or
            CLV without ``clv_model``.

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({"customer_id": ["a", "a", "b"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 2, 3), dt.date(2024, 2, 10)],
        ...     "amount": [10.0, 30.0, 5.0], "order_id": ["1", "2", "3"]})
        >>> s = snapshots(tx, ["2024-01-31", "2024-02-29"], rules="Big: M >= 20\\nSmall: else")
        >>> s.select("snapshot_date", "customer_id", "frequency", "tier").rows()  # doctest: +NORMALIZE_WHITESPACE
        [(datetime.date(2024, 1, 31), 'a', 1, 'Small'), (datetime.date(2024, 2, 29), 'a', 2, 'Big'),
         (datetime.date(2024, 2, 29), 'b', 1, 'Small')]
    """
    if cut_mode not in CUT_MODES:
        raise DataError(f"Unknown cut mode '{cut_mode}'; use 'fixed' or 'recomputed'.")
    rs = _as_rules(rules, clv_model)
    grid = _normalise_dates(dates)
    tl, ids, scale = _timeline(tx, grid, window_days)
    frame = _rfm_columns(tl.lazy(), grid, ids, scale).drop("present", "_p_gross").collect()
    tiered = _score_and_tier(
        frame, tx, grid, rs, bins=bins, method=method, thresholds=thresholds,
        window_days=window_days, cut_mode=cut_mode, reference_date=reference_date, cuts=cuts,
        clv_model=clv_model, ids=ids,
    )
    return tiered.select(_SNAPSHOT_COLUMNS + (CLV_COLUMNS if clv_model is not None else ()))


def _score_and_tier(
    frame: pl.DataFrame,
    tx: pl.DataFrame | pl.LazyFrame,
    grid: Sequence[dt.date],
    rs: RuleSet,
    *,
    bins: int,
    method: Method,
    thresholds: Mapping[str, Sequence[float]] | None,
    window_days: int | None,
    cut_mode: str,
    reference_date: dt.date | str | None,
    cuts: Cuts | None,
    clv_model: ClvModel | None = None,
    ids: pl.Series | None = None,
) -> pl.DataFrame:
    """Scores and tiers for a long frame of present customers (``_k`` indexes ``grid``).

    With ``clv_model`` the CLV columns are added first (``ids``: the customer ids ``_code``
    indexes, as returned by :func:`_timeline`).
    """
    if cut_mode not in CUT_MODES:
        raise DataError(f"Unknown cut mode '{cut_mode}'; use 'fixed' or 'recomputed'.")
    if clv_model is not None:
        if ids is None:
            raise ValueError("ids are needed to score the lifetime-value columns")
        frame = _with_clv(frame, tx, grid, ids, clv_model)
    if cut_mode == "recomputed" and method != "thresholds":
        scored = _score_recomputed(frame, bins=bins, method=method, thresholds=thresholds)
    else:
        if cuts is None:
            ref = to_date(reference_date) or grid[-1]
            if ref in grid:
                ref_rfm = frame.filter(pl.col(SNAPSHOT_DATE) == ref)
            else:
                ref_rfm = rfm_table(tx.lazy(), as_of=ref, window_days=window_days).collect()
            cuts = fit_cuts(ref_rfm, bins=bins, method=method, thresholds=thresholds)
        scored = score(frame, cuts=cuts)
    return scored.with_columns(_tiers_of(scored, rs))


def _tiers_of(scored: pl.DataFrame, rs: RuleSet) -> pl.Series:
    """``assign_tiers`` on a scored frame; score-only rules go through a table of all scores."""
    if rs.score_only:
        # Scores run 1..bins (at most _MAX_BINS): tier every score combination once and look the
        # rows up, instead of evaluating every rule on millions of rows.
        b = _MAX_BINS
        combos = pl.DataFrame(
            list(itertools.product(range(1, b + 1), repeat=3)),
            schema={c: pl.Int8 for c in (C.R_SCORE, C.F_SCORE, C.M_SCORE)},
            orient="row",
        )
        table = assign_tiers(combos, rs).get_column(C.TIER)
        idx = (
            (pl.col(C.R_SCORE).cast(pl.Int32) - 1) * (b * b)
            + (pl.col(C.F_SCORE).cast(pl.Int32) - 1) * b
            + (pl.col(C.M_SCORE).cast(pl.Int32) - 1)
        )
        return scored.select(pl.lit(table).gather(idx).alias(C.TIER)).to_series()
    # Rules see exactly the rfm_table columns plus scores, as when tiering one date.
    rfm_cols = [c for c in (C.CUSTOMER_ID, C.RECENCY, C.FREQUENCY, C.MONETARY, C.FIRST_PURCHASE,
                            C.LAST_PURCHASE, C.TENURE, C.AOV, C.R_SCORE, C.F_SCORE, C.M_SCORE, *CLV_COLUMNS)
                if c in scored.columns]
    return assign_tiers(scored.select(rfm_cols), rs).get_column(C.TIER)


def _with_clv(
    frame: pl.DataFrame, tx: pl.DataFrame | pl.LazyFrame, grid: Sequence[dt.date], ids: pl.Series, model: ClvModel
) -> pl.DataFrame:
    """``frame`` (rows ``_code`` x ``_k``) with ``p_alive``, ``clv``, ``expected_purchases``.

    Each row is scored with ``model`` from the customer's purchase days up to ``grid[_k]``,
    exactly as :func:`segmentation.clv.summary` would summarise them at that date: purchases
    of one day form one period, returns are left out, the lookback window is ignored.
    """
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.Float64).alias(c) for c in CLV_COLUMNS)
    span = len(grid) + 1
    unit_days = model.unit_days
    grid_s = pl.Series("d", grid, dtype=pl.Date)
    amount = pl.col("_amt")
    purchase = amount >= 0 if model.zero_amount_purchases else amount > 0
    start = pl.col(_CODE) != pl.col(_CODE).shift(1).fill_null(-1)
    # One row per customer and purchase day, sorted, with running totals; codes come from a
    # binary search in the sorted ids (cheaper than joining on strings).
    days = (
        tx.lazy()
        .select(C.CUSTOMER_ID, pl.col(C.ORDER_DATE).dt.date().alias("_day"), pl.col(C.AMOUNT).cast(pl.Float64).alias("_amt"))
        .filter(purchase.fill_null(False), pl.col("_day") <= grid[-1], pl.col(C.CUSTOMER_ID).is_not_null())
        .group_by(C.CUSTOMER_ID, "_day")
        .agg(pl.col("_amt").sum().alias("_spend"))
        .with_columns(
            pl.lit(ids).search_sorted(pl.col(C.CUSTOMER_ID), side="left").clip(0, max(len(ids) - 1, 0))
            .cast(pl.Int64).alias(_CODE)
        )
        # Every purchaser is among ``ids`` (same rows, same last date); the check keeps a
        # customer from borrowing another's history should that ever not hold.
        .filter(pl.lit(ids).gather(pl.col(_CODE)) == pl.col(C.CUSTOMER_ID))
        .select(
            _CODE,
            pl.col("_day").cast(pl.Int32).alias("_d"),
            pl.lit(grid_s).search_sorted(pl.col("_day"), side="left").cast(pl.Int64).alias("_kin"),
            "_spend",
        )
        .sort(_CODE, "_d")
        .with_columns(
            pl.when(start).then(pl.col("_d")).forward_fill().alias("_first"),
            pl.when(start).then(pl.col("_spend")).forward_fill().alias("_first_spend"),
            pl.col("_spend").cum_sum().over(_CODE).alias("_total"),
            pl.int_range(pl.len()).over(_CODE).alias("_x"),
        )
        # The state at a step is the customer's last purchase day entering at or before it.
        .filter(
            ((pl.col(_CODE) != pl.col(_CODE).shift(-1)) | (pl.col("_kin") != pl.col("_kin").shift(-1))).fill_null(True)
        )
        .select(
            (pl.col(_CODE) * span + pl.col("_kin")).alias("_ck"),
            pl.col(_CODE).alias("_ev_code"),
            "_first", "_d", "_first_spend", "_total", "_x",
        )
        .collect()
    )
    left = frame.select(
        (pl.col(_CODE).cast(pl.Int64) * span + pl.col(_K).cast(pl.Int64)).alias("_ck"),
        pl.col(_CODE).cast(pl.Int64).alias("_code_row"),
        pl.lit(grid_s.cast(pl.Int32)).gather(pl.col(_K)).alias("_as_of"),
    ).with_row_index("_row")
    inputs = (
        left.sort("_ck")
        .join_asof(days, on="_ck", strategy="backward", check_sortedness=False)
        # A match from another customer means no purchase up to the date (not in a snapshot
        # built by _timeline; only odd input such as null ids gets here): left null.
        .filter(pl.col("_ev_code") == pl.col("_code_row"))
        .select(
            "_row",
            pl.col("_x").cast(pl.Float64).alias("x"),
            ((pl.col("_d") - pl.col("_first")) / unit_days).alias("t_x"),
            ((pl.col("_as_of") - pl.col("_first")) / unit_days).alias("T"),
            pl.when(pl.col("_x") > 0)
            .then((pl.col("_total") - pl.col("_first_spend")) / pl.col("_x"))
            .otherwise(0.0)
            .alias("m"),
        )
    )
    scores = model.predict(inputs["x"], inputs["t_x"], inputs["T"], inputs["m"])
    rows = inputs.get_column("_row")
    empty = pl.repeat(None, frame.height, dtype=pl.Float64, eager=True)
    return frame.with_columns(empty.scatter(rows, scores.get_column(c)).alias(c) for c in CLV_COLUMNS)


def fixed_cuts(
    tx: pl.DataFrame | pl.LazyFrame,
    reference_date: dt.date | str,
    *,
    bins: int = 5,
    method: Method = "quantile",
    thresholds: Mapping[str, Sequence[float]] | None = None,
    window_days: int | None = None,
) -> Cuts:
    """The cut points "fixed" mode uses: fitted on the customers as of ``reference_date``.

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({"customer_id": ["a", "b"], "order_date": [dt.date(2024, 1, 5)] * 2,
        ...     "amount": [10.0, 30.0], "order_id": ["1", "2"]})
        >>> fixed_cuts(tx, "2024-01-31", bins=2).monetary
        (30.0,)
    """
    rfm = rfm_table(tx.lazy(), as_of=reference_date, window_days=window_days).collect()
    return fit_cuts(rfm, bins=bins, method=method, thresholds=thresholds)
