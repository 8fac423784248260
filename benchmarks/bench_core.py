"""Load -> RFM -> scores -> tiers: Tierlens against idiomatic pandas and DuckDB SQL.

Each engine runs in its own subprocess, so peak memory (max RSS) is its own. Every run starts from
the Parquet file on disk. Prints medians, ratios and peak memory, and checks that the engines
agree on customer count and revenue.

Two Tierlens rows: ``tierlens`` reads the file into one eager frame, as the app gets its data from
the store, so ``rfm_table`` can look at the data before planning (short ids, one order per row);
``tierlens_lazy`` hands it a lazy scan, the path for files larger than memory.

    .venv/bin/python benchmarks/bench_core.py --rows 1000000 10000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "_data"
sys.path.insert(0, str(ROOT))

# The same tier rules in every engine (hand-translated for pandas and SQL).
RULES = """
Champions: r_score >= 4 and f_score >= 4 and m_score >= 4
Loyal: f_score >= 4
Promising: r_score >= 4
At Risk: r_score <= 2 and m_score >= 4
Hibernating: r_score <= 2
Others: else
"""


def dataset(rows: int) -> pathlib.Path:
    """A demo-transactions Parquet file with about ``rows`` rows (cached)."""
    from segmentation.demo import generate

    path = DATA / f"demo_{rows}.parquet"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        # About 4.8 rows per customer in the demo process.
        tx = generate(max(1000, int(rows / 4.77)), seed=42)
        tx.head(rows).write_parquet(path)
    return path


def run_polars(path: pathlib.Path) -> dict:
    """The app's path: the whole file as one eager frame (as the store hands it over), then the core."""
    import polars as pl

    import segmentation as seg

    rules = seg.parse_rules(RULES)
    rfm = seg.rfm_table(pl.read_parquet(path))
    tiers = seg.assign_tiers(seg.score(rfm, bins=5), rules)
    return {"customers": tiers.height, "revenue": float(tiers["monetary"].sum())}


def run_polars_lazy(path: pathlib.Path) -> dict:
    """The larger-than-memory path: a lazy scan, the customer table planned blind, streamed."""
    import polars as pl

    import segmentation as seg

    rules = seg.parse_rules(RULES)
    rfm = seg.rfm_table(pl.scan_parquet(path)).collect(engine="streaming")
    tiers = seg.assign_tiers(seg.score(rfm, bins=5), rules)
    return {"customers": tiers.height, "revenue": float(tiers["monetary"].sum())}


def run_pandas(path: pathlib.Path) -> dict:
    import numpy as np
    import pandas as pd

    tx = pd.read_parquet(path)
    tx["day"] = tx["order_date"].dt.normalize()
    as_of = tx["day"].max() + pd.Timedelta(days=1)
    buys = tx[tx["amount"] > 0]
    g = buys.groupby("customer_id")
    rfm = pd.DataFrame(
        {
            "recency_days": (as_of - g["day"].max()).dt.days,
            "frequency": g["order_id"].nunique(),
        }
    )
    rfm["monetary"] = tx.groupby("customer_id")["amount"].sum().reindex(rfm.index)
    labels = [1, 2, 3, 4, 5]
    rfm["r_score"] = pd.qcut(rfm["recency_days"].rank(method="first"), 5, labels=labels[::-1]).astype(int)
    rfm["f_score"] = pd.qcut(rfm["frequency"].rank(method="first"), 5, labels=labels).astype(int)
    rfm["m_score"] = pd.qcut(rfm["monetary"].rank(method="first"), 5, labels=labels).astype(int)
    r, f, m = rfm["r_score"], rfm["f_score"], rfm["m_score"]
    rfm["tier"] = np.select(
        [(r >= 4) & (f >= 4) & (m >= 4), f >= 4, r >= 4, (r <= 2) & (m >= 4), r <= 2],
        ["Champions", "Loyal", "Promising", "At Risk", "Hibernating"],
        default="Others",
    )
    return {"customers": len(rfm), "revenue": float(rfm["monetary"].sum())}


# The SQL every DuckDB baseline runs after its own ``WITH tx AS (...)``, over a transactions relation named ``tx``.
SQL_TAIL = """
ref AS (SELECT max(day) + 1 AS d FROM tx),
rfm AS (
    SELECT customer_id,
           (SELECT d FROM ref) - max(day) FILTER (WHERE amount > 0) AS recency_days,
           count(DISTINCT order_id) FILTER (WHERE amount > 0) AS frequency,
           sum(amount) AS monetary
    FROM tx GROUP BY customer_id
    HAVING count(*) FILTER (WHERE amount > 0) > 0
),
scored AS (
    SELECT *, ntile(5) OVER (ORDER BY recency_days DESC) AS r_score,
              ntile(5) OVER (ORDER BY frequency) AS f_score,
              ntile(5) OVER (ORDER BY monetary) AS m_score
    FROM rfm
)
SELECT count(*) AS customers, sum(monetary) AS revenue, count(DISTINCT tier) AS tiers FROM (
    SELECT *, CASE
        WHEN r_score >= 4 AND f_score >= 4 AND m_score >= 4 THEN 'Champions'
        WHEN f_score >= 4 THEN 'Loyal'
        WHEN r_score >= 4 THEN 'Promising'
        WHEN r_score <= 2 AND m_score >= 4 THEN 'At Risk'
        WHEN r_score <= 2 THEN 'Hibernating'
        ELSE 'Others' END AS tier
    FROM scored)
"""


def run_duckdb(path: pathlib.Path) -> dict:
    import duckdb

    con = duckdb.connect()
    sql = "WITH tx AS (SELECT customer_id, order_date::DATE AS day, amount, order_id FROM read_parquet($path)),\n" + SQL_TAIL
    customers, revenue, _ = con.execute(sql, {"path": str(path)}).fetchone()
    return {"customers": int(customers), "revenue": float(revenue)}


def run_rescore(path: pathlib.Path) -> dict:
    """What a slider move costs: re-score and re-tier an already built customer table."""
    import polars as pl

    import segmentation as seg

    # The app caches the customer table with its ranks; a slider move starts from there.
    rfm = seg.add_ranks(seg.rfm_table(pl.scan_parquet(path)).collect(engine="streaming"))
    rules = seg.parse_rules(RULES)
    times = []
    for bins in (5, 4, 6, 5, 7, 3, 5):
        t = time.perf_counter()
        seg.assign_tiers(seg.score(rfm, bins=bins), rules)
        times.append(time.perf_counter() - t)
    return {"customers": rfm.height, "rescore_median_s": statistics.median(times)}


ENGINES = {
    "tierlens": run_polars,
    "tierlens_lazy": run_polars_lazy,
    "pandas": run_pandas,
    "duckdb": run_duckdb,
    "rescore": run_rescore,
}


def peak_mb() -> float:
    """This process's peak resident memory in MB.

    Read from ``VmHWM`` in /proc, not ``ru_maxrss``: Linux carries ``ru_maxrss`` over from the
    parent through fork and exec, so a child started by a parent holding gigabytes (the
    generated data) would report the parent's peak as its own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(engine: str, path: pathlib.Path, repeat: int) -> None:
    fn = ENGINES[engine]
    times, out = [], {}
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(path)
        times.append(time.perf_counter() - t)
    out["median_s"] = statistics.median(times)
    out["peak_mb"] = peak_mb()
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engines", nargs="+", default=["tierlens", "tierlens_lazy", "pandas", "duckdb", "rescore"])
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], pathlib.Path(args.child[1]), args.repeat)
        return

    for rows in args.rows:
        path = dataset(rows)
        results = {}
        # The machine may be shared: the load average says how far to trust the timings.
        load_before = os.getloadavg()[0]
        for engine in args.engines:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", engine, str(path), "--repeat", str(args.repeat)],
                capture_output=True, text=True, check=True,
            )
            results[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"\n== {rows:,} transactions ({path.name}), median of {args.repeat} "
              f"(1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after) ==")
        base = results.get("tierlens", {}).get("median_s")
        for engine, r in results.items():
            if engine == "rescore":
                print(f"  re-score + re-tier {r['customers']:,} customers: "
                      f"{r['rescore_median_s'] * 1000:7.1f} ms  (slider move; target < 50 ms)")
                continue
            ratio = f"{r['median_s'] / base:5.2f}x tierlens time" if base else ""
            print(f"  {engine:13s} {r['median_s']:7.3f} s   peak {r['peak_mb']:7.0f} MB   "
                  f"customers {r['customers']:,}  revenue {r['revenue']:,.0f}  {ratio}")
        engines = [r for e, r in results.items() if e != "rescore"]
        if len({r["customers"] for r in engines}) > 1:
            print("  !! engines disagree on the number of customers")


if __name__ == "__main__":
    main()
