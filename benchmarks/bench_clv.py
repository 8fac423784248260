"""Time the CLV models on a million customers, and compare with lifetimes when available.

Run: ``.venv/bin/python benchmarks/bench_clv.py [--customers 1000000] [--repeats 3]``

Transactions are simulated from the BG/NBD and Gamma-Gamma generative processes (seeded), so
the fitted parameters can also be checked against the true ones. Stages timed: the per-customer
summary from transactions, the BG/NBD fit, the Gamma-Gamma fit, and scoring (p_alive, expected
purchases, 12-month CLV); then the one-call ``score_customers``. Medians over ``--repeats`` runs.

If a separate environment with the lifetimes package exists (``--lifetimes-python``, default
/tmp/ltvenv/bin/python; create it with ``python3 -m venv /tmp/ltvenv &&
/tmp/ltvenv/bin/pip install lifetimes``), both implementations fit the same 100k-customer
subset in this run and the ratios are printed. lifetimes is never a project requirement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segmentation import clv

TRUE_BGNBD = {"r": 0.6, "alpha": 40.0, "a": 0.8, "b": 2.5}  # alpha in days
TRUE_GG = {"p": 6.0, "q": 4.0, "v": 15.0}
START = date(2023, 1, 1)
COHORT_DAYS = 365  # customers' first purchases spread over the first year
OBSERVED_DAYS = 730  # calibration ends on START + 729 days


def simulate_transactions(n_customers: int, seed: int = 7) -> pl.DataFrame:
    """Canonical transactions from the BG/NBD and Gamma-Gamma processes, plus some returns.

    Whole-day dates, as in real exports, so same-day purchases and duplicate
    (frequency, recency, T) rows occur naturally.
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE_BGNBD["r"], 1.0 / TRUE_BGNBD["alpha"], n_customers)
    drop = rng.beta(TRUE_BGNBD["a"], TRUE_BGNBD["b"], n_customers)
    nu = rng.gamma(TRUE_GG["q"], 1.0 / TRUE_GG["v"], n_customers)
    first = rng.integers(0, COHORT_DAYS, n_customers).astype(np.float64)

    cust_chunks = [np.arange(n_customers)]
    time_chunks = [first]
    active = np.arange(n_customers)
    now = first.copy()
    # One vectorised step per purchase number; the active set shrinks geometrically.
    # BG/NBD: a customer may drop out right after each repeat purchase, not after the first.
    while active.size:
        now = now + rng.exponential(1.0 / lam[active])
        inside = now < OBSERVED_DAYS
        active, now = active[inside], now[inside]
        cust_chunks.append(active)
        time_chunks.append(now)
        alive = rng.random(active.size) >= drop[active]
        active, now = active[alive], now[alive]
    cust = np.concatenate(cust_chunks)
    day = np.floor(np.concatenate(time_chunks)).astype(np.int64)
    amount = np.round(rng.gamma(TRUE_GG["p"], 1.0 / nu[cust]), 2) + 0.01

    # About 2% of purchases get a return a few days later (never past the calibration end).
    ret = rng.random(cust.size) < 0.02
    ret_day = np.minimum(day[ret] + rng.integers(1, 15, ret.sum()), OBSERVED_DAYS - 1)
    cust = np.concatenate([cust, cust[ret]])
    day = np.concatenate([day, ret_day])
    amount = np.concatenate([amount, -np.round(amount[ret] * 0.5, 2)])

    ids = pl.Series("customer_id", cust).cast(pl.String).str.zfill(7)
    return pl.DataFrame(
        {
            "customer_id": ids,
            "order_date": pl.Series(day).cast(pl.Int32).cast(pl.Date) + pl.Series([START - date(1970, 1, 1)]),
            "amount": amount,
            "order_id": pl.int_range(cust.size, eager=True).cast(pl.String),
        }
    )


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


LIFETIMES_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
df = pd.read_csv(sys.argv[1])
out = {}
t0 = time.perf_counter()
bg = BetaGeoFitter(penalizer_coef=0.0).fit(df["frequency"], df["recency"], df["T"])
out["fit_bgnbd"] = time.perf_counter() - t0
rep = df[(df["frequency"] > 0) & (df["monetary"] > 0)]
t0 = time.perf_counter()
gg = GammaGammaFitter(penalizer_coef=0.0).fit(rep["frequency"], rep["monetary"])
out["fit_gamma_gamma"] = time.perf_counter() - t0
t0 = time.perf_counter()
clv = gg.customer_lifetime_value(bg, df["frequency"], df["recency"], df["T"], df["monetary"],
                                 time=12, discount_rate=0.01, freq="W")
out["score"] = time.perf_counter() - t0
out["params_bgnbd"] = {k: float(v) for k, v in bg.params_.items()}
out["params_gg"] = {k: float(v) for k, v in gg.params_.items()}
out["clv_nan"] = int(clv.isna().sum())
clv.to_frame("clv").to_csv(sys.argv[2], index=False)
heavy = dict(frequency=pd.Series([200.0, 500.0, 1000.0]), recency=pd.Series([50.0, 99.0, 100.0]),
             T=pd.Series([52.0, 100.0, 104.0]))
out["heavy_expected"] = [float(v) for v in
    bg.conditional_expected_number_of_purchases_up_to_time(52, heavy["frequency"], heavy["recency"], heavy["T"])]
import lifetimes, numpy, scipy
out["versions"] = {"lifetimes": lifetimes.__version__, "numpy": numpy.__version__,
                   "scipy": scipy.__version__, "pandas": pd.__version__}
print(json.dumps(out))
"""


def run_lifetimes(python: str, frame: pl.DataFrame) -> dict[str, Any] | str:
    if not Path(python).exists():
        return f"not run: {python} does not exist"
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "summary.csv"
        frame.select("frequency", "recency", "T", "monetary").write_csv(csv)
        clv_csv = Path(tmp) / "clv.csv"
        proc = subprocess.run(
            [python, "-c", LIFETIMES_SCRIPT, str(csv), str(clv_csv)],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if proc.returncode != 0:
            return "failed: " + proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out["clv_values"] = pl.read_csv(clv_csv)["clv"].to_numpy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--subset", type=int, default=100_000)
    parser.add_argument("--lifetimes-python", default="/tmp/ltvenv/bin/python")
    args = parser.parse_args()

    t0 = time.perf_counter()
    tx = simulate_transactions(args.customers)
    as_of = START + timedelta(days=OBSERVED_DAYS - 1)
    print(
        f"simulated {tx.height:,} transaction rows for {args.customers:,} customers "
        f"in {time.perf_counter() - t0:.1f} s; as_of {as_of}"
    )

    t_sum, frame = median_time(lambda: clv.summary(tx, as_of, unit="D"), args.repeats)
    x, rec, big_t, m = (frame[c] for c in ("frequency", "recency", "T", "monetary"))
    n_rows = frame.select(pl.struct("frequency", "recency", "T").n_unique()).item()
    t_bg, bg = median_time(lambda: clv.fit_bgnbd(x, rec, big_t), args.repeats)
    t_gg, gg = median_time(lambda: clv.fit_gamma_gamma(x, m), args.repeats)
    t_sc, scores = median_time(
        lambda: clv.customer_lifetime_value(bg, gg, frame, horizon_days=365, unit="D"),
        args.repeats,
    )
    t_all, result = median_time(
        lambda: clv.score_customers(tx, as_of=as_of, horizon_days=365, unit="D"), args.repeats
    )
    bad = int(scores.select((~pl.all().exclude("customer_id").is_finite()).sum()).sum_horizontal()[0])

    print(
        f"\n{frame.height:,} customers, {int((x > 0).sum()):,} repeat buyers, "
        f"max frequency {int(x.max())}, {n_rows:,} distinct (frequency, recency, T) rows"
    )
    print(f"BG/NBD  fitted r={bg.r:.3f} alpha={bg.alpha:.2f} a={bg.a:.3f} b={bg.b:.3f}   true {TRUE_BGNBD}")
    print(f"Gamma-Gamma fitted p={gg.p:.3f} q={gg.q:.3f} v={gg.v:.3f}   true {TRUE_GG}")
    print(f"non-finite values in scores: {bad}")
    print(f"\nmedian of {args.repeats} runs (seconds)")
    print(f"  summary from transactions   {t_sum:7.3f}")
    print(f"  fit_bgnbd                   {t_bg:7.3f}")
    print(f"  fit_gamma_gamma             {t_gg:7.3f}")
    print(f"  score (p_alive, E[purchases], 12-month CLV) {t_sc:7.3f}")
    print(f"  fit + score (no summary)    {t_bg + t_gg + t_sc:7.3f}")
    print(f"  score_customers end to end  {t_all:7.3f}  (target < 10 s)")
    assert result.frame.height == frame.height

    # Same-data comparison with lifetimes on a subset, in weeks as lifetimes users usually do.
    sub = frame.sample(n=min(args.subset, frame.height), seed=1).with_columns(
        pl.col("recency") / 7, pl.col("T") / 7
    )
    print(f"\nlifetimes comparison on {sub.height:,} customers (weeks):")
    lt = run_lifetimes(args.lifetimes_python, sub)
    sx, sr, st, sm = (sub[c] for c in ("frequency", "recency", "T", "monetary"))
    o_bg_t, o_bg = median_time(lambda: clv.fit_bgnbd(sx, sr, st), args.repeats)
    o_gg_t, o_gg = median_time(lambda: clv.fit_gamma_gamma(sx, sm), args.repeats)
    # lifetimes' CLV (freq="W") steps through 12 "months" of 4.345 weeks at 1 % a month; the
    # same steps and the equivalent annual rate here.
    month_days = 4.345 * 7
    annual = 1.01 ** (365 / month_days) - 1
    o_sc_t, o_scores = median_time(
        lambda: clv.customer_lifetime_value(
            o_bg,
            o_gg,
            sub,
            horizon_days=12 * month_days,
            discount_rate=annual,
            step_days=month_days,
            unit="W",
        ),
        args.repeats,
    )
    ours = {"fit_bgnbd": o_bg_t, "fit_gamma_gamma": o_gg_t, "score": o_sc_t}
    print(
        f"  tierlens  BG/NBD r={o_bg.r:.4f} alpha={o_bg.alpha:.4f} a={o_bg.a:.4f} "
        f"b={o_bg.b:.4f}; GG p={o_gg.p:.4f} q={o_gg.q:.4f} v={o_gg.v:.4f}"
    )
    if isinstance(lt, str):
        print(f"  lifetimes {lt}")
        for k, v in ours.items():
            print(f"  {k:16s} tierlens {v:7.3f} s")
        return
    pb, pg = lt["params_bgnbd"], lt["params_gg"]
    print(
        f"  lifetimes BG/NBD r={pb['r']:.4f} alpha={pb['alpha']:.4f} a={pb['a']:.4f} "
        f"b={pb['b']:.4f}; GG p={pg['p']:.4f} q={pg['q']:.4f} v={pg['v']:.4f}  "
        f"({lt['versions']}, CLV NaN: {lt['clv_nan']})"
    )
    ours_clv = o_scores["clv"].to_numpy()
    rel = np.abs(ours_clv - lt["clv_values"]) / np.maximum(np.abs(lt["clv_values"]), 1e-9)
    print(
        f"  12-month CLV per customer: max relative difference {rel.max():.2e}; "
        f"total tierlens {ours_clv.sum():,.0f} vs lifetimes {lt['clv_values'].sum():,.0f}"
    )
    heavy = o_bg.expected_purchases(52, [200, 500, 1000], [50.0, 99.0, 100.0], [52.0, 100.0, 104.0])
    print(
        "  next-52-week purchases for customers with 200 / 500 / 1000 purchases: "
        f"tierlens {np.round(heavy, 2).tolist()}, lifetimes {np.round(lt['heavy_expected'], 2).tolist()}"
    )
    for k, v in ours.items():
        print(f"  {k:16s} tierlens {v:7.3f} s   lifetimes {lt[k]:8.3f} s   ratio {lt[k] / v:6.1f}x")


if __name__ == "__main__":
    main()
