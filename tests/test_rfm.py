"""rfm_table: recency, frequency and monetary as of a date, on hand-written logs."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tx_logs import D, tx_frame

from segmentation.coding import coded_transactions
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


# ---- Short ids are grouped as packed integers, long ones as strings, and frequency skips the
# distinct count when every purchase row is its own order. Each path must give exactly what the
# contract says, which `reference_rfm` spells out in plain Python.

COLUMNS = ["customer_id", "recency_days", "frequency", "monetary", "first_purchase", "last_purchase",
           "tenure_days", "avg_order_value"]


def reference_rfm(rows, as_of=None, window_days=None):
    """The customer table of (customer_id, day, amount, order_id) rows, as plain dicts."""
    if as_of is None:
        as_of = max(day for _, day, _, _ in rows) + dt.timedelta(days=1)
    start = as_of - dt.timedelta(days=window_days) if window_days else None
    per_customer: dict = {}
    for cid, day, amount, order in rows:
        if day <= as_of and (start is None or day > start):
            per_customer.setdefault(cid, []).append((day, amount, order))
    out = []
    for cid, lines in per_customer.items():
        buys = [(day, amount, order) for day, amount, order in lines if amount > 0]
        if not buys:
            continue
        first, last = min(b[0] for b in buys), max(b[0] for b in buys)
        frequency = len({b[2] for b in buys})
        gross = sum(b[1] for b in buys)
        net = gross + sum(amount for _, amount, _ in lines if amount < 0)
        out.append({
            "customer_id": cid, "recency_days": (as_of - last).days, "frequency": frequency,
            "monetary": round(net, 6), "first_purchase": first, "last_purchase": last,
            "tenure_days": (as_of - first).days, "avg_order_value": round(gross, 6) / frequency,
        })
    # Python orders str by code point, which is the UTF-8 byte order Polars sorts by; a missing
    # id sorts first.
    return sorted(out, key=lambda r: (r["customer_id"] is not None, r["customer_id"] or ""))


ID_POOL = [
    "a", "b", "007", "7", "0", "", "客户甲", "é", "12345678", "123456789", "客户ab", "客户abc",
    "a\x00", "a\x00\x00", "ab\x00c", "customer-with-a-long-id", None,
]
# Multiples of 0.25 add up exactly in any order, so the sums can be compared exactly.
AMOUNTS = [-20.0, -0.25, 0.0, 0.75, 5.0, 12.5, 100.0, 1_000_000.5]
any_id = st.one_of(st.sampled_from(ID_POOL), st.text(max_size=10))
logs = st.lists(
    st.tuples(
        any_id,
        st.dates(min_value=D(2024, 1, 1), max_value=D(2024, 3, 31)),
        st.sampled_from(AMOUNTS),
        st.one_of(st.sampled_from(["o1", "o2", "o3"]), st.none()),
    ),
    min_size=1,
    max_size=30,
)


def _own_orders(rows):
    """Every row its own order, as ingest makes them when a file has no order column."""
    return [(c, d, a, f"row-{i}") for i, (c, d, a, _) in enumerate(rows)]


@settings(max_examples=150, deadline=None)
@given(
    rows=logs,
    own_orders=st.booleans(),
    as_of=st.one_of(st.none(), st.dates(min_value=D(2024, 1, 15), max_value=D(2024, 4, 5))),
    window_days=st.one_of(st.none(), st.integers(1, 60)),
)
def test_equals_plain_python_reference_eager_and_lazy(rows, own_orders, as_of, window_days):
    if own_orders:
        rows = _own_orders(rows)
    tx = tx_frame(rows)
    eager = rfm_table(tx, as_of=as_of, window_days=window_days)
    assert eager.columns == COLUMNS
    assert eager.to_dicts() == reference_rfm(rows, as_of, window_days)
    # The lazy plan cannot look at the data first, so it takes the general route.
    lazy = rfm_table(tx.lazy(), as_of=as_of, window_days=window_days)
    assert lazy.collect().equals(eager)
    assert lazy.collect(engine="streaming").equals(eager)
    # The coded copy a saved data set keeps (what the pages aggregate) gives the same table.
    coded, ids = coded_transactions(tx)
    assert rfm_table(coded, as_of=as_of, window_days=window_days, ids=ids).equals(eager)


def test_ids_that_differ_only_in_trailing_zero_bytes_stay_apart():
    tx = tx_frame([
        ("a", D(2024, 1, 1), 10.0, "o1"),
        ("a\x00", D(2024, 1, 2), 20.0, "o2"),
        ("a\x00\x00", D(2024, 1, 3), 30.0, "o3"),
    ])
    out = rfm_table(tx, as_of="2024-01-10")
    assert out.select("customer_id", "monetary").rows() == [("a", 10.0), ("a\x00", 20.0), ("a\x00\x00", 30.0)]
    assert rfm_table(tx.lazy(), as_of="2024-01-10").collect().equals(out)


def test_short_and_long_ids_together_sort_bytewise():
    # 8 bytes is the longest id grouped as a packed integer; "客户ab" is 8 bytes, "客户abc" 9.
    tx = tx_frame([
        ("客户abc", D(2024, 1, 1), 1.0, "o1"),
        ("123456789", D(2024, 1, 2), 2.0, "o2"),
        ("客户ab", D(2024, 1, 3), 3.0, "o3"),
        ("12345678", D(2024, 1, 4), 4.0, "o4"),
        ("12345678", D(2024, 1, 5), -1.0, "r4"),
        ("", D(2024, 1, 6), 5.0, "o5"),
    ])
    expected = [("", 5.0), ("12345678", 3.0), ("123456789", 2.0), ("客户ab", 3.0), ("客户abc", 1.0)]
    out = rfm_table(tx, as_of="2024-01-10")
    assert out.select("customer_id", "monetary").rows() == expected
    short_only = rfm_table(tx.filter(pl.col("customer_id").str.len_bytes() <= 8), as_of="2024-01-10")
    assert short_only.select("customer_id", "monetary").rows() == [r for r in expected if len(r[0].encode()) <= 8]
    assert rfm_table(tx.lazy(), as_of="2024-01-10").collect().equals(out)


def test_one_order_per_row_and_invoice_lines_count_orders_alike():
    lines = [
        ("a", D(2024, 1, 1), 10.0, "inv1"),
        ("a", D(2024, 1, 1), 5.0, "inv1"),
        ("a", D(2024, 1, 2), 7.0, "inv2"),
        ("a", D(2024, 1, 3), -7.0, "inv2"),  # a return of part of an order is no new order
        ("b", D(2024, 1, 2), 1.0, "inv3"),
    ]
    assert rfm_table(tx_frame(lines), as_of="2024-01-10").select("customer_id", "frequency").rows() == [
        ("a", 2), ("b", 1)
    ]
    per_row = rfm_table(tx_frame(_own_orders(lines)), as_of="2024-01-10")
    assert per_row.select("customer_id", "frequency", "avg_order_value").rows() == [
        ("a", 3, 22.0 / 3), ("b", 1, 1.0)
    ]


def test_one_customer():
    tx = tx_frame([("只有我", D(2024, 1, 1), 8.0, "o1"), ("只有我", D(2024, 1, 4), 2.0, "o2")])
    assert rfm_table(tx).to_dicts() == [
        {"customer_id": "只有我", "recency_days": 1, "frequency": 2, "monetary": 10.0,
         "first_purchase": D(2024, 1, 1), "last_purchase": D(2024, 1, 4), "tenure_days": 4,
         "avg_order_value": 5.0},
    ]


def test_returns_only_gives_empty_table_with_schema():
    tx = tx_frame([("a", D(2024, 1, 1), -8.0, "r1"), ("b", D(2024, 1, 2), 0.0, "o1")])
    for out in (rfm_table(tx), rfm_table(tx.lazy()).collect()):
        assert out.height == 0
        assert dict(out.schema) == {
            "customer_id": pl.String, "recency_days": pl.Int64, "frequency": pl.Int64,
            "monetary": pl.Float64, "first_purchase": pl.Date, "last_purchase": pl.Date,
            "tenure_days": pl.Int64, "avg_order_value": pl.Float64,
        }


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "ab", "b", "ba", "客户", "", "zz"]), min_size=1, max_size=30))
def test_coded_ids_survive_hash_clashes(customers):
    """Codes are found by id hashes and then checked against every row's id; when two ids
    share a hash (forced here: one hash per first letter), the strings are used instead, so
    the coded table is always the exact one."""
    import segmentation.coding as coding

    tx = tx_frame([(c, D(2024, 1, 1 + i % 20), float(i + 1), f"o{i}") for i, c in enumerate(customers)])
    exact_ids = tx["customer_id"].unique().sort()
    original = coding._id_hashes
    try:
        coding._id_hashes = lambda ids: ids.str.slice(0, 1).hash(7)  # clashes on purpose
        coded, ids = coded_transactions(tx)
    finally:
        coding._id_hashes = original
    assert ids.to_list() == exact_ids.to_list()
    assert ids.gather(coded["customer_id"]).to_list() == tx["customer_id"].to_list()
    assert rfm_table(coded, as_of="2024-02-01", ids=ids).equals(rfm_table(tx, as_of="2024-02-01"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="ab1", max_size=3)), max_size=40))
def test_all_distinct_is_exact(values):
    from segmentation.coding import all_distinct

    s = pl.Series(values, dtype=pl.String)
    assert all_distinct(s) == (s.n_unique() == len(s))
