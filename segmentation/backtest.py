"""Do the tiers work? Tier the customers at a past date and measure what each tier did next.

The as-of convention is the one of :func:`segmentation.rfm.rfm_table`: at ``as_of = T`` every
transaction dated on or before day ``T`` counts (the as-of day itself included). The *window*
that follows is therefore ``(T, T + h]``: the ``h`` days from ``T + 1`` to ``T + h``, both
included, so no transaction is ever both history and outcome. The data must reach ``T + h``
(its last dated row is on or after that day); :func:`latest_as_of` gives the latest usable ``T``.

Definitions used throughout (all money net of returns, summed exactly in integer minor units):

- a customer is *active* in the window when they have a purchase (amount > 0) or a return
  (amount < 0) dated in it; a *buyer* has at least one purchase in it;
- *orders* are distinct order ids with amount > 0, per customer (as ``frequency`` in the RFM
  table); *revenue* is the net sum of amounts in the window;
- the *ranked customers* are the customers tiered at ``T`` (those ``rfm_table`` lists at ``T``
  with the spec's lookback window); window customers not tiered at ``T`` form their own rows:
  ``NEW`` (no transaction at all on or before ``T``) and ``UNTIERED`` (transactions before ``T``
  but no tier then: only returns, or no purchase inside the lookback window);
- captured value and the gap closed are shares of the ranked customers' net revenue in the
  window, so they are left empty when that total is zero or negative.

How fast: the window's per-customer totals (:func:`window_outcomes`) are computed once per
``(T, h)`` and the customers at ``T`` once per ``(T, window)``; a slider move only re-scores,
re-tiers and calls :func:`evaluate`, which works on a few group-bys of one row per customer.

Example:
    >>> import datetime as dt, polars as pl
    >>> from segmentation.spec import TieringSpec
    >>> tx = pl.DataFrame({
    ...     "customer_id": ["a", "b", "a", "c"],
    ...     "order_date": [dt.date(2024, 1, 2), dt.date(2024, 1, 5), dt.date(2024, 2, 1),
    ...                    dt.date(2024, 2, 3)],
    ...     "amount": [50.0, 10.0, 30.0, 5.0], "order_id": ["1", "2", "3", "4"]})
    >>> spec = TieringSpec(rules="Big: M >= 20\\nSmall: else")
    >>> result = backtest(tx, spec, as_of="2024-01-31", horizon_days=3, compare=False)
    >>> result.tiers.select("row", "customers", "buyers", "revenue").rows()
    [('Big', 1, 1, 30.0), ('Small', 1, 0, 0.0), ('__new__', 1, 1, 5.0), ('__untiered__', 0, 0, 0.0)]
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from . import columns as C
from .enrich import add_clv
from .errors import DataError
from .presets import Preset, get_preset
from .rfm import rfm_table, to_date
from .rules import assign_tiers, reachability, score_lookup
from .scoring import Cuts, add_ranks, fit_cuts, score
from .snapshots import SNAPSHOT_DATE, period_ends, snapshots
from .spec import TieringSpec, format_thresholds

__all__ = [
    "DEFAULT_HORIZON_DAYS",
    "METRICS",
    "NEW",
    "ROW_LABELS",
    "UNTIERED",
    "AlignedOutcomes",
    "Backtest",
    "Evaluation",
    "Suggestion",
    "Suggestions",
    "WindowOutcomes",
    "align_outcomes",
    "backtest",
    "customer_outcomes",
    "customers_at",
    "evaluate",
    "latest_as_of",
    "preset_spec",
    "suggest_thresholds",
    "tier_customers",
    "walk_forward",
    "window_outcomes",
    "write_backtest",
]

DEFAULT_HORIZON_DAYS = 90
NEW = "__new__"
UNTIERED = "__untiered__"
ROW_LABELS: dict[str, dict[str, str]] = {
    NEW: {"zh": "新客（T 之后首次出现）", "en": "New (first seen after T)"},
    UNTIERED: {"zh": "T 时未分层", "en": "Not tiered at T"},
}
WithinTier = Literal["score", "monetary", "clv", "none"]

# Output columns of window_outcomes' frame.
ACTIVE = "active"
BUYER = "buyer"
ORDERS = "orders"
REVENUE_MINOR = "revenue_minor"
SEEN_BEFORE = "seen_before"

# Metric name -> definition in words, shown beside the number.
METRICS: dict[str, dict[str, str]] = {
    "inversions": {
        "en": "Pairs of tiers where the tier ranked lower in the value order earned more next-period revenue per "
        "customer than the tier ranked higher (out of all pairs of non-empty tiers). 0 is best.",
        "zh": "价值顺序中排在后面的层级，下一期人均收入反而高于排在前面的层级，这样的层级对数（在所有非空层级两两配对中）。0 最好。",
    },
    "tier_pairs": {
        "en": "Pairs of non-empty tiers compared for inversions.",
        "zh": "参与比较的非空层级对数。",
    },
    "spearman": {
        "en": "Spearman rank correlation between the tiers' value order and their next-period revenue per customer, "
        "one point per non-empty tier: +1 = tiers earn exactly in value order, 0 = no relation, -1 = reversed.",
        "zh": "层级价值顺序与下一期人均收入之间的 Spearman 秩相关（每个非空层级一个点）：+1 表示完全按价值顺序，0 表示无关，-1 表示完全颠倒。",
    },
    "top_tier_lift": {
        "en": "Next-period revenue per customer in the top non-empty tier divided by that of all tiered customers. "
        "2.0 = the top tier spent twice the average.",
        "zh": "排名第一的非空层级的下一期人均收入 ÷ 全部已分层客户的下一期人均收入。2.0 表示头部层级人均花费是平均的两倍。",
    },
    "captured_10": {
        "en": "Share of next-period revenue held by the best 10% of customers as ranked (by tier in value order, "
        "then by the within-tier score; equally ranked customers count in proportion).",
        "zh": "按排名（先按层级价值顺序，再按层内评分；排名相同的客户按比例计入）最靠前的 10% 客户占下一期收入的份额。",
    },
    "captured_20": {
        "en": "The same for the best 20% of customers.",
        "zh": "同上，最靠前的 20% 客户。",
    },
    "random_10": {
        "en": "Random reference: the expected share held by 10% of customers picked at random, which is exactly 10%.",
        "zh": "随机基准：随机抽取 10% 客户时其收入份额的期望值，恰好是 10%。",
    },
    "random_20": {
        "en": "Random reference for 20% of customers: exactly 20%.",
        "zh": "随机基准（20% 客户）：恰好是 20%。",
    },
    "perfect_10": {
        "en": "Perfect hindsight: the share held by the 10% of customers who actually spent most next (the limit).",
        "zh": "完美后见：下一期实际花费最多的 10% 客户所占份额（能达到的上限）。",
    },
    "perfect_20": {
        "en": "Perfect hindsight for 20% of customers.",
        "zh": "完美后见（20% 客户）。",
    },
    "gap_closed": {
        "en": "Share of the achievable gap closed over the whole gains curve: (area between the ranking's curve and the "
        "random diagonal) / (area between the perfect-hindsight curve and the diagonal). 0 = random, 1 = perfect.",
        "zh": "在整条收益曲线上弥合的可达差距：（排名曲线与随机对角线之间的面积）÷（完美后见曲线与对角线之间的面积）。0 = 随机，1 = 完美。",
    },
    "customers": {
        "en": "Customers tiered at T (the ranked customers).",
        "zh": "T 时已分层的客户数（参与排名的客户）。",
    },
}

_QUALITY_KEYS = ("customers", "inversions", "tier_pairs", "spearman", "top_tier_lift", "captured_10",
                 "captured_20", "random_10", "random_20", "perfect_10", "perfect_20", "gap_closed")
_GAINS_POINTS = 101
_LOOKUP_MIN_ROWS = 10_000
_Y = "_y"
_PRIMARY = "_primary"
_CODE = "_code"
_SECONDARY = "_secondary"


# --------------------------------------------------------------------------------------------
# The window: per-customer totals in (T, T + h]
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowOutcomes:
    """What every customer did in the window ``(as_of, as_of + horizon_days]``.

    Attributes:
        as_of: T, the last day of history (included in history, not in the window).
        horizon_days: h, the window length in days.
        scale: minor units per currency unit of ``revenue_minor`` (100 = cents; 1,000,000 when
            some amount has more than two decimals).
        frame: one row per customer active in the window: ``customer_id`` (String),
            ``seen_before`` (Boolean: any transaction on or before T), ``orders`` (Int64),
            ``revenue_minor`` (Int64, net revenue in minor units), ``buyer`` (Boolean,
            orders > 0). Sorted by ``customer_id``.
    """

    as_of: dt.date
    horizon_days: int
    scale: int
    frame: pl.DataFrame = field(repr=False)

    @property
    def window_end(self) -> dt.date:
        """The last day of the window, T + h."""
        return self.as_of + dt.timedelta(days=self.horizon_days)


def _require_transactions(tx: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    lf = tx.lazy()
    names = set(lf.collect_schema().names())
    missing = [c for c in (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT) if c not in names]
    if missing:
        raise DataError(
            "A backtest needs individual transactions (customer, order date, amount) to see what customers did "
            f"after the as-of date; this data set has no {missing[0]} column, so it looks like a customer-level "
            "summary, which cannot be backtested. Upload the transaction export instead.",
            code="backtest_needs_transactions", params={"field": missing[0]},
        )
    if C.ORDER_ID not in names:
        # As in ingest: without an order id every row is its own order.
        lf = lf.with_columns(pl.int_range(pl.len()).cast(pl.String).alias(C.ORDER_ID))
    return lf


def _check_horizon(horizon_days: int) -> int:
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days <= 0:
        raise DataError(f"The backtest horizon must be a positive whole number of days, not {horizon_days!r}.")
    return horizon_days


def _date_range(lf: pl.LazyFrame) -> tuple[dt.date, dt.date]:
    lo, hi = lf.select(
        pl.col(C.ORDER_DATE).cast(pl.Date).min().alias("lo"), pl.col(C.ORDER_DATE).cast(pl.Date).max().alias("hi")
    ).collect().row(0)
    if lo is None:
        raise DataError("There are no dated transactions to backtest.", code="backtest_no_transactions")
    return lo, hi


def latest_as_of(tx: pl.DataFrame | pl.LazyFrame, horizon_days: int = DEFAULT_HORIZON_DAYS) -> dt.date:
    """The latest as-of date T whose window ``(T, T + h]`` the data covers: last order day minus h.

    Raises:
        DataError: no dated transactions, a bad horizon, or data shorter than the horizon.

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({"customer_id": ["a", "a"], "order_date": [dt.date(2024, 1, 1), dt.date(2024, 6, 30)],
        ...                    "amount": [1.0, 2.0]})
        >>> latest_as_of(tx, 90)
        datetime.date(2024, 4, 1)
    """
    h = _check_horizon(horizon_days)
    lo, hi = _date_range(_require_transactions(tx))
    latest = hi - dt.timedelta(days=h)
    if latest < lo:
        raise DataError(
            f"The data spans {(hi - lo).days + 1} days ({lo} to {hi}), too short to look {h} days ahead "
            "from any date; choose a shorter horizon.",
            code="backtest_too_short",
            params={"days": (hi - lo).days + 1, "first": str(lo), "last": str(hi), "horizon": h},
        )
    return latest


def _check_as_of(lo: dt.date, hi: dt.date, as_of: dt.date, h: int) -> None:
    if as_of + dt.timedelta(days=h) > hi:
        latest = hi - dt.timedelta(days=h)
        advice = (
            f"the latest as-of date with a full {h}-day window is {latest}"
            if latest >= lo else "no as-of date has a full window; choose a shorter horizon"
        )
        raise DataError(
            f"The data ends on {hi}, so it does not show the {h} days after {as_of} (up to "
            f"{as_of + dt.timedelta(days=h)}); {advice}.",
            code="backtest_no_window",
            params={"last": str(hi), "horizon": h, "as_of": str(as_of), "latest": str(latest) if latest >= lo else ""},
        )
    if as_of < lo:
        raise DataError(f"No customer had bought anything by {as_of} (the data starts on {lo}); choose a later as-of date.",
            code="backtest_no_customers", params={"as_of": str(as_of), "first": str(lo)})


def _money_scale(lf: pl.LazyFrame) -> int:
    """100 when every amount is whole cents, else a millionth of a unit (both exact as integers)."""
    cents = pl.col(C.AMOUNT) * 100
    off = lf.select((cents - cents.round(0)).abs().max()).collect().item()
    return 100 if off is None or off < 1e-6 else 1_000_000


def window_outcomes(
    tx: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date | dt.datetime | str,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> WindowOutcomes:
    """Per-customer orders and net revenue in the window ``(as_of, as_of + horizon_days]``.

    The only step of a backtest that reads transactions after ``as_of``; compute it once per
    ``(as_of, horizon_days)`` and pass it to :func:`evaluate` or :func:`backtest` as often as
    the tiering changes.

    Args:
        tx: canonical transactions (``customer_id``, ``order_date``, ``amount``, ``order_id``
            optional), eager or lazy.
        as_of: T. History is everything dated on or before T (as in ``rfm_table(as_of=T)``).
        horizon_days: h, the window's length in days.

    Returns:
        :class:`WindowOutcomes`.

    Raises:
        DataError: no transaction columns (a customer-level data set), a bad horizon, T before
            the first transaction, or data that ends before T + h (the message names the latest
            usable T).

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({"customer_id": ["a", "a", "a", "b"],
        ...     "order_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 3)],
        ...     "amount": [9.99, 20.0, -5.0, 1.0], "order_id": ["1", "2", "r2", "3"]})
        >>> out = window_outcomes(tx, "2024-01-01", 2)
        >>> (out.scale, out.frame.rows())
        (100, [('a', True, 1, 1500, True), ('b', False, 1, 100, True)])
    """
    h = _check_horizon(horizon_days)
    lf = _require_transactions(tx)
    t = to_date(as_of)
    if t is None:
        raise DataError("Choose an as-of date for the backtest.", code="backtest_no_date")
    lo, hi = _date_range(lf)
    _check_as_of(lo, hi, t, h)
    end = t + dt.timedelta(days=h)
    day = pl.col(C.ORDER_DATE).cast(pl.Date)
    amount = pl.col(C.AMOUNT).cast(pl.Float64)
    window = lf.filter((day > t) & (day <= end) & (amount != 0) & pl.col(C.CUSTOMER_ID).is_not_null())
    scale = _money_scale(window)
    buy = amount > 0
    per_customer = (
        window.group_by(C.CUSTOMER_ID)
        .agg(
            # Non-purchase rows carry a null order, which n_unique counts as one value.
            (pl.when(buy).then(pl.col(C.ORDER_ID)).n_unique()
             - pl.when(buy).then(pl.col(C.ORDER_ID)).null_count().gt(0)).cast(pl.Int64).alias(ORDERS),
            (amount * scale).round(0).cast(pl.Int64).sum().alias(REVENUE_MINOR),
        )
        .collect()
    )
    ids = per_customer.get_column(C.CUSTOMER_ID)
    seen = (
        lf.filter((day <= t) & pl.col(C.CUSTOMER_ID).is_in(ids.implode()))
        .select(pl.col(C.CUSTOMER_ID).unique())
        .collect()
        .get_column(C.CUSTOMER_ID)
    )
    frame = per_customer.select(
        C.CUSTOMER_ID,
        pl.col(C.CUSTOMER_ID).is_in(seen.implode()).alias(SEEN_BEFORE),
        ORDERS,
        REVENUE_MINOR,
        (pl.col(ORDERS) > 0).alias(BUYER),
    ).sort(C.CUSTOMER_ID)
    return WindowOutcomes(as_of=t, horizon_days=h, scale=scale, frame=frame)


def _window_outcomes_at(tx: pl.DataFrame | pl.LazyFrame, dates: Sequence[dt.date], h: int) -> list[WindowOutcomes]:
    """:func:`window_outcomes` at several as-of dates (ascending, each with a full window) in one
    pass: each transaction is counted in every window ``(T, T + h]`` that holds its day, then
    one group-by over (window, customer) gives every window's totals.

    Equal to calling :func:`window_outcomes` per date (same scale rule, per window).
    """
    lf = _require_transactions(tx)
    lo, hi = _date_range(lf)
    for t in dates:
        _check_as_of(lo, hi, t, h)
    k = len(dates)
    starts = pl.Series("as_of", list(dates), dtype=pl.Date)
    day = pl.col(C.ORDER_DATE).cast(pl.Date)
    amount = pl.col(C.AMOUNT).cast(pl.Float64)
    cents = amount * 100
    buy = amount > 0
    # The windows holding a day are those with day - h <= T < day: a run of consecutive dates,
    # found by two binary searches in the sorted dates.
    first_window = pl.lit(starts).search_sorted(day - pl.duration(days=h), side="left").cast(pl.Int64)
    after_last = pl.lit(starts).search_sorted(day, side="left").cast(pl.Int64)
    rows = (
        lf.filter((day > dates[0]) & (day <= dates[-1] + dt.timedelta(days=h)) & (amount != 0)
                  & pl.col(C.CUSTOMER_ID).is_not_null())
        .select(
            C.CUSTOMER_ID,
            # Only purchases count as orders; an order id that is null on a purchase is not one.
            pl.when(buy).then(pl.col(C.ORDER_ID)).alias("_o"),
            (cents - cents.round(0)).abs().alias("_off"),
            cents.round(0).cast(pl.Int64).alias("_cents"),
            (amount * 1_000_000).round(0).cast(pl.Int64).alias("_micro"),
            pl.int_ranges(first_window, after_last).alias("_w"),
        )
        .explode("_w")
        .drop_nulls("_w")
    )
    sums = (
        pl.col("_o").drop_nulls().n_unique().cast(pl.Int64).alias(ORDERS),
        pl.col("_cents").sum(),
        pl.col("_micro").sum(),
        pl.col("_off").max(),
    )
    # Grouping millions of (customer, window) pairs on a hash of the id is several times faster
    # than on the id text; two ids with one hash would share a group, which min != max reveals,
    # and then the exact (slower) grouping on the text runs instead.
    per = (
        rows.group_by(pl.col(C.CUSTOMER_ID).hash().alias("_h"), "_w")
        .agg(pl.col(C.CUSTOMER_ID).min(), (pl.col(C.CUSTOMER_ID).min() != pl.col(C.CUSTOMER_ID).max()).alias("_clash"),
             *sums)
        .collect()
    )
    if per.get_column("_clash").any():
        per = rows.group_by(C.CUSTOMER_ID, "_w").agg(*sums).collect()
    # 100 when every amount in a window is whole cents, else a millionth of a unit (as window_outcomes).
    off = per.group_by("_w").agg(pl.col("_off").max())
    scales = [100] * k
    for w, o in off.iter_rows():
        scales[w] = 100 if o is None or o < 1e-6 else 1_000_000
    micro = pl.lit(pl.Series([s != 100 for s in scales], dtype=pl.Boolean)).gather(pl.col("_w"))
    first_seen = lf.filter(pl.col(C.CUSTOMER_ID).is_not_null()).group_by(C.CUSTOMER_ID).agg(day.min().alias("_first"))
    per = (
        per.join(first_seen.collect(), on=C.CUSTOMER_ID, how="left")
        .select(
            "_w",
            C.CUSTOMER_ID,
            (pl.col("_first") <= pl.lit(starts).gather(pl.col("_w"))).fill_null(False).alias(SEEN_BEFORE),
            ORDERS,
            pl.when(micro).then(pl.col("_micro")).otherwise(pl.col("_cents")).alias(REVENUE_MINOR),
            (pl.col(ORDERS) > 0).alias(BUYER),
        )
        .sort("_w", C.CUSTOMER_ID)
    )
    parts = per.partition_by("_w", as_dict=True, include_key=False)
    empty = per.clear().drop("_w")
    return [WindowOutcomes(as_of=t, horizon_days=h, scale=scales[i], frame=parts.get((i,), empty))
            for i, t in enumerate(dates)]


# --------------------------------------------------------------------------------------------
# Tiering at T
# --------------------------------------------------------------------------------------------


def customers_at(
    tx: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date | dt.datetime | str,
    spec: TieringSpec,
    *,
    clv_frame: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The customers as of T, scored and tiered with ``spec``: what the view shows at T.

    Args:
        tx: canonical transactions, eager or lazy.
        as_of: T (transactions dated on or before it count).
        spec: the tiering settings.
        clv_frame: ``score_customers(tx, as_of=T).frame``; needed when the rules use P_ALIVE or
            CLV (fitted here when not given), and joined on when given.

    Returns:
        The ``rfm_table`` columns, ``r_rank``/``f_rank``/``m_rank``, ``r_score``, ``f_score``,
        ``m_score``, ``tier`` (Enum in rule order), plus the CLV columns when used.

    Raises:
        DataError, SettingsError, RuleError: as ``rfm_table``, ``score``, ``assign_tiers``.
    """
    lf = _require_transactions(tx)
    # An eager frame goes to rfm_table as it is, so it can take its faster eager route.
    source = tx if isinstance(tx, pl.DataFrame) and C.ORDER_ID in tx.columns else lf
    rfm = rfm_table(source, as_of=as_of, window_days=spec.window_days)
    rfm = add_ranks(rfm if isinstance(rfm, pl.DataFrame) else rfm.collect())
    if spec.needs_clv and clv_frame is None:
        clv_frame = _fit_clv(lf, to_date(as_of))  # type: ignore[arg-type]
    if clv_frame is not None:
        rfm = add_clv(rfm, clv_frame)
    return _tier(rfm, spec)


def _tier(rfm: pl.DataFrame, spec: TieringSpec, cuts: Cuts | None = None) -> pl.DataFrame:
    scored = score(rfm, bins=spec.bins, method=spec.method, thresholds=spec.thresholds_map, cuts=cuts)  # type: ignore[arg-type]
    rs = spec.ruleset
    if not rs.score_only or scored.height < _LOOKUP_MIN_ROWS:
        return assign_tiers(scored, rs)
    # Score-only rules: tier each of the bins**3 score triples once and look customers up,
    # instead of running every rule over millions of rows (same tiers as assign_tiers).
    return scored.with_columns(score_lookup(rs, spec.bins))


def tier_customers(customers: pl.DataFrame, spec: TieringSpec) -> pl.DataFrame:
    """Re-score and re-tier a customer table at T with other settings (a slider move).

    ``customers`` is :func:`customers_at`'s output for any spec with the same lookback window
    (its ranks make quantile re-scoring cheap); old scores and tier are replaced.

    Example:
        >>> import polars as pl
        >>> t = pl.DataFrame({"customer_id": ["a", "b"], "recency_days": [3, 40], "frequency": [2, 1],
        ...                   "monetary": [50.0, 10.0]})
        >>> tier_customers(t, TieringSpec(rules="Big: M >= 20\\nSmall: else"))["tier"].to_list()
        ['Big', 'Small']
    """
    base = customers.select(pl.exclude(C.R_SCORE, C.F_SCORE, C.M_SCORE, C.TIER))
    return _tier(base, spec)


def preset_spec(preset: Preset | str, *, lang: str = "en", window_days: int | None = None) -> TieringSpec:
    """The spec a preset sets up by default (its rules in ``lang``, its scoring settings and its
    declared value order).

    Example:
        >>> preset_spec("groups6").bins
        3
    """
    p = get_preset(preset) if isinstance(preset, str) else preset
    return TieringSpec.of(
        p.rules_text(lang), bins=p.bins, method=p.method,
        thresholds=format_thresholds(p.thresholds) if p.thresholds else None, window_days=window_days,
        value_order=p.value_order(lang),
    )


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """One tiering (or ranking) measured against one window.

    Attributes:
        tiers: per-tier table (see :func:`evaluate`); empty for a plain ranking.
        quality: one row per measure: ``metric``, ``value`` (Float64), ``definition_en``,
            ``definition_zh`` (the words in :data:`METRICS`).
        gains: ``ranking``, ``customer_share`` -> ``revenue_share`` at 101 evenly spaced
            shares (0..1).
        values: the measures by name (``evaluation["gap_closed"]`` reads one); None where a
            measure is undefined (e.g. one tier has no rank correlation).
    """

    tiers: pl.DataFrame
    quality: pl.DataFrame
    gains: pl.DataFrame
    values: dict[str, float | None] = field(repr=False)

    def __getitem__(self, metric: str) -> float | None:
        return self.values[metric]


def _ranked_outcomes(population: pl.DataFrame, outcomes: WindowOutcomes) -> pl.DataFrame:
    """``population`` with the window's orders, revenue and activity (zero when inactive)."""
    out = outcomes.frame
    joined = population.join(out, on=C.CUSTOMER_ID, how="left", maintain_order="left")
    return joined.with_columns(
        pl.col(ORDERS).fill_null(0),
        pl.col(REVENUE_MINOR).fill_null(0),
        pl.col(BUYER).fill_null(False),
        pl.col(SEEN_BEFORE).is_not_null().alias(ACTIVE),
    )


_OUTCOME_COLUMNS = (ORDERS, REVENUE_MINOR, BUYER, ACTIVE)
_SUMS = ("customers", "active", "buyers", ORDERS, REVENUE_MINOR)


@dataclass(frozen=True)
class AlignedOutcomes:
    """The window's outcomes lined up with the customers at T (see :func:`align_outcomes`).

    Attributes:
        window: the :class:`WindowOutcomes` it was made from.
        ids: the customers' ids, in the customer table's row order.
        outcomes: ``orders``, ``revenue_minor``, ``buyer``, ``active`` per customer, same order.
        extra: the rows of window customers outside the table (``NEW``, ``UNTIERED``).
    """

    window: WindowOutcomes
    ids: pl.Series = field(repr=False)
    outcomes: pl.DataFrame = field(repr=False)
    extra: pl.DataFrame = field(repr=False)
    ref: _Reference = field(repr=False)


def align_outcomes(customers: pl.DataFrame, outcomes: WindowOutcomes) -> AlignedOutcomes:
    """Line the window's outcomes up with the customers at T, once per (T, h, lookback window).

    Re-tiering keeps the customers and their row order, so every slider move can reuse this:
    pass it to :func:`evaluate` in place of the :class:`WindowOutcomes` and the join with the
    window, the new and not-tiered rows and the perfect-hindsight curve are not recomputed.

    Args:
        customers: :func:`customers_at` (any spec with the same lookback window).
        outcomes: :func:`window_outcomes` for the same T.

    Raises:
        DataError: a customer is listed twice.
    """
    return _align(customers, outcomes)


def _align(population: pl.DataFrame, outcomes: WindowOutcomes) -> AlignedOutcomes:
    ids = population.get_column(C.CUSTOMER_ID)
    if ids.n_unique() != ids.len():
        raise DataError("The tiered customers list a customer more than once.")
    joined = _ranked_outcomes(population.select(C.CUSTOMER_ID), outcomes)
    others = outcomes.frame.join(population.select(C.CUSTOMER_ID), on=C.CUSTOMER_ID, how="anti")
    extra = (
        others.group_by(pl.when(pl.col(SEEN_BEFORE)).then(pl.lit(UNTIERED)).otherwise(pl.lit(NEW)).alias("row"))
        .agg(
            pl.len().alias("customers"),
            pl.len().alias("active"),
            pl.col(BUYER).sum().alias("buyers"),
            pl.col(ORDERS).sum().alias(ORDERS),
            pl.col(REVENUE_MINOR).sum().alias(REVENUE_MINOR),
        )
    )
    extra = (
        pl.DataFrame({"row": [NEW, UNTIERED], "kind": ["new", "untiered"]})
        .join(extra, on="row", how="left", maintain_order="left")
        .with_columns(pl.col(_SUMS).cast(pl.Int64).fill_null(0))
    )
    return AlignedOutcomes(window=outcomes, ids=ids, outcomes=joined.select(_OUTCOME_COLUMNS), extra=extra,
                           ref=_reference(joined.get_column(REVENUE_MINOR)))


def _aligned_for(population: pl.DataFrame, outcomes: WindowOutcomes | AlignedOutcomes) -> AlignedOutcomes:
    if isinstance(outcomes, AlignedOutcomes):
        if population.get_column(C.CUSTOMER_ID).equals(outcomes.ids):
            return outcomes
        outcomes = outcomes.window
    return _align(population, outcomes)


def _curve(n: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative (customer share, revenue share) at block boundaries, from (0, 0)."""
    total_n, total_y = n.sum(), y.sum()
    x = np.concatenate([[0.0], np.cumsum(n) / total_n])
    r = np.concatenate([[0.0], np.cumsum(y) / total_y]) if total_y != 0 else np.full(len(n) + 1, np.nan)
    return x, r


def _area(x: np.ndarray, r: np.ndarray) -> float:
    return float(np.sum(np.diff(x) * (r[1:] + r[:-1]) / 2))


def _blocks(frame: pl.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Counts and revenue per equally ranked group, best group first (keys: higher is better)."""
    g = frame.group_by(list(keys)).agg(pl.len().alias("n"), pl.col(_Y).sum().alias("y"))
    g = g.sort(list(keys), descending=True, nulls_last=True)
    return g.get_column("n").to_numpy().astype(np.float64), g.get_column("y").to_numpy().astype(np.float64)


def _perfect_blocks(y: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    g = y.value_counts(name="n").sort(y.name, descending=True)
    vals = g.get_column(y.name).to_numpy().astype(np.float64)
    n = g.get_column("n").to_numpy().astype(np.float64)
    return n, vals * n


@dataclass(frozen=True)
class _Reference:
    """The perfect-hindsight curve of one population (depends only on the outcomes)."""

    x: np.ndarray
    r: np.ndarray
    area: float
    total: float


def _reference(y: pl.Series) -> _Reference:
    n, yy = _perfect_blocks(y)
    x, r = _curve(n, yy) if len(n) else (np.array([0.0]), np.array([np.nan]))
    return _Reference(x=x, r=r, area=_area(x, r) if len(n) else math.nan, total=float(yy.sum()))


def _ranking_quality(n: np.ndarray, y: np.ndarray, ref: _Reference) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    # Shares of a total that is zero or negative (returns outweigh sales) rank nothing.
    if len(n) == 0 or ref.total <= 0 or math.isnan(ref.area):
        return {k: None for k in ("captured_10", "captured_20", "random_10", "random_20", "perfect_10",
                                  "perfect_20", "gap_closed")}
    x, r = _curve(n, y)
    for p in (10, 20):
        # Interpolating inside a block is the expected share when equally ranked customers are
        # taken in random order, so the numbers never depend on how ties happen to be sorted.
        out[f"captured_{p}"] = float(np.interp(p / 100, x, r))
        out[f"random_{p}"] = p / 100
        out[f"perfect_{p}"] = float(np.interp(p / 100, ref.x, ref.r))
    gap = ref.area - 0.5
    out["gap_closed"] = (_area(x, r) - 0.5) / gap if gap > 0 else None
    return out


def _gains_frame(n: np.ndarray, y: np.ndarray, ranking: str) -> pl.DataFrame:
    grid = np.linspace(0.0, 1.0, _GAINS_POINTS)
    if len(n) == 0 or y.sum() <= 0:
        share = np.full(_GAINS_POINTS, np.nan)
    else:
        x, r = _curve(n, y)
        share = np.interp(grid, x, r)
    return pl.DataFrame({"ranking": [ranking] * _GAINS_POINTS, "customer_share": grid, "revenue_share": share},
                        schema={"ranking": pl.String, "customer_share": pl.Float64, "revenue_share": pl.Float64},
                        ).with_columns(pl.col("revenue_share").fill_nan(None))


def _spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    if len(a) < 2:
        return None
    ra = pl.Series(a).rank("average").to_numpy()
    rb = pl.Series(b).rank("average").to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def _within_expr(within: str, columns: Sequence[str]) -> pl.Expr:
    if within == "score":
        present = [c for c in C.SCORE_COLUMNS if c in columns]
        return pl.sum_horizontal(pl.col(c).cast(pl.Int32) for c in present) if present else pl.lit(0)
    if within == "monetary":
        return pl.col(C.MONETARY)
    if within == "clv":
        if C.CLV not in columns:
            raise DataError("Ranking inside tiers by CLV needs the lifetime-value scores; choose another "
                            "within-tier ranking or fit the CLV model first.", code="backtest_needs_clv")
        return pl.col(C.CLV).fill_nan(None)
    if within == "none":
        return pl.lit(0)
    raise DataError(f"Unknown within-tier ranking '{within}'; use score, monetary, clv or none.")


def _tier_table(
    ranked: pl.DataFrame, aligned: AlignedOutcomes, names: Sequence[str], order: Sequence[str],
    implicit: str | None = None,
) -> pl.DataFrame:
    scale = aligned.window.scale
    n_tiered = ranked.height
    per_tier = (
        ranked.group_by(_CODE)
        .agg(
            pl.len().alias("customers"),
            pl.col(ACTIVE).sum().alias("active"),
            pl.col(BUYER).sum().alias("buyers"),
            pl.col(ORDERS).sum().alias(ORDERS),
            pl.col(REVENUE_MINOR).sum().alias(REVENUE_MINOR),
        )
        .with_columns(pl.lit(pl.Series(list(names), dtype=pl.String)).gather(pl.col(_CODE)).alias("row"))
        .drop(_CODE)
    )
    skeleton = pl.DataFrame({"row": list(order), "kind": ["tier"] * len(order)},
                            schema={"row": pl.String, "kind": pl.String})
    tiers = skeleton.join(per_tier, on="row", how="left", maintain_order="left").with_columns(
        pl.col(_SUMS).cast(pl.Int64).fill_null(0)
    )
    if implicit is not None:
        # The catch-all of rules without ``else`` is a tier only when someone lands in it (as in
        # the tier summary); an empty one would be a row of dashes nobody can act on.
        tiers = tiers.filter((pl.col("row") != implicit) | (pl.col("customers") > 0))
    extra = aligned.extra
    table = pl.concat([tiers, extra.select(tiers.columns)], how="vertical_relaxed")
    total_rev = int(aligned.window.frame.get_column(REVENUE_MINOR).sum())
    per = pl.when(pl.col("customers") > 0)
    is_tier = pl.col("kind") == "tier"
    return table.with_columns(
        pl.col("customers", "active", "buyers").cast(pl.Int64),
    ).select(
        "row",
        "kind",
        "customers",
        pl.when(is_tier & (n_tiered > 0)).then(pl.col("customers") / n_tiered).alias("customer_share"),
        "active",
        "buyers",
        per.then(pl.col("buyers") / pl.col("customers")).alias("buyer_share"),
        pl.when(is_tier).then(per.then(1 - pl.col("buyers") / pl.col("customers"))).alias("lapsed_share"),
        ORDERS,
        per.then(pl.col(ORDERS) / pl.col("customers")).alias("orders_per_customer"),
        REVENUE_MINOR,
        (pl.col(REVENUE_MINOR) / scale).alias("revenue"),
        per.then(pl.col(REVENUE_MINOR) / scale / pl.col("customers")).alias("revenue_per_customer"),
        (pl.col(REVENUE_MINOR) / total_rev if total_rev != 0 else pl.lit(None, pl.Float64)).alias("revenue_share"),
    )


def _quality_frame(values: dict[str, float | None]) -> pl.DataFrame:
    keys = [k for k in _QUALITY_KEYS if k in values]
    return pl.DataFrame(
        {
            "metric": keys,
            "value": [None if values[k] is None else float(values[k]) for k in keys],  # type: ignore[arg-type]
            "definition_en": [METRICS[k]["en"] for k in keys],
            "definition_zh": [METRICS[k]["zh"] for k in keys],
        },
        schema={"metric": pl.String, "value": pl.Float64, "definition_en": pl.String, "definition_zh": pl.String},
    )


def evaluate(
    tiered: pl.DataFrame,
    outcomes: WindowOutcomes | AlignedOutcomes,
    spec: TieringSpec | None = None,
    *,
    within: WithinTier = "score",
    label: str = "current",
) -> Evaluation:
    """Measure a tiering at T against what its customers did in the window.

    Cheap (a few group-bys over one row per customer): call it on every slider move with the
    same cached ``outcomes``.

    Args:
        tiered: customers at T with a ``tier`` column (:func:`customers_at`), one row each.
        outcomes: :func:`window_outcomes` for the same T, or :func:`align_outcomes` of it
            (cheaper: cache that per T, h and lookback window for slider moves).
        spec: gives the value order (``spec.tier_order``); None = the order of the tier Enum.
        within: how customers of one tier are ranked against each other for the gains curve:
            "score" (r_score + f_score + m_score), "monetary", "clv" or "none".
        label: name of this ranking in the gains frame.

    Returns:
        :class:`Evaluation`. ``tiers`` columns: ``row`` (tier name, ``NEW`` or ``UNTIERED``),
        ``kind`` ("tier", "new", "untiered"), ``customers`` (at T; for the other two rows,
        customers active in the window), ``customer_share`` (of customers tiered at T),
        ``active``, ``buyers``, ``buyer_share``, ``lapsed_share`` (tiers only: share with no
        purchase in the window), ``orders``, ``orders_per_customer``, ``revenue_minor`` (Int64),
        ``revenue``, ``revenue_per_customer``, ``revenue_share`` (of all window revenue).
        Tiers in value order, best first, then the two other rows; the implicit catch-all tier
        of rules without ``else`` is left out when nobody is in it at T, other tiers are listed
        even when empty (customers 0). The ``active``, ``orders`` and ``revenue_minor`` columns
        add up exactly to the window's totals.

    Raises:
        DataError: ``tiered`` lacks ``customer_id`` or ``tier``, or lists a customer twice.
    """
    if C.TIER not in tiered.columns or C.CUSTOMER_ID not in tiered.columns:
        raise DataError("The customers to evaluate have no tier column; tier them at the as-of date first.")
    aligned = _aligned_for(tiered, outcomes)
    dtype = tiered.schema[C.TIER]
    if isinstance(dtype, pl.Enum):
        names = list(dtype.categories)
        tier = pl.col(C.TIER)
    else:
        names = sorted(tiered.get_column(C.TIER).cast(pl.String).drop_nulls().unique().to_list())
        tier = pl.col(C.TIER).cast(pl.String).cast(pl.Enum(names))
    order = [t for t in (spec.tier_order if spec is not None else names) if t in names] + [
        t for t in names if spec is not None and t not in spec.tier_order
    ]
    position = {t: i for i, t in enumerate(order)}
    # Enum codes, not strings: looking up millions of tier names is the slow part otherwise.
    position_of_code = pl.Series([position[n] for n in names], dtype=pl.Int32)
    within_key = _within_expr(within, tiered.columns)
    ranked = tiered.select(
        tier.to_physical().alias(_CODE),
        # Best tier first: higher primary key is better.
        (-pl.lit(position_of_code).gather(tier.to_physical())).alias(_PRIMARY),
        within_key.alias(_SECONDARY),
    ).hstack(aligned.outcomes).with_columns(pl.col(REVENUE_MINOR).alias(_Y))
    implicit = spec.ruleset.unassigned if spec is not None else None
    table = _tier_table(ranked, aligned, names, order, implicit)
    ref = aligned.ref
    n, y = _blocks(ranked, [_PRIMARY, _SECONDARY])
    values: dict[str, float | None] = {"customers": float(ranked.height)}
    values.update(_tier_order_quality(table))
    values.update(_ranking_quality(n, y, ref))
    gains = _gains_frame(n, y, label)
    return Evaluation(tiers=table, quality=_quality_frame(values), gains=gains, values=values)


def customer_outcomes(tiered: pl.DataFrame, outcomes: WindowOutcomes | AlignedOutcomes) -> pl.DataFrame:
    """Each customer tiered at T with what they did in the window: the per-tier export.

    Returns:
        The columns of ``tiered`` followed by ``next_orders`` (Int64), ``next_revenue``
        (Float64, net, from exact minor units), ``bought_again`` (Boolean, a purchase in the
        window) and ``returned_only`` (Boolean, active in the window with returns only).
        Rows in the order of ``tiered``.

    Example:
        >>> import datetime as dt, polars as pl
        >>> tx = pl.DataFrame({"customer_id": ["a", "b", "a"],
        ...     "order_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 1, 3)],
        ...     "amount": [10.0, 5.0, 2.5], "order_id": ["1", "2", "3"]})
        >>> spec = TieringSpec(rules="All: else")
        >>> out = customer_outcomes(customers_at(tx, "2024-01-01", spec), window_outcomes(tx, "2024-01-01", 2))
        >>> out.select("customer_id", "tier", "next_orders", "next_revenue", "bought_again").rows()
        [('a', 'All', 1, 2.5, True), ('b', 'All', 0, 0.0, False)]
    """
    aligned = _aligned_for(tiered, outcomes)
    o = aligned.outcomes
    return tiered.with_columns(
        o.get_column(ORDERS).alias("next_orders"),
        (o.get_column(REVENUE_MINOR) / aligned.window.scale).alias("next_revenue"),
        o.get_column(BUYER).alias("bought_again"),
        (o.get_column(ACTIVE) & ~o.get_column(BUYER)).alias("returned_only"),
    )


def _tier_order_quality(table: pl.DataFrame) -> dict[str, float | None]:
    tiers = table.filter((pl.col("kind") == "tier") & (pl.col("customers") > 0))
    rpc = tiers.get_column("revenue_per_customer").to_list()
    k = len(rpc)
    inversions = sum(1 for i in range(k) for j in range(i + 1, k) if rpc[j] > rpc[i])
    overall_n = int(tiers.get_column("customers").sum())
    overall = float(tiers.get_column(REVENUE_MINOR).sum()) / overall_n if overall_n else 0.0
    top = tiers.row(0, named=True) if k else None
    lift = None
    if top is not None and overall > 0:
        lift = (top[REVENUE_MINOR] / top["customers"]) / overall
    return {
        "inversions": float(inversions),
        "tier_pairs": float(k * (k - 1) // 2),
        # Negated position: the best tier has the highest rank, so +1 means value order holds.
        "spearman": _spearman([-i for i in range(k)], rpc),
        "top_tier_lift": lift,
    }


def _evaluate_ranking(population: pl.DataFrame, key: pl.Expr, aligned: AlignedOutcomes, label: str) -> Evaluation:
    """A plain ranking (higher key first, no tiers) measured like a tiering's gains curve."""
    aligned = _aligned_for(population, aligned)
    ref = aligned.ref
    ranked = population.select(key.alias(_PRIMARY)).hstack(aligned.outcomes).with_columns(
        pl.col(REVENUE_MINOR).alias(_Y)
    )
    n, y = _blocks(ranked, [_PRIMARY])
    values: dict[str, float | None] = {"customers": float(ranked.height)}
    values.update(_ranking_quality(n, y, ref))
    return Evaluation(tiers=pl.DataFrame(), quality=_quality_frame(values), gains=_gains_frame(n, y, label),
                      values=values)


# --------------------------------------------------------------------------------------------
# The full backtest: the current spec beside the preset, recency alone and CLV
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backtest:
    """A backtest at one T and horizon.

    Attributes:
        as_of, horizon_days, scale: as in :class:`WindowOutcomes`.
        current: the evaluation of the spec given.
        tiers: ``current.tiers`` (the per-tier table).
        quality: ``current.quality`` (measures with their definitions).
        comparison: one row per ranking (``ranking``: "current", "preset", "recency", "clv")
            with the columns of :data:`METRICS` that apply and ``note`` (why a ranking is
            missing, e.g. too few repeat buyers for the CLV fit).
        gains: ``ranking``, ``customer_share``, ``revenue_share`` for every ranking plus
            "random" and "perfect", 101 points each.
    """

    as_of: dt.date
    horizon_days: int
    scale: int
    current: Evaluation
    comparison: pl.DataFrame
    gains: pl.DataFrame

    @property
    def tiers(self) -> pl.DataFrame:
        return self.current.tiers

    @property
    def quality(self) -> pl.DataFrame:
        return self.current.quality


def _comparison_row(label: str, ev: Evaluation | None, note: str = "") -> dict[str, object]:
    row: dict[str, object] = {"ranking": label}
    for k in _QUALITY_KEYS:
        row[k] = None if ev is None else ev.values.get(k)
    row["note"] = note
    return row


def backtest(
    tx: pl.DataFrame | pl.LazyFrame,
    spec: TieringSpec,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    preset: Preset | str | None = None,
    lang: str = "en",
    within: WithinTier = "score",
    compare: bool = True,
    outcomes: WindowOutcomes | None = None,
    customers: pl.DataFrame | None = None,
    clv_frame: pl.DataFrame | None = None,
    clv_forecast: pl.DataFrame | None = None,
) -> Backtest:
    """Tier the customers at a past date T with ``spec`` and measure the next ``horizon_days``.

    Args:
        tx: canonical transactions, eager or lazy.
        spec: the tiering the view uses (value order best first in ``spec.tier_order``).
        as_of: T; default :func:`latest_as_of` (the latest T with a full window).
        horizon_days: h; the window is ``(T, T + h]`` (T itself is history, see the module doc).
        preset: the preset whose default settings are compared (id or :class:`Preset`); None
            leaves that row out. It is scored with the spec's lookback window.
        lang: language of the preset's tier names.
        within: ranking inside a tier (see :func:`evaluate`).
        compare: also evaluate the preset, recency alone and the CLV ranking (expected
            purchases in the window x expected spend per purchase, fitted on history up to T).
        outcomes, customers: cached :func:`window_outcomes` and :func:`customers_at` (any
            spec with the same lookback window: it is re-tiered with ``spec``) for this T.
        clv_frame: the view's lifetime-value scores at T (``score_customers(tx, as_of=T).frame``,
            the app's valuation), for rules on P_ALIVE/CLV and ``within="clv"``; fitted here
            when needed and not given.
        clv_forecast: ``score_customers(tx, as_of=T, horizon_days=h).frame``, for the CLV
            ranking (expected purchases in the window x expected spend); fitted here when not
            given.

    Returns:
        :class:`Backtest`. Every ranking is measured on the same customers: those tiered at T
        by ``spec``.

    Raises:
        DataError: see :func:`window_outcomes`; RuleError/SettingsError from the spec.
    """
    h = _check_horizon(horizon_days)
    t = to_date(as_of) or latest_as_of(tx, h)
    if outcomes is None or outcomes.as_of != t or outcomes.horizon_days != h:
        outcomes = window_outcomes(tx, t, h)
    wants_clv = spec.needs_clv or within == "clv"
    if wants_clv and clv_frame is None and (customers is None or C.CLV not in customers.columns):
        clv_frame = _fit_clv(tx, t)
    if customers is None:
        customers = customers_at(tx, t, spec, clv_frame=clv_frame)
    else:
        if clv_frame is not None and C.CLV not in customers.columns:
            customers = add_clv(customers, clv_frame)  # type: ignore[assignment]
        customers = tier_customers(customers, spec)
    aligned = _align(customers, outcomes)
    current = evaluate(customers, aligned, spec, within=within)
    rows = [_comparison_row("current", current)]
    gains = [current.gains]
    if compare:
        if preset is not None:
            pspec = preset_spec(preset, lang=lang, window_days=spec.window_days)
            if pspec.needs_clv and C.CLV not in customers.columns:
                pev = None
            else:
                pev = evaluate(tier_customers(customers, pspec), aligned, pspec, within=within, label="preset")
            rows.append(_comparison_row("preset", pev))
            if pev is not None:
                gains.append(pev.gains)
        rec = _evaluate_ranking(customers, -pl.col(C.RECENCY), aligned, "recency")
        rows.append(_comparison_row("recency", rec))
        gains.append(rec.gains)
        clv_ev, note = _clv_ranking(tx, t, h, customers, aligned, clv_forecast)
        rows.append(_comparison_row("clv", clv_ev, note))
        if clv_ev is not None:
            gains.append(clv_ev.gains)
    gains.append(_gains_frame(np.array([1.0]), np.array([1.0]), "random"))
    n_p, y_p = _perfect_blocks(aligned.outcomes.get_column(REVENUE_MINOR))
    gains.append(_gains_frame(n_p, y_p, "perfect"))
    comparison = pl.DataFrame(rows, schema={"ranking": pl.String, **{k: pl.Float64 for k in _QUALITY_KEYS},
                                            "note": pl.String}, orient="row")
    return Backtest(as_of=t, horizon_days=h, scale=outcomes.scale, current=current, comparison=comparison,
                    gains=pl.concat(gains))


def _fit_clv(tx: pl.DataFrame | pl.LazyFrame, t: dt.date, h: int | None = None) -> pl.DataFrame:
    from segmentation.clv import score_customers

    if h is None:
        return score_customers(tx, as_of=t).frame
    return score_customers(tx, as_of=t, horizon_days=h).frame


def _clv_ranking(
    tx: pl.DataFrame | pl.LazyFrame, t: dt.date, h: int, customers: pl.DataFrame, aligned: AlignedOutcomes,
    scores: pl.DataFrame | None = None,
) -> tuple[Evaluation | None, str]:
    if scores is None:
        try:
            scores = _fit_clv(tx, t, h)
        except DataError as exc:
            return None, str(exc)
    expected = scores.select(
        C.CUSTOMER_ID,
        (pl.col("expected_purchases") * pl.col("expected_avg_spend")).fill_nan(None).alias("_value"),
    )
    population = customers.select(C.CUSTOMER_ID).join(expected, on=C.CUSTOMER_ID, how="left", maintain_order="left")
    return _evaluate_ranking(population, pl.col("_value"), aligned, "clv"), ""


# --------------------------------------------------------------------------------------------
# Walk-forward
# --------------------------------------------------------------------------------------------


def walk_forward(
    tx: pl.DataFrame | pl.LazyFrame,
    spec: TieringSpec,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    period: Literal["month", "quarter"] = "quarter",
    within: WithinTier = "score",
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """The current spec's backtest at every month or quarter end that has a full window after it.

    Each T is tiered on its own (as the view would tier on that date) and measured on its
    own window ``(T, T + h]``, with the numbers :func:`backtest` gives at that T. The work is
    shared across dates: the windows' per-customer totals come from one group-by over
    (window, customer) and the customer tables from one pass (:func:`segmentation.snapshots.snapshots`);
    rules or ranking on lifetime value go one date at a time (the model is fitted per date).

    ``progress`` is called with (steps done, steps in all), first with 0: one step per date,
    plus the two shared steps when the work is shared.

    Returns:
        One row per T, ascending: ``as_of`` (Date) and the measures of :data:`METRICS`.

    Raises:
        DataError: no period end has a full window.
    """
    h = _check_horizon(horizon_days)
    latest = latest_as_of(tx, h)
    dates = [d for d in period_ends(tx, period=period, start=start, end=end) if d <= latest]
    lo, _ = _date_range(_require_transactions(tx))
    dates = [d for d in dates if d >= lo]
    if not dates:
        raise DataError(f"No {period} end has {h} days of data after it; choose a shorter horizon.",
            code="backtest_no_period_end", params={"horizon": h, "period": period})
    rows = []
    if spec.needs_clv or within == "clv":
        # Lifetime value is fitted on each date's own history: one date at a time.
        if progress is not None:
            progress(0, len(dates))
        for i, t in enumerate(dates):
            ev = evaluate(customers_at(tx, t, spec), window_outcomes(tx, t, h), spec, within=within)
            rows.append({"as_of": t, **{k: ev.values.get(k) for k in _QUALITY_KEYS}})
            if progress is not None:
                progress(i + 1, len(dates))
    else:
        # Shared work: every window's per-customer totals in one group-by over (window, customer),
        # and every date's customer table in one pass (snapshots, each date scored on its own
        # customers, as customers_at scores them); then a cheap evaluate per date.
        # The two shared steps are most of the time, so they count as steps of their own and
        # the bar moves while they run, not only in the quick per-date part.
        steps = len(dates) + 2
        if progress is not None:
            progress(0, steps)
        windows = _window_outcomes_at(tx, dates, h)
        if progress is not None:
            progress(1, steps)
        # Without an order id every row is its own order, as in customers_at.
        source = tx if C.ORDER_ID in tx.collect_schema().names() else _require_transactions(tx)
        tables = snapshots(source, dates, spec, cut_mode="recomputed")
        if progress is not None:
            progress(2, steps)
        per_date = tables.partition_by(SNAPSHOT_DATE, as_dict=True, include_key=False)
        for i, (t, out) in enumerate(zip(dates, windows, strict=True)):
            tiered = per_date.get((t,), tables.clear().drop(SNAPSHOT_DATE))
            ev = evaluate(tiered, out, spec, within=within)
            rows.append({"as_of": t, **{k: ev.values.get(k) for k in _QUALITY_KEYS}})
            if progress is not None:
                progress(i + 3, steps)
    return pl.DataFrame(rows, schema={"as_of": pl.Date, **{k: pl.Float64 for k in _QUALITY_KEYS}}, orient="row")


# --------------------------------------------------------------------------------------------
# Threshold suggestions
# --------------------------------------------------------------------------------------------

_AXIS_LETTER = {C.RECENCY: "R", C.FREQUENCY: "F", C.MONETARY: "M"}
_AXIS_WORDS = {
    C.RECENCY: ("recency (days)", "最近购买天数 R"),
    C.FREQUENCY: ("frequency (orders)", "购买次数 F"),
    C.MONETARY: ("monetary (spend)", "消费金额 M"),
}
_SUMMARY_KEYS = ("captured_10", "captured_20", "gap_closed")
_OBJECTIVES = ("gap_closed", "captured_10", "captured_20")


@dataclass(frozen=True)
class Suggestion:
    """One change of cut points, ready to apply.

    Attributes:
        spec: the current spec with the change (method "thresholds", cut points as text).
        change_en, change_zh: the change in words.
        fit_before, fit_after: measures at the fitting date (keys of :data:`METRICS`).
        check_before, check_after: the same at the later, checking date.
    """

    spec: TieringSpec
    change_en: str
    change_zh: str
    fit_before: dict[str, float | None]
    fit_after: dict[str, float | None]
    check_before: dict[str, float | None]
    check_after: dict[str, float | None]


@dataclass(frozen=True)
class Suggestions:
    """Result of :func:`suggest_thresholds`.

    Attributes:
        fit_as_of: the T the changes were chosen on; check_as_of: the later T they are shown on.
        horizon_days, objective: as given.
        items: the suggestions, best first (may be empty: nothing nearby beats the current cuts).
        table: one row per suggestion: ``change_en``, ``change_zh``, ``thresholds`` (text),
            ``bins``, and ``fit_before_*``, ``fit_after_*``, ``check_before_*``,
            ``check_after_*`` for captured_10, captured_20 and gap_closed.
        tried: how many neighbouring settings were measured.
        notes: (en, zh) remarks, e.g. why the bin count was not varied.
    """

    fit_as_of: dt.date
    check_as_of: dt.date
    horizon_days: int
    objective: str
    items: tuple[Suggestion, ...]
    table: pl.DataFrame
    tried: int
    notes: tuple[tuple[str, str], ...] = ()


def _nice(x: float) -> float:
    """``x`` to three significant digits (quantile candidates read like numbers a person picks)."""
    if x == 0 or not math.isfinite(x):
        return x
    digits = 2 - math.floor(math.log10(abs(x)))
    return round(x, digits) if digits > 0 else float(round(x, digits))


def _round_neighbours(c: float, integer: bool) -> list[float]:
    """Round numbers just below and above ``c`` (steps of 1, 2 or 5 times a power of ten)."""
    if c == 0:
        return [1.0] if integer else []
    mag = 10 ** math.floor(math.log10(abs(c)))
    out: set[float] = set()
    for step in (mag / 2, mag):
        if integer:
            step = max(1.0, round(step))
        lo = math.floor(c / step) * step
        out |= {lo, lo - step, lo + step, lo + 2 * step}
    return sorted(v for v in out if v != c and (v >= 0 or c < 0))


def _candidates(values: np.ndarray, edges: tuple[float, ...], i: int, integer: bool) -> list[float]:
    c = edges[i]
    prev = edges[i - 1] if i > 0 else -math.inf
    nxt = edges[i + 1] if i + 1 < len(edges) else math.inf
    out = set(_round_neighbours(c, integer))
    if len(values):
        q = float(np.searchsorted(values, c, side="left")) / len(values)
        for dq in (-0.10, -0.05, 0.05, 0.10):
            p = min(max(q + dq, 0.0), 1.0)
            v = float(np.quantile(values, p, method="lower"))
            out.add(float(round(v)) if integer else _nice(v))
    return sorted(v for v in out if prev < v < nxt and v != c and math.isfinite(v))


def _finite_edges(cuts: Cuts, rfm: pl.DataFrame) -> dict[str, tuple[float, ...]]:
    """Cut points as numbers a thresholds text can carry (an unreachable score's infinite edge
    becomes a value just beyond the data, which keeps that score unreachable)."""
    out = {}
    for axis, edges in cuts.edges.items():
        col = rfm.get_column(axis).cast(pl.Float64)
        lo, hi = (col.min() or 0.0), (col.max() or 0.0)
        out[axis] = tuple(
            float(hi) + 1 if e == math.inf else float(lo) - 1 if e == -math.inf else float(e) for e in edges  # type: ignore[arg-type]
        )
    return out


class _Search:
    """Measures the objective for many cut points on one population and window, cheaply."""

    def __init__(self, rfm: pl.DataFrame, outcomes: WindowOutcomes, spec: TieringSpec, within: str):
        self.spec = spec
        self.within = within
        self.y = _ranked_outcomes(rfm.select(C.CUSTOMER_ID), outcomes).get_column(REVENUE_MINOR)
        self.ref = _reference(self.y)
        self.base = rfm.select(pl.exclude(C.R_SCORE, C.F_SCORE, C.M_SCORE, C.TIER)).with_columns(self.y.alias(_Y))
        self.fast = spec.ruleset.score_only and within in ("score", "none")
        self.order = {t: i for i, t in enumerate(spec.tier_order)}
        self.atoms: pl.DataFrame | None = None
        self.edge_index: dict[str, dict[float, int]] = {}

    def prepare(self, edges_used: dict[str, set[float]]) -> None:
        """Group the customers once by where they fall among every cut point the search will try.

        With score-only rules a customer's scores, tier and within-tier score depend only on
        which side of each cut point their values lie, so customers in the same cell of all
        cut points ever tried are interchangeable: each setting is then measured on a table of
        cells (thousands of rows) instead of on every customer.
        """
        if not self.fast:
            return
        cells = []
        for axis in C.RFM_AXES:
            grid = sorted(edges_used[axis])
            self.edge_index[axis] = {e: j for j, e in enumerate(grid)}
            # Recency scores count cuts at or above the value; the others, cuts at or below it.
            side = "left" if axis in C.LOWER_IS_BETTER else "right"
            values = self.base.get_column(axis).cast(pl.Float64)
            cells.append(pl.Series(grid, dtype=pl.Float64).search_sorted(values, side=side).alias(f"_cell_{axis}"))
        self.atoms = (
            self.base.select(_Y).with_columns(cells)
            .group_by([c.name for c in cells])
            .agg(pl.len().alias("n"), pl.col(_Y).sum().alias("_sy"))
        )

    def _scores_of_cells(self, edges: dict[str, tuple[float, ...]]) -> list[pl.Expr]:
        names = {C.RECENCY: C.R_SCORE, C.FREQUENCY: C.F_SCORE, C.MONETARY: C.M_SCORE}
        exprs = []
        for axis in C.RFM_AXES:
            cell = pl.col(f"_cell_{axis}")
            total = pl.lit(1, pl.Int32)
            for e in edges[axis]:
                j = self.edge_index[axis][e]
                hit = cell <= j if axis in C.LOWER_IS_BETTER else cell > j
                total = total + hit.cast(pl.Int32)
            exprs.append(total.cast(pl.Int8).alias(names[axis]))
        return exprs

    def quality(self, bins: int, edges: dict[str, tuple[float, ...]]) -> dict[str, float | None]:
        spec = self.spec
        rank = (-pl.col(C.TIER).cast(pl.String).replace_strict(self.order, return_dtype=pl.Int32)).alias(_PRIMARY)
        if self.fast:
            if self.atoms is not None:
                scored = self.atoms.with_columns(self._scores_of_cells(edges))
            else:
                cuts = Cuts(bins, "thresholds", edges[C.RECENCY], edges[C.FREQUENCY], edges[C.MONETARY])
                scored = score(self.base, cuts=cuts).with_columns(pl.lit(1).alias("n"), pl.col(_Y).alias("_sy"))
            # Score-only rules: the tier and the within-tier score are functions of the three
            # scores, so rules run once per score triple, not once per customer.
            combos = scored.group_by(C.SCORE_COLUMNS).agg(pl.col("n").sum(), pl.col("_sy").sum())
            combos = assign_tiers(combos, spec.ruleset).with_columns(
                rank, _within_expr(self.within, combos.columns).alias(_SECONDARY)
            )
            g = combos.group_by(_PRIMARY, _SECONDARY).agg(pl.col("n").sum(), pl.col("_sy").sum().alias("y"))
            g = g.sort(_PRIMARY, _SECONDARY, descending=True)
            n = g.get_column("n").to_numpy().astype(np.float64)
            y = g.get_column("y").to_numpy().astype(np.float64)
        else:
            cuts = Cuts(bins, "thresholds", edges[C.RECENCY], edges[C.FREQUENCY], edges[C.MONETARY])
            scored = score(self.base, cuts=cuts)
            tiered = assign_tiers(scored, spec.ruleset).with_columns(
                rank, _within_expr(self.within, scored.columns).alias(_SECONDARY)
            )
            n, y = _blocks(tiered, [_PRIMARY, _SECONDARY])
        return _ranking_quality(n, y, self.ref)


def _bins_allowed(spec: TieringSpec, bins: int) -> tuple[bool, tuple[str, str] | None]:
    rs = spec.ruleset
    if spec.method in ("mean", "median"):
        return False, ("The mean and median methods always use two score levels, so the bin count was not varied.",
                       "平均值和中位数方法固定为两档评分，因此没有调整分档数。")
    uses_scores = bool(set(rs.columns_used) & set(C.SCORE_COLUMNS))
    if not uses_scores:
        return True, None
    if not rs.score_only:
        return False, ("The rules mix scores with other columns, so whether every tier stays reachable with another "
                       "bin count cannot be checked; the bin count was not varied.",
                       "规则同时使用评分和其他字段，无法检查换分档数后每个层级是否仍可达，因此没有调整分档数。")
    base = reachability(rs, spec.bins)
    other = reachability(rs, bins)
    lost = [t for t, k in base.items() if k > 0 and other.get(t, 0) == 0]
    if lost:
        return False, (f"With {bins} bins the rules, written for {spec.bins}, could never reach '{lost[0]}' "
                       f"(score values change meaning), so {bins} bins was not tried.",
                       f"规则是按 {spec.bins} 档写的，改为 {bins} 档后“{lost[0]}”将永远分不到客户（评分含义变了），因此没有尝试 {bins} 档。")
    return True, None


def suggest_thresholds(
    tx: pl.DataFrame | pl.LazyFrame,
    spec: TieringSpec,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    fit_as_of: dt.date | dt.datetime | str | None = None,
    objective: str = "gap_closed",
    top: int = 3,
    within: WithinTier = "score",
    progress: Callable[[int, int], None] | None = None,
    cache: Callable[[dt.date], tuple[WindowOutcomes, pl.DataFrame]] | None = None,
) -> Suggestions:
    """Nearby cut points that rank next-period revenue better, chosen on one date, shown on a later one.

    The search starts from the cut points the spec uses at ``fit_as_of`` (for quantile, mean
    or median scoring: the values those methods fit on that date) and moves one cut at a time
    to nearby quantiles of that axis (±5 and ±10 percentage points of customers) and to nearby
    round numbers, keeping the cuts ascending; the bin count is moved by ±1 (with quantile
    cuts) where the rules allow it (see ``notes``). Each setting is measured by ``objective``
    on the window after ``fit_as_of``; the ``top`` best single changes that improve it (one per
    cut), and all of them combined when that is better still, are then measured on the window
    after ``as_of`` too, so a change that only fits the first window shows up as such.

    Args:
        tx: canonical transactions.
        spec: the current tiering.
        as_of: the later, checking T (default: the latest T with a full window).
        horizon_days: h, for both windows.
        fit_as_of: the T changes are chosen on (default ``as_of - h``: its window ends where
            the checking window starts, so the check is on later data).
        objective: "gap_closed", "captured_10" or "captured_20".
        top: at most this many single changes.
        within: ranking inside a tier (see :func:`evaluate`).
        progress: called with (settings measured, settings to measure).
        cache: ``T -> (window_outcomes(tx, T, h), customers_at(tx, T, spec))`` from the
            caller's cache (any spec with the same lookback window), to skip recomputing them.

    Returns:
        :class:`Suggestions`; each suggestion carries a ready :class:`TieringSpec` (method
        "thresholds", cut points fixed as numbers) the view can apply. "Before" numbers are
        the current spec as the view tiers at each date (quantile, mean or median cut points
        fitted on that date); "after" numbers hold the suggested cut points fixed.

    Raises:
        DataError: the fitting date has no customers or no full window (the message says which
            dates work), or an unknown objective.
    """
    if objective not in _OBJECTIVES:
        raise DataError(f"Unknown objective '{objective}'; use one of {', '.join(_OBJECTIVES)}.")
    h = _check_horizon(horizon_days)
    check_t = to_date(as_of) or latest_as_of(tx, h)
    fit_t = to_date(fit_as_of) or check_t - dt.timedelta(days=h)
    lo, _ = _date_range(_require_transactions(tx))
    if fit_t < lo:
        raise DataError(
            f"Suggestions are chosen on the window before the one they are checked on, which would start on "
            f"{fit_t}, before the data starts ({lo}); choose a later as-of date (at least {lo + dt.timedelta(days=h)}) "
            "or a shorter horizon.",
            code="backtest_fit_before_data",
            params={"start": str(fit_t), "first": str(lo), "earliest": str(lo + dt.timedelta(days=h))},
        )
    def at(t: dt.date) -> tuple[WindowOutcomes, pl.DataFrame]:
        if cache is not None:
            out, customers = cache(t)
            return out, tier_customers(customers, spec)
        return window_outcomes(tx, t, h), customers_at(tx, t, spec)

    fit_out, fit_rfm = at(fit_t)
    search = _Search(fit_rfm, fit_out, spec, within)
    cuts = fit_cuts(fit_rfm, bins=spec.bins, method=spec.method, thresholds=spec.thresholds_map)  # type: ignore[arg-type]
    edges = _finite_edges(cuts, fit_rfm)

    moves: list[tuple[str, str, int, dict[str, tuple[float, ...]], str, str]] = []
    for axis in C.RFM_AXES:
        values = np.sort(fit_rfm.get_column(axis).cast(pl.Float64).to_numpy())
        integer = axis != C.MONETARY
        en_axis, zh_axis = _AXIS_WORDS[axis]
        for i, c in enumerate(edges[axis]):
            for v in _candidates(values, edges[axis], i, integer):
                new = dict(edges)
                new[axis] = tuple(v if j == i else e for j, e in enumerate(edges[axis]))
                moves.append((
                    f"{axis}:{i}", "cut", spec.bins, new,
                    f"{en_axis}: cut {i + 1} from {_fmt(c)} to {_fmt(v)}",
                    f"{zh_axis}：第 {i + 1} 个分界点 {_fmt(c)} → {_fmt(v)}",
                ))
    notes: list[tuple[str, str]] = []
    if spec.method == "thresholds" or spec.method == "quantile":
        for b in (spec.bins - 1, spec.bins + 1):
            if not 2 <= b <= 10:
                continue
            ok, note = _bins_allowed(spec, b)
            if note is not None:
                notes.append(note)
            if ok:
                qcuts = _finite_edges(fit_cuts(fit_rfm, bins=b, method="quantile"), fit_rfm)
                moves.append(("bins", "bins", b, qcuts, f"{b} score levels instead of {spec.bins} (quantile cut points)",
                              f"评分分为 {b} 档（原 {spec.bins} 档，按分位数定分界点）"))
    else:
        ok, note = _bins_allowed(spec, spec.bins + 1)
        if note is not None:
            notes.append(note)

    used: dict[str, set[float]] = {axis: set(edges[axis]) for axis in C.RFM_AXES}
    for move in moves:
        for axis in C.RFM_AXES:
            used[axis] |= set(move[3][axis])
    search.prepare(used)
    base_q = search.quality(spec.bins, edges)
    measured: list[tuple[float, int]] = []
    results: list[dict[str, float | None]] = []
    for k, (_, _, b, new, _, _) in enumerate(moves):
        q = search.quality(b, new)
        results.append(q)
        if q[objective] is not None and base_q[objective] is not None:
            measured.append((q[objective] - base_q[objective], k))  # type: ignore[operator]
        if progress is not None:
            progress(k + 1, len(moves))
    measured.sort(key=lambda t: (-t[0], t[1]))
    chosen: list[int] = []
    seen_slots: set[str] = set()
    for gain, k in measured:
        if gain <= 1e-12 or len(chosen) >= top:
            break
        slot = moves[k][0]
        if slot in seen_slots:
            continue
        seen_slots.add(slot)
        chosen.append(k)

    picks: list[tuple[int, dict[str, tuple[float, ...]], str, str, dict[str, float | None]]] = [
        (moves[k][2], moves[k][3], moves[k][4], moves[k][5], results[k]) for k in chosen
    ]
    cut_picks = [k for k in chosen if moves[k][1] == "cut"]
    if len(cut_picks) > 1:
        combined = dict(edges)
        for k in cut_picks:
            axis, i = moves[k][0].split(":")
            combined[axis] = tuple(moves[k][3][axis][j] if j == int(i) else e for j, e in enumerate(combined[axis]))
        if all(list(v) == sorted(v) for v in combined.values()):
            q = search.quality(spec.bins, combined)
            best = picks[0][4][objective] if picks else None
            if q[objective] is not None and best is not None and q[objective] > best:  # type: ignore[operator]
                picks.insert(0, (spec.bins, combined, "All of: " + "; ".join(moves[k][4] for k in cut_picks),
                                 "同时：" + "；".join(moves[k][5] for k in cut_picks), q))

    check_out, check_rfm = at(check_t)
    check_aligned = _align(check_rfm, check_out)
    check_before = _summary(evaluate(check_rfm, check_aligned, spec, within=within).values)
    fit_before = _summary(base_q)
    items = []
    for b, new, en, zh, q in picks:
        new_spec = spec.replace(method="thresholds", bins=b, thresholds=format_thresholds(new))
        after = evaluate(tier_customers(check_rfm, new_spec), check_aligned, new_spec, within=within)
        items.append(Suggestion(spec=new_spec, change_en=en, change_zh=zh, fit_before=fit_before,
                                fit_after=_summary(q), check_before=check_before, check_after=_summary(after.values)))
    return Suggestions(fit_as_of=fit_t, check_as_of=check_t, horizon_days=h, objective=objective,
                       items=tuple(items), table=_suggestion_table(items), tried=len(moves), notes=tuple(notes))


def _fmt(x: float) -> str:
    """A cut point for a sentence: whole numbers as they are, others to two decimals (4.19)."""
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def _summary(values: dict[str, float | None]) -> dict[str, float | None]:
    return {k: values.get(k) for k in _SUMMARY_KEYS}


def _suggestion_table(items: Sequence[Suggestion]) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"change_en": pl.String(), "change_zh": pl.String(), "thresholds": pl.String(),
                                      "bins": pl.Int64()}
    for when in ("fit_before", "fit_after", "check_before", "check_after"):
        for k in _SUMMARY_KEYS:
            schema[f"{when}_{k}"] = pl.Float64()
    rows = []
    for s in items:
        row: dict[str, object] = {"change_en": s.change_en, "change_zh": s.change_zh,
                                  "thresholds": s.spec.thresholds, "bins": s.spec.bins}
        for when in ("fit_before", "fit_after", "check_before", "check_after"):
            for k in _SUMMARY_KEYS:
                row[f"{when}_{k}"] = getattr(s, when)[k]
        rows.append(row)
    return pl.DataFrame(rows, schema=schema, orient="row")


# --------------------------------------------------------------------------------------------
# Files for scheduled jobs
# --------------------------------------------------------------------------------------------


def _json_value(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    # A scheduled job reading the files must never see half of one: write beside, then rename.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_backtest(result: Backtest, path: str | Path) -> list[Path]:
    """Write a backtest as files a scheduled job can keep: CSV tables and one JSON document.

    ``path`` ending in ``.json`` writes only that JSON document; otherwise ``path`` is a folder
    (created if needed) receiving ``tiers.csv`` (per-tier table), ``quality.csv`` (measures with
    their definitions), ``comparison.csv`` (every ranking side by side) and ``backtest.json``
    (all of it plus as-of date, horizon and money scale). CSV files are UTF-8 with a byte-order
    mark, so spreadsheet programs show Chinese tier names correctly. Each file is written to a
    temporary name and renamed, so a reader never sees a partly written file.

    Returns:
        The paths written.
    """
    path = Path(path)
    doc = {
        "as_of": result.as_of.isoformat(),
        "window_end": (result.as_of + dt.timedelta(days=result.horizon_days)).isoformat(),
        "horizon_days": result.horizon_days,
        "minor_units_per_currency_unit": result.scale,
        "tiers": [{k: _json_value(v) for k, v in r.items()} for r in result.tiers.iter_rows(named=True)],
        "quality": [{k: _json_value(v) for k, v in r.items()} for r in result.quality.iter_rows(named=True)],
        "comparison": [{k: _json_value(v) for k, v in r.items()} for r in result.comparison.iter_rows(named=True)],
    }
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if path.suffix.lower() == ".json":
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
        return [path]
    path.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("tiers", result.tiers), ("quality", result.quality), ("comparison", result.comparison)):
        target = path / f"{name}.csv"
        _atomic_write(target, lambda p, f=frame: f.write_csv(p, include_bom=True))
        written.append(target)
    _atomic_write(path / "backtest.json", lambda p: p.write_text(text, encoding="utf-8"))
    written.append(path / "backtest.json")
    return written
