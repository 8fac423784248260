"""Customer lifetime value and churn risk: the BG/NBD and Gamma-Gamma models.

RFM scores rank what customers did; these two models predict what they will do:

- **BG/NBD** (Fader, Hardie & Lee, 2005, "Counting your customers the easy way") models how often
  a customer buys and when they silently stop. It gives, per customer, the probability of still
  being active (``p_alive``) and the expected number of purchases in the next period.
- **Gamma-Gamma** (Fader, Hardie & Lee, 2005, "RFM and CLV"; Fader & Hardie, 2013 note) models
  how much a customer spends per purchase, shrinking each customer's average towards the
  population mean according to how many purchases back it up.

Both are fitted by maximum likelihood with :func:`scipy.optimize.minimize` (L-BFGS-B on the log of
the parameters, analytic gradients). Every likelihood and prediction is computed in log space
(``gammaln``, ``betaln``, ``logaddexp``) and the hypergeometric term of the conditional
expectation is used in its Euler-transformed form, so customers with hundreds of purchases give
finite numbers instead of overflow or NaN. Identical (frequency, recency, T) rows are fitted once
with a weight, which keeps a fit on a million customers to about a second.

Typical use::

    result = score_customers(tx, as_of=date(2024, 6, 30), horizon_days=365)
    result.frame        # customer_id, p_alive, expected_purchases, expected_avg_spend, clv
    check = holdout_check(tx, calibration_end=date(2024, 3, 31), observation_end=date(2024, 6, 30))
    check.frame         # predicted vs actual purchases in the holdout, by calibration purchases

Units. ``recency`` and ``T`` are measured in ``unit``: ``"D"`` days, ``"W"`` weeks (7 days, the
unit of the published CDNOW results) or ``"M"`` months (365.25 / 12 days). The fitted ``alpha`` is
in the same unit; every function taking ``horizon_days`` converts with the ``unit`` given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

from . import columns as C
from .errors import DataError

__all__ = [
    "BGNBDParams",
    "ClvModel",
    "ClvResult",
    "GammaGammaParams",
    "HoldoutResult",
    "SummaryReport",
    "customer_lifetime_value",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "holdout_check",
    "predict_clv",
    "score_customers",
    "summary",
    "summary_with_report",
]

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
P_ALIVE = C.P_ALIVE
CLV = C.CLV
EXPECTED_PURCHASES = "expected_purchases"
EXPECTED_AVG_SPEND = "expected_avg_spend"
# Holdout check columns
REPEAT_PURCHASES = "calibration_repeat_purchases"
CUSTOMERS = "customers"
ACTUAL_MEAN = "actual_mean"
PREDICTED_MEAN = "predicted_mean"
ACTUAL_TOTAL = "actual_total"
PREDICTED_TOTAL = "predicted_total"

UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}

MIN_CUSTOMERS = 20
MIN_REPEAT_BUYERS = 10
# Log-parameter box: wide enough for any sensible data in days, weeks or months, narrow enough
# that exp() never overflows while the optimiser explores.
_LOG_BOUND = 18.0
# A fit whose gradient (of the mean log-likelihood, per log-parameter) is below this is an
# optimum even if L-BFGS-B stopped on a line-search precision warning.
_GRAD_TOL = 1e-4


# --------------------------------------------------------------------------------------------
# Summary: transactions -> frequency / recency / T / monetary
# --------------------------------------------------------------------------------------------


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
    unit_days = _unit_days(unit)
    cal_end = _as_day(calibration_end, "calibration_end")
    obs_end = None if observation_end is None else _as_day(observation_end, "observation_end")
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


# --------------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BGNBDParams:
    """A fitted BG/NBD model.

    Purchase rates are Gamma(r, alpha) across customers (``alpha`` in the summary's time unit);
    after each purchase a customer drops out with a probability that is Beta(a, b) across
    customers.

    Attributes:
        r, alpha, a, b: the model parameters.
        log_likelihood: total log-likelihood of the data at the fitted parameters (without the
            penalty).
        n_customers: customers the model was fitted on; n_repeat_buyers: those with
            frequency > 0.
        converged: the optimiser met its own tolerance. A fit that stopped on a line-search
            precision warning with a near-zero gradient is still returned, with False here;
            a fit that did not reach an optimum raises DataError instead.
        penalizer: the L2 penalty coefficient used.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int
    n_repeat_buyers: int
    converged: bool
    penalizer: float = 0.0

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Probability that each customer is still active at age ``T``.

        ``1 / (1 + [x > 0] * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))``,
        evaluated as a logistic of a log-odds so that large ``x`` cannot overflow. Customers
        without a repeat purchase are active with probability 1: in BG/NBD a customer can only
        drop out right after a purchase.

        Args:
            frequency, recency, T: as in :func:`summary` (Series, arrays or scalars).

        Returns:
            Float64 array of probabilities in (0, 1].
        """
        x, tx, t_cal = _rft(frequency, recency, T)
        return np.exp(-np.logaddexp(0.0, self._log_odds_dead(x, tx, t_cal)))

    def expected_purchases(self, t: float, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Expected number of purchases in the next ``t`` time units, per customer.

        The conditional expectation E[Y(t) | x, t_x, T] of Fader, Hardie & Lee (2005, eq. 10).
        Its Gauss hypergeometric factor is used after Euler's transformation,
        ``2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1-r-x) 2F1(a+b-1-r, a-1; a+b+x-1; z)``, whose
        series has fixed small numerators and a denominator growing with ``x``, so it stays
        finite for customers with any number of purchases.

        Args:
            t: length of the prediction period, in the model's time unit (>= 0).
            frequency, recency, T: as in :func:`summary`.

        Returns:
            Float64 array of expected purchases (>= 0).
        """
        x, tx, t_cal = _rft(frequency, recency, T)
        p_alive = np.exp(-np.logaddexp(0.0, self._log_odds_dead(x, tx, t_cal)))
        return p_alive * self._purchases_if_alive(np.asarray([float(t)]), x, t_cal)[0]

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """Expected purchases E[X(t)] of a new customer in their first ``t`` time units.

        Counts purchases after the first one, as frequency does. Same stable evaluation as
        :meth:`expected_purchases` (it is that expectation with x = t_x = T = 0).

        Returns:
            Float64 array shaped like ``t``.
        """
        ts = np.atleast_1d(np.asarray(t, dtype=np.float64))
        zero = np.zeros(1)
        return self._purchases_if_alive(ts, zero, zero)[:, 0].reshape(np.shape(t))

    # The pieces below are shared by the public methods and customer_lifetime_value.

    def _log_odds_dead(self, x: np.ndarray, tx: np.ndarray, t_cal: np.ndarray) -> np.ndarray:
        # log(P(dead) / P(alive)); -inf for customers without repeat purchases.
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        out = np.full(x.shape, -np.inf)
        rep = x > 0
        xr, txr, tr = x[rep], tx[rep], t_cal[rep]
        # log((alpha+T)/(alpha+t_x)) via log1p: exact when T - t_x is tiny against alpha + t_x.
        out[rep] = math.log(a) - np.log(b + xr - 1.0) + (r + xr) * np.log1p((tr - txr) / (alpha + txr))
        return out

    def _purchases_if_alive(self, ts: np.ndarray, x: np.ndarray, t_cal: np.ndarray) -> np.ndarray:
        """E[purchases in (T, T+t] | alive at T] for each t in ``ts`` and each customer.

        It depends on (x, T) only, so it is evaluated once per distinct pair and broadcast back.
        Returns an array of shape (len(ts), len(x)).
        """
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        # The formula has a removable singularity at a = 1 (0/0); a nudge of 1e-7 changes the
        # result by about that relative amount, far below the model's own uncertainty.
        if abs(a - 1.0) < 1e-7:
            a = 1.0 + math.copysign(1e-7, a - 1.0 if a != 1.0 else 1.0)
        (ux, ut), inverse, _ = _unique_rows(x, t_cal)
        out = np.empty((len(ts), len(ux)))
        big_c = a + b + ux - 1.0
        scale = big_c / (a - 1.0)
        for i, t in enumerate(ts):
            if t <= 0:
                out[i] = 0.0
                continue
            z = t / (alpha + ut + t)
            log1mz = np.log1p(-z)
            f = hyp2f1(a + b - 1.0 - r, a - 1.0, big_c, z)
            out[i] = scale * -np.expm1((a - 1.0) * log1mz + np.log(f))
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = self._purchases_by_quadrature(ts, ux, ut)[bad]
        return out[:, inverse]

    def _purchases_by_quadrature(self, ts: np.ndarray, ux: np.ndarray, ut: np.ndarray) -> np.ndarray:
        # Fallback if hyp2f1 ever returns a non-finite value: integrate E[(1 - e^{-lambda p t})/p]
        # over the Beta(a, b + x) posterior of p on a Gauss-Legendre grid in log-p space. The
        # integrand is smooth and bounded, so 200 nodes give many correct digits.
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        nodes, weights = np.polynomial.legendre.leggauss(200)
        out = np.empty((len(ts), len(ux)))
        for j, (xj, tj) in enumerate(zip(ux, ut, strict=True)):
            bj = b + xj
            mode = max(a / (a + bj), 1e-300)
            lo, hi = math.log(mode) - 40.0, 0.0
            logp = lo + (hi - lo) * (nodes + 1.0) / 2.0
            p = np.exp(logp)
            # Beta density times the Jacobian dp = p dlogp.
            dens = np.exp(a * logp + (bj - 1.0) * np.log1p(-np.minimum(p, 1 - 1e-16)) - betaln(a, bj))
            w = weights * (hi - lo) / 2.0 * dens
            rr, aa = r + xj, alpha + tj
            for i, t in enumerate(ts):
                g = -np.expm1(-rr * np.log1p(p * t / aa)) / p
                out[i, j] = float(np.sum(w * g))
        return out


def fit_bgnbd(
    frequency: Any,
    recency: Any,
    T: Any,
    *,
    penalizer: float = 0.0,
) -> BGNBDParams:
    """Fit the BG/NBD model by maximum likelihood.

    Minimises the mean negative log-likelihood plus ``penalizer * (r² + alpha² + a² + b²)``
    (the L2 penalty of the lifetimes package; a small value such as 0.001 steadies fits on
    small or odd data sets) with L-BFGS-B over the log of the parameters, using the analytic
    gradient. Identical (frequency, recency, T) rows are evaluated once with a weight.

    Args:
        frequency: repeat purchase periods per customer (integers >= 0).
        recency: age at the last purchase (0 when frequency is 0), same unit as T.
        T: age at the end of the calibration period.
        penalizer: L2 penalty coefficient (>= 0), default 0.

    Returns:
        BGNBDParams with r, alpha, a, b and prediction methods.

    Raises:
        DataError: inputs of different lengths, missing or negative values, recency greater than
            T or non-zero for customers without repeat purchases (the usual mix-up of recency
            with "time since last purchase"), fewer than 20 customers or fewer than 10 repeat
            buyers, or an optimisation that does not converge.

    Example:
        >>> params = fit_bgnbd(s["frequency"], s["recency"], s["T"])  # doctest: +SKIP
        >>> round(params.r, 3), round(params.alpha, 3)  # doctest: +SKIP
        (0.243, 4.414)
    """
    x, tx, t_cal = _rft(frequency, recency, T)
    _check_penalizer(penalizer)
    n = len(x)
    n_rep = int((x > 0).sum())
    if n < MIN_CUSTOMERS or n_rep < MIN_REPEAT_BUYERS:
        raise DataError(
            f"Too little history to predict purchases: {n} customers, {n_rep} of them with a "
            f"repeat purchase. The model needs at least {MIN_CUSTOMERS} customers and "
            f"{MIN_REPEAT_BUYERS} repeat buyers; use a longer period or more customers."
        )
    obj = _BGNBDObjective(x, tx, t_cal, penalizer)
    # Start from a rough rate so alpha has the right scale for the unit; the rest start at 1.
    rate = max(float(x.sum()) / max(float(t_cal.sum()), 1e-12), 1e-12)
    x0 = _warm_start(
        lambda i: _BGNBDObjective(x[i], tx[i], t_cal[i], penalizer),
        np.log([1.0, 1.0 / rate, 1.0, 1.0]),
        n,
    )
    res = _minimize(obj, x0)
    theta = np.exp(res.x)
    ll = -obj.mean_nll(res.x) * n
    return BGNBDParams(
        r=float(theta[0]),
        alpha=float(theta[1]),
        a=float(theta[2]),
        b=float(theta[3]),
        log_likelihood=float(ll),
        n_customers=n,
        n_repeat_buyers=n_rep,
        converged=bool(res.success),
        penalizer=float(penalizer),
    )


class _BGNBDObjective:
    """Mean negative log-likelihood of BG/NBD and its gradient over log-parameters.

    Per customer, log L = A(x) + r log(alpha) - (r + x) log(alpha + T) + softplus(d) with
    d = log(a / (b + x - 1)) + (r + x) log((alpha + T) / (alpha + t_x)) for repeat buyers
    (softplus(d) = log(1 + e^d), the "dropped out after the last purchase" branch; absent for
    x = 0). A(x) holds the gamma and beta functions and depends on x only, so it is evaluated
    once per distinct frequency. Identical (x, t_x, T) rows are merged with a weight, and
    log(alpha + T), log(alpha + t_x) are evaluated once per distinct T and t_x: with dates in
    whole days these are a few hundred values, which makes one evaluation on a million
    customers cost a handful of array passes.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, t_cal: np.ndarray, penalizer: float):
        (rx, rtx, rt), _, counts = _unique_rows(x, tx, t_cal)
        w = counts.astype(np.float64)
        self.penalizer = penalizer
        self.n = float(w.sum())
        self.ux, ix = np.unique(rx, return_inverse=True)
        self.wx = np.bincount(ix, weights=w, minlength=len(self.ux))
        zero = rx == 0
        self.t0, self.w0 = rt[zero], w[zero]
        rep = ~zero
        self.xr, self.wr = rx[rep], w[rep]
        self.wxr = self.wr * self.xr
        self.uxr, self.ixr = np.unique(self.xr, return_inverse=True)
        self.ut, self.it = np.unique(rt[rep], return_inverse=True)
        self.utx, self.itx = np.unique(rtx[rep], return_inverse=True)

    def __call__(self, log_theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_theta)
        ux, wx, n = self.ux, self.wx, self.n
        log_alpha = math.log(alpha)
        # Terms of the distinct frequencies.
        const_x = gammaln(r + ux) - gammaln(r) + betaln(a, b + ux) - betaln(a, b)
        psi_abx = digamma(a + b + ux)
        psi_ab = digamma(a + b)
        ll = _dot(wx, const_x) + n * r * log_alpha
        g_r = _dot(wx, digamma(r + ux) - digamma(r)) + n * log_alpha
        g_alpha = n * r / alpha
        g_a = _dot(wx, psi_ab - psi_abx)
        g_b = _dot(wx, digamma(b + ux) - digamma(b) - psi_abx + psi_ab)

        # Customers without repeat purchases: only -r log(alpha + T).
        la0 = np.log(alpha + self.t0)
        ll -= r * _dot(self.w0, la0)
        g_r -= _dot(self.w0, la0)
        g_alpha -= r * _dot(self.w0, 1.0 / (alpha + self.t0))

        # Repeat buyers.
        wr, wxr, xr = self.wr, self.wxr, self.xr
        log_t = np.log(alpha + self.ut)[self.it]
        log_tx = np.log(alpha + self.utx)[self.itx]
        inv_t = (1.0 / (alpha + self.ut))[self.it]
        inv_tx = (1.0 / (alpha + self.utx))[self.itx]
        c_x = math.log(a) - np.log(b + self.uxr - 1.0)
        dl = log_t - log_tx
        rx = r + xr
        d = c_x[self.ixr] + rx * dl
        sp = np.logaddexp(0.0, d)
        ws = wr * np.exp(d - sp)  # weight times P(dropped out after the last purchase)
        wr_lt = _dot(wr, log_t)
        ll += -(r * wr_lt + _dot(wxr, log_t)) + _dot(wr, sp)
        g_r += -wr_lt + _dot(ws, dl)
        g_alpha += -(r * _dot(wr, inv_t) + _dot(wxr, inv_t)) - _dot(ws, rx * (inv_tx - inv_t))
        g_a += float(ws.sum()) / a
        ws_x = np.bincount(self.ixr, weights=ws, minlength=len(self.uxr))
        g_b -= _dot(ws_x, 1.0 / (b + self.uxr - 1.0))

        theta = np.array([r, alpha, a, b])
        grad_ll = np.array([g_r, g_alpha, g_a, g_b])
        f = -ll / n + self.penalizer * float(theta @ theta)
        grad = theta * (-grad_ll / n + 2.0 * self.penalizer * theta)
        return f, grad

    def mean_nll(self, log_theta: np.ndarray) -> float:
        theta = np.exp(log_theta)
        return self(log_theta)[0] - self.penalizer * float(theta @ theta)


# --------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGammaParams:
    """A fitted Gamma-Gamma spend model.

    Each purchase's value is Gamma(p, nu) around a customer's own mean; nu is Gamma(q, v)
    across customers. The model assumes spend per purchase does not depend on how often a
    customer buys; ``frequency_spend_correlation`` (Pearson, over repeat buyers) lets you check
    that it is close to 0.

    Attributes:
        p, q, v: the model parameters (v is the published "gamma").
        log_likelihood: total log-likelihood at the fitted parameters (without the penalty).
        n_customers: repeat buyers the model was fitted on.
        converged: as in :class:`BGNBDParams`.
        penalizer: the L2 penalty coefficient used.
        frequency_spend_correlation: correlation of frequency and monetary among them.
    """

    p: float
    q: float
    v: float
    log_likelihood: float
    n_customers: int
    converged: bool
    penalizer: float = 0.0
    frequency_spend_correlation: float = float("nan")

    @property
    def mean_spend(self) -> float:
        """Population mean spend per purchase, ``p * v / (q - 1)`` (needs q > 1)."""
        return self.p * self.v / (self.q - 1.0)

    def conditional_expected_average_profit(self, frequency: Any, monetary: Any) -> np.ndarray:
        """Expected spend per future purchase for each customer.

        ``(v + x * m) * p / (p * x + q - 1)``: a weighted mix of the population mean and the
        customer's own repeat-purchase mean ``m``, trusting ``m`` more the more purchases back
        it up. Customers with frequency 0 (or no positive spend) get the population mean.

        Args:
            frequency, monetary: as in :func:`summary` (Series, arrays or scalars).

        Returns:
            Float64 array.
        """
        x = _as_array(frequency, "frequency")
        m = _as_array(monetary, "monetary")
        x, m = np.broadcast_arrays(x, m)
        p, q, v = self.p, self.q, self.v
        own = (x > 0) & (m > 0)
        xs = np.where(own, x, 0.0)
        ms = np.where(own, m, 0.0)
        return (v + xs * ms) * p / (p * xs + q - 1.0)


def fit_gamma_gamma(
    frequency: Any,
    monetary: Any,
    *,
    penalizer: float = 0.0,
) -> GammaGammaParams:
    """Fit the Gamma-Gamma spend model by maximum likelihood on repeat buyers.

    Only customers with frequency > 0 and monetary > 0 enter the fit (the first purchase is
    not part of ``monetary``; see :func:`summary`). Minimises the mean negative log-likelihood
    plus ``penalizer * (p² + q² + v²)`` with L-BFGS-B over log-parameters, analytic gradient.

    Args:
        frequency: repeat purchase periods per customer.
        monetary: mean spend of those repeat purchases.
        penalizer: L2 penalty coefficient (>= 0), default 0. Note v is in currency units, so
            the penalty's strength depends on the currency.

    Returns:
        GammaGammaParams with p, q, v and conditional_expected_average_profit().

    Raises:
        DataError: inputs of different lengths or invalid values, fewer than 10 repeat buyers,
            no convergence, or q <= 1 (spend so heavy-tailed that the mean spend is infinite).

    Example:
        >>> gg = fit_gamma_gamma(s["frequency"], s["monetary"])  # doctest: +SKIP
        >>> round(gg.p, 2), round(gg.q, 2), round(gg.v, 2)  # doctest: +SKIP
        (6.25, 3.74, 15.44)
    """
    x = _as_array(frequency, "frequency")
    m = _as_array(monetary, "monetary")
    if x.shape != m.shape:
        raise DataError("frequency and monetary must have the same length.")
    _check_penalizer(penalizer)
    if (x < 0).any() or (m < 0).any():
        raise DataError("frequency and monetary must not be negative.")
    keep = (x > 0) & (m > 0)
    n = int(keep.sum())
    if n < MIN_REPEAT_BUYERS:
        raise DataError(
            f"Too few repeat buyers to model spend: {n}; at least {MIN_REPEAT_BUYERS} are needed. "
            "Use a longer period or more customers."
        )
    xk, mk = x[keep], m[keep]
    corr = float(np.corrcoef(xk, mk)[0, 1]) if xk.std() > 0 and mk.std() > 0 else float("nan")
    obj = _GammaGammaObjective(xk, mk, penalizer)
    x0 = _warm_start(
        lambda i: _GammaGammaObjective(xk[i], mk[i], penalizer),
        np.log([1.0, 2.0, float(np.mean(mk))]),
        n,
    )
    res = _minimize(obj, x0)
    p, q, v = np.exp(res.x)
    if q <= 1.0:
        raise DataError(
            "Spend per purchase is too uneven for the spend model (a few customers' purchases "
            "are so large that the average is not defined). Remove outliers or test orders and "
            "try again."
        )
    theta = np.exp(res.x)
    ll = -(obj(res.x)[0] - penalizer * float(theta @ theta)) * n
    return GammaGammaParams(
        p=float(p),
        q=float(q),
        v=float(v),
        log_likelihood=float(ll),
        n_customers=n,
        converged=bool(res.success),
        penalizer=float(penalizer),
        frequency_spend_correlation=corr,
    )


class _GammaGammaObjective:
    """Mean negative log-likelihood of Gamma-Gamma and its gradient over log-parameters.

    Per customer, log L = lgamma(px+q) - lgamma(px) - lgamma(q) + q log v + (px-1) log m
    + px log x - (px+q) log(v + x m). Only log(v + x m) needs a pass over all customers per
    evaluation; the gamma functions depend on x alone and the log m terms are constant sums.
    """

    def __init__(self, x: np.ndarray, m: np.ndarray, penalizer: float):
        self.penalizer = penalizer
        self.x = x
        self.xm = x * m
        self.n = float(len(x))
        self.ux, ix = np.unique(x, return_inverse=True)
        self.wx = np.bincount(ix, minlength=len(self.ux)).astype(np.float64)
        log_m = np.log(m)
        self.sum_log_m = float(log_m.sum())
        self.sum_x_log_m = _dot(x, log_m)
        self.sum_x_log_x = _dot(self.wx, self.ux * np.log(self.ux))

    def __call__(self, log_theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(log_theta)
        ux, wx, n, x = self.ux, self.wx, self.n, self.x
        pux = p * ux
        psi_pxq = digamma(pux + q)
        y = v + self.xm
        log_y = np.log(y)
        inv_y = 1.0 / y
        s_ly, s_xly = float(log_y.sum()), _dot(x, log_y)
        s_iy, s_xiy = float(inv_y.sum()), _dot(x, inv_y)
        log_v = math.log(v)
        ll = (
            _dot(wx, gammaln(pux + q) - gammaln(pux))
            - n * gammaln(q)
            + n * q * log_v
            + p * self.sum_x_log_m
            - self.sum_log_m
            + p * self.sum_x_log_x
            - p * s_xly
            - q * s_ly
        )
        g_p = _dot(wx * ux, psi_pxq - digamma(pux) + np.log(ux)) + self.sum_x_log_m - s_xly
        g_q = _dot(wx, psi_pxq) - n * digamma(q) + n * log_v - s_ly
        g_v = n * q / v - p * s_xiy - q * s_iy
        theta = np.array([p, q, v])
        f = -ll / n + self.penalizer * float(theta @ theta)
        grad = theta * (-np.array([g_p, g_q, g_v]) / n + 2.0 * self.penalizer * theta)
        return f, grad


# --------------------------------------------------------------------------------------------
# Lifetime value and scoring
# --------------------------------------------------------------------------------------------


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
    unit_days = _unit_days(unit)
    if horizon_days <= 0 or step_days <= 0:
        raise DataError("The CLV horizon and step must be positive numbers of days.")
    if not discount_rate > -1.0:
        raise DataError("The discount rate must be greater than -100 %.")
    if margin < 0:
        raise DataError("The margin must not be negative.")
    x, tx, t_cal = _rft(frequency, recency, T)
    m = _as_array(monetary, "monetary").ravel()
    if m.shape != x.shape:
        raise DataError("frequency and monetary must have the same length.")
    spend = gamma_gamma.conditional_expected_average_profit(x, m)
    p_alive = np.exp(-np.logaddexp(0.0, bgnbd._log_odds_dead(x, tx, t_cal)))

    # The tolerance keeps a horizon of exactly k steps from growing a sliver of a step k + 1.
    n_steps = max(1, math.ceil(horizon_days / step_days - 1e-9))
    ends = np.minimum(step_days * np.arange(1, n_steps + 1, dtype=np.float64), float(horizon_days))
    if_alive = bgnbd._purchases_if_alive(ends / unit_days, x, t_cal)
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
    zero_amount_purchases: bool = False
    fitted_on: date | None = None

    @property
    def unit_days(self) -> float:
        """Length of the model's time unit in days."""
        return _unit_days(self.unit)

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
        frame: customer_id, p_alive, expected_purchases, expected_avg_spend, clv.
        summary: the model inputs per customer (see :func:`summary`).
        bgnbd, gamma_gamma: the fitted models.
        report: what the summary merged and left out (returns, same-day purchases).
        model: the fitted models with the valuation settings used, to score other dates
            the same way (see :class:`ClvModel`).
    """

    frame: pl.DataFrame
    summary: pl.DataFrame
    bgnbd: BGNBDParams
    gamma_gamma: GammaGammaParams
    report: SummaryReport
    model: ClvModel | None = None


def score_customers(
    tx: pl.DataFrame | pl.LazyFrame,
    *,
    as_of: date | datetime | None = None,
    horizon_days: int = 365,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    penalizer: float = 0.0,
    unit: str = "W",
    zero_amount_purchases: bool = False,
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
        expected_avg_spend, clv.

    Raises:
        DataError: no purchases, too few repeat buyers to fit, or a fit that fails.

    Example:
        >>> result = score_customers(tx, as_of=date(2024, 6, 30))  # doctest: +SKIP
        >>> result.frame.columns  # doctest: +SKIP
        ['customer_id', 'p_alive', 'expected_purchases', 'expected_avg_spend', 'clv']
    """
    if as_of is None:
        lf = tx.lazy() if isinstance(tx, pl.DataFrame) else tx
        as_of = lf.select(pl.col(C.ORDER_DATE).max()).collect().item()
        if as_of is None:
            raise DataError("The transactions have no dates.")
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
    return ClvResult(frame=scores, summary=frame, bgnbd=bg, gamma_gamma=gg, report=report, model=model)


# --------------------------------------------------------------------------------------------
# Holdout validation
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _unit_days(unit: str) -> float:
    try:
        return UNIT_DAYS[unit]
    except (KeyError, TypeError):
        raise DataError(f"Unknown time unit {unit!r}; use 'D' (days), 'W' (weeks) or 'M' (months).") from None


def _as_day(value: date | datetime, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise DataError(f"{name} must be a date, got {value!r}.")


def _as_array(values: Any, name: str) -> np.ndarray:
    if isinstance(values, pl.Series):
        values = values.cast(pl.Float64).to_numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numbers.") from None
    if not np.isfinite(arr).all():
        raise DataError(f"{name} has missing or infinite values.")
    return arr


def _rft(frequency: Any, recency: Any, T: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and broadcast frequency, recency and T to 1-d float arrays."""
    x = _as_array(frequency, "frequency")
    tx = _as_array(recency, "recency")
    t_cal = _as_array(T, "T")
    try:
        x, tx, t_cal = (np.atleast_1d(a) for a in np.broadcast_arrays(x, tx, t_cal))
    except ValueError:
        raise DataError("frequency, recency and T must have the same length.") from None
    x, tx, t_cal = (np.ascontiguousarray(a.ravel()) for a in (x, tx, t_cal))
    if (x < 0).any() or (x != np.round(x)).any():
        raise DataError("frequency must be a whole number of repeat purchases (0 or more).")
    if (tx < 0).any():
        raise DataError("recency must not be negative.")
    # A tolerance for recency and T rounded separately (e.g. published to 2 decimals).
    if (tx > t_cal + 1e-6 * np.maximum(1.0, t_cal)).any():
        raise DataError(
            "recency is greater than T for some customers. recency is the customer's age at the "
            "last purchase (first to last purchase), and T the age at the end of the period; "
            "recency is not the time since the last purchase."
        )
    if ((x == 0) & (tx != 0)).any():
        raise DataError(
            "Some customers have no repeat purchase (frequency 0) but a recency above 0. "
            "recency is the time from the first to the last purchase, so it is 0 for them; "
            "it is not the time since the last purchase."
        )
    return x, tx, np.maximum(t_cal, tx)


def _unique_rows(*cols: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """Distinct rows of equal-length float columns, the inverse index and the counts.

    Built from per-column 1-d uniques combined into one integer key: several times faster than
    ``np.unique(..., axis=0)``, and single-threaded, so it behaves on a busy 2-core machine.
    """
    key = np.zeros(len(cols[0]), dtype=np.int64)
    n_keys = 1
    for col in cols:
        values, codes = np.unique(col, return_inverse=True)
        if n_keys * len(values) >= 2**62:  # re-number the key densely before it could overflow
            _, key = np.unique(key, return_inverse=True)
            n_keys = int(key.max()) + 1
        key = key * len(values) + codes
        n_keys *= len(values)
    _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    return tuple(col[first] for col in cols), inverse.ravel(), counts


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum instead of `a @ b`: on a busy machine BLAS's threaded dot product spends more time
    # synchronising threads than computing (measured 8 ms vs 0.1 ms for 40k elements).
    return float(np.einsum("i,i->", a, b))


def _check_penalizer(penalizer: float) -> None:
    if not (penalizer >= 0 and math.isfinite(penalizer)):
        raise DataError("The penalizer must be a number of 0 or more.")


_WARM_START_SIZE = 50_000


def _warm_start(make: Any, x0: np.ndarray, n: int) -> np.ndarray:
    """Starting point for a large fit: the optimum on a fixed random subset of customers.

    The subset's optimum is close to the full one, so the expensive full-data fit then needs a
    few steps instead of a few dozen. Small data sets start from ``x0`` directly.
    """
    if n <= 2 * _WARM_START_SIZE:
        return x0
    pick = np.sort(np.random.default_rng(0).choice(n, _WARM_START_SIZE, replace=False))
    try:
        return _minimize(make(pick), x0).x
    except DataError:
        return x0


def _minimize(obj: Any, x0: np.ndarray) -> Any:
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(x0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        res = minimize(
            obj,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
        )
        f, grad = obj(res.x)
    # Projected gradient: a component pushing against a bound it sits on is not a failure.
    at_low = (res.x <= -_LOG_BOUND + 1e-9) & (grad > 0)
    at_high = (res.x >= _LOG_BOUND - 1e-9) & (grad < 0)
    free_grad = np.where(at_low | at_high, 0.0, grad)
    if not (np.isfinite(f) and np.all(np.isfinite(res.x)) and np.abs(free_grad).max() < _GRAD_TOL):
        raise DataError(
            "The model did not converge on this data. Try a small penalizer (e.g. 0.001), "
            "a longer history, or check for test accounts with unusual purchase patterns."
        )
    return res
