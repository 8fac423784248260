"""Tier snapshots over time: every customer's RFM, scores and tier as of many dates at once.

A snapshot at date ``d`` is exactly ``rfm_table(tx, as_of=d, window_days=w)`` followed by
``score`` and ``assign_tiers``: only transactions dated on or before ``d`` (and inside the
lookback window) count. Computing 36 monthly snapshots that way re-reads every transaction 36
times; :func:`snapshots` reads them once instead.

How the work is shared: the rows are sorted once by customer and day, which also sorts them by
the grid step where each row enters the window (the first snapshot dated on or after it) and by
the step where it leaves (the first snapshot at least ``window_days`` later). Running totals
over the sorted rows, read at the last row that entered by a step and at the last row that
left by it, give a customer's window at that step by one subtraction. Only steps where
something enters or leaves are computed; each state then repeats until the next change. Money
is summed as integers (millionths of the currency unit), so a running total minus the part
that left the window is exact and the same history always gives the same number, whatever the
order of rows.

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
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import polars as pl

from . import columns as C
from .enrich import CLV_COLUMNS, needs_clv
from .errors import DataError, RuleError
from .rfm import rfm_table, to_date
from .rules import RuleSet, assign_tiers, parse_rules, score_lookup
from .scoring import MAX_BINS as _MAX_BINS
from .scoring import Cuts, Method, check_bins, fit_cuts, score, share_score
from .spec import TieringSpec, as_spec

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
    "customer_snapshots",
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

_CODE, _KEY, _K = "_code", "_key", "_k"


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
        raise DataError(f"Tier name '{clash[0]}' is reserved; please rename the tier.",
            code="reserved_tier", params={"name": clash[0]})
    if clv_model is None and needs_clv(rs.columns_used):
        # Said up front: otherwise the whole timeline is built before assign_tiers finds out.
        raise RuleError(
            "These tier rules use P_ALIVE or CLV; tiering past dates with them needs the fitted "
            "lifetime-value model (clv_model, from segmentation.clv.score_customers), and none was given.",
            code="rules_need_clv",
        )
    return rs


def _normalise_dates(dates: Iterable[dt.date | dt.datetime | str]) -> list[dt.date]:
    out = sorted({d for d in (to_date(x) for x in dates) if d is not None})
    if not out:
        raise DataError("Choose at least one snapshot date.", code="no_snapshot_date")
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
        raise DataError("There are no transactions to build periods from.", code="no_transactions")
    return lo, hi, PERIODS[period]


def _scale_for(total: float | None) -> int:
    """Units per currency unit for exact integer sums of amounts whose absolute sum is ``total``."""
    total = total or 0.0
    scale = _SCALE
    # Keep every running total (and twice any amount, packed with its purchase flag) inside
    # Int64; huge currencies lose sub-unit digits, not sums.
    while scale > 1 and total * scale >= _INT_BUDGET:
        scale //= 10
    if total * scale >= _INT_BUDGET:
        raise DataError("Amounts are too large to add up safely; check the amount column.",
            code="amounts_too_large")
    return scale


_SEED_ORDER, _SEED_CHECK, _SEED_ORDER_ID = 0x7131, 0x2B7E, 0x7E1
_DAY_BITS = 16


def _customer_order(cid: pl.Series, day: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Row order by (customer id, day): ``(permutation, code per row in that order, sorted ids)``.

    A row's code (UInt32) is the rank of its id among the distinct ids, so rows sorted by code
    are sorted by customer id. Null ids form one customer that sorts first.
    """
    if cid.len() and cid.null_count() == 0:
        lo, hi = day.min(), day.max()
        if hi - lo < 2**_DAY_BITS:  # type: ignore[operator]
            fast = _order_by_hash(cid, day, lo)  # type: ignore[arg-type]
            if fast is not None:
                return fast
    # Exact route for unusual input (null ids, dates spanning more than 179 years, a hash
    # clash): sort the strings themselves.
    srt = pl.DataFrame({"c": cid, "d": day}).with_row_index("i").sort("c", "d", nulls_last=False)
    first = srt.select((pl.col("c").rle_id() != pl.col("c").rle_id().shift(1)).fill_null(True)).to_series()
    code = srt.select(pl.col("c").rle_id().cast(pl.UInt32)).to_series()
    return srt.get_column("i"), code, srt.get_column("c").filter(first)


def _order_by_hash(cid: pl.Series, day: pl.Series, lo: int) -> tuple[pl.Series, pl.Series, pl.Series] | None:
    """:func:`_customer_order` without sorting the rows' strings; None on a hash clash.

    Sorting millions of strings is slow. Instead one integer sort on (48-bit hash of the id,
    day) puts each customer's rows together; sorting only one id per customer then tells
    where each customer's block goes. A second hash checks that no two ids share a 48-bit
    prefix (then the caller takes the exact, slower route).
    """
    shift = 2**_DAY_BITS
    key = pl.select((pl.lit(cid.hash(_SEED_ORDER)) // shift) * shift + (pl.lit(day) - lo).cast(pl.UInt64)).to_series()
    perm = key.arg_sort()
    cust = pl.select(pl.lit(key.gather(perm)) // shift).to_series()
    new = pl.select((pl.lit(cust) != pl.lit(cust).shift(1)).fill_null(True)).to_series()
    check = cid.hash(_SEED_CHECK).gather(perm)
    if pl.select(((pl.lit(check) != pl.lit(check).shift(1)) & ~pl.lit(new)).any()).item():
        return None
    starts = new.arg_true()
    # Sorting strings is several times faster than arg-sorting them; the sorted ids' 48-bit
    # prefixes then say which block (blocks are in prefix order) each code belongs to.
    ids = cid.gather(perm.gather(starts)).sort()
    code_of_block = pl.select(pl.lit(ids.hash(_SEED_ORDER)) // shift).to_series().arg_sort()
    block = code_of_block.arg_sort()  # the inverse permutation
    lengths = starts.append(pl.Series([cid.len()], dtype=starts.dtype)).diff(null_behavior="drop")
    st, ln = starts.gather(block), lengths.gather(block)
    final = perm.gather(pl.select(pl.int_ranges(pl.lit(st), pl.lit(st) + pl.lit(ln), dtype=pl.UInt32).explode()).to_series())
    code = pl.select(pl.int_range(len(ids), dtype=pl.UInt32).repeat_by(pl.lit(ln)).explode()).to_series()
    return final, code, ids


def _sorted_rows(tx: pl.DataFrame | pl.LazyFrame, last_day: int) -> tuple[pl.DataFrame, pl.Series, int, bool]:
    """Transactions up to ``last_day`` (days since epoch) sorted by customer and day.

    Returns ``(rows, customer_ids, scale, simple_orders)``: ``rows`` has ``_code`` (UInt32,
    index into the sorted ``customer_ids``), ``_d`` (Int32 day), ``_v`` (2 * amount in 1/scale
    units + 1 for a purchase) and, unless every purchase row is its own order, ``_oh`` (a
    64-bit hash of the order id, as rfm_table counts orders).
    """
    rows = (
        tx.lazy()
        .select(
            C.CUSTOMER_ID,
            pl.col(C.ORDER_DATE).cast(pl.Date).cast(pl.Int32).alias("_d"),
            pl.col(C.AMOUNT).cast(pl.Float64),
            C.ORDER_ID,
        )
        .filter(pl.col("_d") <= last_day)
        .collect()
    )
    purchase = pl.col(C.AMOUNT) > 0
    bought = pl.col(C.ORDER_ID).filter(purchase)
    # Distinct hashes prove distinct order ids and are much cheaper to count than strings;
    # only equal hashes (a duplicate or, rarely, a collision) need the exact count.
    total, n_purchase_rows, n_hashes = rows.select(
        pl.col(C.AMOUNT).abs().sum().alias("t"), purchase.sum().alias("n"), bought.hash(0x5EED).n_unique().alias("h")
    ).row(0)
    scale = _scale_for(total)
    # Fast path: one purchase row per order (the usual export shape). Otherwise orders are
    # counted from distinct (customer, order, day) triples, which handles multi-line invoices.
    simple_orders = n_hashes == n_purchase_rows or rows.select(bought.n_unique()).item() == n_purchase_rows
    units = (pl.col(C.AMOUNT) * scale).round().cast(pl.Int64).fill_null(0)
    rows = rows.select(
        C.CUSTOMER_ID,
        "_d",
        # Packing the purchase flag with the money lets one gather move both.
        (units * 2 + purchase.fill_null(False).cast(pl.Int64)).alias("_v"),
        *([] if simple_orders else [pl.col(C.ORDER_ID).hash(_SEED_ORDER_ID).alias("_oh")]),
    ).rechunk()  # gathers on a column in many chunks (a Parquet read) are several times slower
    perm, code, ids = _customer_order(rows.get_column(C.CUSTOMER_ID), rows.get_column("_d"))
    rows = rows.drop(C.CUSTOMER_ID).select(pl.all().gather(perm)).with_columns(code.alias(_CODE))
    return rows, ids, scale, simple_orders


def _timeline(
    tx: pl.DataFrame | pl.LazyFrame,
    dates: Sequence[dt.date],
    window_days: int | None,
    *,
    keep_active: bool = False,
    days_out: list[pl.DataFrame] | None = None,
) -> tuple[pl.LazyFrame, pl.Series, int]:
    """Per customer: runs of grid steps with the same RFM state, and the activity in each step.

    Returns ``(runs, customer_ids, scale)``; :func:`_rfm_columns` turns ``runs`` into one row
    per customer and step. ``runs`` (lazy) has one row per customer and run of consecutive
    steps in which the customer is in the window (``present``) and nothing changes, or, with
    ``keep_active``, a single step in which a customer outside the window bought or returned
    anything. Columns: ``_code`` (UInt32, index into ``customer_ids``), ``_key`` (Int32, the
    run's first step, an index into ``dates``), ``_len`` (steps in the run), ``present``,
    ``frequency``, ``net`` and ``gross`` (Int64 in 1/scale units, in the window),
    ``first_day``, ``last_day`` (purchase days in the window, Int32 days since epoch),
    ``first_ever`` (first purchase in the data), and the activity in the run's first step
    ``p_orders``, ``p_net``, ``p_gross`` (orders and amounts in ``(dates[k-1], dates[k]]``; for
    k = 0 everything up to ``dates[0]``; later steps of a run have none). Sorted by code, step.

    With ``days_out`` (a list) the purchase rows are appended to it as one frame, sorted by
    customer and day: ``_h`` (UInt64, the customer's code) and ``_d`` (Int32 day), one row per
    purchase line. The KPI churn needs exactly these, and here they come without another sort.

    How: see the module docstring; there is no group-by over the rows and no pass per date.
    """
    if window_days is not None and int(window_days) <= 0:
        raise DataError("The lookback window must be a positive number of days.", code="bad_window")
    w = None if window_days is None else int(window_days)
    grid_int = pl.Series("d", dates, dtype=pl.Date).cast(pl.Int32)
    n_steps = len(dates)
    span = n_steps + 1

    rows, ids, scale, simple_orders = _sorted_rows(tx, grid_int[-1])
    if rows.height == 0:
        if days_out is not None:
            days_out.append(pl.DataFrame(schema={"_h": pl.UInt64, "_d": pl.Int32}))
        return _no_runs(), ids, scale
    u = pl.col("_v") // 2
    p = (pl.col("_v") % 2) == 1
    dp = pl.when(p).then(pl.col("_d"))
    base = pl.col(_CODE).cast(pl.Int64) * span
    kin = pl.lit(grid_int).search_sorted(pl.col("_d"), side="left").cast(pl.Int64)
    # Without a window rows leave at the step after the last (never, inside the grid).
    kout = pl.lit(n_steps, pl.Int64) if w is None else (
        pl.lit(grid_int).search_sorted(pl.col("_d") + w, side="left").cast(pl.Int64)
    )
    new_cust = (pl.col(_CODE) != pl.col(_CODE).shift(1)).fill_null(True)
    # Running totals per row; the rows where a customer's entering or leaving step changes
    # (``_s`` = code * span + step; leaving after the last date changes no snapshot); and the
    # first row of every customer.
    wanted_days = [] if days_out is None else [
        rows.lazy().filter(p).select(pl.col(_CODE).cast(pl.UInt64).alias("_h"), pl.col("_d").cast(pl.Int32))
    ]
    r, ins, outs, starts, *purchase_days = pl.collect_all([
        rows.lazy().select(
            u.cum_sum().alias("_cu"),
            pl.when(p).then(u).otherwise(0).cum_sum().alias("_cg"),
            p.cast(pl.Int64).cum_sum().alias("_cp"),
            dp.forward_fill().alias("_lpd"),
            dp.backward_fill().alias("_fpd"),
            *([] if simple_orders else [pl.col(_CODE), "_d", "_oh", p.alias("_pb"), kin.alias("_kin")]),
        ),
        *(
            rows.lazy().select((base + k).alias("_s")).with_row_index("_r").filter(_last_in_run("_s") & keep)
            .select("_s", pl.lit(src, pl.Int8).alias("_src"), "_r")
            for k, keep, src in ((kin, pl.lit(True), 0), (kout, pl.col("_s") % span < n_steps, 1))
        ),
        rows.lazy().select(pl.int_range(pl.len(), dtype=pl.Int64).filter(new_cust).alias("_cs")),
        *wanted_days,
    ])
    if days_out is not None:
        days_out.extend(purchase_days)
    del rows
    n_rows = r.height
    ins, outs = ins.rechunk(), outs.rechunk()
    # Per customer: first row, first purchase, and purchases of the customers before (to tell
    # whether any purchase of theirs has entered yet).
    cs = starts.get_column("_cs")
    firsts = pl.DataFrame({
        "_cs": cs,
        "_fe": r.get_column("_fpd").gather(cs),
        "_cps": r.select(pl.col("_cp").shift(1).fill_null(0)).to_series().gather(cs),
    })
    code_e, k_e = (pl.col("_s") // span).cast(pl.UInt32), (pl.col("_s") % span).cast(pl.Int32)
    # Every step where something enters or leaves, with the last row that entered (``_ri``)
    # and the last row that left or belongs to an earlier customer (``_ro``, -1 for none).
    merged = ins.select("_s", "_src").merge_sorted(outs.select("_s", "_src"), key="_s").with_columns(
        ((pl.col("_src") == src).cast(pl.Int64).cum_sum() - 1).alias(name) for src, name in ((0, "_ii"), (1, "_io"))
    )
    st = merged.lazy().filter(_last_in_run("_s")).select(
        code_e.alias(_CODE),
        k_e.alias(_KEY),
        "_s",
        pl.lit(ins.get_column("_r")).gather(pl.col("_ii")).alias("_ri"),
        pl.max_horizontal(
            pl.when(pl.col("_io") >= 0).then(pl.lit(outs.get_column("_r")).gather(pl.col("_io").clip(0)))
            if outs.height else pl.lit(None, pl.UInt32),
            pl.lit(firsts.get_column("_cs")).gather(code_e) - 1,
        ).alias("_ro"),
    ).collect()
    del ins, outs, merged
    zero = pl.lit(0, pl.Int64)
    # Totals as of each step, every lookup done once (the optimiser does not share gathers).
    left = pl.col("_ro") >= 0
    st = st.select(
        _CODE,
        _KEY,
        "_s",
        *(pl.lit(r.get_column(c)).gather(pl.col("_ri")).alias(c) for c in ("_cu", "_cg", "_cp", "_lpd")),
        *(pl.when(left).then(pl.lit(r.get_column(c)).gather(pl.col("_ro").clip(0))).otherwise(zero).alias(c + "_o")
          for c in ("_cu", "_cg", "_cp")),
        # First purchase still in the window: the first at or after the row after the last to leave.
        pl.lit(r.get_column("_fpd")).gather((pl.col("_ro") + 1).clip(0, n_rows - 1)).alias("_fpd_o"),
        pl.lit(firsts.get_column("_fe")).gather(pl.col(_CODE)).alias("_fe"),
        pl.lit(firsts.get_column("_cps")).gather(pl.col(_CODE)).alias("_cps"),
    )
    if not simple_orders:
        st = st.hstack(_order_counts(r, grid_int, w, span, st.get_column("_s")))
    del r

    def step(c: str) -> pl.Expr:
        return pl.col(c) - pl.col(c).shift(1).fill_null(zero)

    if simple_orders:
        st = st.with_columns((pl.col("_cp") - pl.col("_cp_o")).alias(C.FREQUENCY), step("_cp").alias("p_orders"))
    else:
        st = st.with_columns((pl.col("_ivi") - pl.col("_ivo")).alias(C.FREQUENCY), step("_po").alias("p_orders"))
    present = pl.col(C.FREQUENCY) > 0
    state = st.lazy().select(
        _CODE,
        _KEY,
        present.alias("present"),
        C.FREQUENCY,
        (pl.col("_cu") - pl.col("_cu_o")).alias("net"),
        (pl.col("_cg") - pl.col("_cg_o")).alias("gross"),
        pl.when(present).then(pl.col("_fpd_o")).alias("first_day"),
        pl.when(present).then(pl.col("_lpd")).alias("last_day"),
        pl.when(pl.col("_cp") > pl.col("_cps")).then(pl.col("_fe")).alias("first_ever"),
        "p_orders",
        step("_cu").alias("p_net"),
        step("_cg").alias("p_gross"),
        ((step("_cu") != 0) | (step("_cp") > 0)).alias("_active"),
        pl.when(pl.col(_CODE) == pl.col(_CODE).shift(-1)).then(pl.col(_KEY).shift(-1)).otherwise(n_steps).alias("_next"),
    )
    keep = pl.col("present") | pl.col("_active") if keep_active else pl.col("present")
    runs = state.filter((pl.col(_KEY) < n_steps) & keep).select(
        _CODE, _KEY,
        pl.when("present").then(pl.col("_next") - pl.col(_KEY)).otherwise(1).cast(pl.Int32).alias("_len"),
        "present", C.FREQUENCY, "net", "gross", "first_day", "last_day", "first_ever",
        "p_orders", "p_net", "p_gross",
    )
    # Collected here so the per-step totals are freed before the runs are expanded.
    return runs.collect(engine="streaming").lazy(), ids, scale


def _last_in_run(col: str) -> pl.Expr:
    """Whether a row is the last of a run of equal values of ``col``."""
    return (pl.col(col) != pl.col(col).shift(-1)).fill_null(True)


def _no_runs() -> pl.LazyFrame:
    """:func:`_timeline`'s runs for a log without transactions up to the last date."""
    return pl.LazyFrame(schema={
        _CODE: pl.UInt32, _KEY: pl.Int32, "_len": pl.Int32, "present": pl.Boolean, C.FREQUENCY: pl.Int64,
        "net": pl.Int64, "gross": pl.Int64, "first_day": pl.Int32, "last_day": pl.Int32, "first_ever": pl.Int32,
        "p_orders": pl.Int64, "p_net": pl.Int64, "p_gross": pl.Int64,
    })


def _order_counts(r: pl.DataFrame, grid_int: pl.Series, w: int | None, span: int, keys: pl.Series) -> pl.DataFrame:
    """Order counts as of each key in ``keys`` (code * span + step, ascending) when an order can
    span several rows: ``_ivi``/``_ivo`` (orders that entered / left the window so far) and
    ``_po`` (orders so far, each at the step of its first purchase line), all customers before
    included.
    """
    n_steps = span - 1
    base = pl.col(_CODE).cast(pl.Int64) * span
    same_order = ((pl.col(_CODE) == pl.col(_CODE).shift(1)) & (pl.col("_oh") == pl.col("_oh").shift(1))).fill_null(False)
    # An order counts while any of its purchase days is in the window: its days, with gaps
    # shorter than the window merged, form intervals that enter and leave the window once.
    start = ~same_order if w is None else ~same_order | (pl.col("_d") - pl.col("_d").shift(1) >= w)
    leaves = (
        pl.lit(n_steps, pl.Int64) if w is None
        else pl.lit(grid_int).search_sorted(pl.col("_d") + w, side="left").cast(pl.Int64)
    )
    od = r.lazy().filter("_pb").select(_CODE, "_oh", "_d", "_kin").sort(_CODE, "_oh", "_d").with_columns(
        start.fill_null(True).alias("_start")
    )
    events = [
        od.filter("_start").select((base + pl.col("_kin")).alias("_s")),
        od.filter(pl.col("_start").shift(-1).fill_null(True)).select((base + leaves).alias("_s")),
        # An order whose lines fall on several days is one order, in the step of its first line.
        od.filter(~same_order).select((base + pl.col("_kin")).alias("_s")),
    ]
    # How many events fall at or before each key: a merge of two sorted lists.
    at = keys.to_frame("_s")
    for name, ev in zip(("_ivi", "_ivo", "_po"), pl.collect_all([e.sort("_s") for e in events]), strict=True):
        counts = ev.with_row_index(name, offset=1).filter((pl.col("_s") != pl.col("_s").shift(-1)).fill_null(True))
        at = at.join_asof(counts.select("_s", pl.col(name).cast(pl.Int64)), on="_s", check_sortedness=False)
    return at.select(pl.col("_ivi", "_ivo", "_po").fill_null(0))


def _money(col: str, scale: int) -> pl.Expr:
    # Polars divides by a constant by multiplying with its inverse, which is off in the last
    # bit for about 30% of cent amounts (325.90999999999997 for 325.91); rounding to the
    # scale's digits gives the nearest double, the value rfm_table reports.
    return (pl.col(col) / scale).round(len(str(scale)) - 1)


def _rfm_columns(tl: pl.LazyFrame, dates: Sequence[dt.date], ids: pl.Series | None, scale: int) -> pl.LazyFrame:
    """One row per customer and step from :func:`_timeline`'s runs, with the rfm_table columns.

    Columns: ``_k``, ``_code``, ``snapshot_date``, ``customer_id`` (unless ``ids`` is None),
    the rfm_table columns, ``first_purchase_ever``, ``period_orders``, ``period_revenue``,
    ``_p_gross`` (gross purchases in the period) and ``present``.
    """
    grid = pl.Series("d", dates, dtype=pl.Date)
    as_of = pl.lit(grid.cast(pl.Int32)).gather(pl.col(_K))

    def period(c: str) -> pl.Expr:
        # Activity belongs to the run's first step only.
        return pl.when(pl.col(_K) == pl.col(_KEY)).then(pl.col(c)).otherwise(0).alias(c)

    # What stays the same over a run is computed once per run, then repeated. The streaming
    # engine repeats runs piece by piece, so no full-length temporaries are built.
    return tl.select(
        _CODE, _KEY, "present", "first_day", "last_day",
        pl.int_ranges(pl.col(_KEY), pl.col(_KEY) + pl.col("_len"), dtype=pl.Int32).alias(_K),
        pl.col(C.FREQUENCY).cast(pl.Int64),
        _money("net", scale).alias(C.MONETARY),
        (_money("gross", scale) / pl.col(C.FREQUENCY)).alias(C.AOV),
        pl.col("first_ever").cast(pl.Date).alias(FIRST_PURCHASE_EVER),
        pl.col("p_orders").cast(pl.Int64).alias(PERIOD_ORDERS),
        _money("p_net", scale).alias(PERIOD_REVENUE),
        _money("p_gross", scale).alias("_p_gross"),
    ).explode(_K).select(
        _K,
        _CODE,
        pl.lit(grid).gather(pl.col(_K)).alias(SNAPSHOT_DATE),
        *([pl.lit(ids).gather(pl.col(_CODE)).alias(C.CUSTOMER_ID)] if ids is not None else []),
        (as_of - pl.col("last_day")).cast(pl.Int64).alias(C.RECENCY),
        C.FREQUENCY,
        C.MONETARY,
        pl.col("first_day").cast(pl.Date).alias(C.FIRST_PURCHASE),
        pl.col("last_day").cast(pl.Date).alias(C.LAST_PURCHASE),
        (as_of - pl.col("first_day")).cast(pl.Int64).alias(C.TENURE),
        C.AOV,
        FIRST_PURCHASE_EVER,
        period(PERIOD_ORDERS),
        period(PERIOD_REVENUE),
        period("_p_gross"),
        "present",
    ).collect(engine="streaming").lazy()


def _score_recomputed(
    frame: pl.DataFrame, *, bins: int, method: str, thresholds: Mapping[str, Sequence[float]] | None
) -> pl.DataFrame:
    score_of = {C.RECENCY: C.R_SCORE, C.FREQUENCY: C.F_SCORE, C.MONETARY: C.M_SCORE}
    if method == "quantile":
        bins = check_bins(bins, method)
        return frame.with_columns(
            share_score(axis, bins).over(_K).alias(score_of[axis]) for axis in C.RFM_AXES
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
    spec: TieringSpec | None = None,
    *,
    rules: RuleSet | str | None = None,
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
        spec: the tiering (:class:`~segmentation.spec.TieringSpec`: rules, scoring, window).
        rules, bins, method, thresholds, window_days: the same settings as keywords, for a
            call without ``spec`` (rules as text or a :class:`~segmentation.rules.RuleSet`,
            scoring as in :func:`segmentation.scoring.score`, window in days or None).
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
        ``avg_order_value``), ``r_score``, ``f_score``, ``m_score``, ``tier`` (Enum best first:
        the spec's ``tier_order``, i.e. its value order, else rule order), plus ``first_purchase_ever`` (Date, first purchase in the data,
        ignoring the window), ``period_orders`` (Int64, orders whose first line falls in the period: an order
        over several days counts once) and ``period_revenue`` (Float64, net
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
    spec = as_spec(spec, rules, bins=bins, method=method, thresholds=thresholds, window_days=window_days)
    rs = _as_rules(spec.ruleset, clv_model)
    grid = _normalise_dates(dates)
    tl, ids, scale = _timeline(tx, grid, spec.window_days)
    frame = _rfm_columns(tl.lazy(), grid, ids, scale).drop("present", "_p_gross").collect()
    tiered = _score_and_tier(
        frame, tx, grid, rs, bins=spec.bins, method=spec.method, thresholds=spec.thresholds_map,  # type: ignore[arg-type]
        window_days=spec.window_days, cut_mode=cut_mode, reference_date=reference_date, cuts=cuts,
        clv_model=clv_model, ids=ids, order=spec.tier_order,
    )
    return tiered.select(_SNAPSHOT_COLUMNS + (CLV_COLUMNS if clv_model is not None else ()))


def customer_snapshots(
    tables: pl.DataFrame | pl.LazyFrame,
    dates: Iterable[dt.date | dt.datetime | str],
    spec: TieringSpec | None = None,
    *,
    rules: RuleSet | str | None = None,
    cut_mode: CutMode = "fixed",
    reference_date: dt.date | str | None = None,
) -> pl.DataFrame:
    """:func:`snapshots` for a customer-level data set: customer tables given per date
    (a CRM's monthly exports, the Spark engine's per-date tables) instead of transactions.

    Each snapshot date ``d`` uses the table dated ``d`` (the latest one dated before it when
    there is none that day); scores and tiers follow ``spec`` and ``cut_mode`` exactly as in
    :func:`snapshots`. Without transactions the period columns come from the tables: the
    change in ``frequency`` (never below 0) and in ``monetary`` since the customer's table at
    the previous snapshot date, or the whole value for a customer not in it.

    Args:
        tables: ``as_of`` (Date) plus the ``rfm_table`` columns, one row per customer and date.
        dates: snapshot dates (any order, duplicates ignored).
        spec: the tiering; rules on P_ALIVE or CLV cannot be used (no purchase history).
        rules: rule text instead of ``spec`` (default scoring: 5 quantile bins).
        cut_mode, reference_date: as in :func:`snapshots` (the reference date's table fixes
            the cut points; default: the latest snapshot date).

    Returns:
        The :func:`snapshots` columns; ``first_purchase_ever`` is the customer's earliest first
        purchase in any table (else the earliest last purchase).

    Raises:
        DataError: no dates, no table on or before the reference date, a reserved tier name.
        RuleError: bad rules, or rules on P_ALIVE or CLV.

    Example:
        >>> import datetime as dt, polars as pl
        >>> tables = pl.DataFrame({"as_of": [dt.date(2024, 3, 31), dt.date(2024, 6, 30), dt.date(2024, 6, 30)],
        ...     "customer_id": ["a", "a", "b"], "recency_days": [30, 29, 10], "frequency": [1, 3, 1],
        ...     "monetary": [10.0, 40.0, 5.0]})
        >>> s = customer_snapshots(tables, ["2024-03-31", "2024-06-30"], rules="Big: M >= 20\\nSmall: else")
        >>> s.select("snapshot_date", "customer_id", "tier", "period_orders").rows()  # doctest: +NORMALIZE_WHITESPACE
        [(datetime.date(2024, 3, 31), 'a', 'Small', 1), (datetime.date(2024, 6, 30), 'a', 'Big', 2),
         (datetime.date(2024, 6, 30), 'b', 'Small', 1)]
    """
    if cut_mode not in CUT_MODES:
        raise DataError(f"Unknown cut mode '{cut_mode}'; use 'fixed' or 'recomputed'.")
    spec = as_spec(spec, rules)
    rs = _as_rules(spec.ruleset, None)
    grid = _normalise_dates(dates)
    if not grid:
        raise DataError("Choose at least one date.")
    frame = tables.collect() if isinstance(tables, pl.LazyFrame) else tables
    stored = sorted(frame["as_of"].unique().drop_nulls().to_list())
    cols = [C.CUSTOMER_ID, C.RECENCY, C.FREQUENCY, C.MONETARY, C.FIRST_PURCHASE, C.LAST_PURCHASE, C.TENURE, C.AOV]
    schema = {"as_of": pl.Date, C.CUSTOMER_ID: pl.String, C.RECENCY: pl.Int64, C.FREQUENCY: pl.Int64, C.MONETARY: pl.Float64,
              C.FIRST_PURCHASE: pl.Date, C.LAST_PURCHASE: pl.Date, C.TENURE: pl.Int64, C.AOV: pl.Float64}
    core = frame.select((pl.col(c) if c in frame.columns else pl.lit(None)).cast(schema[c]).alias(c)
                        for c in ["as_of", *cols])

    def table_at(day: dt.date) -> pl.DataFrame | None:
        before = [s for s in stored if s <= day]
        return core.filter(pl.col("as_of") == before[-1]).drop("as_of") if before else None

    parts = []
    for k, day in enumerate(grid):
        table = table_at(day)
        if table is not None:
            parts.append(table.with_columns(pl.lit(day, pl.Date).alias(SNAPSHOT_DATE), pl.lit(k, pl.Int64).alias(_K)))
    if parts:
        long = pl.concat(parts)
    else:
        long = pl.DataFrame(schema={**{c: schema[c] for c in cols}, SNAPSHOT_DATE: pl.Date, _K: pl.Int64})
    previous = long.select(C.CUSTOMER_ID, (pl.col(_K) + 1).alias(_K), pl.col(C.FREQUENCY).alias("_pf"),
                           pl.col(C.MONETARY).alias("_pm"))
    ever = core.group_by(C.CUSTOMER_ID).agg(
        pl.coalesce(pl.col(C.FIRST_PURCHASE).min(), pl.col(C.LAST_PURCHASE).min()).alias(FIRST_PURCHASE_EVER)
    )
    long = (
        long.join(previous, on=[C.CUSTOMER_ID, _K], how="left")
        .join(ever, on=C.CUSTOMER_ID, how="left")
        .with_columns(
            (pl.col(C.FREQUENCY) - pl.col("_pf").fill_null(0)).clip(lower_bound=0).alias(PERIOD_ORDERS),
            (pl.col(C.MONETARY) - pl.col("_pm").fill_null(0.0)).alias(PERIOD_REVENUE),
        )
        .drop("_pf", "_pm")
        .sort(C.CUSTOMER_ID, SNAPSHOT_DATE)
    )
    cuts = None
    if cut_mode == "fixed" or spec.method == "thresholds":
        ref = to_date(reference_date) or grid[-1]
        ref_table = table_at(ref)
        if ref_table is None or ref_table.height == 0:
            raise DataError(
                f"No customer table is dated on or before {ref.isoformat()}, so there is nothing to fix the cut points on."
            )
        cuts = fit_cuts(ref_table, bins=spec.bins, method=spec.method, thresholds=spec.thresholds_map)  # type: ignore[arg-type]
    tiered = _score_and_tier(
        long, pl.DataFrame(), grid, rs, bins=spec.bins, method=spec.method, thresholds=spec.thresholds_map,  # type: ignore[arg-type]
        window_days=None, cut_mode=cut_mode, reference_date=reference_date, cuts=cuts, order=spec.tier_order,
    )
    return tiered.select(_SNAPSHOT_COLUMNS)


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
    order: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Scores and tiers for a long frame of present customers (``_k`` indexes ``grid``).

    With ``clv_model`` the CLV columns are added first (``ids``: the customer ids ``_code``
    indexes, as returned by :func:`_timeline`). ``order``: the tier Enum's order (best first
    by value; default rule order).
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
                ref_rfm = frame.lazy().filter(pl.col(SNAPSHOT_DATE) == ref)
            else:
                ref_rfm = rfm_table(tx.lazy(), as_of=ref, window_days=window_days)
            cuts = fit_cuts(ref_rfm, bins=bins, method=method, thresholds=thresholds)
        scored = frame.with_columns(_apply_cuts(cuts))
    tiers = _tiers_of(scored, rs)
    if order is not None and tuple(order) != tuple(rs.names):
        tiers = tiers.cast(pl.String).cast(pl.Enum(list(order)))
    return scored.with_columns(tiers)


def _apply_cuts(cuts: Cuts) -> list[pl.Expr]:
    """``score(frame, cuts=cuts)``'s score columns, with the hits added up as Int8.

    Same rule as :func:`segmentation.scoring.score` (1 + edges reached; a null value reaches
    none) in a quarter of the memory traffic, which counts on tens of millions of rows.
    """
    names = {C.RECENCY: C.R_SCORE, C.FREQUENCY: C.F_SCORE, C.MONETARY: C.M_SCORE}
    exprs = []
    for axis, edges in cuts.edges.items():
        value = pl.col(axis).cast(pl.Float64)
        total = pl.lit(1, pl.Int8)
        for e in edges:
            hit = value <= e if axis in C.LOWER_IS_BETTER else value >= e
            total = total + hit.cast(pl.Int8).fill_null(0)
        exprs.append(total.alias(names[axis]))
    return exprs


def _tiers_of(scored: pl.DataFrame, rs: RuleSet) -> pl.Series:
    """``assign_tiers`` on a scored frame; score-only rules go through a table of all scores."""
    if rs.score_only:
        # Scores run 1..bins (at most _MAX_BINS): one lookup instead of every rule on every row.
        return scored.select(score_lookup(rs, _MAX_BINS)).to_series()
    # Rules see exactly the rfm_table columns plus scores, as when tiering one date.
    rfm_cols = [c for c in (C.CUSTOMER_ID, C.RECENCY, C.FREQUENCY, C.MONETARY, C.FIRST_PURCHASE,
                            C.LAST_PURCHASE, C.TENURE, C.AOV, C.R_SCORE, C.F_SCORE, C.M_SCORE, *CLV_COLUMNS)
                if c in scored.columns]
    return assign_tiers(scored.select(rfm_cols), rs).get_column(C.TIER)


def _with_clv(
    frame: pl.DataFrame, tx: pl.DataFrame | pl.LazyFrame, grid: Sequence[dt.date], ids: pl.Series, model: ClvModel
) -> pl.DataFrame:
    """``frame`` (rows ``_code`` x ``_k``) with ``p_alive``, ``clv``, ``expected_purchases``.

    Each row is scored with ``model`` from the customer's history up to ``grid[_k]``, exactly
    as :func:`segmentation.clv.summary` would summarise it at that date: purchases of one day
    form one period, each return is netted against the customer's latest purchase day on or
    before it (and changes the repeat spend only when that day is not the first purchase day),
    the lookback window is ignored.
    """
    # Imported here, not at the top: segmentation.clv loads scipy, and snapshots without a model
    # must not pay for it (a model in hand means it is loaded already).
    from .clv.summary import net_money

    if frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.Float64).alias(c) for c in CLV_COLUMNS)
    span = len(grid) + 1
    unit_days = model.unit_days
    grid_s = pl.Series("d", grid, dtype=pl.Date)
    amount = pl.col("_amt")
    purchase = amount >= 0 if model.zero_amount_purchases else amount > 0
    start = pl.col(_CODE) != pl.col(_CODE).shift(1).fill_null(-1)
    rows = (
        tx.lazy()
        .select(C.CUSTOMER_ID, pl.col(C.ORDER_DATE).dt.date().alias("_day"), pl.col(C.AMOUNT).cast(pl.Float64).alias("_amt"))
        .filter(pl.col("_day") <= grid[-1], pl.col(C.CUSTOMER_ID).is_not_null())
    )
    bought = (
        rows.filter(purchase.fill_null(False))
        .group_by(C.CUSTOMER_ID, "_day")
        .agg(pl.col("_amt").sum().alias("_spend"))
        .with_columns(
            pl.col("_day").min().over(C.CUSTOMER_ID).alias("_first_day"), pl.lit(True).alias("_purchase")
        )
    )
    # A return reaches the repeat spend only through the purchase day it is charged to; a
    # return charged to the first purchase day (excluded from the spend model) or before any
    # purchase changes nothing, so it is no event at all.
    returned = (
        rows.filter(amount < 0)
        .group_by(C.CUSTOMER_ID, "_day")
        .agg(pl.col("_amt").sum().alias("_spend"))
        .sort("_day")
        .join_asof(
            bought.select(C.CUSTOMER_ID, "_first_day", pl.col("_day").alias("_pday")).sort("_pday"),
            left_on="_day",
            right_on="_pday",
            by=C.CUSTOMER_ID,
            strategy="backward",
            check_sortedness=False,
        )
        .filter(pl.col("_pday").is_not_null() & (pl.col("_pday") != pl.col("_first_day")))
        .select(C.CUSTOMER_ID, "_day", "_spend", "_first_day", pl.lit(False).alias("_purchase"))
    )
    # One row per customer and event day (purchase days, then return days), sorted, with
    # running totals; codes come from a binary search in the sorted ids (cheaper than joining
    # on strings).
    days = (
        pl.concat([bought.select(C.CUSTOMER_ID, "_day", "_spend", "_first_day", "_purchase"), returned])
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
            pl.when(pl.col("_purchase") & (pl.col("_day") == pl.col("_first_day")))
            .then(0.0)
            .otherwise(pl.col("_spend"))
            .alias("_rep_delta"),
            "_purchase",
        )
        # On one day the purchase comes before the return charged to it.
        .sort(_CODE, "_d", pl.col("_purchase").not_())
        .with_columns(
            pl.when(start).then(pl.col("_d")).forward_fill().alias("_first"),
            pl.when(pl.col("_purchase")).then(pl.col("_d")).forward_fill().alias("_last"),
            pl.col("_rep_delta").cum_sum().over(_CODE).alias("_rep_total"),
            (pl.col("_purchase").cast(pl.Int64).cum_sum().over(_CODE) - 1).alias("_x"),
        )
        # The state at a step is the customer's last event entering at or before it.
        .filter(
            ((pl.col(_CODE) != pl.col(_CODE).shift(-1)) | (pl.col("_kin") != pl.col("_kin").shift(-1))).fill_null(True)
        )
        .select(
            (pl.col(_CODE) * span + pl.col("_kin")).alias("_ck"),
            pl.col(_CODE).alias("_ev_code"),
            "_first", "_last", "_rep_total", "_x",
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
            ((pl.col("_last") - pl.col("_first")) / unit_days).alias("t_x"),
            ((pl.col("_as_of") - pl.col("_first")) / unit_days).alias("T"),
            pl.when(pl.col("_x") > 0)
            .then(net_money(pl.col("_rep_total")) / pl.col("_x"))
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
