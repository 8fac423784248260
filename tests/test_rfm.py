"""rfm_table: recency, frequency and monetary as of a date, on hand-written logs."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tx_logs import D, tx_frame

from segmentation.errors import DataError
from segmentation.rfm import rfm_table

LOG = tx_frame(
    [
        # 'a': one invoice of two lines, a later return, a later purchase
        ("a", D(2024, 1, 1), 10.0, "o1"),
        ("a", D(2024, 1, 1), 5.0, "o1"),
        ("a", D(2024, 1, 5), -5.0, "r1"),
        ("a", D(2024, 2, 1), 30.0, "o2"),
        # 'b': one purchase and a zero-value row (a free sample), which is no purchase
        ("b", D(2024, 1, 20), 20.0, "o3"),
        ("b", D(2024, 1, 25), 0.0, "o4"),
        # 'c': only a return, so never a customer in the RFM sense
        ("c", D(2024, 1, 10), -8.0, "r2"),
        # '007': leading zeros are part of the id
        ("007", D(2024, 2, 10), 99.5, "o5"),
    ]
)


def test_rfm_literal_values_default_as_of_is_day_after_last_order():
    out = rfm_table(LOG)
    assert out.to_dicts() == [
        {"customer_id": "007", "recency_days": 1, "frequency": 1, "monetary": 99.5,
         "first_purchase": D(2024, 2, 10), "last_purchase": D(2024, 2, 10), "tenure_days": 1,
         "avg_order_value": 99.5},
        {"customer_id": "a", "recency_days": 10, "frequency": 2, "monetary": 40.0,
         "first_purchase": D(2024, 1, 1), "last_purchase": D(2024, 2, 1), "tenure_days": 41,
         "avg_order_value": 22.5},
        {"customer_id": "b", "recency_days": 22, "frequency": 1, "monetary": 20.0,
         "first_purchase": D(2024, 1, 20), "last_purchase": D(2024, 1, 20), "tenure_days": 22,
         "avg_order_value": 20.0},
    ]


def test_as_of_ignores_later_transactions_and_accepts_strings():
    out = rfm_table(LOG, as_of="2024-01-21")
    assert out.select("customer_id", "recency_days", "frequency", "monetary").rows() == [
        ("a", 20, 1, 10.0),
        ("b", 1, 1, 20.0),
    ]


def test_window_keeps_only_recent_days():
    # (2024-02-11 - 15 days, 2024-02-11] = 2024-01-28 .. 2024-02-11
    out = rfm_table(LOG, as_of=D(2024, 2, 11), window_days=15)
    assert out.select("customer_id", "frequency", "monetary").rows() == [("007", 1, 99.5), ("a", 1, 30.0)]


def test_lazy_in_lazy_out_and_same_result():
    lazy = rfm_table(LOG.lazy(), as_of="2024-03-01")
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().equals(rfm_table(LOG, as_of="2024-03-01"))


def test_datetime_orders_count_by_calendar_day():
    tx = LOG.with_columns(pl.col("order_date").cast(pl.Datetime("us")) + pl.duration(hours=23))
    assert rfm_table(tx, as_of="2024-02-11")["recency_days"].to_list() == [1, 10, 22]


def test_empty_period_gives_empty_table_with_schema():
    out = rfm_table(LOG, as_of="2023-01-01")
    assert out.height == 0
    assert out.columns == ["customer_id", "recency_days", "frequency", "monetary", "first_purchase",
                           "last_purchase", "tenure_days", "avg_order_value"]


@pytest.mark.parametrize("bad", [0, -3])
def test_window_must_be_positive(bad):
    with pytest.raises(DataError, match="lookback window"):
        rfm_table(LOG, window_days=bad)


def test_bad_as_of_is_a_data_error():
    with pytest.raises(DataError, match="YYYY-MM-DD"):
        rfm_table(LOG, as_of="yesterday")


rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.dates(min_value=D(2024, 1, 1), max_value=D(2024, 3, 31)),
        st.sampled_from([-20.0, 0.0, 5.0, 12.5, 100.0]),
        st.sampled_from(["o1", "o2", "o3", "o4", "o5", "o6"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(rows=rows, seed=st.integers(0, 2**16))
def test_row_order_does_not_matter(rows, seed):
    tx = tx_frame(rows)
    assert rfm_table(tx, as_of="2024-04-01").equals(
        rfm_table(tx.sample(fraction=1.0, shuffle=True, seed=seed), as_of="2024-04-01")
    )


@settings(max_examples=60, deadline=None)
@given(rows=rows)
def test_invariants(rows):
    tx = tx_frame(rows)
    out = rfm_table(tx, as_of="2024-04-01")
    buyers = {c for c, _, a, _ in rows if a > 0}
    assert set(out["customer_id"]) == buyers
    for r in out.iter_rows(named=True):
        assert r["frequency"] >= 1
        assert 0 < r["recency_days"] <= r["tenure_days"]
        orders = {o for c, _, a, o in rows if c == r["customer_id"] and a > 0}
        assert r["frequency"] == len(orders)
        net = sum(a for c, _, a, _ in rows if c == r["customer_id"])
        assert r["monetary"] == pytest.approx(net)
