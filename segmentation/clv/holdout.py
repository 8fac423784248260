"""Holdout validation: fit BG/NBD on a calibration period, compare with what happened next."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from ..errors import DataError
from ..summary import TRUST_FAIR, TRUST_GOOD
from .bgnbd import BGNBDParams, fit_bgnbd
from .diagnostics import FitWarning, fit_warnings
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

# Verdict on the holdout error |predicted - actual| / actual: up to GOOD the forecast is good
# enough to plan with, up to ROUGH it shows direction and size only, beyond that it should not
# be used for planning.
HOLDOUT_GOOD_ERROR = TRUST_GOOD
HOLDOUT_ROUGH_ERROR = TRUST_FAIR
VERDICT_LEVELS = ("good", "rough", "do_not_use")


@dataclass(frozen=True)
class HoldoutVerdict:
    """The holdout check in words.

    Attributes:
        level: "good" (error within :data:`HOLDOUT_GOOD_ERROR`), "rough" (within
            :data:`HOLDOUT_ROUGH_ERROR`) or "do_not_use" (larger, or no holdout purchases to
            compare with).
        message_en, message_zh: one sentence for the page.
    """

    level: str
    message_en: str
    message_zh: str

    def message(self, lang: str) -> str:
        """The message in ``lang`` ("zh" or "en"; anything else gets English)."""
        return self.message_zh if lang == "zh" else self.message_en


def holdout_verdict(relative_error: float) -> HoldoutVerdict:
    """Say in words whether a holdout error is good enough to plan with.

    Args:
        relative_error: (predicted - actual) / actual holdout purchases; NaN when there were
            no actual purchases.

    Returns:
        HoldoutVerdict; the thresholds are :data:`HOLDOUT_GOOD_ERROR` and
        :data:`HOLDOUT_ROUGH_ERROR` on the absolute error.

    Example:
        >>> holdout_verdict(-0.121).level, holdout_verdict(0.05).level, holdout_verdict(0.4).level
        ('rough', 'good', 'do_not_use')
        >>> holdout_verdict(-0.121).message_en
        'Rough: the model predicted 12.1% fewer purchases than happened. Use it for direction and size, not for exact targets.'
    """
    if not math.isfinite(relative_error):
        return HoldoutVerdict(
            "do_not_use",
            "Cannot check: nobody bought in the holdout period, so there is nothing to compare the "
            "forecast with. Do not use it for planning; choose a longer holdout.",
            "无法检验：验证期内没有任何购买，预测无从比较。请勿用于规划；请选择更长的验证期。",
        )
    err = abs(relative_error)
    pct = f"{err:.1%}"
    side_en = "fewer" if relative_error < 0 else "more"
    side_zh = "少" if relative_error < 0 else "多"
    said_en = f"the model predicted {pct} {side_en} purchases than happened"
    said_zh = f"模型预测的购买次数比实际{side_zh} {pct}"
    if err <= HOLDOUT_GOOD_ERROR:
        return HoldoutVerdict(
            "good",
            f"Good: {said_en}. Good enough to plan with.",
            f"良好：{said_zh}，可以用于规划。",
        )
    if err <= HOLDOUT_ROUGH_ERROR:
        return HoldoutVerdict(
            "rough",
            f"Rough: {said_en}. Use it for direction and size, not for exact targets.",
            f"粗略：{said_zh}。可用于判断方向和量级，不宜用作精确目标。",
        )
    return HoldoutVerdict(
        "do_not_use",
        f"Do not use for planning: {said_en}.",
        f"请勿用于规划：{said_zh}。",
    )


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
        report: what the summary merged, netted and left out.
        verdict: the error in words (see :func:`holdout_verdict`).
        warnings: reasons to distrust the calibration fit (see
            :func:`segmentation.clv.diagnostics.fit_warnings`); a fit with warnings gets the
            verdict "do_not_use" whatever its error.
    """

    frame: pl.DataFrame
    predicted_total: float
    actual_total: float
    relative_error: float
    bgnbd: BGNBDParams
    summary: pl.DataFrame
    report: SummaryReport
    verdict: HoldoutVerdict | None = None
    warnings: tuple[FitWarning, ...] = ()


def holdout_check(
    tx: pl.DataFrame | pl.LazyFrame,
    *,
    calibration_end: date | datetime,
    observation_end: date | datetime,
    unit: str = "W",
    penalizer: float = 0.0,
    max_group: int = 7,
    zero_amount_purchases: bool = True,
) -> HoldoutResult:
    """Fit BG/NBD on the calibration period and compare its forecast with the holdout.

    The customers are those with a purchase on or before ``calibration_end``; each one's
    forecast is :meth:`BGNBDParams.expected_purchases` over the holdout length. A model worth
    trusting predicts the holdout total closely and follows the actual means across groups;
    ``result.verdict`` says which (good within 10 %, rough within 25 %, otherwise do not use for
    planning; a fit with warnings is never better than "do not use").

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
        -0.121
        >>> check.verdict.level  # doctest: +SKIP
        'rough'
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
    repeat = frame[FREQUENCY] > 0
    alive = bg.p_alive(frame[FREQUENCY].filter(repeat), frame[RECENCY].filter(repeat), frame[T].filter(repeat))
    warnings = fit_warnings(bg, min_p_alive_repeat=float(alive.min()) if alive.size else None)
    verdict = holdout_verdict(rel)
    if warnings and verdict.level != "do_not_use":
        verdict = HoldoutVerdict(
            "do_not_use",
            f"Do not use for planning: the holdout error ({abs(rel):.1%}) is within range, but the "
            f"fit itself is not trustworthy. {warnings[0].message_en}",
            f"请勿用于规划：验证误差（{abs(rel):.1%}）在可接受范围内，但模型拟合本身不可靠。{warnings[0].message_zh}",
        )
    return HoldoutResult(
        frame=table,
        predicted_total=pred,
        actual_total=actual,
        relative_error=rel,
        bgnbd=bg,
        summary=frame,
        report=report,
        verdict=verdict,
        warnings=warnings,
    )
