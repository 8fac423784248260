"""The DuckDB engine and Parquet folders give rfm_table's customer table exactly."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_rfm import AMOUNTS, ID_POOL, reference_rfm
from test_rfm import logs as any_id_logs
from tx_logs import tx_frame

import segmentation as seg
from segmentation import rfm as rfm_module
from segmentation.errors import DataError
from segmentation.scoring import SettingsError

D = dt.date
logs = st.lists(
    st.tuples(
        st.sampled_from([i for i in ID_POOL if i is None or "\x00" not in i]),
        st.dates(min_value=D(2024, 1, 1), max_value=D(2024, 3, 31)),
        st.sampled_from(AMOUNTS),
        st.one_of(st.sampled_from(["o1", "o2", "o3"]), st.none()),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=logs,
    as_of=st.one_of(st.none(), st.dates(min_value=D(2024, 1, 15), max_value=D(2024, 4, 5))),
    window_days=st.one_of(st.none(), st.integers(1, 60)),
)
def test_duckdb_equals_plain_python_reference(rows, as_of, window_days):
    tx = tx_frame(rows)
    out = seg.rfm_table(tx, as_of=as_of, window_days=window_days, engine="duckdb")
    assert out.to_dicts() == reference_rfm(rows, as_of, window_days)
    assert out.schema == seg.rfm_table(tx, as_of=as_of, window_days=window_days).schema


def test_time_of_day_and_lazy_input():
    tx = pl.DataFrame({
        "customer_id": ["a", "a", "b"],
        "order_date": [dt.datetime(2024, 1, 10, 23, 59), dt.datetime(2024, 1, 11, 0, 1), dt.datetime(2024, 1, 2)],
        "amount": [5.0, 7.0, 3.0],
        "order_id": ["1", "2", "3"],
    })
    out = seg.rfm_table(tx.lazy(), as_of="2024-01-10", engine="duckdb")
    assert isinstance(out, pl.LazyFrame)
    assert out.collect().select("customer_id", "recency_days", "monetary").rows() == [("a", 0, 5.0), ("b", 8, 3.0)]


def test_unknown_engine_is_a_settings_error():
    with pytest.raises(SettingsError, match="polars, duckdb, spark"):
        seg.rfm_table(tx_frame([("a", D(2024, 1, 1), 1.0, "o")]), engine="pandas")


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_parquet_folder_equals_in_memory(tmp_path, engine):
    tx = seg.demo.generate(500, seed=5)
    (tmp_path / "2024").mkdir()
    half = tx.height // 2
    tx.head(half).write_parquet(tmp_path / "a.parquet")
    tx.tail(tx.height - half).write_parquet(tmp_path / "2024" / "b.parquet")
    for as_of, window in ((None, None), ("2025-06-30", 180)):
        want = seg.rfm_table(tx, as_of=as_of, window_days=window)
        got = seg.customer_table_from_parquet(tmp_path, as_of=as_of, window_days=window, engine=engine)
        assert got.drop("monetary", "avg_order_value").equals(want.drop("monetary", "avg_order_value"))
        assert (got["monetary"] - want["monetary"]).abs().max() <= 1e-6
    glob = seg.customer_table_from_parquet(str(tmp_path / "*.parquet"), engine=engine)
    assert glob.equals(seg.customer_table_from_parquet(tmp_path / "a.parquet", engine=engine))


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_parquet_without_order_column_counts_rows(tmp_path, engine):
    pl.DataFrame({
        "customer_id": ["a", "a", "b"],
        "order_date": [D(2024, 1, 1), D(2024, 1, 1), D(2024, 1, 3)],
        "amount": [5.0, 5.0, -1.0],
    }).write_parquet(tmp_path / "tx.parquet")
    out = seg.customer_table_from_parquet(tmp_path, engine=engine)
    assert out.select("customer_id", "frequency", "recency_days").rows() == [("a", 2, 3)]


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_parquet_problems_are_data_errors(tmp_path, engine):
    with pytest.raises(DataError, match="Parquet"):
        seg.customer_table_from_parquet(tmp_path / "nothing-here" / "*.parquet", engine=engine)
    pl.DataFrame({"customer_id": ["a"], "order_date": [D(2024, 1, 1)]}).write_parquet(tmp_path / "x.parquet")
    with pytest.raises(DataError, match="amount"):
        seg.customer_table_from_parquet(tmp_path, engine=engine)


# ---- Customers split into groups, one streaming pass each


@settings(max_examples=40, deadline=None)
@given(
    # Any text as ids (empty, zero bytes, CJK, a missing id): the groups are ranges of ids in
    # sort order, so they must cut exactly where the sort does.
    rows=any_id_logs,
    as_of=st.one_of(st.none(), st.dates(min_value=D(2024, 1, 15), max_value=D(2024, 4, 5))),
    window_days=st.one_of(st.none(), st.integers(1, 60)),
    partitions=st.integers(1, 5),
)
def test_parquet_in_customer_groups_equals_plain_python_reference(rows, as_of, window_days, partitions):
    with tempfile.TemporaryDirectory() as folder:
        tx_frame(rows).write_parquet(Path(folder) / "tx.parquet")
        out = seg.customer_table_from_parquet(folder, as_of=as_of, window_days=window_days, partitions=partitions)
    assert out.to_dicts() == reference_rfm(rows, as_of, window_days)


def test_parquet_in_customer_groups_equals_one_pass_exactly(tmp_path, monkeypatch):
    tx = seg.demo.generate(2000, seed=11)
    third = tx.height // 3
    tx.head(third).write_parquet(tmp_path / "a.parquet")
    tx.slice(third, third).write_parquet(tmp_path / "b.parquet")
    tx.tail(tx.height - 2 * third).write_parquet(tmp_path / "c.parquet")
    for as_of, window in ((None, None), ("2025-06-30", 180)):
        one = seg.customer_table_from_parquet(tmp_path, as_of=as_of, window_days=window, partitions=1)
        assert one.height > 500
        for k in (2, 3, 8):
            assert seg.customer_table_from_parquet(tmp_path, as_of=as_of, window_days=window, partitions=k).equals(one)

    # By default the number of groups follows the estimated customers: with room for 300
    # customers per pass, about 2,000 customers take several passes, and the table is the same.
    # The cuts between groups come from a sample of customers here (about 1 in 40).
    passes = []
    plan = rfm_module._customer_table
    monkeypatch.setattr(rfm_module, "CUSTOMERS_PER_PASS", 300)
    monkeypatch.setattr(rfm_module, "_SAMPLE_ROWS", tx.height // 40)
    monkeypatch.setattr(rfm_module, "_customer_table", lambda *a, **kw: passes.append(1) or plan(*a, **kw))
    assert seg.customer_table_from_parquet(tmp_path).equals(seg.customer_table_from_parquet(tmp_path, partitions=1))
    assert 5 <= len(passes) - 1 <= 9


@pytest.mark.parametrize("partitions", [0, -2, 1.5, True, "4"])
def test_bad_partitions_are_a_settings_error(tmp_path, partitions):
    tx_frame([("a", D(2024, 1, 1), 5.0, "o1")]).write_parquet(tmp_path / "tx.parquet")
    with pytest.raises(SettingsError, match="partitions"):
        seg.customer_table_from_parquet(tmp_path, partitions=partitions)
