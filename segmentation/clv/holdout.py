"""Holdout validation: fit BG/NBD on a calibration period, compare with what happened next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from ..errors import DataError
from .bgnbd import BGNBDParams, fit_bgnbd
from .summary import (
    DURATION_HOLDOUT,
    FREQUENCY,
    FREQUENCY_HOLDOUT,
    RECENCY,
    SummaryReport,
    T,
    summary_with_report,
)

# Holdout check columns
REPEAT_PURCHASES = "calibration_repeat_purchases"
CUSTOMERS = "customers"
ACTUAL_MEAN = "actual_mean"
PREDICTED_MEAN = "predicted_mean"
ACTUAL_TOTAL = "actual_total"
PREDICTED_TOTAL = "predicted_total"


@dataclass(frozen=True)
class HoldoutResult:
    """Predicted vs actual purchases in a holdout period.

    Attributes:
        frame: one row per group of calibration repeat purchases ("0", "1", ..., "6", "7+"):
            calibration_repeat_purchases (Enum in that order), customers (Int64), actual_mean and
            predicted_mean (purchases per customer in the holdout), actual_total and
            predicted_total (Float64).
        predicted_total, actual_total: holdout purchases over all customers.
        relative_error: (predicted_total - actual_total) / actual_total (NaN if actual is 0).
        bgnbd: the model fitted on the calibration period.
        summary: calibration and holdout columns per customer (see :func:`summary`).
        report: what the summary merged and left out.
    """

    frame: pl.DataFrame
    predicted_total: float
    actual_total: float
    relative_error: float
    bgnbd: BGNBDParams
    summary: pl.DataFrame
    report: SummaryReport


def holdout_check(
    tx: pl.DataFrame | pl.LazyFrame,
    *,
    calibration_end: date | datetime,
    observation_end: date | datetime,
    unit: str = "W",
    penalizer: float = 0.0,
    max_group: int = 7,
    zero_amount_purchases: bool = False,
) -> HoldoutResult:
    """Fit BG/NBD on the calibration period and compare its forecast with the holdout.

    The customers are those with a purchase on or before ``calibration_end``; each one's
    forecast is :meth:`BGNBDParams.expected_purchases` over the holdout length. A model worth
    trusting predicts the holdout total within a few percent and follows the actual means
    across groups.

    Args:
        tx: canonical transactions, eager or lazy.
        calibration_end: last day of the calibration period, inclusive.
        observation_end: last day of the holdout period, inclusive.
        unit: time unit for fitting ("W" default).
        penalizer: L2 penalty of the fit.
        max_group: customers with this many or more calibration repeat purchases share the
            last group ("7+" by default).
        zero_amount_purchases: see :func:`summary`.

    Returns:
        HoldoutResult (see its attributes).

    Raises:
        DataError: as :func:`summary` and :func:`fit_bgnbd`.

    Example:
        >>> check = holdout_check(tx, calibration_end=date(1997, 9, 30),
        ...                       observation_end=date(1998, 6, 30))  # doctest: +SKIP
        >>> round(check.relative_error, 3)  # doctest: +SKIP
        -0.012
    """
    if max_group < 1:
        raise DataError("max_group must be at least 1.")
    frame, report = summary_with_report(
        tx, calibration_end, unit, observation_end, zero_amount_purchases=zero_amount_purchases
    )
    bg = fit_bgnbd(frame[FREQUENCY], frame[RECENCY], frame[T], penalizer=penalizer)
    duration = float(frame[DURATION_HOLDOUT][0])
    predicted = bg.expected_purchases(duration, frame[FREQUENCY], frame[RECENCY], frame[T])
    labels = [str(i) for i in range(max_group)] + [f"{max_group}+"]
    groups = pl.Enum(labels)
    per_customer = frame.select(
        pl.when(pl.col(FREQUENCY) >= max_group)
        .then(pl.lit(labels[-1]))
        .otherwise(pl.col(FREQUENCY).cast(pl.String))
        .cast(groups)
        .alias(REPEAT_PURCHASES),
        pl.col(FREQUENCY_HOLDOUT).cast(pl.Float64).alias("_actual"),
        pl.Series("_predicted", predicted),
    )
    table = (
        per_customer.group_by(REPEAT_PURCHASES)
        .agg(
            pl.len().cast(pl.Int64).alias(CUSTOMERS),
            pl.col("_actual").mean().alias(ACTUAL_MEAN),
            pl.col("_predicted").mean().alias(PREDICTED_MEAN),
            pl.col("_actual").sum().alias(ACTUAL_TOTAL),
            pl.col("_predicted").sum().alias(PREDICTED_TOTAL),
        )
        .sort(REPEAT_PURCHASES)
    )
    actual = float(per_customer["_actual"].sum())
    pred = float(predicted.sum())
    rel = (pred - actual) / actual if actual > 0 else float("nan")
    return HoldoutResult(
        frame=table,
        predicted_total=pred,
        actual_total=actual,
        relative_error=rel,
        bgnbd=bg,
        summary=frame,
        report=report,
    )
