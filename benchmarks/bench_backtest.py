"""Backtest timings on demo data: what a page pays once per (T, h) and on every slider move.

Data comes from the same generator and cached Parquet files as ``bench_core.py`` (about 4.8
rows per customer) and is read into one eager frame, as the store hands it to the app. T is
the latest date with a full 90-day window; the spec is the eleven-segment preset.

Printed per size (median of ``--repeat`` runs where marked):

- once per (T, h), cached by the page: the window's per-customer totals (``window_outcomes``),
  the customers at T (``customers_at``), the CLV fit at T (``score_customers``);
- ``backtest`` with those cached: the per-tier table, quality numbers and the four rankings
  side by side with gains curves (target: 3 s at 10M rows);
- a slider move: re-tiering the cached customers with other settings and ``evaluate`` on the
  cached ``align_outcomes`` (target: 0.5 s);
- the threshold suggestion search with cached inputs for both dates (target: 10 s), and cold;
- the walk-forward line at every quarter end and every month end (nothing cached: the page
  computes it once per horizon, period and spec).

    .venv/bin/python benchmarks/bench_backtest.py --rows 1000000 10000000
    .venv/bin/python benchmarks/bench_backtest.py --rows 1000000 --only walk
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

HORIZON = 90


class Took(float):
    """Median wall seconds that prints with the process CPU seconds beside it: on a shared
    machine the CPU time says what the step costs when others keep the cores busy."""

    cpu: float

    def __new__(cls, wall: float, cpu: float) -> Took:
        obj = super().__new__(cls, wall)
        obj.cpu = cpu
        return obj

    def __format__(self, spec: str) -> str:
        return f"{format(float(self), spec)} s wall, {format(self.cpu, spec)} s CPU"


def timed(fn, repeat: int = 1):
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return out, Took(statistics.median(walls), statistics.median(cpus))


def walk(tx, spec, repeat: int) -> None:
    from segmentation.backtest import walk_forward

    for period in ("quarter", "month"):
        table, took = timed(lambda period=period: walk_forward(tx, spec, horizon_days=HORIZON, period=period), repeat)
        print(f"  walk-forward every {period} end ({table.height} dates): {took:.2f}")


def run(rows: int, repeat: int, cold: bool = True, only: str = "all") -> None:
    import polars as pl
    from bench_core import dataset

    from segmentation.backtest import (
        align_outcomes,
        backtest,
        customers_at,
        evaluate,
        latest_as_of,
        preset_spec,
        suggest_thresholds,
        tier_customers,
        window_outcomes,
    )
    from segmentation.clv import score_customers

    tx = pl.read_parquet(dataset(rows))
    spec = preset_spec("segments11")
    t = latest_as_of(tx, HORIZON)
    print(f"\n{tx.height:,} rows, {tx['customer_id'].n_unique():,} customers, T = {t}, h = {HORIZON} days")
    if only == "walk":
        walk(tx, spec, repeat)
        return

    outcomes, s_out = timed(lambda: window_outcomes(tx, t, HORIZON))
    customers, s_cus = timed(lambda: customers_at(tx, t, spec))
    clv, s_clv = timed(lambda: score_customers(tx, as_of=t, horizon_days=HORIZON).frame)
    print(f"  once per (T, h): window totals {s_out:.2f}; customers at T {s_cus:.2f}; CLV fit {s_clv:.2f}")

    result, s_bt = timed(
        lambda: backtest(tx, spec, as_of=t, horizon_days=HORIZON, preset="cn8", outcomes=outcomes,
                         customers=customers, clv_forecast=clv),
        repeat,
    )
    print(f"  backtest, totals cached (4 rankings + gains): {s_bt:.2f}  [target 3 s]")

    moves = [spec.replace(bins=4, rules=preset_spec("value3").rules), preset_spec("value3"), preset_spec("groups6")]

    aligned, s_align = timed(lambda: align_outcomes(customers, outcomes))
    print(f"  once per (T, h, window): window lined up with the customers {s_align:.2f}")

    def slider() -> None:
        for s in moves:
            evaluate(tier_customers(customers, s), aligned, s)

    _, s_move = timed(slider, repeat)
    per_move = Took(s_move / len(moves), s_move.cpu / len(moves))
    print(f"  slider move (re-tier + evaluate): {per_move:.3f}  [target 0.5 s]")

    check_t = t
    fit_t = t - dt.timedelta(days=HORIZON)
    store = {check_t: (outcomes, customers)}

    def cache(d):
        if d not in store:
            store[d] = (window_outcomes(tx, d, HORIZON), customers_at(tx, d, spec))
        return store[d]

    cache(fit_t)
    sugg, s_sug = timed(lambda: suggest_thresholds(tx, spec, as_of=t, horizon_days=HORIZON, cache=cache), repeat)
    print(f"  suggestions, inputs cached: {s_sug:.2f} for {sugg.tried} settings  [target 10 s]")
    if cold:
        _, s_cold = timed(lambda: suggest_thresholds(tx, spec, as_of=t, horizon_days=HORIZON))
        print(f"  suggestions, cold (both dates computed): {s_cold:.2f}")

    cmp = result.comparison.select("ranking", "captured_10", "captured_20", "gap_closed")
    for r in cmp.iter_rows(named=True):
        print(f"    {r['ranking']:<8} captured 10% {r['captured_10']:.3f}  20% {r['captured_20']:.3f}  "
              f"gap closed {r['gap_closed']:.3f}")
    for item in sugg.items[:3]:
        print(f"    suggestion: {item.change_en}: gap closed {item.fit_before['gap_closed']:.3f} -> "
              f"{item.fit_after['gap_closed']:.3f} at {sugg.fit_as_of}, {item.check_before['gap_closed']:.3f} -> "
              f"{item.check_after['gap_closed']:.3f} at {sugg.check_as_of}")
    if only == "all":
        walk(tx, spec, repeat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-cold", action="store_true", help="skip the suggestion search without cached inputs")
    ap.add_argument("--only", choices=("all", "page", "walk"), default="all",
                    help="page: the per-(T, h) steps, slider move and suggestions; walk: the walk-forward line")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)")
    for rows in args.rows:
        run(rows, args.repeat, cold=not args.no_cold, only=args.only)


if __name__ == "__main__":
    main()
