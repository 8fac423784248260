"""The demo generator: seeded, canonical, and shaped like real retail data."""

from __future__ import annotations

import polars as pl

from segmentation.demo import demo_transactions, generate
from segmentation.rfm import rfm_table


def test_same_seed_same_data_and_canonical_schema():
    a, b = generate(300, seed=3), generate(300, seed=3)
    assert a.equals(b)
    assert a.schema == pl.Schema({"customer_id": pl.String, "order_date": pl.Datetime("us"),
                                  "amount": pl.Float64, "order_id": pl.String,
                                  "channel": pl.String, "region": pl.String})
    assert not a.equals(generate(300, seed=4))


def test_demo_data_is_realistic():
    tx = demo_transactions()
    assert 20_000 < tx.height < 80_000
    rfm = rfm_table(tx)
    assert rfm.height == 8000  # every customer buys at least once
    one_timers = (rfm["frequency"] == 1).mean()
    assert 0.2 < one_timers < 0.5  # many customers buy once, as in real shops
    assert rfm["frequency"].max() > 30  # and a few are heavy buyers
    returns = (tx["amount"] < 0).mean()
    assert 0.02 < returns < 0.06
    monthly = tx.group_by(pl.col("order_date").dt.month()).len().sort("order_date")["len"]
    assert monthly[10] > 1.3 * monthly.mean()  # November (双11) is the busiest month
    assert tx["customer_id"][0].startswith("C0")
