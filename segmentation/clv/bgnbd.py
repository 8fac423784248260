"""The BG/NBD purchase-count model (Fader, Hardie & Lee, 2005, "Counting your customers the
easy way"): how often a customer buys and when they silently stop."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from ..errors import DataError
from .common import (
    MIN_CUSTOMERS,
    MIN_REPEAT_BUYERS,
    check_penalizer,
    check_rft,
    dot,
    minimize_nll,
    params_at_bound,
    unique_rows,
    warm_start,
)


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
            a fit that did not reach an optimum raises DataError instead. Always False when
            ``at_bound`` is not empty.
        penalizer: the L2 penalty coefficient used.
        at_bound: names of parameters that ended on the optimiser's limits (log of the value
            at +-18): the data push them towards 0 or infinity, so the fit is not an interior
            optimum and its predictions should not be trusted for planning.
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
    at_bound: tuple[str, ...] = ()

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
        x, tx, t_cal = check_rft(frequency, recency, T)
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
        x, tx, t_cal = check_rft(frequency, recency, T)
        p_alive = np.exp(-np.logaddexp(0.0, self._log_odds_dead(x, tx, t_cal)))
        return p_alive * self.purchases_if_alive(np.asarray([float(t)]), x, t_cal)[0]

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """Expected purchases E[X(t)] of a new customer in their first ``t`` time units.

        Counts purchases after the first one, as frequency does. Same stable evaluation as
        :meth:`expected_purchases` (it is that expectation with x = t_x = T = 0).

        Returns:
            Float64 array shaped like ``t``.
        """
        ts = np.atleast_1d(np.asarray(t, dtype=np.float64))
        zero = np.zeros(1)
        return self.purchases_if_alive(ts, zero, zero)[:, 0].reshape(np.shape(t))

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

    def purchases_if_alive(self, ts: np.ndarray, x: np.ndarray, t_cal: np.ndarray) -> np.ndarray:
        """E[purchases in (T, T+t] | alive at T] for each t in ``ts`` and each customer.

        It depends on (x, T) only, so it is evaluated once per distinct pair and broadcast back.
        Returns an array of shape (len(ts), len(x)).
        """
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        # The formula has a removable singularity at a = 1 (0/0); a nudge of 1e-7 changes the
        # result by about that relative amount, far below the model's own uncertainty.
        if abs(a - 1.0) < 1e-7:
            a = 1.0 + math.copysign(1e-7, a - 1.0 if a != 1.0 else 1.0)
        (ux, ut), inverse, _ = unique_rows(x, t_cal)
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
            # Clipped at 0: for t near 0 the product rounds to -1e-50 and the like.
            out[i] = np.maximum(scale * -np.expm1((a - 1.0) * log1mz + np.log(f)), 0.0)
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
    x, tx, t_cal = check_rft(frequency, recency, T)
    check_penalizer(penalizer)
    n = len(x)
    n_rep = int((x > 0).sum())
    if n < MIN_CUSTOMERS or n_rep < MIN_REPEAT_BUYERS:
        raise DataError(
            f"Too little history to predict purchases: {n} customers, {n_rep} of them with a "
            f"repeat purchase. The model needs at least {MIN_CUSTOMERS} customers and "
            f"{MIN_REPEAT_BUYERS} repeat buyers; use a longer period or more customers.",
            code="clv_too_little",
            params={"customers": n, "repeat": n_rep, "min_customers": MIN_CUSTOMERS, "min_repeat": MIN_REPEAT_BUYERS},
        )
    obj = _BGNBDObjective(x, tx, t_cal, penalizer)
    # Start from a rough rate so alpha has the right scale for the unit; the rest start at 1.
    rate = max(float(x.sum()) / max(float(t_cal.sum()), 1e-12), 1e-12)
    x0 = warm_start(
        lambda i: _BGNBDObjective(x[i], tx[i], t_cal[i], penalizer),
        np.log([1.0, 1.0 / rate, 1.0, 1.0]),
        n,
    )
    res = minimize_nll(obj, x0)
    theta = np.exp(res.x)
    bound = params_at_bound(res.x, ("r", "alpha", "a", "b"))
    ll = -obj.mean_nll(res.x) * n
    return BGNBDParams(
        r=float(theta[0]),
        alpha=float(theta[1]),
        a=float(theta[2]),
        b=float(theta[3]),
        log_likelihood=float(ll),
        n_customers=n,
        n_repeat_buyers=n_rep,
        converged=bool(res.success) and not bound,
        at_bound=bound,
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
        (rx, rtx, rt), _, counts = unique_rows(x, tx, t_cal)
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
        ll = dot(wx, const_x) + n * r * log_alpha
        g_r = dot(wx, digamma(r + ux) - digamma(r)) + n * log_alpha
        g_alpha = n * r / alpha
        g_a = dot(wx, psi_ab - psi_abx)
        g_b = dot(wx, digamma(b + ux) - digamma(b) - psi_abx + psi_ab)

        # Customers without repeat purchases: only -r log(alpha + T).
        la0 = np.log(alpha + self.t0)
        ll -= r * dot(self.w0, la0)
        g_r -= dot(self.w0, la0)
        g_alpha -= r * dot(self.w0, 1.0 / (alpha + self.t0))

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
        wr_lt = dot(wr, log_t)
        ll += -(r * wr_lt + dot(wxr, log_t)) + dot(wr, sp)
        g_r += -wr_lt + dot(ws, dl)
        g_alpha += -(r * dot(wr, inv_t) + dot(wxr, inv_t)) - dot(ws, rx * (inv_tx - inv_t))
        g_a += float(ws.sum()) / a
        ws_x = np.bincount(self.ixr, weights=ws, minlength=len(self.uxr))
        g_b -= dot(ws_x, 1.0 / (b + self.uxr - 1.0))

        theta = np.array([r, alpha, a, b])
        grad_ll = np.array([g_r, g_alpha, g_a, g_b])
        f = -ll / n + self.penalizer * float(theta @ theta)
        grad = theta * (-grad_ll / n + 2.0 * self.penalizer * theta)
        return f, grad

    def mean_nll(self, log_theta: np.ndarray) -> float:
        theta = np.exp(log_theta)
        return self(log_theta)[0] - self.penalizer * float(theta @ theta)
