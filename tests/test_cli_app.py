"""A command-line refresh killed halfway while the app is open: the app keeps showing the last
complete version, and running the refresh again completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from segmentation import cli
from segmentation.store import get_store
from tests.apptest import run_app

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

# {k} makes each test's files new data for the session's shared store.
OLD = "customer_id,order_date,amount,order_id\nA,2024-06-25,100,{k}1\nB,2024-03-01,80,{k}2\nC,2024-06-29,20,{k}3\n"
NEW = OLD + "D,2024-07-01,55,{k}4\nE,2024-07-02,65,{k}5\n"

# The command line itself, stopped at a named point of the save and killed there.
CHILD = textwrap.dedent(
    """
    import sys, time
    import segmentation.store as st
    from segmentation import cli

    target = sys.argv[1]

    def hook(stage):
        if stage == target:
            print("stage", stage, flush=True)
            time.sleep(120)  # wait here for SIGKILL

    st._stage_hook = hook
    sys.exit(cli.main(sys.argv[2:]))
    """
)


def customers_shown(dataset_id: str) -> str:
    at = run_app({"lang": "en", "dataset": dataset_id}, page="pages/overview.py")
    return {m.label: m.value for m in at.metric}["Customers"]


@pytest.mark.parametrize("stage", ["raw_tmp_written", "entry_written", "name_tmp_written"])
def test_a_refresh_killed_halfway_leaves_the_app_on_the_last_version(tmp_path: Path, stage: str) -> None:
    k = uuid.uuid4().hex[:8]
    name = f"sales-{k}"
    (tmp_path / "old.csv").write_text(OLD.format(k=k), encoding="utf-8")
    (tmp_path / "new.csv").write_text(NEW.format(k=k), encoding="utf-8")
    assert cli.main(["refresh", str(tmp_path / "old.csv"), "--dataset", name, "-q"]) == 0
    store = get_store()  # the app's store (TIERLENS_DB of the test session)
    old_id = store.resolve(f"name:{name}")
    assert customers_shown(old_id) == "3"

    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, stage, "refresh", str(tmp_path / "new.csv"), "--dataset", name, "-q"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        # The validation report comes first; wait for the stop point.
        while (line := proc.stdout.readline()) and not line.startswith("stage "):
            pass
        assert line.strip() == f"stage {stage}"
        # The app is asked for the named data set while the refresh is stopped mid-way.
        assert store.resolve(f"name:{name}") == old_id
        assert customers_shown(old_id) == "3"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    assert store.resolve(f"name:{name}") == old_id
    assert customers_shown(old_id) == "3"
    assert store.versions(name)["id"].to_list() == [old_id]

    # Running the refresh again completes it; the old version stays restorable.
    assert cli.main(["refresh", str(tmp_path / "new.csv"), "--dataset", name, "-q"]) == 0
    new_id = store.resolve(f"name:{name}")
    assert new_id != old_id
    assert store.versions(name)["id"].to_list() == [new_id, old_id]
    assert customers_shown(new_id) == "5"
    assert customers_shown(old_id) == "3"
