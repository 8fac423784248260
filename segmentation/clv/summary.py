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
# Prediction columns

@dataclass(frozen=True)
class SummaryReport:
    """What :func:`summary_with_report` used and left out.

    Attributes:
        calibration_end: last day of the calibration period (inclusive).
        observation_end: last day of the holdout period (inclusive), or None.
        unit: time unit of recency and T ("D", "W" or "M").
        n_customers: customers in the summary (first purchase on or before calibration_end).
        n_repeat_buyers: customers with frequency > 0.
        n_purchase_rows: calibration rows counted as purchases (amount > 0, or >= 0 with
            zero_amount_purchases).
        n_purchase_periods: distinct (customer, day) purchase periods in calibration.
        n_same_day_merged: purchase rows merged into another purchase of the same customer
            on the same day (n_purchase_rows - n_purchase_periods).
        n_returns_excluded: calibration rows with amount < 0; left out of the spend model.
        returns_amount_excluded: their total amount, as a positive number.
        n_returns_excluded_holdout: holdout rows with amount < 0 (0 without a holdout).
        n_ignored_rows: rows with a missing amount or date, or amount 0 (unless counted as
            purchases), not used anywhere.
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
    n_returns_excluded: int
    returns_amount_excluded: float
    n_returns_excluded_holdout: int
    n_ignored_rows: int
    n_new_customers_holdout: int


def summary(
    tx: pl.DataFrame | pl.LazyFrame,
    calibration_end: date | datetime,
    unit: str = "W",
    observation_end: date | datetime | None = None,
    *,
    zero_amount_purchases: bool = False,
) -> pl.DataFrame:
    """One row per customer with the inputs of the BG/NBD and Gamma-Gamma models.

    Only purchases count: rows with ``amount > 0``. All purchases of a customer on the same day
    form one purchase period (their amounts are added), because the models describe how often
    a customer comes back, not how many lines an order has. Returns (``amount < 0``) are left
    out entirely; :func:`summary_with_report` says how many.

    Columns (recency and T in ``unit``, counted from the customer's first purchase day):

    - ``customer_id``: as in ``tx``; customers whose first purchase is on or before
      ``calibration_end``.
    - ``frequency`` (Int64): number of *repeat* purchase periods in the calibration period, i.e.
      purchase days minus one. A customer who bought once has frequency 0.
    - ``recency`` (Float64): the customer's age at the last purchase, i.e. time from the first to
      the last purchase day. It is *not* the time since the last purchase. 0 when frequency is 0.
    - ``T`` (Float64): the customer's age at the end of calibration: ``calibration_end`` minus
      the first purchase day.
    - ``monetary`` (Float64): mean spend of the repeat purchase periods (the first purchase is
      excluded, as in the Gamma-Gamma model); 0 when frequency is 0.

    With ``observation_end`` (the holdout period is the days after ``calibration_end`` up to and
    including ``observation_end``) three more columns follow:
    ``frequency_holdout`` (Int64, purchase periods in the holdout), ``monetary_holdout``
    (Float64, their mean spend, 0 if none) and ``duration_holdout`` (Float64, holdout length in
    ``unit``).

    Args:
        tx: canonical transactions (customer_id, order_date Date or Datetime, amount), eager
            or lazy. Datetimes are reduced to their calendar day.
        calibration_end: last day of the calibration period, inclusive.
        unit: "W" (weeks, default), "D" (days) or "M" (months of 365.25/12 days).
        observation_end: last day of an optional holdout period, inclusive.
        zero_amount_purchases: count rows with amount 0 as purchases (spend 0) instead of
            ignoring them. Free orders are real visits in some businesses; the published CDNOW
            summary counts them.

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
        >>> summary(tx, date(2024, 1, 29)).rows()
        [('a', 1, 1.0, 4.0, 25.0), ('b', 0, 0.0, 3.0, 0.0)]
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
    zero_amount_purchases: bool = False,
) -> tuple[pl.DataFrame, SummaryReport]:
    """:func:`summary` plus a :class:`SummaryReport` of what was merged and left out.

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
        >>> report.n_returns_excluded, report.returns_amount_excluded
        (1, 5.0)
    """
    unit_days = days_per_unit(unit)
    cal_end = as_day(calibration_end, "calibration_end")
    obs_end = None if observation_end is None else as_day(observation_end, "observation_end")
    if obs_end is not None and obs_end <= cal_end:
        raise DataError(f"The holdout end ({obs_end}) must be after the calibration end ({cal_end}).")
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

    periods = (
        rows.filter(is_purchase & (pl.col("_day") <= last_day))
        .group_by(C.CUSTOMER_ID, "_day")
        .agg(pl.col("_amount").sum().alias("_spend"))
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
    )
    frame_lf = cal.select(
        pl.col(C.CUSTOMER_ID),
        (pl.col("_n") - 1).cast(pl.Int64).alias(FREQUENCY),
        ((pl.col("_last") - pl.col("_first")).dt.total_days() / unit_days).alias(RECENCY),
        ((pl.lit(cal_end) - pl.col("_first")).dt.total_days() / unit_days).alias(T),
        pl.when(pl.col("_n") > 1)
        .then((pl.col("_total") - pl.col("_first_spend")) / (pl.col("_n") - 1))
        .otherwise(0.0)
        .alias(MONETARY),
    )
    n_new_lf = None
    if obs_end is not None:
        hold = (
            periods.filter(in_hold)
            .group_by(C.CUSTOMER_ID)
            .agg(
                pl.len().cast(pl.Int64).alias(FREQUENCY_HOLDOUT),
                pl.col("_spend").mean().alias(MONETARY_HOLDOUT),
            )
        )
        frame_lf = frame_lf.join(hold, on=C.CUSTOMER_ID, how="left").with_columns(
            pl.col(FREQUENCY_HOLDOUT).fill_null(0),
            pl.col(MONETARY_HOLDOUT).fill_null(0.0),
            pl.lit((obs_end - cal_end).days / unit_days, dtype=pl.Float64).alias(DURATION_HOLDOUT),
        )
        n_new_lf = hold.join(cal, on=C.CUSTOMER_ID, how="anti").select(pl.len().alias("n")).lazy()
    frame_lf = frame_lf.sort(C.CUSTOMER_ID)

    jobs = [frame_lf, counts_lf] + ([n_new_lf] if n_new_lf is not None else [])
    frame, counts, *rest = pl.collect_all(jobs)
    if frame.height == 0:
        raise DataError(
            f"No purchases (rows with a positive amount) on or before {cal_end}; "
            "choose a later calibration end."
        )
    c = counts.row(0, named=True)
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
        n_returns_excluded=int(c["n_returns"]),
        returns_amount_excluded=float(c["returns_amount"]),
        n_returns_excluded_holdout=int(c["n_returns_holdout"]),
        n_ignored_rows=int(c["n_ignored"]),
        n_new_customers_holdout=int(rest[0]["n"][0]) if rest else 0,
    )
    return frame, report
