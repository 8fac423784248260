"""Transactions to the per-customer table of the buy-till-you-die models.

Columns frequency / recency / T / monetary (and the holdout columns), as defined in
:func:`summary`. ``frequency`` and ``monetary`` differ from the RFM table's columns of the same
name, which is why the scoring functions return only prediction columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from .. import columns as C
from ..errors import DataError
from .common import as_day, days_per_unit

# Columns of the summary frame (buy-till-you-die meanings, see summary()). "frequency" and
# "monetary" differ from the RFM table's columns of the same name, which is why score_customers
# returns only the prediction columns.
FREQUENCY = C.FREQUENCY
RECENCY = "recency"
T = "T"
MONETARY = C.MONETARY
FREQUENCY_HOLDOUT = "frequency_holdout"
MONETARY_HOLDOUT = "monetary_holdout"
DURATION_HOLDOUT = "duration_holdout"


@dataclass(frozen=True)
class SummaryReport:
    """What :func:`summary_with_report` counted, netted and left out.

    Attributes:
        calibration_end: last day of the calibration period (inclusive).
        observation_end: last day of the holdout period (inclusive), or None.
        unit: time unit of recency and T ("D", "W" or "M").
        n_customers: customers in the summary (first purchase on or before calibration_end).
        n_repeat_buyers: customers with frequency > 0.
        n_purchase_rows: calibration rows counted as purchases (amount >= 0, or > 0 without
            zero_amount_purchases).
        n_purchase_periods: distinct (customer, day) purchase periods in calibration.
        n_same_day_merged: purchase rows merged into another purchase of the same customer
            on the same day (n_purchase_rows - n_purchase_periods).
        n_returns: calibration rows with amount < 0. Each is netted against a purchase day
            (see :func:`summary`) unless the customer had no purchase before it.
        returns_amount: their total amount, as a positive number.
        n_returns_unmatched: calibration returns with no purchase of the customer on or before
            their day in the calibration period; they change no spend.
        returns_amount_unmatched: their total amount, as a positive number.
        n_returns_holdout: holdout rows with amount < 0 (0 without a holdout).
        n_ignored_rows: rows with a missing amount or date, or amount 0 without
            zero_amount_purchases; not used anywhere.
        n_new_customers_holdout: customers whose first purchase falls in the holdout; they have
            no calibration history, so they are not in the summary.
    """

    calibration_end: date
    observation_end: date | None
    unit: str
    n_customers: int
    n_repeat_buyers: int
    n_purchase_rows: int
    n_purchase_periods: int
    n_same_day_merged: int
    n_returns: int
    returns_amount: float
    n_returns_unmatched: int
    returns_amount_unmatched: float
    n_returns_holdout: int
    n_ignored_rows: int
    n_new_customers_holdout: int


def summary(
    tx: pl.DataFrame | pl.LazyFrame,
    calibration_end: date | datetime,
    unit: str = "W",
    observation_end: date | datetime | None = None,
    *,
    zero_amount_purchases: bool = True,
) -> pl.DataFrame:
    """One row per customer with the inputs of the BG/NBD and Gamma-Gamma models.

    Purchases are rows with ``amount >= 0``: a transaction is a transaction for the count
    model, so a free order (amount 0) is a visit too. All purchases of a customer on the same
    day form one purchase period (their amounts are added), because the models describe how
    often a customer comes back, not how many lines an order has.

    Returns (``amount < 0``) are not purchases, but spend is net of them: each return is
    charged to the customer's latest purchase day on or before the return's day, within the
    same period (calibration or holdout), since goods come back after they were bought. A
    purchase day's spend is its purchases minus the returns charged to it. A customer who
    ordered 168,000 and cancelled it the same day therefore has spend 0 on that day, not
    168,000. A return before any purchase of the customer in its period changes nothing;
    :func:`summary_with_report` counts those.

    Columns (recency and T in ``unit``, counted from the customer's first purchase day):

    - ``customer_id``: as in ``tx``; customers whose first purchase is on or before
      ``calibration_end``.
    - ``frequency`` (Int64): number of *repeat* purchase periods in the calibration period, i.e.
      purchase days minus one. A customer who bought once has frequency 0.
    - ``recency`` (Float64): the customer's age at the last purchase, i.e. time from the first to
      the last purchase day. It is *not* the time since the last purchase. 0 when frequency is 0.
    - ``T`` (Float64): the customer's age at the end of calibration: ``calibration_end`` minus
      the first purchase day.
    - ``monetary`` (Float64): mean net spend of the repeat purchase periods (the first purchase
      is excluded, as in the Gamma-Gamma model), floored at 0; 0 when frequency is 0.

    With ``observation_end`` (the holdout period is the days after ``calibration_end`` up to and
    including ``observation_end``) three more columns follow:
    ``frequency_holdout`` (Int64, purchase periods in the holdout), ``monetary_holdout``
    (Float64, their mean net spend floored at 0, 0 if none) and ``duration_holdout`` (Float64,
    holdout length in ``unit``).

    Args:
        tx: canonical transactions (customer_id, order_date Date or Datetime, amount), eager
            or lazy. Datetimes are reduced to their calendar day.
        calibration_end: last day of the calibration period, inclusive.
        unit: "W" (weeks, default), "D" (days) or "M" (months of 365.25/12 days).
        observation_end: last day of an optional holdout period, inclusive.
        zero_amount_purchases: count rows with amount 0 as purchases (spend 0), the default.
            False ignores them, for exports where a 0 line is a correction rather than an
            order. The published CDNOW summary counts them (2,357 customers).

    Returns:
        A new frame sorted by customer_id.

    Raises:
        DataError: unknown unit, observation_end not after calibration_end, or no purchase on or
            before calibration_end.

    Example:
        >>> from datetime import date
        >>> tx = pl.DataFrame({
        ...     "customer_id": ["a", "a", "a", "a", "b"],
        ...     "order_date": [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 8),
        ...                    date(2024, 1, 15), date(2024, 1, 8)],
        ...     "amount": [10.0, 20.0, 5.0, -7.0, 30.0],
        ...     "order_id": ["1", "2", "3", "4", "5"],
        ... })
        >>> summary(tx, date(2024, 1, 29)).rows()  # a's return of 7 is charged to Jan 8
        [('a', 1, 1.0, 4.0, 18.0), ('b', 0, 0.0, 3.0, 0.0)]
    """
    return summary_with_report(
        tx, calibration_end, unit, observation_end, zero_amount_purchases=zero_amount_purchases
    )[0]


def summary_with_report(
    tx: pl.DataFrame | pl.LazyFrame,
    calibration_end: date | datetime,
    unit: str = "W",
    observation_end: date | datetime | None = None,
    *,
    zero_amount_purchases: bool = True,
) -> tuple[pl.DataFrame, SummaryReport]:
    """:func:`summary` plus a :class:`SummaryReport` of what was merged, netted and left out.

    Same arguments, frame and errors as :func:`summary`.

    Example:
        >>> from datetime import date
        >>> tx = pl.DataFrame({
        ...     "customer_id": ["a", "a", "a"],
        ...     "order_date": [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 9)],
        ...     "amount": [10.0, 20.0, -5.0],
        ...     "order_id": ["1", "2", "3"],
        ... })
        >>> frame, report = summary_with_report(tx, date(2024, 1, 31))
        >>> report.n_returns, report.returns_amount, frame["monetary"].to_list()
        (1, 5.0, [15.0])
    """
    unit_days = days_per_unit(unit)
    cal_end = as_day(calibration_end, "calibration_end")
    obs_end = None if observation_end is None else as_day(observation_end, "observation_end")
    if obs_end is not None and obs_end <= cal_end:
        raise DataError(f"The holdout end ({obs_end}) must be after the calibration end ({cal_end}).",
            code="clv_holdout_order", params={"start": str(cal_end), "end": str(obs_end)})
    last_day = obs_end or cal_end

    lf = tx.lazy() if isinstance(tx, pl.DataFrame) else tx
    schema = lf.collect_schema()
    for name in (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT):
        if name not in schema:
            raise DataError(f"The transactions have no '{name}' column.")
    if not isinstance(schema[C.ORDER_DATE], (pl.Date, pl.Datetime)):
        raise DataError(f"The '{C.ORDER_DATE}' column must hold dates; found {schema[C.ORDER_DATE]}.")

    rows = lf.select(
        pl.col(C.CUSTOMER_ID),
        pl.col(C.ORDER_DATE).dt.date().alias("_day"),
        pl.col(C.AMOUNT).cast(pl.Float64).alias("_amount"),
    )
    in_cal = pl.col("_day") <= cal_end
    in_hold = (pl.col("_day") > cal_end) & (pl.col("_day") <= last_day)
    is_return = pl.col("_amount") < 0
    is_purchase = (pl.col("_amount") >= 0) if zero_amount_purchases else (pl.col("_amount") > 0)
    # Collected once: the calibration, holdout and return-charging branches all read it, and
    # the optimiser does not share it between them on its own (about 2x slower on 1.3M rows).
    periods = (
        rows.filter(is_purchase & (pl.col("_day") <= last_day))
        .group_by(C.CUSTOMER_ID, "_day")
        .agg(pl.col("_amount").sum().alias("_spend"))
        .collect()
        .lazy()
    )
    charged, unmatched = _charge_returns(
        rows.filter(pl.col("_day") <= last_day, pl.col(C.CUSTOMER_ID).is_not_null()), periods, period_end=cal_end
    )
    counts_lf = rows.select(
        n_purchase_rows=(is_purchase & in_cal).sum(),
        n_returns=(is_return & in_cal).sum(),
        returns_amount=pl.when(is_return & in_cal).then(-pl.col("_amount")).otherwise(0.0).sum(),
        n_returns_holdout=(is_return & in_hold).sum(),
        n_ignored=(
            pl.col("_day").is_null()
            | pl.col("_amount").is_null()
            | ((pl.col("_amount") == 0) & (not zero_amount_purchases))
        ).sum(),
    )
    unmatched_lf = unmatched.filter(~pl.col("_holdout")).select(
        pl.col("_n").sum().alias("n"), (-pl.col("_amount")).sum().alias("amount")
    )

    cal = (
        periods.filter(in_cal)
        .group_by(C.CUSTOMER_ID)
        .agg(
            pl.len().alias("_n"),
            pl.col("_day").min().alias("_first"),
            pl.col("_day").max().alias("_last"),
            pl.col("_spend").sum().alias("_total"),
            pl.col("_spend").sort_by("_day").first().alias("_first_spend"),
        )
        .join(charged.filter(~pl.col("_holdout")), on=C.CUSTOMER_ID, how="left")
    )
    frame_lf = cal.select(
        pl.col(C.CUSTOMER_ID),
        (pl.col("_n") - 1).cast(pl.Int64).alias(FREQUENCY),
        (pl.col("_last") - pl.col("_first")).dt.total_days().alias(RECENCY),
        (pl.lit(cal_end) - pl.col("_first")).dt.total_days().alias(T),
        pl.when(pl.col("_n") > 1)
        .then(
            net_money(pl.col("_total") - pl.col("_first_spend") + pl.col("_repeat_returned").fill_null(0.0)) / (pl.col("_n") - 1)
        )
        .otherwise(0.0)
        .alias(MONETARY),
    )
    n_new_lf = None
    if obs_end is not None:
        hold = (
            periods.filter(in_hold)
            .group_by(C.CUSTOMER_ID)
            .agg(pl.len().cast(pl.Int64).alias(FREQUENCY_HOLDOUT), pl.col("_spend").sum().alias("_gross"))
            .join(charged.filter(pl.col("_holdout")), on=C.CUSTOMER_ID, how="left")
            .select(
                C.CUSTOMER_ID,
                FREQUENCY_HOLDOUT,
                (net_money(pl.col("_gross") + pl.col("_returned").fill_null(0.0)) / pl.col(FREQUENCY_HOLDOUT))
                .alias(MONETARY_HOLDOUT),
            )
        )
        frame_lf = frame_lf.join(hold, on=C.CUSTOMER_ID, how="left").with_columns(
            pl.col(FREQUENCY_HOLDOUT).fill_null(0),
            pl.col(MONETARY_HOLDOUT).fill_null(0.0),
            pl.lit((obs_end - cal_end).days / unit_days, dtype=pl.Float64).alias(DURATION_HOLDOUT),
        )
        n_new_lf = hold.join(cal, on=C.CUSTOMER_ID, how="anti").select(pl.len().alias("n")).lazy()
    frame_lf = frame_lf.sort(C.CUSTOMER_ID)

    jobs = [frame_lf, counts_lf, unmatched_lf] + ([n_new_lf] if n_new_lf is not None else [])
    frame, counts, unmatched_counts, *rest = pl.collect_all(jobs)
    # Whole days to the unit outside the query: the same division whatever plan the query
    # took, so equal inputs give bit-identical recency and T.
    frame = frame.with_columns(frame[RECENCY] / unit_days, frame[T] / unit_days)
    if frame.height == 0:
        raise DataError(f"No purchases on or before {cal_end}; choose a later calibration end.",
            code="clv_no_purchases", params={"date": str(cal_end)})
    c = counts.row(0, named=True)
    u = unmatched_counts.row(0, named=True)
    n_periods = int(frame[FREQUENCY].sum()) + frame.height
    report = SummaryReport(
        calibration_end=cal_end,
        observation_end=obs_end,
        unit=unit,
        n_customers=frame.height,
        n_repeat_buyers=int((frame[FREQUENCY] > 0).sum()),
        n_purchase_rows=int(c["n_purchase_rows"]),
        n_purchase_periods=n_periods,
        n_same_day_merged=int(c["n_purchase_rows"]) - n_periods,
        n_returns=int(c["n_returns"]),
        returns_amount=float(c["returns_amount"]),
        n_returns_unmatched=int(u["n"] or 0),
        returns_amount_unmatched=float(u["amount"] or 0.0),
        n_returns_holdout=int(c["n_returns_holdout"]),
        n_ignored_rows=int(c["n_ignored"]),
        n_new_customers_holdout=int(rest[0]["n"][0]) if rest else 0,
    )
    return frame, report


def net_money(total: pl.Expr) -> pl.Expr:
    """A net spend total as the spend model uses it: rounded to 1e-6, floored at 0.

    The rounding makes a purchase returned in full exactly 0 whatever order the amounts were
    added in (402.55 + 375.6 - 375.6 - 402.55 is 5.7e-14 in floating point), so every caller
    that nets returns agrees on who has no spend left.

    Example:
        >>> pl.select(net_money(pl.lit(402.55) + 375.6 - 375.6 - 402.55)).item()
        0.0
    """
    return total.round(6).clip(0.0, None)


def _charge_returns(
    rows: pl.LazyFrame, bought: pl.LazyFrame, *, period_end: date
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Charge each return to the customer's latest purchase day on or before it.

    A return after ``period_end`` is charged only to a purchase day after it too, so calibration
    returns never reach holdout purchases and the other way round.

    Args:
        rows: customer_id, ``_day`` (Date), ``_amount`` (Float64), already cut at the last day.
        bought: purchase days: customer_id, ``_day``.
        period_end: last day of the calibration period.

    Returns:
        Two lazy frames. Charged returns per customer and period: customer_id, ``_holdout``
        (Boolean), ``_repeat_returned`` (negative total charged to purchase days other than the
        customer's first in that period), ``_returned`` (negative total charged in all).
        Returns with nothing to charge them to: ``_n`` rows and ``_amount`` (negative total),
        per customer, day and period.
    """
    holdout = pl.col("_day") > period_end
    returned = (
        rows.filter(pl.col("_amount") < 0)
        .group_by(C.CUSTOMER_ID, "_day")
        .agg(pl.col("_amount").sum(), pl.len().alias("_n"))
        .with_columns(holdout.alias("_holdout"))
        .sort("_day")
    )
    # Only customers with a return need their purchase days searched: a few percent of rows.
    candidates = (
        bought.join(returned.select(C.CUSTOMER_ID).unique(), on=C.CUSTOMER_ID, how="semi")
        .select(C.CUSTOMER_ID, holdout.alias("_holdout"), pl.col("_day").alias("_pday"))
        .with_columns(pl.col("_pday").min().over(C.CUSTOMER_ID, "_holdout").alias("_first_pday"))
        .sort("_pday")
    )
    matched = returned.join_asof(
        candidates,
        left_on="_day",
        right_on="_pday",
        by=[C.CUSTOMER_ID, "_holdout"],
        strategy="backward",
        check_sortedness=False,
    )
    charged = (
        matched.filter(pl.col("_pday").is_not_null())
        .group_by(C.CUSTOMER_ID, "_holdout")
        .agg(
            pl.col("_amount").filter(pl.col("_pday") != pl.col("_first_pday")).sum().alias("_repeat_returned"),
            pl.col("_amount").sum().alias("_returned"),
        )
    )
    return charged, matched.filter(pl.col("_pday").is_null()).select("_holdout", "_n", "_amount")
