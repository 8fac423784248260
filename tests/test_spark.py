"""The Spark engine gives the Polars core's customer tables, customer by customer.

Spark runs in local mode with one session for the whole module (starting it takes most of the
time). Without Java the tests are skipped with a reason on a developer's machine; in CI (env
``CI`` set) a Spark that cannot start is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tomllib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tx_logs import tx_frame

import segmentation as seg
from segmentation import spark as sp
from segmentation.errors import DataError
from segmentation.snapshots import snapshots

D = dt.date
CORPUS = Path(__file__).parent / "corpus"
RFM_COLUMNS = ["customer_id", "recency_days", "frequency", "monetary", "first_purchase", "last_purchase",
               "tenure_days", "avg_order_value"]
INPUT_COLUMNS = ["snapshot_date", *RFM_COLUMNS, "first_purchase_ever", "period_orders", "period_revenue"]
MONEY = ("monetary", "avg_order_value", "period_revenue")


@pytest.fixture(scope="module")
def spark():
    if not sp.spark_available():
        if os.environ.get("CI"):
            pytest.fail("CI must run the Spark tests, but PySpark or Java is missing (see .ci/run).")
        pytest.skip("Spark tests need PySpark and Java 17+ (apt-get install openjdk-17-jre-headless).")
    try:
        # Tiny data: two partitions and no adaptive re-planning keep each query quick.
        session = sp.spark_session(config={
            "spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2", "spark.sql.adaptive.enabled": "false",
        })
    except DataError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark tests, but Spark did not start: {exc}")
        pytest.skip(f"Spark did not start: {exc}")
    # Quiet logs on a local session; a Spark Connect session (SPARK_REMOTE set) has no SparkContext.
    with contextlib.suppress(Exception):
        session.sparkContext.setLogLevel("ERROR")
    return session


def on_spark(spark, tx: pl.DataFrame, **kw) -> pl.DataFrame:
    return sp.from_spark(sp.rfm_table_spark(sp.to_spark(tx, spark), **kw))


def assert_same_customers(got: pl.DataFrame, want: pl.DataFrame, *, exact_money: bool) -> None:
    """Equal column by column; money to 1e-6 when float sums may differ in the last bit."""
    assert got.columns == want.columns
    assert got.schema == want.schema
    assert got.height == want.height
    exact = [c for c in want.columns if exact_money or c not in MONEY]
    assert got.select(exact).to_dicts() == want.select(exact).to_dicts()
    for c in set(want.columns) - set(exact):
        diff = (got[c] - want[c]).abs().max()
        assert diff is None or diff <= 1e-6, c


# ---- Hand-worked example


LOG = pl.DataFrame({
    "customer_id": ["a", "a", "a", "b", "b", "c", None],
    # A time of day on the as-of date still counts; the return has no order id.
    "order_date": [dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 5),
                   dt.datetime(2024, 1, 10, 23, 59), dt.datetime(2024, 1, 11), dt.datetime(2024, 1, 4),
                   dt.datetime(2024, 1, 2)],
    "amount": [10.0, 5.0, -5.0, 20.0, 7.0, -3.0, 4.0],
    "order_id": ["o1", "o1", None, "o3", "o4", "o5", "o6"],
})


def test_hand_worked_customer_table(spark):
    out = on_spark(spark, LOG, as_of="2024-01-10")
    # a: one order of two lines (15) and a return (-5); b: the 23:59 order counts, the one on
    # the 11th does not; c only returned goods; a missing customer id is a customer, sorted first.
    assert out.rows() == [
        (None, 8, 1, 4.0, D(2024, 1, 2), D(2024, 1, 2), 8, 4.0),
        ("a", 9, 1, 10.0, D(2024, 1, 1), D(2024, 1, 1), 9, 15.0),
        ("b", 0, 1, 20.0, D(2024, 1, 10), D(2024, 1, 10), 0, 20.0),
    ]
    assert out.schema == seg.rfm_table(LOG, as_of="2024-01-10").schema


def test_docstring_example(spark):
    df = spark.createDataFrame(
        [("a", D(2024, 1, 1), 10.0, "o1"), ("a", D(2024, 1, 5), -5.0, "o2")],
        "customer_id string, order_date date, amount double, order_id string",
    )
    assert [tuple(r) for r in sp.rfm_table_spark(df, as_of="2024-01-10").select("recency_days", "monetary").collect()] \
        == [(9, 5.0)]


def test_default_as_of_window_and_empty_result(spark):
    assert_same_customers(on_spark(spark, LOG), seg.rfm_table(LOG), exact_money=True)
    assert on_spark(spark, LOG, as_of="2024-01-10", window_days=6).rows() == [
        ("b", 0, 1, 20.0, D(2024, 1, 10), D(2024, 1, 10), 0, 20.0),
    ]
    empty = on_spark(spark, LOG, as_of="2023-12-31")
    assert empty.height == 0 and empty.columns == RFM_COLUMNS


def test_rows_without_order_column_are_one_order_each(spark):
    tx = LOG.drop("order_id")
    out = sp.from_spark(sp.rfm_table_spark(sp.to_spark(tx, spark), as_of="2024-01-10"))
    assert dict(zip(out["customer_id"], out["frequency"], strict=True)) == {None: 1, "a": 2, "b": 1}


def test_bad_settings_are_data_errors(spark):
    df = sp.to_spark(LOG, spark)
    with pytest.raises(DataError, match="positive"):
        sp.rfm_table_spark(df, window_days=0)
    with pytest.raises(DataError, match="YYYY-MM-DD"):
        sp.rfm_table_spark(df, as_of="soon")
    with pytest.raises(DataError, match="amount"):
        sp.rfm_table_spark(df.drop("amount"))
    with pytest.raises(DataError, match="at least one"):
        sp.snapshot_inputs_spark(df, [])


# ---- Random logs: Spark equals Polars exactly (amounts in quarters add up exactly in any order)

IDS = ["a", "b", "007", "7", "", "客户甲", "é", "12345678", "123456789", "a\x00", "customer-with-a-long-id", None]
AMOUNTS = [-20.0, -0.25, 0.0, 0.75, 5.0, 12.5, 100.0, 1_000_000.5]
logs = st.lists(
    st.tuples(
        st.sampled_from(IDS),
        st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2024, 3, 31, 23, 59)),
        st.sampled_from(AMOUNTS),
        st.one_of(st.sampled_from(["o1", "o2", "o3"]), st.none()),
    ),
    min_size=1,
    max_size=40,
)


def frame_of(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"customer_id": pl.String, "order_date": pl.Datetime("us"),
                                      "amount": pl.Float64, "order_id": pl.String}, orient="row")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=logs,
    as_of=st.one_of(st.none(), st.dates(min_value=D(2024, 1, 15), max_value=D(2024, 4, 5))),
    window_days=st.one_of(st.none(), st.integers(1, 60)),
)
def test_random_logs_match_polars(spark, rows, as_of, window_days):
    tx = frame_of(rows)
    assert_same_customers(
        on_spark(spark, tx, as_of=as_of, window_days=window_days),
        seg.rfm_table(tx, as_of=as_of, window_days=window_days),
        exact_money=True,
    )


def polars_inputs(tx: pl.DataFrame, dates, window_days) -> pl.DataFrame:
    # A rule that tiers everyone leaves exactly the per-date customer tables plus scores.
    return snapshots(tx, dates, rules="All: else", window_days=window_days).select(INPUT_COLUMNS)


def spark_inputs(spark, tx: pl.DataFrame, dates, window_days) -> pl.DataFrame:
    return sp.from_spark(sp.snapshot_inputs_spark(sp.to_spark(tx, spark), dates, window_days=window_days))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=logs,
    dates=st.lists(st.dates(min_value=D(2024, 1, 1), max_value=D(2024, 4, 10)), min_size=1, max_size=4),
    window_days=st.one_of(st.none(), st.integers(1, 45)),
)
def test_random_logs_snapshot_inputs_match_polars(spark, rows, dates, window_days):
    tx = frame_of(rows)
    assert_same_customers(
        spark_inputs(spark, tx, dates, window_days), polars_inputs(tx, dates, window_days), exact_money=True
    )


def test_snapshot_inputs_hand_worked(spark):
    tx = tx_frame([
        ("a", D(2024, 1, 5), 10.0, "o1"),
        ("a", D(2024, 2, 3), 30.0, "o2"),
        ("a", D(2024, 2, 4), -4.0, "r2"),
        ("b", D(2024, 2, 10), 5.0, "o3"),
    ])
    out = spark_inputs(spark, tx, ["2024-01-31", "2024-02-29"], 30)
    assert out.select("snapshot_date", "customer_id", "frequency", "monetary", "period_orders",
                      "period_revenue", "first_purchase_ever").rows() == [
        (D(2024, 1, 31), "a", 1, 10.0, 1, 10.0, D(2024, 1, 5)),
        # The January order left the 30-day window; the February return stays in the period.
        (D(2024, 2, 29), "a", 1, 26.0, 1, 26.0, D(2024, 1, 5)),
        (D(2024, 2, 29), "b", 1, 5.0, 1, 5.0, D(2024, 2, 10)),
    ]


# ---- Real shapes: the test corpus and the demo data


def corpus_transactions() -> pl.DataFrame:
    """Every corpus file that loads, customers kept apart by file, as one log."""
    cases = tomllib.loads((CORPUS / "EXPECTED.toml").read_text(encoding="utf-8"))["case"]
    frames = []
    for i, case in enumerate(cases):
        if "error" in case:
            continue
        path = CORPUS / case["file"]
        kwargs = case.get("options", {})
        try:
            tx, _ = seg.load_transactions(path, **kwargs)
        except seg.DataError:
            continue
        frames.append(tx.select(
            (pl.lit(f"{i:02d}:") + pl.col("customer_id")).alias("customer_id"),
            pl.col("order_date").cast(pl.Datetime("us")),
            "amount",
            "order_id",
        ))
    assert len(frames) >= 20
    return pl.concat(frames)


def test_corpus_matches_polars(spark):
    tx = corpus_transactions()
    for as_of, window in ((None, None), ("2024-03-31", 90)):
        assert_same_customers(on_spark(spark, tx, as_of=as_of, window_days=window),
                              seg.rfm_table(tx, as_of=as_of, window_days=window), exact_money=False)


def test_demo_data_matches_polars_today_and_over_time(spark):
    tx = seg.demo.demo_transactions()
    assert_same_customers(on_spark(spark, tx, as_of="2025-06-30", window_days=365),
                          seg.rfm_table(tx, as_of="2025-06-30", window_days=365), exact_money=False)
    dates = [D(2024, 12, 31), D(2025, 3, 31), D(2025, 6, 30)]
    assert_same_customers(spark_inputs(spark, tx, dates, 365), polars_inputs(tx, dates, 365), exact_money=False)


# ---- The engine selector and Parquet folders


def test_engine_selector_and_parquet_folder(spark, tmp_path):
    tx = corpus_transactions()
    want = seg.rfm_table(tx, as_of="2024-06-30")
    assert_same_customers(seg.rfm_table(tx, as_of="2024-06-30", engine="spark"), want, exact_money=False)
    lazy = seg.rfm_table(LOG.lazy(), as_of="2024-01-10", engine="spark")
    assert isinstance(lazy, pl.LazyFrame) and lazy.collect().height == 3
    folder = tmp_path / "tx"
    (folder / "2024").mkdir(parents=True)
    half = tx.height // 2
    tx.head(half).write_parquet(folder / "part-0.parquet")
    tx.tail(tx.height - half).write_parquet(folder / "2024" / "part-1.parquet")
    got = seg.customer_table_from_parquet(folder, as_of="2024-06-30", engine="spark")
    assert_same_customers(got, want, exact_money=False)


def test_spark_output_loads_as_a_customer_data_set(spark, tmp_path):
    tx = seg.demo.demo_transactions()
    path = tmp_path / "customers.parquet"
    sp.from_spark(sp.rfm_table_spark(sp.to_spark(tx, spark), as_of="2025-06-30")).write_parquet(path)
    customers, report = seg.load_customers(path, as_of="2025-06-30")
    want = seg.rfm_table(tx, as_of="2025-06-30")
    assert report.rows_kept == want.height
    assert_same_customers(customers.select(RFM_COLUMNS), want, exact_money=False)


def test_target_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARK_REMOTE", "sc://spark-connect.example:15002")
    monkeypatch.setenv("TIERLENS_SPARK_MASTER", "spark://master:7077")
    assert sp.spark_target() == ("remote", "sc://spark-connect.example:15002")
    monkeypatch.delenv("SPARK_REMOTE")
    assert sp.spark_target() == ("master", "spark://master:7077")
    (tmp_path / "spark-defaults.conf").write_text("# cluster\nspark.master   yarn\nspark.executor.memory 4g\n")
    assert sp._master_in_defaults(str(tmp_path)) == "yarn"
    assert sp._master_in_defaults(str(tmp_path / "absent")) is None
