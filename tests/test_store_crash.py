"""A save killed with SIGKILL at any point leaves the store as it was before that save began.

A child process saves a small data set (committed), then starts saving a larger one and stops
at a named point of the save; the test kills it there with SIGKILL and reopens the store.
"""

from __future__ import annotations

import datetime as dt
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from segmentation.store import Store, content_id

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    import sys, time
    import polars as pl
    import segmentation.store as st

    db, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    committed = pl.DataFrame({
        "customer_id": ["A", "B"], "order_date": ["2024-01-02", "2024-02-03"],
        "amount": [10.0, 20.0], "order_id": ["1", "2"], "channel": ["web", "shop"],
    }).with_columns(pl.col("order_date").str.to_date())
    k = pl.int_range(n, eager=True)
    big = pl.DataFrame({
        "customer_id": (k % 5000).cast(pl.String),
        "order_date": pl.date_range(pl.date(2020, 1, 1), pl.date(2023, 12, 31), eager=True).gather(k % 1400),
        "amount": (k % 100).cast(pl.Float64), "order_id": k.cast(pl.String),
        "channel": pl.Series(["web", "shop"]).gather(k % 2),
    })

    store = st.Store.open(db)
    print("committed", store.save(committed, name="committed"), flush=True)
    print("big", st.content_id(big), flush=True)

    def hook(stage):
        print("stage", stage, flush=True)
        if stage == target and target != "insert_started":
            time.sleep(120)  # wait here for SIGKILL

    st._stage_hook = hook
    store.save(big, name="interrupted")
    print("finished", flush=True)
    """
)


def committed_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["A", "B"],
            "order_date": [dt.date(2024, 1, 2), dt.date(2024, 2, 3)],
            "amount": [10.0, 20.0],
            "order_id": ["1", "2"],
            "channel": ["web", "shop"],
        }
    )


def read_until(proc: subprocess.Popen, lines: list[str], wanted: str, timeout: float) -> None:
    """Collect the child's output lines until one starts with ``wanted`` (bounded wait)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while not any(line.startswith(wanted) for line in lines):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise AssertionError(f"child never reached {wanted!r}; output so far: {lines}")
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            line = proc.stdout.readline()
            if line:
                lines.append(line.strip())


# (stage to stop at, rows in the interrupted data set, seconds to let it run on after the signal)
KILL_POINTS = [
    ("hashed", 20_000, 0.0),  # before any raw file exists
    ("raw_tmp_written", 20_000, 0.0),  # raw file written under its temp name, not yet renamed
    ("raw_written", 20_000, 0.0),  # raw file in place, database transaction not begun
    ("insert_started", 500_000, 0.05),  # in the middle of the bulk insert
    ("before_commit", 20_000, 0.0),  # every row inserted, transaction not committed
]


@pytest.mark.parametrize(("stage", "rows", "delay"), KILL_POINTS, ids=[k[0] for k in KILL_POINTS])
def test_sigkill_mid_save_leaves_committed_data_intact(
    tmp_path: Path, stage: str, rows: int, delay: float
) -> None:
    db = tmp_path / "tierlens.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), stage, str(rows)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        read_until(proc, lines, f"stage {stage}", timeout=60)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        lines += [line.strip() for line in proc.stdout.read().splitlines()]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert "finished" not in lines
    if stage == "insert_started":
        # The kill really landed inside the insert, not after it.
        assert "stage before_commit" not in lines
    committed_id = next(line.split()[1] for line in lines if line.startswith("committed "))
    big_id = next(line.split()[1] for line in lines if line.startswith("big "))

    with Store.open(db) as store:
        listed = store.list()
        assert listed.select("id", "name", "rows").rows() == [(committed_id, "committed", 2)]
        loaded = store.load(committed_id)
        assert loaded.equals(committed_frame())
        assert content_id(loaded) == committed_id
        assert store.exists(big_id) is False
        counts = store._con.execute(
            "SELECT dataset_id, count(*) FROM transactions GROUP BY dataset_id"
        ).fetchall()
        assert counts == [(committed_id, 2)]
        # No half-written raw file survives a restart.
        assert [p.name for p in store.raw_dir.iterdir() if p.name.endswith(".tmp")] == []
        raw_complete = (store.raw_dir / f"{big_id}.parquet").exists()
        assert raw_complete == (stage in {"raw_written", "insert_started", "before_commit"})
        # The store is healthy: the interrupted save can simply be redone.
        if raw_complete:
            assert store.rebuild_from_raw() == {committed_id: "present", big_id: "restored"}
            assert store.list().filter(pl.col("id") == big_id)["rows"].to_list() == [rows]
        else:
            assert store.rebuild_from_raw() == {committed_id: "present"}
