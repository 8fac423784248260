"""The Gamma-Gamma spend model (Fader, Hardie & Lee, 2005, "RFM and CLV"; Fader & Hardie,
2013 note): spend per purchase, shrunk towards the population mean."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from ..errors import DataError
from .common import (
    MIN_REPEAT_BUYERS,
    as_array,
    check_penalizer,
    dot,
    minimize_nll,
    params_at_bound,
    warm_start,
)


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
        at_bound: as in :class:`BGNBDParams`.
    """

    p: float
    q: float
    v: float
    log_likelihood: float
    n_customers: int
    converged: bool
    penalizer: float = 0.0
    frequency_spend_correlation: float = float("nan")
    at_bound: tuple[str, ...] = ()

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
        x = as_array(frequency, "frequency")
        m = as_array(monetary, "monetary")
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
    x = as_array(frequency, "frequency")
    m = as_array(monetary, "monetary")
    if x.shape != m.shape:
        raise DataError("frequency and monetary must have the same length.")
    check_penalizer(penalizer)
    if (x < 0).any() or (m < 0).any():
        raise DataError("frequency and monetary must not be negative.")
    keep = (x > 0) & (m > 0)
    n = int(keep.sum())
    if n < MIN_REPEAT_BUYERS:
        raise DataError(
            f"Too few repeat buyers to model spend: {n}; at least {MIN_REPEAT_BUYERS} are needed. "
            "Use a longer period or more customers.",
            code="clv_few_repeat", params={"repeat": n, "min_repeat": MIN_REPEAT_BUYERS},
        )
    xk, mk = x[keep], m[keep]
    corr = float(np.corrcoef(xk, mk)[0, 1]) if xk.std() > 0 and mk.std() > 0 else float("nan")
    obj = _GammaGammaObjective(xk, mk, penalizer)
    x0 = warm_start(
        lambda i: _GammaGammaObjective(xk[i], mk[i], penalizer),
        np.log([1.0, 2.0, float(np.mean(mk))]),
        n,
    )
    res = minimize_nll(obj, x0)
    p, q, v = np.exp(res.x)
    if q <= 1.0:
        raise DataError(
            "Spend per purchase is too uneven for the spend model (a few customers' purchases "
            "are so large that the average is not defined). Remove outliers or test orders and "
            "try again.",
            code="clv_spend_uneven",
        )
    theta = np.exp(res.x)
    bound = params_at_bound(res.x, ("p", "q", "v"))
    ll = -(obj(res.x)[0] - penalizer * float(theta @ theta)) * n
    return GammaGammaParams(
        p=float(p),
        q=float(q),
        v=float(v),
        log_likelihood=float(ll),
        n_customers=n,
        converged=bool(res.success) and not bound,
        at_bound=bound,
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
        self.sum_x_log_m = dot(x, log_m)
        self.sum_x_log_x = dot(self.wx, self.ux * np.log(self.ux))

    def __call__(self, log_theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(log_theta)
        ux, wx, n, x = self.ux, self.wx, self.n, self.x
        pux = p * ux
        psi_pxq = digamma(pux + q)
        y = v + self.xm
        log_y = np.log(y)
        inv_y = 1.0 / y
        s_ly, s_xly = float(log_y.sum()), dot(x, log_y)
        s_iy, s_xiy = float(inv_y.sum()), dot(x, inv_y)
        log_v = math.log(v)
        ll = (
            dot(wx, gammaln(pux + q) - gammaln(pux))
            - n * gammaln(q)
            + n * q * log_v
            + p * self.sum_x_log_m
            - self.sum_log_m
            + p * self.sum_x_log_x
            - p * s_xly
            - q * s_ly
        )
        g_p = dot(wx * ux, psi_pxq - digamma(pux) + np.log(ux)) + self.sum_x_log_m - s_xly
        g_q = dot(wx, psi_pxq) - n * digamma(q) + n * log_v - s_ly
        g_v = n * q / v - p * s_xiy - q * s_iy
        theta = np.array([p, q, v])
        f = -ll / n + self.penalizer * float(theta @ theta)
        grad = theta * (-np.array([g_p, g_q, g_v]) / n + 2.0 * self.penalizer * theta)
        return f, grad
