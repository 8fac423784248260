"""Lifetime value: both models combined, discounted over a horizon; scoring customers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

from .. import columns as C
from ..errors import DataError
from .bgnbd import BGNBDParams, fit_bgnbd
from .common import as_array, check_rft, days_per_unit
from .diagnostics import REPEAT_BUYER, FitWarning, buyer_signals, fit_warnings, typical_gap_days
from .gamma_gamma import GammaGammaParams, fit_gamma_gamma
from .summary import FREQUENCY, MONETARY, RECENCY, SummaryReport, T, summary_with_report

# Prediction columns
P_ALIVE = C.P_ALIVE
CLV = C.CLV
EXPECTED_PURCHASES = "expected_purchases"
EXPECTED_AVG_SPEND = "expected_avg_spend"


def customer_lifetime_value(
    bgnbd: BGNBDParams,
    gamma_gamma: GammaGammaParams,
    summary_frame: pl.DataFrame | pl.LazyFrame,
    *,
    horizon_days: float = 365,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    unit: str = "W",
    step_days: float = 30,
) -> pl.DataFrame:
    """Discounted value of each customer's expected purchases over the next ``horizon_days``.

    The horizon is cut into steps of ``step_days`` (30 by default, the last step may be
    shorter). For each step k ending on day d_k::

        clv += margin * spend * (E[Y(d_k)] - E[Y(d_{k-1})]) / (1 + discount_rate) ** (d_k / 365)

    where E[Y(d)] is :meth:`BGNBDParams.expected_purchases` over the first d days and spend is
    :meth:`GammaGammaParams.conditional_expected_average_profit`: each step's purchases are
    valued as if paid at the end of that step. This is the discounted-sum approach of the
    lifetimes package, with the rate given per year instead of per month.

    Args:
        bgnbd, gamma_gamma: fitted models.
        summary_frame: output of :func:`summary` (customer_id, frequency, recency, T, monetary),
            in the same ``unit`` the BG/NBD model was fitted in.
        horizon_days: how far ahead to value purchases, in days (> 0).
        discount_rate: *annual* discount rate (0.10 = 10 % a year; 0 for no discounting).
        margin: share of spend that is profit (1.0 values revenue; 0.3 values a 30 % margin).
        unit: time unit of the summary's recency and T ("D", "W" or "M").
        step_days: length of a discounting step in days.

    Returns:
        A new frame, one row per customer in summary order: customer_id, p_alive,
        expected_purchases (over the whole horizon), expected_avg_spend, clv (all Float64).

    Raises:
        DataError: horizon, rate, margin or step out of range, or an unknown unit.
    """
    frame = summary_frame.collect() if isinstance(summary_frame, pl.LazyFrame) else summary_frame
    scores = predict_clv(
        bgnbd,
        gamma_gamma,
        frame[FREQUENCY],
        frame[RECENCY],
        frame[T],
        frame[MONETARY],
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        margin=margin,
        unit=unit,
        step_days=step_days,
    )
    return scores.select(frame[C.CUSTOMER_ID], pl.all())


def predict_clv(
    bgnbd: BGNBDParams,
    gamma_gamma: GammaGammaParams,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary: Any,
    *,
    horizon_days: float = 365,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    unit: str = "W",
    step_days: float = 30,
) -> pl.DataFrame:
    """P(alive), expected purchases, expected spend and CLV for given model inputs.

    The arithmetic of :func:`customer_lifetime_value` on bare columns instead of a summary
    frame, so the same customer can be scored at several dates (one row per date, each with the
    inputs as of that date) against one fitted model. Vectorised over all rows; rows with the
    same (frequency, T) share the expensive hypergeometric terms.

    Args:
        bgnbd, gamma_gamma: fitted models (fitted in ``unit``).
        frequency: repeat purchase periods x (whole numbers >= 0).
        recency: age at the last purchase t_x (0 when x is 0); *not* the time since it.
        T: age at the scoring date (>= recency).
        monetary: mean spend of the repeat purchase periods (0 when x is 0).
        horizon_days, discount_rate, margin, unit, step_days: as in
            :func:`customer_lifetime_value`.

    Returns:
        A new frame with one row per input row, in input order: p_alive, expected_purchases,
        expected_avg_spend, clv (Float64).

    Raises:
        DataError: options out of range, inputs of different lengths or invalid (see
            :func:`fit_bgnbd`).

    Example:
        >>> bg = BGNBDParams(r=0.25, alpha=4.0, a=0.8, b=2.5, log_likelihood=0.0,
        ...                  n_customers=0, n_repeat_buyers=0, converged=True)
        >>> gg = GammaGammaParams(p=6.0, q=4.0, v=15.0, log_likelihood=0.0, n_customers=0,
        ...                       converged=True)
        >>> out = predict_clv(bg, gg, [0, 3], [0.0, 20.0], [30.0, 30.0], [0.0, 40.0])
        >>> [round(v, 4) for v in out["p_alive"]]
        [1.0, 0.6446]
    """
    unit_days = days_per_unit(unit)
    if horizon_days <= 0 or step_days <= 0:
        raise DataError("The CLV horizon and step must be positive numbers of days.")
    if not discount_rate > -1.0:
        raise DataError("The discount rate must be greater than -100 %.")
    if margin < 0:
        raise DataError("The margin must not be negative.")
    x, tx, t_cal = check_rft(frequency, recency, T)
    m = as_array(monetary, "monetary").ravel()
    if m.shape != x.shape:
        raise DataError("frequency and monetary must have the same length.")
    spend = gamma_gamma.conditional_expected_average_profit(x, m)
    p_alive = bgnbd.p_alive(x, tx, t_cal)

    # The tolerance keeps a horizon of exactly k steps from growing a sliver of a step k + 1.
    n_steps = max(1, math.ceil(horizon_days / step_days - 1e-9))
    ends = np.minimum(step_days * np.arange(1, n_steps + 1, dtype=np.float64), float(horizon_days))
    if_alive = bgnbd.purchases_if_alive(ends / unit_days, x, t_cal)
    steps = np.diff(if_alive, axis=0, prepend=0.0)
    discount = (1.0 + discount_rate) ** (-ends / 365.0)
    purchases = p_alive * if_alive[-1]
    value = margin * spend * p_alive * np.einsum("k,kn->n", discount, steps)
    return pl.DataFrame(
        {
            P_ALIVE: p_alive,
            EXPECTED_PURCHASES: purchases,
            EXPECTED_AVG_SPEND: spend,
            CLV: value,
        }
    )


@dataclass(frozen=True)
class ClvModel:
    """Fitted models plus valuation settings: all it takes to score any customer at any date.

    :func:`score_customers` returns one as ``result.model``. Holding it fixed and scoring each
    date's (x, t_x, T, m) with :meth:`predict` gives P(alive) and CLV over time in which only
    the customer's own history moves the numbers, not a re-fit on a changing population (see
    :func:`segmentation.snapshots.snapshots`).

    Attributes:
        bgnbd, gamma_gamma: the fitted models.
        unit: time unit the models were fitted in ("D", "W" or "M").
        horizon_days, discount_rate, margin, step_days: as in :func:`customer_lifetime_value`.
        zero_amount_purchases: whether rows with amount 0 counted as purchases (see
            :func:`summary`); scoring at other dates must count purchases the same way.
        fitted_on: last day of the history the models were fitted on (None if unknown).
    """

    bgnbd: BGNBDParams
    gamma_gamma: GammaGammaParams
    unit: str = "W"
    horizon_days: float = 365
    discount_rate: float = 0.10
    margin: float = 1.0
    step_days: float = 30
    zero_amount_purchases: bool = True
    fitted_on: date | None = None

    @property
    def unit_days(self) -> float:
        """Length of the model's time unit in days."""
        return days_per_unit(self.unit)

    def predict(self, frequency: Any, recency: Any, T: Any, monetary: Any) -> pl.DataFrame:
        """:func:`predict_clv` with this model's settings (recency and T in ``unit``).

        Returns:
            p_alive, expected_purchases, expected_avg_spend, clv per input row.
        """
        return predict_clv(
            self.bgnbd,
            self.gamma_gamma,
            frequency,
            recency,
            T,
            monetary,
            horizon_days=self.horizon_days,
            discount_rate=self.discount_rate,
            margin=self.margin,
            unit=self.unit,
            step_days=self.step_days,
        )


@dataclass(frozen=True)
class ClvResult:
    """Everything :func:`score_customers` computed.

    Attributes:
        frame: customer_id, p_alive, expected_purchases, expected_avg_spend, clv,
            repeat_buyer, days_since_last_purchase, past_typical_gap (see
            :func:`score_customers`).
        summary: the model inputs per customer (see :func:`summary`).
        bgnbd, gamma_gamma: the fitted models.
        report: what the summary merged, netted and left out (returns, same-day purchases).
        model: the fitted models with the valuation settings used, to score other dates
            the same way (see :class:`ClvModel`).
        warnings: reasons to distrust the numbers, most serious first (see
            :func:`segmentation.clv.diagnostics.fit_warnings`); empty when none.
        typical_gap_days: median over repeat buyers of their average days between purchases
            (see :func:`segmentation.clv.diagnostics.typical_gap_days`), None without repeat
            buyers.
    """

    frame: pl.DataFrame
    summary: pl.DataFrame
    bgnbd: BGNBDParams
    gamma_gamma: GammaGammaParams
    report: SummaryReport
    model: ClvModel | None = None
    warnings: tuple[FitWarning, ...] = ()
    typical_gap_days: float | None = None

    @property
    def trusted(self) -> bool:
        """True when there is no fit warning."""
        return not self.warnings


def score_customers(
    tx: pl.DataFrame | pl.LazyFrame,
    *,
    as_of: date | datetime | None = None,
    horizon_days: int = 365,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    penalizer: float = 0.0,
    unit: str = "W",
    zero_amount_purchases: bool = True,
) -> ClvResult:
    """Fit both models on all history up to ``as_of`` and score every customer.

    Args:
        tx: canonical transactions, eager or lazy.
        as_of: last day of history to use, inclusive; None means the last order date in ``tx``.
        horizon_days, discount_rate, margin: see :func:`customer_lifetime_value`.
        penalizer: L2 penalty of the BG/NBD fit (see :func:`fit_bgnbd`).
        unit: time unit for fitting ("W" default; the results do not depend on it beyond
            rounding, since dates are whole days).
        zero_amount_purchases: see :func:`summary`.

    Returns:
        ClvResult; ``result.frame`` has one row per customer with a purchase on or before
        ``as_of``: customer_id, p_alive, expected_purchases (over ``horizon_days``),
        expected_avg_spend, clv (Float64), then

        - ``repeat_buyer`` (Boolean): bought on two days or more. Only for them does p_alive
          carry information: the model gives every one-time buyer p_alive = 1.
        - ``days_since_last_purchase`` (Int64): days from the last purchase day to ``as_of``.
        - ``past_typical_gap`` (Boolean): for one-time buyers, whether the days since their only
          purchase exceed ``result.typical_gap_days`` (the median over repeat buyers of their
          average days between purchases); null for repeat buyers.

        ``result.warnings`` lists reasons to distrust the fit: a parameter on its limit, a fit
        that did not settle, or P(alive) above 0.7 for every repeat buyer.

    Raises:
        DataError: no purchases, too few repeat buyers to fit, or a fit that fails.

    Example:
        >>> result = score_customers(tx, as_of=date(2024, 6, 30))  # doctest: +SKIP
        >>> result.frame.columns  # doctest: +SKIP
        ['customer_id', 'p_alive', 'expected_purchases', 'expected_avg_spend', 'clv', 'repeat_buyer', 'days_since_last_purchase', 'past_typical_gap']
    """
    if as_of is None:
        lf = tx.lazy() if isinstance(tx, pl.DataFrame) else tx
        as_of = lf.select(pl.col(C.ORDER_DATE).max()).collect().item()
        if as_of is None:
            raise DataError("The transactions have no dates.", code="no_transactions")
    frame, report = summary_with_report(tx, as_of, unit, zero_amount_purchases=zero_amount_purchases)
    bg = fit_bgnbd(frame[FREQUENCY], frame[RECENCY], frame[T], penalizer=penalizer)
    gg = fit_gamma_gamma(frame[FREQUENCY], frame[MONETARY])
    model = ClvModel(
        bgnbd=bg,
        gamma_gamma=gg,
        unit=unit,
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        margin=margin,
        zero_amount_purchases=zero_amount_purchases,
        fitted_on=report.calibration_end,
    )
    scores = customer_lifetime_value(
        bg,
        gg,
        frame,
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        margin=margin,
        unit=unit,
    )
    gap = typical_gap_days(frame, unit_days=days_per_unit(unit))
    signals = buyer_signals(frame, unit_days=days_per_unit(unit), gap_days=gap)
    scores = pl.concat([scores, signals], how="horizontal")
    repeat_alive = scores.filter(pl.col(REPEAT_BUYER)).get_column(P_ALIVE)
    warnings = fit_warnings(
        bg, gg, min_p_alive_repeat=float(repeat_alive.min()) if repeat_alive.len() else None
    )
    return ClvResult(
        frame=scores,
        summary=frame,
        bgnbd=bg,
        gamma_gamma=gg,
        report=report,
        model=model,
        warnings=warnings,
        typical_gap_days=gap,
    )
