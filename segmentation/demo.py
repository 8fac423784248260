"""A seeded generator of realistic retail transactions for demos, tests and benchmarks.

The process follows the buy-till-you-die story that real shops show:

- customers arrive over time (acquisition grows through the period) and make a first purchase;
- each buys at their own rate (gamma-distributed across customers: a few heavy buyers, many
  occasional ones) and may drop out after any purchase (beta-distributed churn propensity);
- calendar seasonality warps purchase times (Chinese shopping festivals 618 and 双11, the
  year-end holidays, a quiet Spring Festival week);
- each customer has a typical basket size (gamma-gamma spend heterogeneity);
- a few percent of orders are partly or fully returned a few days later (negative amounts);
- every customer has a channel and a region.

Everything is vectorised with NumPy, so ten million rows take seconds.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from . import columns as C

CHANNELS = ("App", "Web", "Store", "Mini Program")
CHANNEL_WEIGHTS = (0.35, 0.2, 0.25, 0.2)
REGIONS = ("East", "South", "North", "Southwest", "Central", "Northeast")
REGION_WEIGHTS = (0.3, 0.22, 0.18, 0.12, 0.1, 0.08)

DEFAULT_START = dt.date(2023, 1, 1)
DEFAULT_END = dt.date(2025, 12, 31)
DEMO_CUSTOMERS = 8000
DEMO_SEED = 7


def _seasonal_intensity(days: np.ndarray) -> np.ndarray:
    """Relative purchase intensity per calendar day (mean about 1)."""
    dates = days.astype("datetime64[D]")
    month = dates.astype("datetime64[M]").astype(int) % 12 + 1
    day = (dates - dates.astype("datetime64[M]")).astype(int) + 1
    w = 1.0 + 0.15 * np.cos(2 * np.pi * (month - 12) / 12)  # gentle winter peak
    w = w + np.where((month == 11) & (day >= 1) & (day <= 11), 1.2, 0.0)  # 双11 run-up
    w = w + np.where((month == 6) & (day >= 1) & (day <= 18), 0.6, 0.0)  # 618
    w = w + np.where((month == 12) & (day >= 15), 0.4, 0.0)  # year-end holidays
    w = w * np.where((month == 2) & (day <= 10), 0.5, 1.0)  # Spring Festival lull (approx.)
    return w / w.mean()


def generate(
    n_customers: int = DEMO_CUSTOMERS,
    *,
    seed: int = DEMO_SEED,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
    return_rate: float = 0.04,
) -> pl.DataFrame:
    """Generate transactions for ``n_customers`` customers between ``start`` and ``end``.

    Args:
        n_customers: number of customers (each makes at least one purchase).
        seed: random seed; the same arguments always give the same frame.
        start, end: first and last calendar day of the data.
        return_rate: share of orders that get a (partial or full) return later.

    Returns:
        Canonical transactions sorted by ``order_date``: ``customer_id`` (String, zero-padded
        like ``C000123``), ``order_date`` (Datetime), ``amount`` (Float64, negative for
        returns), ``order_id`` (String; returns reuse the order id with an ``R`` prefix),
        ``channel`` and ``region`` (String). About 5-6 rows per customer.

    Example:
        >>> tx = generate(200, seed=1)
        >>> tx.columns
        ['customer_id', 'order_date', 'amount', 'order_id', 'channel', 'region']
        >>> tx.height == generate(200, seed=1).height
        True
    """
    rng = np.random.default_rng(seed)
    n_days = (end - start).days + 1
    day0 = np.datetime64(start, "D")

    # Seasonal time warp: operational time runs at the seasonal intensity, so purchase gaps
    # drawn in operational days land more densely on busy calendar days.
    intensity = _seasonal_intensity(day0 + np.arange(n_days))
    cum = np.concatenate([[0.0], np.cumsum(intensity)])  # operational time at each day start

    # Arrival: density rising linearly through the period (a growing customer base).
    u = rng.random(n_customers)
    growth = 1.0
    arrival_cal = n_days * (np.sqrt(1 + growth * (2 + growth) * u) - 1) / growth
    arrival_op = np.interp(arrival_cal, np.arange(n_days + 1), cum)

    rate = rng.gamma(shape=0.9, scale=1 / 45.0, size=n_customers)  # purchases per day
    p_drop = rng.beta(1.1, 5.0, size=n_customers)
    # Purchases a customer would make if the data never ended: geometric dropout after each.
    n_purchases = rng.geometric(np.clip(p_drop, 1e-3, 1.0))
    n_purchases = np.minimum(n_purchases, 400)

    cust = np.repeat(np.arange(n_customers), n_purchases)
    total = cust.size
    first_of = np.concatenate([[0], np.cumsum(n_purchases)[:-1]])
    gaps = rng.exponential(1.0, size=total) / rate[cust]
    gaps[first_of] = 0.0  # the first purchase happens on arrival
    csum = np.cumsum(gaps)
    op_time = arrival_op[cust] + csum - np.repeat(csum[first_of], n_purchases)
    keep = op_time < cum[-1]
    cust, op_time = cust[keep], op_time[keep]
    cal = np.interp(op_time, cum, np.arange(n_days + 1))
    seconds = (cal * 86400).astype(np.int64)
    # Shops are busiest in the day and evening: fold night hours into the daytime.
    sec_of_day = seconds % 86400
    seconds = seconds - sec_of_day + (8 * 3600 + (sec_of_day * 15 // 24))
    when = day0.astype("datetime64[s]") + seconds.astype("timedelta64[s]")

    # Spend: each customer has a typical basket (gamma-gamma), orders vary around it.
    nu = rng.gamma(shape=3.0, scale=1 / 12.0, size=n_customers)
    p_shape = 5.0
    amount = np.round(rng.gamma(p_shape, 1 / nu[cust]) * 8.0, 2)
    amount = np.maximum(amount, 1.0)

    n_orders = cust.size
    order_no = np.arange(1, n_orders + 1)
    channel_idx = rng.choice(len(CHANNELS), size=n_customers, p=CHANNEL_WEIGHTS)
    region_idx = rng.choice(len(REGIONS), size=n_customers, p=REGION_WEIGHTS)

    # Returns: a share of orders comes back 2-20 days later, in full or in part.
    is_ret = rng.random(n_orders) < return_rate
    ret_when = when[is_ret] + (rng.integers(2, 21, size=is_ret.sum()) * 86400).astype("timedelta64[s]")
    ret_share = np.where(rng.random(is_ret.sum()) < 0.6, 1.0, rng.uniform(0.2, 0.8, is_ret.sum()))
    ret_amount = -np.round(amount[is_ret] * ret_share, 2)
    in_range = ret_when < (day0 + n_days).astype("datetime64[s]")

    def frame(cust_idx, times, amounts, order_ids):
        return pl.DataFrame(
            {
                "_c": cust_idx,
                C.ORDER_DATE: times.astype("datetime64[ms]"),
                C.AMOUNT: amounts.astype(np.float64),
                C.ORDER_ID: order_ids,
            }
        )

    sales = frame(cust, when, amount, order_no)
    rets = frame(cust[is_ret][in_range], ret_when[in_range], ret_amount[in_range], order_no[is_ret][in_range])
    labels = pl.DataFrame(
        {
            "_c": np.arange(n_customers),
            C.CUSTOMER_ID: np.arange(1, n_customers + 1),
            "channel": np.array(CHANNELS)[channel_idx],
            "region": np.array(REGIONS)[region_idx],
        }
    )
    width = max(6, len(str(n_customers)))
    out = (
        pl.concat(
            [
                sales.with_columns(pl.lit("SO").alias("_p")),
                rets.with_columns(pl.lit("RSO").alias("_p")),
            ]
        )
        .join(labels, on="_c", how="left")
        .select(
            ("C" + pl.col(C.CUSTOMER_ID).cast(pl.String).str.zfill(width)).alias(C.CUSTOMER_ID),
            pl.col(C.ORDER_DATE).cast(pl.Datetime("us")),
            C.AMOUNT,
            (pl.col("_p") + pl.col(C.ORDER_ID).cast(pl.String).str.zfill(8)).alias(C.ORDER_ID),
            "channel",
            "region",
        )
        .sort(C.ORDER_DATE, C.ORDER_ID)
    )
    return out


def demo_transactions() -> pl.DataFrame:
    """The built-in demo data set the app opens on (a few tens of thousands of rows)."""
    return generate(DEMO_CUSTOMERS, seed=DEMO_SEED)
