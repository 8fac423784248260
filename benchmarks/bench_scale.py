"""Out of core: a folder of Parquet transactions -> customer table, Polars streaming vs DuckDB vs Spark.

The data set is written once (cached under benchmarks/_data/scale_<rows>/) in chunks of demo
transactions (segmentation.demo: heavy and occasional buyers, seasonality, returns), each chunk
with its own seed and its own customers, so the folder never has to fit in memory. Each engine
then runs in its own process, from the files on disk to the customer table as a Polars frame in
that process; a sampler adds up the resident memory of the process and its children (Spark's
JVM) every 0.1 s, so the peak is the whole engine's.

    .venv/bin/python benchmarks/bench_scale.py --rows 10000000
    .venv/bin/python benchmarks/bench_scale.py --rows 100000000 --engines polars duckdb
    .venv/bin/python benchmarks/bench_scale.py --rows 100000000 --engines polars --partitions 1

Polars splits the customers into groups, one streaming pass each (``partitions``, default from
an estimate of the customers); ``--partitions`` fixes the number of groups to compare.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "_data"
sys.path.insert(0, str(ROOT))

CHUNK_ROWS = 5_000_000
ROWS_PER_CUSTOMER = 4.77  # of the demo process
AS_OF = dt.date(2026, 1, 1)


def dataset(rows: int, seed: int = 42) -> pathlib.Path:
    """A folder of Parquet files with ``rows`` demo transactions in total (cached)."""
    import polars as pl

    from segmentation.demo import generate

    folder = DATA / f"scale_{rows}"
    done = folder / "_SUCCESS"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    written, part = 0, 0
    while written < rows:
        want = min(CHUNK_ROWS, rows - written)
        tx = generate(max(1000, int(want / ROWS_PER_CUSTOMER * 1.05)), seed=seed + part).head(want)
        # Every chunk has its own customers and orders.
        tx = tx.select(
            (pl.lit(f"{part:03d}") + pl.col("customer_id")).alias("customer_id"),
            "order_date",
            "amount",
            (pl.lit(f"{part:03d}") + pl.col("order_id")).alias("order_id"),
        )
        tx.write_parquet(folder / f"part-{part:05d}.parquet", row_group_size=1_000_000)
        written += tx.height
        part += 1
        print(f"  wrote {written:,} rows", file=sys.stderr, flush=True)
    done.touch()
    return folder


def run(engine: str, folder: str, partitions: int | None = None) -> dict:
    """In the child process: the customer table of the folder with one engine."""
    import polars as pl

    from segmentation.rfm import customer_table_from_parquet

    start = time.perf_counter()
    if engine == "spark":
        from segmentation import spark as sp

        # Local mode on this machine: the driver is the executor, so it gets the memory.
        t0 = time.perf_counter()
        sp.spark_session(config={"spark.driver.memory": "8g"})
        startup = time.perf_counter() - t0
    else:
        startup = 0.0
    options = {"partitions": partitions} if engine == "polars" and partitions else {}
    out = customer_table_from_parquet(folder, as_of=AS_OF, engine=engine, **options)
    seconds = time.perf_counter() - start
    return {
        "engine": engine,
        "seconds": seconds,
        "startup_seconds": startup,
        "customers": out.height,
        "revenue": float(out.select(pl.col("monetary").sum()).item()),
        "orders": int(out.select(pl.col("frequency").sum()).item()),
    }


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * page
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def measure(engine: str, folder: pathlib.Path, partitions: int | None = None) -> dict:
    extra = ["--partitions", str(partitions)] if partitions else []
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", engine, str(folder), *extra], stdout=subprocess.PIPE, text=True
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_gb"] = peak / 1e9
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--engines", nargs="+", default=["polars", "duckdb", "spark"])
    parser.add_argument("--partitions", type=int, default=None,
                        help="customer groups for Polars, one streaming pass each (default: from an estimate)")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(*args.child, partitions=args.partitions)))
        return

    t0 = time.perf_counter()
    folder = dataset(args.rows)
    size = sum(f.stat().st_size for f in folder.glob("*.parquet"))
    print(f"{args.rows:,} transactions in {folder} ({size / 1e9:.2f} GB Parquet; "
          f"written or found in {time.perf_counter() - t0:.0f} s)")
    results = [measure(engine, folder, args.partitions) for engine in args.engines]
    base = results[0]["seconds"]
    print(f"\n{'engine':<8} {'seconds':>9} {'ratio':>6} {'peak GB':>8} {'customers':>11} {'orders':>12} revenue")
    for r in results:
        note = f"  (of which {r['startup_seconds']:.0f} s starting Spark)" if r["startup_seconds"] else ""
        print(f"{r['engine']:<8} {r['seconds']:>9.1f} {r['seconds'] / base:>6.2f} {r['peak_gb']:>8.2f} "
              f"{r['customers']:>11,} {r['orders']:>12,} {r['revenue']:,.2f}{note}")
    agree = {(r["customers"], r["orders"]) for r in results}
    spread = max(r["revenue"] for r in results) - min(r["revenue"] for r in results)
    print(f"\nengines agree on customers and orders: {len(agree) == 1}; revenue spread {spread:.6f}")


if __name__ == "__main__":
    main()
