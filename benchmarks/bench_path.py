"""The user's own path: a file on disk -> load_transactions -> rfm_table -> score -> tiers.

``bench_core.py`` starts from an already clean frame; this starts where a user starts, from the
exported file, for typed Parquet and for CSV, next to DuckDB (``read_parquet`` / ``read_csv`` and
the same SQL as bench_core) and pandas (``read_parquet`` / ``read_csv`` and the same steps as
bench_core). Each engine runs in its own subprocess, so peak memory (max RSS) is its own. Also
timed: an as-of or window change on a saved data set (the store loaded once, then customer table,
scores and tiers at other as-of dates and windows), which is what an Overview redraw costs.

Rows in the output:

- ``tierlens``: file -> ``load_transactions`` -> ``rfm_table`` -> ``score`` -> ``assign_tiers``.
- ``core_clean``: the bare customer-table step on a clean frame: ``pl.read_parquet`` of the same
  transactions already in canonical form -> ``rfm_table`` -> ``score`` -> ``assign_tiers``
  (bench_core's ``tierlens`` row).
- ``duckdb``, ``pandas``: the same path in those engines.
- ``asof``: a saved data set: ``Store.load_coded`` once, then per as-of/window change
  ``rfm_table`` + ``score`` + ``assign_tiers``; median of the changes.

    .venv/bin/python benchmarks/bench_path.py --rows 1000000 10000000 --repeat 3

Generated files are cached in benchmarks/_data (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "_data"
sys.path.insert(0, str(ROOT))

from benchmarks.bench_core import RULES, SQL_TAIL, dataset, peak_mb  # noqa: E402


def csv_dataset(rows: int) -> pathlib.Path:
    """The demo transactions as a plain CSV export (cached), written by Polars from the Parquet file."""
    import polars as pl

    path = DATA / f"demo_{rows}.csv"
    if not path.exists():
        pl.read_parquet(dataset(rows)).write_csv(path)
    return path


def _tiers(rfm) -> dict:
    import segmentation as seg

    tiers = seg.assign_tiers(seg.score(rfm, bins=5), seg.parse_rules(RULES))
    return {"customers": tiers.height, "revenue": float(tiers["monetary"].sum())}


def run_tierlens(path: pathlib.Path) -> dict:
    import segmentation as seg

    tx, _ = seg.load_transactions(path)
    return _tiers(seg.rfm_table(tx))


def run_core_clean(path: pathlib.Path) -> dict:
    import polars as pl

    import segmentation as seg

    # Always the clean Parquet file: this row is the floor the file path is measured against.
    return _tiers(seg.rfm_table(pl.read_parquet(path.with_suffix(".parquet"))))


def run_duckdb(path: pathlib.Path) -> dict:
    import duckdb

    reader = "read_parquet($path)" if path.suffix == ".parquet" else "read_csv($path)"
    sql = f"WITH tx AS (SELECT customer_id, order_date::DATE AS day, amount, order_id FROM {reader}),\n{SQL_TAIL}"
    customers, revenue, _ = duckdb.connect().execute(sql, {"path": str(path)}).fetchone()
    return {"customers": int(customers), "revenue": float(revenue)}


def run_pandas(path: pathlib.Path) -> dict:
    import pandas as pd

    from benchmarks import bench_core

    if path.suffix == ".parquet":
        return bench_core.run_pandas(path)
    # A CSV gives no types: dates are parsed as the user's export would need them to be.
    tx = pd.read_csv(path, dtype={"customer_id": str, "order_id": str}, parse_dates=["order_date"])
    tmp = path.with_suffix(".pandas.parquet")
    try:
        tx.to_parquet(tmp)  # not timed apart: the steps after reading are bench_core's
        return bench_core.run_pandas(tmp)
    finally:
        tmp.unlink(missing_ok=True)


ENGINES = {"tierlens": run_tierlens, "core_clean": run_core_clean, "duckdb": run_duckdb, "pandas": run_pandas}


def asof_child(path: pathlib.Path, repeat: int) -> dict:
    """Save once, load once, then time as-of and window changes as the Overview redraws them."""
    import datetime as dt

    import polars as pl

    import segmentation as seg
    from segmentation.store import Store

    folder = pathlib.Path(tempfile.mkdtemp(prefix="tierlens-bench-"))
    try:
        tx = pl.read_parquet(path)
        t = time.perf_counter()
        store = Store.open(folder)
        dataset_id = store.save(tx, name=path.name)
        save_s = time.perf_counter() - t
        del tx
        t = time.perf_counter()
        coded, ids = store.load_coded(dataset_id)
        load_s = time.perf_counter() - t
        last = coded.select(pl.col("order_date").max().cast(pl.Date)).item()
        changes = [(last - dt.timedelta(days=d), w) for d in (0, 30, 91, 182) for w in (None, 365)]
        changes = (changes * repeat)[: max(len(changes), repeat)]
        times = []
        for as_of, window in changes:
            t = time.perf_counter()
            out = _tiers(seg.rfm_table(coded, as_of=as_of, window_days=window, ids=ids))
            times.append(time.perf_counter() - t)
        # The string-id route for the same change, for the before/after ratio.
        plain = store.load(dataset_id)
        t = time.perf_counter()
        _tiers(seg.rfm_table(plain, as_of=changes[0][0], window_days=changes[0][1]))
        plain_s = time.perf_counter() - t
        return {**out, "median_s": statistics.median(times), "save_s": save_s, "load_s": load_s,
                "string_ids_s": plain_s, "changes": len(times)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def child(engine: str, path: pathlib.Path, repeat: int) -> None:
    if engine == "asof":
        out = asof_child(path, repeat)
    else:
        fn = ENGINES[engine]
        times, out = [], {}
        for _ in range(repeat):
            t = time.perf_counter()
            out = fn(path)
            times.append(time.perf_counter() - t)
        out["median_s"] = statistics.median(times)
        out["runs_s"] = times
    out["peak_mb"] = peak_mb()
    print(json.dumps(out))


def _run(engine: str, path: pathlib.Path, repeat: int) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(path), "--repeat", str(repeat)],
        capture_output=True, text=True,
    )
    if proc.returncode:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--formats", nargs="+", default=["parquet", "csv"])
    ap.add_argument("--engines", nargs="+", default=["tierlens", "core_clean", "duckdb", "pandas"])
    ap.add_argument("--no-asof", action="store_true", help="skip the saved-data-set as-of change")
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], pathlib.Path(args.child[1]), args.repeat)
        return

    for rows in args.rows:
        files = {"parquet": dataset(rows), "csv": csv_dataset(rows)}
        for fmt in args.formats:
            path = files[fmt]
            size_mb = path.stat().st_size / 2**20
            load_before = os.getloadavg()[0]
            results = {e: _run(e, path, args.repeat) for e in args.engines if not (e == "core_clean" and fmt == "csv")}
            print(f"\n== {rows:,} rows, {fmt} file {path.name} ({size_mb:,.0f} MB), median of {args.repeat} "
                  f"(1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after) ==")
            duck = results.get("duckdb", {}).get("median_s")
            for engine, r in results.items():
                if "error" in r:
                    print(f"  {engine:11s} failed: {r['error']}")
                    continue
                ratio = f"{r['median_s'] / duck:5.2f}x duckdb" if duck else ""
                print(f"  {engine:11s} {r['median_s']:7.2f} s   peak {r['peak_mb']:6.0f} MB "
                      f"({r['peak_mb'] / size_mb:4.1f}x file)   customers {r['customers']:,}  "
                      f"revenue {r['revenue']:,.0f}   {ratio}   runs " + " ".join(f"{t:.2f}" for t in r.get("runs_s", ())))
            tl, core = results.get("tierlens", {}), results.get("core_clean", {})
            if fmt == "parquet" and "median_s" in tl and "median_s" in core:
                print(f"  file -> tiers / clean-frame step: {tl['median_s'] / core['median_s']:.2f}x  (target <= 1.3x)")
            ok = [r for r in results.values() if "customers" in r]
            if len({r["customers"] for r in ok}) > 1:
                print("  !! engines disagree on the number of customers")
        if not args.no_asof:
            r = _run("asof", files["parquet"], args.repeat)
            if "error" in r:
                print(f"  as-of change failed: {r['error']}")
                continue
            print(f"\n  saved data set, {rows:,} rows: save {r['save_s']:.1f} s, load (coded) {r['load_s']:.2f} s; "
                  f"as-of/window change -> tiers: median {r['median_s']:.2f} s over {r['changes']} changes "
                  f"(target < 1.5 s; string ids: {r['string_ids_s']:.2f} s), peak {r['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
