"""Shared pieces of the lifetime-value models: time units, input checks, the optimiser.

Public so that the model modules (summary, bgnbd, gamma_gamma, value, holdout) share one
definition of each; not part of :mod:`segmentation.clv`'s ``__all__``.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl
from scipy.optimize import minimize

from ..errors import DataError

UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}

MIN_CUSTOMERS = 20
MIN_REPEAT_BUYERS = 10
# Log-parameter box: wide enough for any sensible data in days, weeks or months, narrow enough
# that exp() never overflows while the optimiser explores.
LOG_BOUND = 18.0
# A fit whose gradient (of the mean log-likelihood, per log-parameter) is below this is an
# optimum even if L-BFGS-B stopped on a line-search precision warning.
GRAD_TOL = 1e-4


def days_per_unit(unit: str) -> float:
    try:
        return UNIT_DAYS[unit]
    except (KeyError, TypeError):
        raise DataError(f"Unknown time unit {unit!r}; use 'D' (days), 'W' (weeks) or 'M' (months).") from None


def as_day(value: date | datetime, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise DataError(f"{name} must be a date, got {value!r}.")


def as_array(values: Any, name: str) -> np.ndarray:
    if isinstance(values, pl.Series):
        values = values.cast(pl.Float64).to_numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numbers.") from None
    if not np.isfinite(arr).all():
        raise DataError(f"{name} has missing or infinite values.")
    return arr


def check_rft(frequency: Any, recency: Any, T: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and broadcast frequency, recency and T to 1-d float arrays."""
    x = as_array(frequency, "frequency")
    tx = as_array(recency, "recency")
    t_cal = as_array(T, "T")
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


def unique_rows(*cols: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
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


def dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum instead of `a @ b`: on a busy machine BLAS's threaded dot product spends more time
    # synchronising threads than computing (measured 8 ms vs 0.1 ms for 40k elements).
    return float(np.einsum("i,i->", a, b))


def check_penalizer(penalizer: float) -> None:
    if not (penalizer >= 0 and math.isfinite(penalizer)):
        raise DataError("The penalizer must be a number of 0 or more.")


WARM_START_SIZE = 50_000


def warm_start(make: Any, x0: np.ndarray, n: int) -> np.ndarray:
    """Starting point for a large fit: the optimum on a fixed random subset of customers.

    The subset's optimum is close to the full one, so the expensive full-data fit then needs a
    few steps instead of a few dozen. Small data sets start from ``x0`` directly.
    """
    if n <= 2 * WARM_START_SIZE:
        return x0
    pick = np.sort(np.random.default_rng(0).choice(n, WARM_START_SIZE, replace=False))
    try:
        return minimize_nll(make(pick), x0).x
    except DataError:
        return x0


def minimize_nll(obj: Any, x0: np.ndarray) -> Any:
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(x0)
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
    at_low = (res.x <= -LOG_BOUND + 1e-9) & (grad > 0)
    at_high = (res.x >= LOG_BOUND - 1e-9) & (grad < 0)
    free_grad = np.where(at_low | at_high, 0.0, grad)
    if not (np.isfinite(f) and np.all(np.isfinite(res.x)) and np.abs(free_grad).max() < GRAD_TOL):
        raise DataError(
            "The model did not converge on this data. Try a small penalizer (e.g. 0.001), "
            "a longer history, or check for test accounts with unusual purchase patterns.",
            code="clv_no_converge",
        )
    return res


def params_at_bound(log_theta: np.ndarray, names: tuple[str, ...]) -> tuple[str, ...]:
    """Names of the parameters whose log sits on the optimiser's box (+-LOG_BOUND).

    Such a fit has not found an interior optimum: the data push a parameter towards 0 or
    infinity (for BG/NBD typically "nobody ever drops out"), so its predictions are not ones a
    planner should trust, whatever the optimiser's own convergence flag says.
    """
    hit = np.abs(np.asarray(log_theta, dtype=np.float64)) >= LOG_BOUND - 1e-6
    return tuple(name for name, h in zip(names, hit, strict=True) if h)
