"""A refresh killed with SIGKILL at any point leaves every earlier data set intact and no half
data set visible, while another process keeps reading the store.

A child process refreshes the named data set "sales" with a small frame (committed), then starts
refreshing it with a larger one and stops at a named point of the save; the test, which holds
the store open the whole time like a serving app, kills the child there and checks what it sees.
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
    print("committed", store.refresh(committed, dataset="sales"), flush=True)
    print("big", st.content_id(big), flush=True)

    def hook(stage):
        print("stage", stage, flush=True)
        if stage == target:
            time.sleep(120)  # wait here for SIGKILL

    st._stage_hook = hook
    if target == "raw_half_written":
        # Leave the Parquet temp file half written, as a kill in the middle of the write would.
        whole = pl.DataFrame.write_parquet
        def half(self, file, **kwargs):
            whole(self, file, **kwargs)
            with open(file, "rb+") as handle:
                handle.truncate(handle.seek(0, 2) // 2)
            hook("raw_half_written")
        pl.DataFrame.write_parquet = half
    store.refresh(big, dataset="sales")
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


# (stage to stop at, rows in the interrupted data set)
KILL_POINTS = [
    ("hashed", 20_000),  # before any file exists
    ("raw_half_written", 20_000),  # in the middle of writing the Parquet file
    ("raw_tmp_written", 20_000),  # Parquet file written under its temp name, not yet renamed
    ("raw_written", 20_000),  # Parquet file in place, no catalog entry yet
    ("entry_tmp_written", 20_000),  # catalog entry written under its temp name
    ("entry_written", 20_000),  # data set listed, the name not yet moved to it
    ("name_tmp_written", 20_000),  # new history written under its temp name
]
FILE_DONE = {"raw_written", "entry_tmp_written", "entry_written", "name_tmp_written"}
LISTED = {"entry_written", "name_tmp_written"}


@pytest.mark.parametrize(("stage", "rows"), KILL_POINTS, ids=[k[0] for k in KILL_POINTS])
def test_sigkill_mid_refresh_leaves_committed_data_intact(
    tmp_path: Path, stage: str, rows: int
) -> None:
    db = tmp_path / "store"
    app = Store.open(db)  # the serving app: open before, during and after the refresh
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
    if stage == "raw_half_written":
        assert "stage raw_tmp_written" not in lines
        assert len(list((db / "raw").glob(".*.tmp"))) == 1  # the half file is there until a reopen
    committed_id = next(line.split()[1] for line in lines if line.startswith("committed "))
    big_id = next(line.split()[1] for line in lines if line.startswith("big "))

    # What the running app sees, without reopening: the link still shows the committed data.
    assert app.resolve("name:sales") == committed_id
    assert app.load(committed_id).equals(committed_frame())
    listed = app.list()
    expected_ids = [big_id, committed_id] if stage in LISTED else [committed_id]
    assert listed["id"].to_list() == expected_ids
    for dataset_id in expected_ids:  # whatever is listed is whole
        assert content_id(app.load(dataset_id)) == dataset_id
    assert app.exists(big_id) == (stage in LISTED)
    assert app.versions("sales")["id"].to_list() == [committed_id]

    with Store.open(db) as store:
        assert store.list().select("id", "rows").rows()[-1] == (committed_id, 2)
        loaded = store.load(committed_id)
        assert loaded.equals(committed_frame())
        assert content_id(loaded) == committed_id
        # No temp file of the dead writer survives a reopen.
        leftovers = [p.name for p in db.rglob("*") if p.name.endswith(".tmp")]
        assert leftovers == []
        raw_complete = (store.raw_dir / f"{big_id}.parquet").exists()
        assert raw_complete == (stage in FILE_DONE)
        # The store is healthy: a finished file comes back through a rebuild, and running the
        # refresh again completes it either way.
        if raw_complete and stage not in LISTED:
            assert store.rebuild_from_raw() == {committed_id: "present", big_id: "restored"}
            assert store.list().filter(pl.col("id") == big_id)["rows"].to_list() == [rows]
        elif raw_complete:
            assert store.rebuild_from_raw() == {committed_id: "present", big_id: "present"}
        else:
            assert store.rebuild_from_raw() == {committed_id: "present"}
    assert app.load(committed_id).equals(committed_frame())
