"""The Spark engine over Spark Connect gives the Polars core's customer tables.

A Spark Connect server from PySpark's own distribution (``sbin/start-connect-server.sh``)
runs in local mode on a free port for the whole module; ``SPARK_REMOTE`` points the engine at
it, exactly as a user reaches a cluster's Connect endpoint. Over Connect the client has no JVM,
no SparkContext and no RDDs, only DataFrame plans sent over gRPC, so this checks that the
engine needs nothing else.

A process runs Spark either classic or Connect, not both at once: a classic session left by an
earlier module is stopped first, and the environment is restored at the end so later modules
start classic Spark again. Without Java or the Connect client libraries the tests are skipped
on a developer's machine; in CI (env ``CI`` set) that is a failure, never a skip.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import tomllib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_spark import LOG, assert_same_customers, corpus_transactions, frame_of, logs, polars_inputs

import segmentation as seg
from segmentation import spark as sp
from segmentation.errors import DataError

D = dt.date
START_TIMEOUT_S = 180


def _unavailable(problem: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the Spark Connect tests, but {problem}; see .ci/run and requirements-dev.txt.")
    pytest.skip(f"Spark Connect tests skipped: {problem}.")


def _java() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.path.exists(os.path.join(java_home, "bin", "java")):
        return os.path.join(java_home, "bin", "java")
    return shutil.which("java")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_classic_spark() -> None:
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    """``sc://127.0.0.1:PORT`` of a local Spark Connect server, stopped after the module."""
    try:
        import pyspark
    except ImportError:
        _unavailable("PySpark is not installed (pip install -r requirements-dev.txt)")
    missing = []
    for module in sp.CONNECT_CLIENT:
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        _unavailable(f"the Spark Connect client libraries are missing ({', '.join(missing)} did not import)")
    if _java() is None:
        _unavailable("the server needs Java 17+ and none was found (apt-get install openjdk-17-jre-headless)")

    spark_home = Path(pyspark.__file__).parent
    script = spark_home / "sbin" / "start-connect-server.sh"
    if not script.exists():
        _unavailable(f"PySpark's Connect server script {script} is missing")
    work = tmp_path_factory.mktemp("spark-connect")
    log = work / "server.log"
    port = _free_port()
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOG_DIR": str(work), "SPARK_PID_DIR": str(work)}
    env.pop("SPARK_REMOTE", None)
    command = [
        "bash", str(script), "--wait",
        "--master", "local[2]",
        "--conf", f"spark.connect.grpc.binding.port={port}",
        "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
        # Tiny data: two partitions, no web UI and no adaptive re-planning keep each query quick.
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.sql.shuffle.partitions=2",
        "--conf", "spark.default.parallelism=2",
        "--conf", "spark.sql.adaptive.enabled=false",
    ]
    with open(log, "wb") as out:
        # A session of its own, so stopping it stops the JVM the script starts too.
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=work,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(port):
            if server.poll() is not None:
                pytest.fail(f"The Spark Connect server exited with code {server.returncode}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"The Spark Connect server did not answer on port {port} in {START_TIMEOUT_S} s:\n"
                            f"{_tail(log)}")
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@pytest.fixture(scope="module")
def remote(connect_server):
    """The engine's own session, reached through ``SPARK_REMOTE``."""
    saved = {k: os.environ.get(k) for k in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")}
    _stop_classic_spark()
    os.environ["SPARK_REMOTE"] = connect_server
    try:
        session = sp.spark_session()
        yield session
        session.stop()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_the_session_is_a_connect_session(remote, connect_server):
    assert sp.spark_target() == ("remote", connect_server)
    assert type(remote).__module__.startswith("pyspark.sql.connect")
    assert remote.conf.get("spark.sql.session.timeZone") == "UTC"


def test_hand_worked_customer_table_over_connect(remote):
    out = seg.rfm_table(LOG, as_of="2024-01-10", engine="spark")
    # The same literal table as on classic Spark (tests/test_spark.py): a time of day on the
    # as-of date counts, the return without an order id is not an order, a null id is a customer.
    assert out.rows() == [
        (None, 8, 1, 4.0, D(2024, 1, 2), D(2024, 1, 2), 8, 4.0),
        ("a", 9, 1, 10.0, D(2024, 1, 1), D(2024, 1, 1), 9, 15.0),
        ("b", 0, 1, 20.0, D(2024, 1, 10), D(2024, 1, 10), 0, 20.0),
    ]
    # Without an order column every row is its own order (a generated row id over Connect).
    no_orders = seg.rfm_table(LOG.drop("order_id"), as_of="2024-01-10", engine="spark")
    assert dict(zip(no_orders["customer_id"], no_orders["frequency"], strict=True)) == {None: 1, "a": 2, "b": 1}


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=logs,
    as_of=st.one_of(st.none(), st.dates(min_value=D(2024, 1, 15), max_value=D(2024, 4, 5))),
    window_days=st.one_of(st.none(), st.integers(1, 60)),
)
def test_random_logs_match_polars_over_connect(remote, rows, as_of, window_days):
    tx = frame_of(rows)
    assert_same_customers(
        seg.rfm_table(tx, as_of=as_of, window_days=window_days, engine="spark"),
        seg.rfm_table(tx, as_of=as_of, window_days=window_days),
        exact_money=True,
    )


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=logs,
    dates=st.lists(st.dates(min_value=D(2024, 1, 1), max_value=D(2024, 4, 10)), min_size=1, max_size=3),
    window_days=st.one_of(st.none(), st.integers(1, 45)),
)
def test_random_logs_snapshot_inputs_match_polars_over_connect(remote, rows, dates, window_days):
    # Higher-order functions with Python lambdas, a window and a broadcast join, all over gRPC.
    tx = frame_of(rows)
    got = sp.from_spark(sp.snapshot_inputs_spark(sp.to_spark(tx, remote), dates, window_days=window_days))
    assert_same_customers(got, polars_inputs(tx, dates, window_days), exact_money=True)


def test_corpus_matches_polars_over_connect(remote, tmp_path):
    tx = corpus_transactions()
    want = seg.rfm_table(tx, as_of="2024-03-31", window_days=90)
    assert_same_customers(seg.rfm_table(tx, as_of="2024-03-31", window_days=90, engine="spark"), want,
                          exact_money=False)
    # A Parquet folder is read by the server itself (here it shares the file system).
    folder = tmp_path / "tx"
    (folder / "2024").mkdir(parents=True)
    half = tx.height // 2
    tx.head(half).write_parquet(folder / "part-0.parquet")
    tx.tail(tx.height - half).write_parquet(folder / "2024" / "part-1.parquet")
    got = seg.customer_table_from_parquet(folder, as_of="2024-03-31", window_days=90, engine="spark")
    assert_same_customers(got, want, exact_money=False)
    assert isinstance(got, pl.DataFrame) and got.height > 50


def test_an_unreachable_server_is_a_data_error_at_once(monkeypatch):
    # The Connect client alone would retry for minutes; the engine says so in a sentence at once.
    pytest.importorskip("pyspark")
    monkeypatch.setenv("SPARK_REMOTE", f"sc://127.0.0.1:{_free_port()}")
    start = time.monotonic()
    with pytest.raises(DataError, match=r"Could not reach the Spark Connect server .* nothing answered"):
        seg.rfm_table(LOG, engine="spark")
    assert time.monotonic() - start < 5
    for bad in ("http://spark:15002", "sc://", "sc://spark:99999"):
        monkeypatch.setenv("SPARK_REMOTE", bad)
        with pytest.raises(DataError, match="sc://host:port"):
            sp.spark_session()


def test_missing_connect_client_is_named(monkeypatch):
    pytest.importorskip("pyspark")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "grpc" else real(name, *a))
    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:15002")
    with pytest.raises(DataError, match=r"client libraries \(grpc missing\).*tierlens\[spark\]"):
        sp.spark_session()


def test_the_spark_extra_carries_the_connect_client():
    # pyspark's own "connect" extra names the client libraries; the ones the app does not
    # install anyway must be in the dev requirements (CI) and in tierlens[spark] (users).
    pytest.importorskip("pyspark")
    requires = importlib.metadata.requires("pyspark") or []
    connect = {re.split(r"[<>=~!; \[]", r, maxsplit=1)[0].lower() for r in requires if 'extra == "connect"' in r}
    assert {"grpcio", "grpcio-status", "googleapis-common-protos", "zstandard"} <= connect
    root = Path(__file__).parents[1]
    runtime = _names((root / "requirements.txt").read_text().splitlines())
    dev = _names((root / "requirements-dev.txt").read_text().splitlines())
    extra = _names(tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["spark"])
    # pandas arrives with streamlit (requirements.txt) and is not pinned by the app itself.
    needed = connect - runtime - {"pandas"}
    assert needed <= dev, needed - dev
    assert needed <= extra, needed - extra


def _names(lines) -> set[str]:
    return {re.split(r"[<>=~! \[]", line.strip(), maxsplit=1)[0].lower()
            for line in lines if line.strip() and not line.startswith(("#", "-"))}
