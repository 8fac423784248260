"""Tier migration between snapshot dates: flows, rates, movers and Sankey links.

Input is the long table from :func:`segmentation.snapshots.snapshots`. Between an earlier date
``d1`` and a later date ``d2`` every customer seen at either date makes exactly one flow:

- from their tier at ``d1`` to their tier at ``d2``;
- from ``NEW`` (``"__new__"``, never bought before ``d1``) or ``BACK`` (``"__back__"``, bought
  before ``d1`` but was outside the lookback window at ``d1``) into their tier at ``d2``;
- from their tier at ``d1`` to ``GONE`` (``"__gone__"``, no purchase left in the window at ``d2``).

So flows conserve customers: what leaves the tiers of ``d1`` (gone included) equals the customers
of ``d1``, and what arrives in the tiers of ``d2`` (new and returning included) equals the
customers of ``d2``. State codes are never shown: ``snapshots.state_label`` localises them.

Direction follows the tiers' *value order*, best first: moving to a better tier is an
*upgrade*, to a worse one a *downgrade*. Rule order is precedence (first match wins), not value,
so every public function takes ``value_order=`` (tier names best first, e.g. a preset's
``value_order(lang)`` or ``TieringSpec.tier_order``); without it the order of the tier Enum is
used, which is the spec's value order for snapshots built from a spec and rule order otherwise.
Tiers the order leaves out follow, in Enum order. The matrix layout and the Sankey node order
follow the same order.

Revenue of a flow is the net amount (returns included) its customers spent in ``(d1, d2]``:
the Trends revenue of the same customers over the same days. Pass the transactions (``tx=``) to
get exactly that: a customer who bought 100 on 5 January, returned 30 on 20 February and left
the window by 29 February carries -30 on the flow into Gone. Without ``tx`` the snapshots'
``period_revenue`` is used, which only knows customers present at a snapshot date, so a return
booked after a customer left the window is missing. Either way a customer present at neither
date of a pair (bought and left the window in between) is in no flow and carries no revenue.
Money is added up in integer millionths of the currency unit, so sums over skipped dates are
exact (44.99, not 44.989999999999995) and ties sort by customer.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple, TypeVar

import polars as pl

from . import columns as C
from .errors import DataError, SettingsError
from .rfm import to_date
from .snapshots import (
    BACK,
    FIRST_PURCHASE_EVER,
    GONE,
    NEW,
    PERIOD_REVENUE,
    SNAPSHOT_DATE,
    period_ends,
    state_label,
)

__all__ = [
    "ALL",
    "DIRECTIONS",
    "SankeyFlows",
    "cut_mode_effect",
    "in_value_order",
    "largest_moves",
    "migration_matrix",
    "migration_rates",
    "movers",
    "one_period_back",
    "period_pair",
    "sankey_flows",
    "transitions",
]


ALL = C.ALL_TIERS
DIRECTIONS: dict[str, dict[str, str]] = {
    "up": {"zh": "升级", "en": "Upgrade"},
    "same": {"zh": "不变", "en": "Unchanged"},
    "down": {"zh": "降级", "en": "Downgrade"},
    "new": {"zh": "新客进入", "en": "New"},
    "back": {"zh": "回流", "en": "Returning"},
    "gone": {"zh": "离开", "en": "Left"},
}

_I, _S, _FROM, _TO = "_i", "_s", "from_state", "to_state"

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
_UNITS = 1_000_000


def _exact_sum(expr: pl.Expr) -> pl.Expr:
    """Sum of money in integer millionths, back to the nearest double (no float noise)."""
    return (expr.mul(_UNITS).round().cast(pl.Int64).sum() / _UNITS).round(6)


def _tx_revenue(tx: pl.DataFrame | pl.LazyFrame, chosen: Sequence[dt.date]) -> pl.DataFrame:
    """``_i``, ``customer_id``, ``revenue``: net amount dated in ``(chosen[i-1], chosen[i]]``."""
    grid = pl.Series("d", chosen, dtype=pl.Date)
    day = pl.col(C.ORDER_DATE).cast(pl.Date)
    return (
        tx.lazy()
        .filter(day > chosen[0], day <= chosen[-1], pl.col(C.AMOUNT).is_not_null())
        .group_by(pl.lit(grid).search_sorted(day, side="left").cast(pl.Int64).alias(_I), C.CUSTOMER_ID)
        .agg(_exact_sum(pl.col(C.AMOUNT).cast(pl.Float64)).alias("revenue"))
        .collect()
    )


def in_value_order(snaps: FrameT, value_order: Sequence[str] | None) -> FrameT:
    """``snaps`` with its tier Enum reordered best first by ``value_order`` (names it does not
    know are ignored; tiers it leaves out follow in their current order).

    Example:
        >>> import polars as pl
        >>> s = pl.DataFrame({"tier": ["A", "B"]}, schema={"tier": pl.Enum(["A", "B", "C"])})
        >>> in_value_order(s, ["C", "A", "X"]).schema["tier"]
        Enum(categories=['C', 'A', 'B'])
    """
    if not value_order:
        return snaps
    tiers = _tiers(snaps)
    declared = [t for t in dict.fromkeys(value_order) if t in tiers]
    order = [*declared, *(t for t in tiers if t not in declared)]
    if tuple(order) == tiers:
        return snaps
    return snaps.with_columns(pl.col(C.TIER).cast(pl.String).cast(pl.Enum(order)))


def _tiers(snaps: pl.DataFrame | pl.LazyFrame) -> tuple[str, ...]:
    dtype = snaps.collect_schema()[C.TIER]
    if not isinstance(dtype, pl.Enum):
        raise DataError("The snapshot table has no ordered tier column; build it with snapshots().")
    return tuple(dtype.categories.to_list())


def _states(tiers: tuple[str, ...]) -> pl.Enum:
    return pl.Enum([NEW, BACK, *tiers, GONE])


def _pick_dates(snaps: pl.DataFrame, dates: Sequence[dt.date | str] | None) -> list[dt.date]:
    have = snaps.get_column(SNAPSHOT_DATE).unique().sort().to_list()
    if dates is None:
        return have
    # A date without rows is an empty snapshot (e.g. everybody left the window), not an error.
    wanted = sorted({to_date(d) for d in dates})
    if len(wanted) < 2:
        raise DataError("Migration needs at least two different snapshot dates.", code="migration_two_dates")
    return wanted


def _date_pair(d1: dt.date | str, d2: dt.date | str) -> tuple[dt.date, dt.date]:
    a, b = to_date(d1), to_date(d2)
    if a is None or b is None or a >= b:
        raise DataError("Pick an earlier and a later snapshot date for migration.", code="migration_order")
    return a, b


def _sorted(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """The frame sorted by customer then date, and whether each row's customer is the previous row's."""
    cid = pl.col(C.CUSTOMER_ID)
    # One string comparison per row serves both the order check and the customer boundaries.
    flags = frame.select(
        (cid == cid.shift(1)).fill_null(False).alias("same"),
        (cid > cid.shift(1)).fill_null(True).alias("after"),
        (pl.col(SNAPSHOT_DATE) > pl.col(SNAPSHOT_DATE).shift(1)).fill_null(True).alias("later"),
    )
    same = flags.get_column("same")
    ok = flags.select((pl.col("after") | (pl.col("same") & pl.col("later"))).all()).item()
    if ok:
        return frame, same
    frame = frame.sort(C.CUSTOMER_ID, SNAPSHOT_DATE)
    return frame, frame.select((cid == cid.shift(1)).fill_null(False)).to_series()


def _step_rows(
    snaps: pl.DataFrame | pl.LazyFrame, dates: Sequence[dt.date | str] | None
) -> tuple[pl.DataFrame, list[dt.date], bool, tuple[str, ...]]:
    """Per customer and chosen date (sorted): ``_s`` (date index), ``_state`` (0 NEW, 1 BACK,
    2.. tiers, last GONE; null when absent), ``_prev`` (state at the previous chosen date),
    ``_next_ok`` (present at the next one), ``period_revenue`` (since the previous chosen date),
    ``customer_id``. Also returns the chosen dates, whether they are all the table's dates, and
    the tiers.
    """
    df = snaps.collect() if isinstance(snaps, pl.LazyFrame) else snaps
    tiers = _tiers(df)
    chosen = _pick_dates(df, dates)
    all_dates = df.get_column(SNAPSHOT_DATE).unique().sort().to_list()
    every = chosen == all_dates
    grid = pl.Series("d", chosen, dtype=pl.Date)

    base, same = _sorted(df.select(SNAPSHOT_DATE, C.CUSTOMER_ID, C.TIER, FIRST_PURCHASE_EVER, PERIOD_REVENUE))
    if every:
        rows = base.with_columns(same.alias("_same"))
    else:
        # Revenue between chosen dates: add up each customer's period revenue per chosen step.
        lo, hi = chosen[0], chosen[-1]
        inside = base.filter(pl.col(SNAPSHOT_DATE) > lo, pl.col(SNAPSHOT_DATE) <= hi).with_columns(
            pl.lit(grid).search_sorted(pl.col(SNAPSHOT_DATE), side="left").alias(_S)
        )
        rev = inside.group_by(C.CUSTOMER_ID, _S).agg(_exact_sum(pl.col(PERIOD_REVENUE)).alias("_rev"))
        rows = base.filter(pl.col(SNAPSHOT_DATE).is_in(chosen))
        rows = rows.with_columns(pl.lit(grid).search_sorted(pl.col(SNAPSHOT_DATE), side="left").alias(_S))
        rows = (
            rows.join(rev, on=[C.CUSTOMER_ID, _S], how="full", coalesce=True)
            .sort(C.CUSTOMER_ID, _S)
        )
        # A customer may spend between dates without being in either snapshot (see module doc).
        rows = rows.with_columns(
            pl.col(PERIOD_REVENUE).fill_null(0.0),
        ).with_columns(pl.col("_rev").fill_null(0.0).alias(PERIOD_REVENUE)).drop("_rev")
        rows = rows.with_columns(
            (pl.col(C.CUSTOMER_ID) == pl.col(C.CUSTOMER_ID).shift(1)).fill_null(False).alias("_same")
        )
    if _S not in rows.columns:
        # Integer days against a short grid: a cheap lookup per row.
        rows = rows.with_columns(
            pl.lit(grid.cast(pl.Int32)).search_sorted(pl.col(SNAPSHOT_DATE).cast(pl.Int32), side="left")
            .cast(pl.Int32).alias(_S)
        )

    s = pl.col(_S).cast(pl.Int32)
    state = (pl.col(C.TIER).to_physical().cast(pl.Int32) + 2)
    present = pl.col(C.TIER).is_not_null()
    same = pl.col("_same")
    prev_ok = (same & (s.shift(1) == s - 1) & present.shift(1)).fill_null(False)
    next_ok = (same.shift(-1) & (s.shift(-1) == s + 1) & present.shift(-1)).fill_null(False)
    prev_date = pl.lit(grid).gather((s - 1).clip(0, None))
    rows = rows.select(
        s.alias(_S),
        C.CUSTOMER_ID,
        state.alias("_state"),
        pl.when(prev_ok).then(state.shift(1))
        .when(pl.col(FIRST_PURCHASE_EVER) > prev_date).then(pl.lit(0, pl.Int32))
        .otherwise(pl.lit(1, pl.Int32)).alias("_prev"),
        next_ok.alias("_next_ok"),
        PERIOD_REVENUE,
    )
    return rows, chosen, every, tiers


def _arrivals(rows: pl.DataFrame) -> pl.LazyFrame:
    return rows.lazy().filter(pl.col("_state").is_not_null(), pl.col(_S) >= 1)


def _leavers(rows: pl.DataFrame, n_chosen: int) -> pl.LazyFrame:
    return rows.lazy().filter(pl.col("_state").is_not_null(), ~pl.col("_next_ok"), pl.col(_S) < n_chosen - 1)


def _steps(
    snaps: pl.DataFrame | pl.LazyFrame, dates: Sequence[dt.date | str] | None,
    tx: pl.DataFrame | pl.LazyFrame | None = None,
) -> tuple[pl.DataFrame, list[dt.date], tuple[str, ...]]:
    """Per customer and consecutive pair of the chosen dates: one row with both states.

    Columns: ``_i`` (index of the later date), customer_id, from_state, to_state (state
    indices: 0 NEW, 1 BACK, 2.. tiers, last GONE) and revenue (from ``tx`` when given).
    """
    rows, chosen, every, tiers = _step_rows(snaps, dates)
    gone_code = len(tiers) + 2
    arrivals = _arrivals(rows).select(
        pl.col(_S).alias(_I), C.CUSTOMER_ID, pl.col("_prev").alias(_FROM), pl.col("_state").alias(_TO),
        pl.col(PERIOD_REVENUE).alias("revenue"),
    )
    leavers = _leavers(rows, len(chosen)).select(
        (pl.col(_S) + 1).alias(_I), C.CUSTOMER_ID, pl.col("_state").alias(_FROM),
        pl.lit(gone_code, pl.Int32).alias(_TO),
    )
    leavers = _leaver_revenue(rows, leavers, every)
    steps = pl.concat([arrivals, leavers], how="vertical_relaxed").collect()
    if tx is not None:
        steps = (
            steps.drop("revenue")
            .join(_tx_revenue(tx, chosen), on=[_I, C.CUSTOMER_ID], how="left")
            .with_columns(pl.col("revenue").fill_null(0.0))
        )
    return steps, chosen, tiers


def _leaver_revenue(rows: pl.DataFrame, leavers: pl.LazyFrame, every: bool) -> pl.LazyFrame:
    if every:
        return leavers.with_columns(pl.lit(0.0).alias("revenue"))
    # Revenue of customers absent at the later date (only when dates were skipped).
    spent = rows.lazy().filter(pl.col("_state").is_null()).select(
        pl.col(_S).alias(_I), C.CUSTOMER_ID, pl.col(PERIOD_REVENUE).alias("revenue")
    )
    return leavers.join(spent, on=[_I, C.CUSTOMER_ID], how="left").with_columns(pl.col("revenue").fill_null(0.0))


def _flow_counts(
    snaps: pl.DataFrame | pl.LazyFrame, dates: Sequence[dt.date | str] | None,
    tx: pl.DataFrame | pl.LazyFrame | None = None,
) -> tuple[pl.DataFrame, list[dt.date], tuple[str, ...]]:
    """``_i``, from_state, to_state (indices), customers, revenue: one row per non-empty flow."""
    if tx is not None:
        steps, chosen, tiers = _steps(snaps, dates, tx)
        out = steps.group_by(pl.col(_I).cast(pl.Int64), pl.col(_FROM).cast(pl.Int64), pl.col(_TO).cast(pl.Int64)).agg(
            pl.len().alias("customers"), _exact_sum(pl.col("revenue")).alias("revenue")
        )
        return out, chosen, tiers
    rows, chosen, every, tiers = _step_rows(snaps, dates)
    n_states = len(tiers) + 3
    gone_code = n_states - 1
    # One small integer key per flow: grouping on it is much cheaper than on three columns.
    arrivals = _arrivals(rows).group_by(
        ((pl.col(_S) * n_states + pl.col("_prev")) * n_states + pl.col("_state")).alias("_key")
    ).agg(pl.len().alias("customers"), _exact_sum(pl.col(PERIOD_REVENUE)).alias("revenue"))
    leavers = _leavers(rows, len(chosen))
    if every:
        leavers = leavers.group_by(
            (((pl.col(_S) + 1) * n_states + pl.col("_state")) * n_states + gone_code).alias("_key")
        ).agg(pl.len().alias("customers"), pl.lit(0.0).alias("revenue"))
    else:
        leavers = _leaver_revenue(
            rows, leavers.select((pl.col(_S) + 1).alias(_I), C.CUSTOMER_ID, pl.col("_state")), every
        ).group_by(((pl.col(_I) * n_states + pl.col("_state")) * n_states + gone_code).alias("_key")).agg(
            pl.len().alias("customers"), _exact_sum(pl.col("revenue")).alias("revenue")
        )
    both = pl.concat([arrivals, leavers], how="vertical_relaxed").collect()
    out = both.select(
        (pl.col("_key") // (n_states * n_states)).cast(pl.Int64).alias(_I),
        (pl.col("_key") // n_states % n_states).cast(pl.Int64).alias(_FROM),
        (pl.col("_key") % n_states).cast(pl.Int64).alias(_TO),
        "customers",
        "revenue",
    )
    return out, chosen, tiers


def _direction(n_tiers: int) -> pl.Expr:
    f, t = pl.col(_FROM), pl.col(_TO)
    return (
        pl.when(f == 0).then(pl.lit("new"))
        .when(f == 1).then(pl.lit("back"))
        .when(t == n_tiers + 2).then(pl.lit("gone"))
        .when(t < f).then(pl.lit("up"))
        .when(t > f).then(pl.lit("down"))
        .otherwise(pl.lit("same"))
        .cast(pl.Enum(list(DIRECTIONS)))
        .alias("direction")
    )


def _as_states(frame: pl.DataFrame, tiers: tuple[str, ...], cols: Sequence[str]) -> pl.DataFrame:
    names = pl.Series([NEW, BACK, *tiers, GONE], dtype=pl.String)
    enum = _states(tiers)
    return frame.with_columns(pl.lit(names).gather(pl.col(c)).cast(enum).alias(c) for c in cols)


def transitions(
    snaps: pl.DataFrame | pl.LazyFrame,
    dates: Sequence[dt.date | str] | None = None,
    *,
    value_order: Sequence[str] | None = None,
    tx: pl.DataFrame | pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """Flows between every pair of consecutive dates (all snapshot dates by default).

    ``value_order``: tier names best first (see the module docstring). ``tx``: the
    transactions the snapshots were built from; given, each flow's revenue is its customers'
    net amount in ``(from_date, to_date]`` taken from them, as Trends counts it.

    Returns:
        Columns ``from_date``, ``to_date`` (Date), ``from_state``, ``to_state`` (Enum:
        ``__new__``, ``__back__``, the tiers best first, ``__gone__``), ``direction`` (Enum: up,
        same, down, new, back, gone), ``customers`` (UInt32) and ``revenue`` (Float64, net amount
        in ``(from_date, to_date]``). One row per non-empty flow, sorted by dates and states.

    A chosen date without rows in ``snaps`` counts as an empty snapshot (everyone left).

    Raises:
        DataError: fewer than two dates, or a table without tiers.

    Example:
        >>> import datetime as dt, polars as pl
        >>> from segmentation.snapshots import snapshots
        >>> tx = pl.DataFrame({"customer_id": ["a", "a", "b"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 2, 3), dt.date(2024, 2, 10)],
        ...     "amount": [10.0, 30.0, 5.0], "order_id": ["1", "2", "3"]})
        >>> s = snapshots(tx, ["2024-01-31", "2024-02-29"], rules="Big: M >= 20\\nSmall: else")
        >>> transitions(s).select("from_state", "to_state", "customers", "revenue").rows()
        [('__new__', 'Small', 1, 5.0), ('Small', 'Big', 1, 30.0)]
    """
    counts, chosen, tiers = _flow_counts(in_value_order(snaps, value_order), dates, tx)
    grid = pl.Series("d", chosen, dtype=pl.Date)
    out = (
        counts.with_columns(pl.col("customers").cast(pl.UInt32))
        .sort(_I, _FROM, _TO)
        .with_columns(_direction(len(tiers)))
    )
    out = _as_states(out, tiers, (_FROM, _TO))
    return out.select(
        pl.lit(grid).gather(pl.col(_I) - 1).alias("from_date"),
        pl.lit(grid).gather(pl.col(_I)).alias("to_date"),
        _FROM, _TO, "direction", "customers", "revenue",
    )


def migration_matrix(
    snaps: pl.DataFrame | pl.LazyFrame,
    d1: dt.date | str,
    d2: dt.date | str,
    *,
    value_order: Sequence[str] | None = None,
    tx: pl.DataFrame | pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """Flows from the tiers of ``d1`` to the tiers of ``d2`` (long form: pivot it to show).

    ``value_order`` and ``tx``: as in :func:`transitions`.

    Returns:
        ``from_state``, ``to_state``, ``direction``, ``customers``, ``revenue`` and ``share``
        (customers over all customers of the from-state), one row per non-empty flow.

    Raises:
        DataError: ``d1`` not before ``d2``.

    Example:
        >>> import datetime as dt, polars as pl
        >>> from segmentation.snapshots import snapshots
        >>> tx = pl.DataFrame({"customer_id": ["a", "b"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 2, 10)],
        ...     "amount": [10.0, 5.0], "order_id": ["1", "2"]})
        >>> s = snapshots(tx, ["2024-01-31", "2024-02-29"], rules="All: else", window_days=30)
        >>> migration_matrix(s, "2024-01-31", "2024-02-29").select("from_state", "to_state").rows()
        [('__new__', 'All'), ('All', '__gone__')]
    """
    a, b = _date_pair(d1, d2)
    flows = transitions(snaps, [a, b], value_order=value_order, tx=tx).drop("from_date", "to_date")
    return flows.with_columns(
        (pl.col("customers") / pl.col("customers").sum().over(_FROM)).alias("share")
    )


def migration_rates(
    snaps: pl.DataFrame | pl.LazyFrame,
    d1: dt.date | str,
    d2: dt.date | str,
    *,
    value_order: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Per tier of ``d1``: how many customers moved up, stayed, moved down or left by ``d2``.

    Upgrade means a tier earlier in value order (better); downgrade a later one (see the
    module docstring for ``value_order``).

    Returns:
        ``tier`` (String: tier names best first by value, then ``"__all__"`` for all customers),
        ``customers`` (at ``d1``), ``upgraded``, ``unchanged``, ``downgraded``, ``gone``
        (counts) and ``upgrade_rate``, ``unchanged_rate``, ``downgrade_rate``, ``gone_rate``
        (each count over ``customers``; the four rates add up to 1).

    Example:
        >>> import datetime as dt, polars as pl
        >>> from segmentation.snapshots import snapshots
        >>> tx = pl.DataFrame({"customer_id": ["a", "a", "b"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 2, 3), dt.date(2024, 1, 10)],
        ...     "amount": [10.0, 30.0, 5.0], "order_id": ["1", "2", "3"]})
        >>> s = snapshots(tx, ["2024-01-31", "2024-02-29"], rules="Big: M >= 20\\nSmall: else")
        >>> migration_rates(s, "2024-01-31", "2024-02-29").select("tier", "customers", "upgraded").rows()
        [('Big', 0, 0), ('Small', 2, 1), ('__all__', 2, 1)]
    """
    snaps = in_value_order(snaps, value_order)
    flows = migration_matrix(snaps, d1, d2)
    tiers = _tiers(snaps)
    counts = (
        flows.filter(~pl.col("direction").is_in(["new", "back"]))
        .group_by(pl.col(_FROM).cast(pl.String).alias(C.TIER))
        .agg(
            pl.col("customers").sum().cast(pl.Int64).alias("customers"),
            *(
                pl.col("customers").filter(pl.col("direction") == d).sum().cast(pl.Int64).alias(name)
                for d, name in (("up", "upgraded"), ("same", "unchanged"), ("down", "downgraded"), ("gone", "gone"))
            ),
        )
    )
    skeleton = pl.DataFrame({C.TIER: list(tiers)})
    per_tier = skeleton.join(counts, on=C.TIER, how="left").fill_null(0)
    total = per_tier.select(pl.lit(ALL).alias(C.TIER), pl.exclude(C.TIER).sum())
    out = pl.concat([per_tier, total])
    n = pl.col("customers")
    return out.with_columns(
        (pl.col(c) / n).fill_nan(None).alias(f"{r}_rate")
        for c, r in (("upgraded", "upgrade"), ("unchanged", "unchanged"), ("downgraded", "downgrade"), ("gone", "gone"))
    )


def movers(
    snaps: pl.DataFrame | pl.LazyFrame,
    from_tier: str,
    to_tier: str,
    d1: dt.date | str,
    d2: dt.date | str,
    *,
    value_order: Sequence[str] | None = None,
    tx: pl.DataFrame | pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """The customers of one flow (e.g. Champions -> At Risk), ready to export.

    ``value_order`` and ``tx``: as in :func:`transitions`.

    ``from_tier`` may be ``NEW`` or ``BACK`` and ``to_tier`` may be ``GONE``.

    Returns:
        ``customer_id``, ``from_state``, ``to_state`` (String), RFM and scores at both dates
        (``recency_days_then`` / ``_now``, ``frequency_*``, ``monetary_*``, ``r_score_*``,
        ``f_score_*``, ``m_score_*``; null where the customer was not in that snapshot; also
        ``p_alive_*`` and ``clv_*`` when the snapshots carry them), ``last_purchase_now`` and
        ``revenue`` (net amount in ``(d1, d2]``), sorted by
        revenue (largest first) then customer id.

    Raises:
        DataError: unknown tier or state, or dates as in :func:`migration_matrix`.

    Example:
        >>> import datetime as dt, polars as pl
        >>> from segmentation.snapshots import snapshots
        >>> tx = pl.DataFrame({"customer_id": ["a", "a"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 2, 3)],
        ...     "amount": [10.0, 30.0], "order_id": ["1", "2"]})
        >>> s = snapshots(tx, ["2024-01-31", "2024-02-29"], rules="Big: M >= 20\\nSmall: else")
        >>> movers(s, "Small", "Big", "2024-01-31", "2024-02-29").select(
        ...     "customer_id", "monetary_then", "monetary_now", "revenue").rows()
        [('a', 10.0, 40.0, 30.0)]
    """
    a, b = _date_pair(d1, d2)
    df = in_value_order(snaps.collect() if isinstance(snaps, pl.LazyFrame) else snaps, value_order)
    tiers = _tiers(df)
    known = {NEW, BACK, *tiers, GONE}
    for t in (from_tier, to_tier):
        if t not in known:
            raise DataError(f"'{t}' is not a tier of this table; tiers: {', '.join(tiers)}.",
                code="not_a_tier", params={"tier": t, "tiers": ", ".join(tiers)})
    steps, _, _ = _steps(df, [a, b], tx)
    names = [NEW, BACK, *tiers, GONE]
    who = steps.filter(
        pl.col(_FROM) == names.index(from_tier), pl.col(_TO) == names.index(to_tier)
    ).select(C.CUSTOMER_ID, "revenue")
    cols = [C.RECENCY, C.FREQUENCY, C.MONETARY, C.R_SCORE, C.F_SCORE, C.M_SCORE]
    cols += [c for c in (C.P_ALIVE, C.CLV) if c in df.columns]
    then = df.filter(pl.col(SNAPSHOT_DATE) == a).select(C.CUSTOMER_ID, *(pl.col(c).alias(f"{c}_then") for c in cols))
    now = df.filter(pl.col(SNAPSHOT_DATE) == b).select(
        C.CUSTOMER_ID, *(pl.col(c).alias(f"{c}_now") for c in cols), pl.col(C.LAST_PURCHASE).alias("last_purchase_now")
    )
    out = who.join(then, on=C.CUSTOMER_ID, how="left").join(now, on=C.CUSTOMER_ID, how="left")
    order = [C.CUSTOMER_ID, "from_state", "to_state"]
    for c in cols:
        order += [f"{c}_then", f"{c}_now"]
    return out.with_columns(
        pl.lit(from_tier).alias("from_state"), pl.lit(to_tier).alias("to_state")
    ).select(*order, "last_purchase_now", "revenue").sort(["revenue", C.CUSTOMER_ID], descending=[True, False])


class SankeyFlows(NamedTuple):
    """Nodes and links of a multi-step Sankey diagram.

    ``nodes``: ``node`` (0-based index), ``date``, ``state`` (code), ``label_zh``,
    ``label_en`` (e.g. "Champions @ 2024-03-31"), ``customers`` (customers in the state at that
    date; for New/Returning, those arriving). ``links``: ``source``, ``target`` (node indices),
    ``customers``, ``revenue``, ``direction``.
    """

    nodes: pl.DataFrame
    links: pl.DataFrame


def sankey_flows(
    snaps: pl.DataFrame | pl.LazyFrame,
    dates: Sequence[dt.date | str] | None = None,
    *,
    value_order: Sequence[str] | None = None,
    tx: pl.DataFrame | pl.LazyFrame | None = None,
) -> SankeyFlows:
    """Multi-step flows t1 -> t2 -> t3 ... shaped for a Sankey diagram.

    ``value_order`` (node order) and ``tx`` (link revenue): as in :func:`transitions`.

    New and returning customers enter as nodes at the earlier date of their step; customers
    who leave go to a Gone node at the later date and are not followed further (if they come
    back later they re-enter as Returning).

    Example:
        >>> import datetime as dt, polars as pl
        >>> from segmentation.snapshots import snapshots
        >>> tx = pl.DataFrame({"customer_id": ["a", "a"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 2, 3)],
        ...     "amount": [10.0, 30.0], "order_id": ["1", "2"]})
        >>> s = snapshots(tx, ["2024-01-31", "2024-02-29"], rules="Big: M >= 20\\nSmall: else")
        >>> sankey_flows(s).nodes["label_en"].to_list()
        ['Small @ 2024-01-31', 'Big @ 2024-02-29']
    """
    flows = transitions(snaps, dates, value_order=value_order, tx=tx)
    # A tier node in the middle is both a target and a source; flows conserve customers, so
    # both sides agree and either gives its size.
    side_totals = pl.concat([
        flows.group_by(pl.col("from_date").alias("date"), pl.col(_FROM).alias("state")).agg(pl.col("customers").sum()),
        flows.group_by(pl.col("to_date").alias("date"), pl.col(_TO).alias("state")).agg(pl.col("customers").sum()),
    ]).group_by("date", "state").agg(pl.col("customers").max())
    nodes = side_totals.sort("date", "state").with_row_index("node")
    labels = {lang: pl.col("state").cast(pl.String).replace_strict(
        {s: state_label(s, lang) for s in nodes["state"].cast(pl.String).unique().to_list()}
    ) for lang in ("zh", "en")}
    nodes = nodes.with_columns(
        (labels["zh"] + " @ " + pl.col("date").cast(pl.String)).alias("label_zh"),
        (labels["en"] + " @ " + pl.col("date").cast(pl.String)).alias("label_en"),
    ).select(pl.col("node").cast(pl.Int64), "date", "state", "label_zh", "label_en", pl.col("customers").cast(pl.Int64))
    key = nodes.select("node", "date", "state")
    links = (
        flows.join(key.rename({"node": "source", "date": "from_date", "state": _FROM}), on=["from_date", _FROM])
        .join(key.rename({"node": "target", "date": "to_date", "state": _TO}), on=["to_date", _TO])
        .select("source", "target", pl.col("customers").cast(pl.Int64), "revenue", "direction")
        .sort("source", "target")
    )
    return SankeyFlows(nodes, links)


def cut_mode_effect(
    fixed: pl.DataFrame | pl.LazyFrame,
    recomputed: pl.DataFrame | pl.LazyFrame,
    d1: dt.date | str,
    d2: dt.date | str,
    *,
    value_order: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Tell behaviour from relative standing: who moved because of re-fitted cut points.

    Compares the same customers and dates scored with fixed and with recomputed cut points.
    A customer whose tier changes between ``d1`` and ``d2`` under recomputed cut points but not
    under fixed ones moved only because other customers changed.

    Returns:
        One row per from/to tier pair of the recomputed view (tier names as String):
        ``customers`` (moved under recomputed cut points), ``behaviour`` (of those, also
        moved under fixed cut points), ``relative_only`` (moved only because the cut points
        moved), ``relative_share`` (relative_only / customers). Customers present at both dates.

    Example:
        >>> import datetime as dt, polars as pl
        >>> from segmentation.snapshots import snapshots
        >>> tx = pl.DataFrame({"customer_id": ["a", "b", "c", "d"],
        ...     "order_date": [dt.date(2024, 1, 5), dt.date(2024, 1, 6), dt.date(2024, 2, 10),
        ...                    dt.date(2024, 2, 11)],
        ...     "amount": [10.0, 50.0, 90.0, 95.0], "order_id": ["1", "2", "3", "4"]})
        >>> kw = dict(dates=["2024-01-31", "2024-02-29"], rules="Top: m_score == 2\\nRest: else",
        ...           bins=2)
        >>> f = snapshots(tx, cut_mode="fixed", **kw)
        >>> r = snapshots(tx, cut_mode="recomputed", **kw)
        >>> cut_mode_effect(f, r, "2024-01-31", "2024-02-29").rows()
        [('Top', 'Rest', 1, 0, 1, 1.0)]
    """
    a, b = to_date(d1), to_date(d2)

    def pair(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
        df = frame.lazy().select(SNAPSHOT_DATE, C.CUSTOMER_ID, pl.col(C.TIER).cast(pl.String))
        x = df.filter(pl.col(SNAPSHOT_DATE) == a).drop(SNAPSHOT_DATE).rename({C.TIER: "t1"})
        y = df.filter(pl.col(SNAPSHOT_DATE) == b).drop(SNAPSHOT_DATE).rename({C.TIER: "t2"})
        return x.join(y, on=C.CUSTOMER_ID, how="inner").collect()

    rec = pair(recomputed).filter(pl.col("t1") != pl.col("t2"))
    fix = pair(fixed).select(C.CUSTOMER_ID, (pl.col("t1") != pl.col("t2")).alias("_moved"))
    order = {t: i for i, t in enumerate(_tiers(in_value_order(recomputed, value_order)))}
    out = (
        rec.join(fix, on=C.CUSTOMER_ID, how="left")
        .group_by(pl.col("t1").alias(_FROM), pl.col("t2").alias(_TO))
        .agg(
            pl.len().cast(pl.Int64).alias("customers"),
            pl.col("_moved").fill_null(False).sum().cast(pl.Int64).alias("behaviour"),
        )
        .with_columns((pl.col("customers") - pl.col("behaviour")).alias("relative_only"))
        .with_columns((pl.col("relative_only") / pl.col("customers")).alias("relative_share"))
    )
    return out.sort(pl.col(_FROM).replace_strict(order), pl.col(_TO).replace_strict(order))


# ----------------------------------------------------------------------------- page summaries


def state_names(tier_names: tuple[str, ...] | list[str], *, sources: bool) -> list[str]:
    """Migration states in display order: New, Returning and tiers (sources), or tiers and Left."""
    return [NEW, BACK, *tier_names] if sources else [*tier_names, GONE]


def overall_rates(rates: pl.DataFrame) -> dict[str, float | int | None]:
    """The all-customer row of :func:`segmentation.migration.migration_rates` as a dict."""
    rows = rates.filter(pl.col(C.TIER) == ALL)
    return rows.row(0, named=True) if rows.height else {}


def newcomers(matrix: pl.DataFrame) -> int:
    """Customers arriving as new or returning in a migration matrix."""
    return int(matrix.filter(pl.col("direction").is_in(["new", "back"]))["customers"].sum())


def tier_rates(rates: pl.DataFrame) -> pl.DataFrame:
    """Per-tier rows of ``migration_rates`` without the total and without empty tiers."""
    return rates.filter(pl.col(C.TIER) != ALL, pl.col("customers") > 0)


def largest_move(matrix: pl.DataFrame, from_state: str) -> str | None:
    """The destination of the biggest flow out of ``from_state`` into another state."""
    moved = matrix.filter(pl.col("from_state") == from_state, pl.col("direction") != "same")
    if moved.height == 0:
        return None
    return str(moved.sort("customers", descending=True)["to_state"][0])


def largest_moves(matrix: pl.DataFrame, *, n: int = 3) -> pl.DataFrame:
    """The ``n`` biggest flows of customers who changed tier or left, biggest first.

    Arrivals (new and returning customers) are left out: they are not moves between tiers.
    Ties in size go by revenue, then by state order, so the list is the same on every run.

    Args:
        matrix: output of :func:`migration_matrix`. n: how many flows.

    Returns:
        The rows of ``matrix`` (``from_state``, ``to_state``, ``direction``, ``customers``,
        ``revenue``, ``share``) with direction up, down or gone.

    Example:
        >>> m = pl.DataFrame({"from_state": ["A", "A", "B", "__new__"], "to_state": ["B", "A", "A", "B"],
        ...     "direction": ["down", "same", "up", "new"], "customers": [5, 9, 2, 7],
        ...     "revenue": [10.0, 90.0, 40.0, 70.0], "share": [5 / 14, 9 / 14, 1.0, 1.0]})
        >>> largest_moves(m, n=2).select("from_state", "to_state", "customers").rows()
        [('A', 'B', 5), ('B', 'A', 2)]
    """
    moved = matrix.filter(pl.col("direction").cast(pl.String).is_in(["up", "down", "gone"]), pl.col("customers") > 0)
    return moved.sort(["customers", "revenue", "from_state", "to_state"],
                      descending=[True, True, False, False]).head(n)


def movers_total(frame: pl.DataFrame) -> float:
    """Revenue between the two dates of a :func:`movers` table (0 when empty)."""
    return float(frame["revenue"].sum() or 0.0) if frame.height else 0.0


# Period ends closer than this to the as-of date would compare a date with (almost) itself.
MIN_GAP_DAYS = 7


def comparison_dates(
    tx: pl.DataFrame | pl.LazyFrame,
    *,
    as_of: dt.date,
    period: str = "month",
    extra: Sequence[str] = (),
) -> list[dt.date]:
    """Dates a user can compare, ascending: the period ends after the first purchase day and at
    least :data:`MIN_GAP_DAYS` before ``as_of``, ``as_of`` itself (last), and any ``extra`` ISO
    dates (e.g. from a shared link) inside the data's range. Unparseable extras are ignored.

    Example:
        >>> tx = pl.DataFrame({"order_date": [dt.date(2024, 1, 5), dt.date(2024, 3, 2)]})
        >>> comparison_dates(tx, as_of=dt.date(2024, 3, 3))  # Feb 29 is too close to Mar 3
        [datetime.date(2024, 1, 31), datetime.date(2024, 3, 3)]
    """
    first = tx.lazy().select(pl.col(C.ORDER_DATE).min().cast(pl.Date)).collect().item()
    ends = period_ends(tx, period=period, end=as_of)  # type: ignore[arg-type]
    days = {d for d in ends if first < d and (as_of - d).days >= MIN_GAP_DAYS}
    days.add(as_of)
    for raw in extra:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            continue
        if first < day <= as_of:
            days.add(day)
    return sorted(days)


def default_pair(options: Sequence[str], back: int = 3) -> list[str]:
    """Two dates to compare by default: the last option (the as-of date) and the one ``back``
    periods before it (all options when there are fewer than two).

    >>> default_pair(["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-10"])
    ['2024-02-29', '2024-05-10']
    """
    if len(options) < 2:
        return list(options)
    return [options[max(0, len(options) - 1 - back)], options[-1]]


PERIOD_MONTHS = {"month": 1, "quarter": 3}


def one_period_back(as_of: dt.date, period: str) -> dt.date:
    """The same day one period before ``as_of`` (7 days for a week; month ends clamp: May 31 ->
    Apr 30).

    >>> one_period_back(dt.date(2026, 1, 1), "quarter")
    datetime.date(2025, 10, 1)
    >>> one_period_back(dt.date(2024, 3, 31), "month")
    datetime.date(2024, 2, 29)
    """
    if period == "week":
        return as_of - dt.timedelta(days=7)
    months = PERIOD_MONTHS.get(period)
    if months is None:
        raise SettingsError(f"Unknown period '{period}': use week, month or quarter.")
    index = as_of.year * 12 + as_of.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(as_of.day, last))


def period_pair(options: Sequence[str], period: str) -> list[str]:
    """Two dates one ``period`` apart to compare by default: the last option (the as-of date) and
    the latest option on or before the same day one period earlier, so "month" compares about a
    month and "quarter" about three (all options when there are fewer than two; the first option
    when none is that early).

    >>> period_pair(["2025-09-30", "2025-10-31", "2025-11-30", "2026-01-01"], "month")
    ['2025-11-30', '2026-01-01']
    >>> period_pair(["2025-09-30", "2025-10-31", "2025-11-30", "2026-01-01"], "quarter")
    ['2025-09-30', '2026-01-01']
    """
    if len(options) < 2:
        return list(options)
    back = one_period_back(dt.date.fromisoformat(options[-1]), period).isoformat()
    earlier = [d for d in options[:-1] if d <= back]
    return [earlier[-1] if earlier else options[0], options[-1]]


def tier_history(snaps: pl.DataFrame, customer_id: str) -> pl.DataFrame:
    """One customer's rows of a snapshot table, oldest date first (all its columns)."""
    return snaps.filter(pl.col(C.CUSTOMER_ID) == customer_id).sort(SNAPSHOT_DATE)
