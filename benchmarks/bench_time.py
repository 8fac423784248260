"""Benchmark: monthly snapshots, migration and KPI trends, Polars core vs DuckDB SQL.

Both engines compute, from the same in-memory transactions:

1. tiers of every customer at 36 month ends (lookback window, preset "segments11" rules,
   quantile cut points fitted once on the last month end and held fixed);
2. migration flows between consecutive month ends (with New / Returning / Gone states);
3. KPI trends per month and tier (customers, active, new, orders, revenue, repeat buyers,
   "did not buy again" looking back one month).

The outputs are checked against each other (customers per tier and date, flows, active customers
and orders per month and tier) before any number is printed. Each engine runs in its own process
so peak memory is its own.

    python benchmarks/bench_time.py                 # 10M rows (cached Parquet under _data/)
    python benchmarks/bench_time.py --rows 1000000  # quick mode
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from benchmarks.bench_core import peak_mb  # noqa: E402
from segmentation.demo import generate  # noqa: E402
from segmentation.presets import PRESETS  # noqa: E402

DATA = Path(__file__).resolve().parent / "_data"
ROWS_PER_CUSTOMER = 4.77  # what demo.generate produces on average over three years
PRESET = PRESETS["segments11"]
N_SNAPSHOTS = 36


def data_path(rows: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    n_customers = max(100, int(rows / ROWS_PER_CUSTOMER))
    path = DATA / f"time_tx_{n_customers}c.parquet"
    if not path.exists():
        t = time.perf_counter()
        generate(n_customers, seed=11).write_parquet(path)
        print(f"generated {path.name} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return path


def month_ends(path: Path) -> list[dt.date]:
    from segmentation.snapshots import period_ends

    return period_ends(pl.scan_parquet(path))[-N_SNAPSHOTS:]


# ----------------------------------------------------------------------------- Polars


def run_polars(path: Path, window: int | None, repeats: int) -> dict:
    from segmentation.kpis import kpi_trends
    from segmentation.migration import transitions
    from segmentation.snapshots import snapshots

    tx = pl.read_parquet(path, columns=["customer_id", "order_date", "amount", "order_id"])
    dates = month_ends(path)
    kw = dict(rules=PRESET.rules_en, bins=PRESET.bins, method=PRESET.method, window_days=window)
    times: dict[str, list[float]] = {"snap+kpi": [], "migration": [], "total": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        snaps = snapshots(tx, dates, **kw)
        kpis = kpi_trends(tx, start=dates[0], end=dates[-1], **kw)
        t1 = time.perf_counter()
        flows = transitions(snaps)
        t2 = time.perf_counter()
        for name, v in (("snap+kpi", t1 - t0), ("migration", t2 - t1), ("total", t2 - t0)):
            times[name].append(v)
    sizes = snaps.group_by("snapshot_date", pl.col("tier").cast(pl.String)).agg(pl.len().alias("n"))
    check = {
        "sizes": sorted((str(d), t, n) for d, t, n in sizes.rows()),
        "flows": sorted((str(b), str(f), str(t), n) for _, b, f, t, _, n, _ in flows.rows()),
        "kpis": sorted(
            (str(r["period_end"]), r["tier"], r["customers"], r["active_customers"], r["new_customers"],
             r["orders"], r["prev_active"], r["not_repeated"])  # the SQL calls it churned
            for r in kpis.iter_rows(named=True)
            if r["customers"] or r["active_customers"] or r["prev_active"]
        ),
        "rows": snaps.height,
    }
    return {"times": times, "peak_mb": peak_mb(), "check": check, "tx_rows": tx.height}


# ----------------------------------------------------------------------------- DuckDB


def _edge(x: float) -> str:
    return "'inf'::DOUBLE" if math.isinf(x) and x > 0 else "'-inf'::DOUBLE" if math.isinf(x) else repr(float(x))


def _score_sql(col: str, edges: tuple[float, ...], lower_better: bool) -> str:
    op = "<=" if lower_better else ">="
    return "(1 + " + " + ".join(f"({col} {op} {_edge(e)})::INT" for e in edges) + ")"


TIER_SQL = """CASE
  WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'Champions'
  WHEN r >= 3 AND f >= 3 AND m >= 3 THEN 'Loyal'
  WHEN r >= 4 AND f >= 2 THEN 'Potential Loyalist'
  WHEN r = 5 AND f = 1 THEN 'New Customers'
  WHEN r = 4 AND f = 1 THEN 'Promising'
  WHEN r = 3 AND f >= 2 THEN 'Need Attention'
  WHEN r = 3 THEN 'About to Sleep'
  WHEN r <= 2 AND f >= 3 AND NOT (f >= 4 AND m >= 4) THEN 'At Risk'
  WHEN r <= 2 AND f >= 4 AND m >= 4 THEN 'Can''t Lose Them'
  WHEN r = 2 THEN 'Hibernating'
  ELSE 'Lost' END"""


def run_duckdb(path: Path, window: int | None, repeats: int) -> dict:
    import duckdb

    from segmentation.scoring import fit_cuts
    from segmentation.snapshots import snapshots

    dates = month_ends(path)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE tx AS SELECT customer_id, CAST(order_date AS DATE) AS day, amount, order_id "
        f"FROM read_parquet('{path}')"
    )
    con.execute("CREATE TABLE grid (k INTEGER, d DATE)")
    # Month ends, plus one step before the first so the first month's activity and churn exist.
    prev = (dates[0].replace(day=1) - dt.timedelta(days=1))
    con.executemany("INSERT INTO grid VALUES (?, ?)", [(i, d) for i, d in enumerate([prev, *dates])])
    # The same fixed cut points as the Polars run (fitting them is not the part being compared).
    ref = snapshots(pl.scan_parquet(path), [dates[-1]], rules=PRESET.rules_en, window_days=window)
    cuts = fit_cuts(ref, bins=PRESET.bins, method=PRESET.method)
    r_sql = _score_sql("recency", cuts.recency, True)
    f_sql = _score_sql("frequency", cuts.frequency, False)
    m_sql = _score_sql("monetary", cuts.monetary, False)
    in_window = "t.day <= g.d" + (f" AND t.day > g.d - INTERVAL {int(window)} DAY" if window else "")
    last_k = len(dates)

    def pipeline() -> tuple[float, float, float]:
        t0 = time.perf_counter()
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE snaps AS
            WITH rfm AS (
              SELECT g.k, g.d, t.customer_id,
                     count(DISTINCT t.order_id) FILTER (WHERE t.amount > 0) AS frequency,
                     -- Exact decimal sums, as the core does: a float sum depends on row order,
                     -- and a last-digit difference can put a customer on the other side of a cut.
                     sum(t.amount::DECIMAL(18, 6))::DOUBLE AS monetary,
                     max(t.day) FILTER (WHERE t.amount > 0) AS last_day
              FROM tx t JOIN grid g ON {in_window}
              WHERE g.k >= 1
              GROUP BY ALL
              HAVING count(*) FILTER (WHERE t.amount > 0) > 0
            ), scored AS (
              SELECT k, d, customer_id, frequency, monetary, (d - last_day) AS recency
              FROM rfm
            )
            SELECT k, d, customer_id, {TIER_SQL} AS tier
            FROM (SELECT *, {r_sql} AS r, {f_sql} AS f, {m_sql} AS m FROM scored)
        """)
        t1 = time.perf_counter()
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE first_buy AS
              SELECT customer_id, min(day) AS first_day FROM tx WHERE amount > 0 GROUP BY ALL;
            CREATE OR REPLACE TEMP TABLE activity AS
              SELECT g.k, t.customer_id,
                     count(DISTINCT t.order_id) FILTER (WHERE t.amount > 0) AS orders,
                     sum(t.amount) AS revenue
              FROM tx t JOIN grid g ON date_trunc('month', t.day) = date_trunc('month', g.d)
              GROUP BY ALL;
            CREATE OR REPLACE TEMP TABLE flows AS
              SELECT COALESCE(b.k, a.k + 1) AS k,
                     CASE WHEN a.tier IS NOT NULL THEN a.tier
                          WHEN fb.first_day > g.d THEN '__new__' ELSE '__back__' END AS from_state,
                     COALESCE(b.tier, '__gone__') AS to_state,
                     count(*) AS customers,
                     sum(COALESCE(act.revenue, 0)) AS revenue
              FROM (SELECT * FROM snaps WHERE k < {last_k}) a
              FULL JOIN (SELECT * FROM snaps WHERE k > 1) b
                ON a.customer_id = b.customer_id AND b.k = a.k + 1
              JOIN first_buy fb ON fb.customer_id = COALESCE(a.customer_id, b.customer_id)
              JOIN grid g ON g.k = COALESCE(b.k, a.k + 1) - 1
              LEFT JOIN activity act ON act.customer_id = COALESCE(a.customer_id, b.customer_id)
                                    AND act.k = COALESCE(b.k, a.k + 1)
              GROUP BY ALL
        """)
        t2 = time.perf_counter()
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE kpis AS
            WITH act AS (
              SELECT a.*, COALESCE(s.tier, '__gone__') AS tier, fb.first_day,
                     nxt.orders AS next_orders, gp.d AS prev_d
              FROM activity a
              LEFT JOIN snaps s ON s.customer_id = a.customer_id AND s.k = a.k
              JOIN first_buy fb ON fb.customer_id = a.customer_id
              LEFT JOIN activity nxt ON nxt.customer_id = a.customer_id AND nxt.k = a.k + 1
              LEFT JOIN grid gp ON gp.k = a.k - 1
            ), current AS (
              SELECT k, tier,
                     count(*) FILTER (WHERE orders > 0) AS active_customers,
                     count(*) FILTER (WHERE orders > 0 AND first_day > prev_d) AS new_customers,
                     sum(orders) AS orders
              FROM act WHERE k >= 1 GROUP BY ALL
            ), back AS (
              SELECT k + 1 AS k, tier, count(*) AS prev_active,
                     count(*) FILTER (WHERE COALESCE(next_orders, 0) = 0) AS churned
              FROM act WHERE orders > 0 AND k + 1 <= {last_k} GROUP BY ALL
            ), sizes AS (SELECT k, tier, count(*) AS customers FROM snaps GROUP BY ALL)
            SELECT COALESCE(c.k, b.k, s.k) AS k, COALESCE(c.tier, b.tier, s.tier) AS tier,
                   COALESCE(s.customers, 0) AS customers, COALESCE(c.active_customers, 0) AS active_customers,
                   COALESCE(c.new_customers, 0) AS new_customers, COALESCE(c.orders, 0) AS orders,
                   COALESCE(b.prev_active, 0) AS prev_active, COALESCE(b.churned, 0) AS churned
            FROM current c
            FULL JOIN back b ON b.k = c.k AND b.tier = c.tier
            FULL JOIN sizes s ON s.k = COALESCE(c.k, b.k) AND s.tier = COALESCE(c.tier, b.tier)
        """)
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2

    times: dict[str, list[float]] = {"snap+kpi": [], "migration": [], "total": [], "snapshots": [], "kpis": []}
    for _ in range(repeats):
        a, b, c = pipeline()
        for name, v in (("snap+kpi", a + c), ("migration", b), ("total", a + b + c), ("snapshots", a), ("kpis", c)):
            times[name].append(v)
    grid = dict(con.execute("SELECT k, d FROM grid").fetchall())
    sizes = con.execute("SELECT d, tier, count(*) FROM snaps GROUP BY ALL").fetchall()
    flows = con.execute(f"SELECT k, from_state, to_state, customers FROM flows WHERE k BETWEEN 2 AND {last_k}").fetchall()
    kpis = con.execute("SELECT * FROM kpis WHERE k >= 1").fetchall()
    check = {
        "sizes": sorted((str(d), t, n) for d, t, n in sizes),
        "flows": sorted((str(grid[k]), f, t, n) for k, f, t, n in flows),
        "kpis": sorted((str(grid[k]), t, c, a, n, o, p, ch) for k, t, c, a, n, o, p, ch in kpis
                       if c or a or p),
        "rows": con.execute("SELECT count(*) FROM snaps").fetchone()[0],
    }
    return {"times": times, "peak_mb": peak_mb(), "check": check}


# ----------------------------------------------------------------------------- driver


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--window", type=int, default=365, help="lookback window in days (0: none)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engine", choices=["polars", "duckdb"], help=argparse.SUPPRESS)
    ap.add_argument("--skip-duckdb", action="store_true")
    args = ap.parse_args()
    window = args.window or None
    path = data_path(args.rows)

    if args.engine:
        run = run_polars if args.engine == "polars" else run_duckdb
        print(json.dumps(run(path, window, args.repeats)))
        return

    def child(engine: str) -> dict:
        cmd = [sys.executable, __file__, "--rows", str(args.rows), "--window", str(args.window),
               "--repeats", str(args.repeats), "--engine", engine]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return json.loads(out.stdout)

    load_start = os.getloadavg()[0]
    res = {"polars": child("polars")}
    if not args.skip_duckdb:
        res["duckdb"] = child("duckdb")
        a, b = res["polars"]["check"], res["duckdb"]["check"]
        for key in ("rows", "sizes", "flows", "kpis"):
            same = a[key] == b[key]
            print(f"check {key:<6} {'agree' if same else 'DIFFER'}")
            if not same and key != "rows":
                print("  only polars:", sorted(set(map(tuple, a[key])) - set(map(tuple, b[key])))[:5])
                print("  only duckdb:", sorted(set(map(tuple, b[key])) - set(map(tuple, a[key])))[:5])

    print(f"\n{res['polars']['tx_rows']:,} transactions, {N_SNAPSHOTS} monthly snapshots, "
          f"window {window or 'none'} days, median of {args.repeats}; "
          f"{res['polars']['check']['rows']:,} customer-snapshot rows")
    print(f"{'step':<10}" + "".join(f"{e:>12}" for e in res) + ("       ratio" if len(res) > 1 else ""))
    for step in ("snap+kpi", "migration", "total"):
        med = {e: statistics.median(r["times"][step]) for e, r in res.items()}
        line = f"{step:<10}" + "".join(f"{med[e]:>11.2f}s" for e in res)
        if len(res) > 1:
            line += f"{med['duckdb'] / med['polars']:>11.2f}x"
        print(line)
    print(f"{'peak MB':<10}" + "".join(f"{r['peak_mb']:>12.0f}" for r in res.values()))
    # The machine may be shared: the 1-minute load average says how much of it the runs had.
    print(f"load average (1 min) at start / end: {load_start:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
