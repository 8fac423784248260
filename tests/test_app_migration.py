"""Migration page: the movers table fits the screen with the columns a marketer reads, while the
download keeps every column. AppTest on the seeded demo data, plus the rates chart's legend.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
from apptest import run_app

from segmentation.migration import migration_rates, tier_rates
from segmentation.snapshots import snapshots
from ui.charts import migration as migration_charts


def test_movers_table_shows_a_few_readable_columns_and_keeps_the_rest_for_the_download():
    at = run_app({"lang": "en"}, "pages/migration.py")

    table = at.dataframe[0]
    assert list(table.proto.column_order) == [
        "Customer ID", "From", "To", "Days since last purchase (R) (now)", "Purchases (F) (then)",
        "Purchases (F) (now)", "Net spend in between", "Amount spent (M) (now)",
    ]
    config = json.loads(table.proto.columns)
    shown = [config[c].get("label", c) for c in table.proto.column_order]
    assert shown == ["Customer", "From", "To", "Days since last order", "Orders then", "Orders now",
                     "Spent in between (¥)", "Total spend (¥)"]
    # Fixed widths that add up to less than the main area at 1400 px (938 px with the sidebar open).
    assert sum(config[c]["width"] for c in table.proto.column_order) <= 930
    assert config["Amount spent (M) (now)"]["type_config"] == {"type": "number", "format": "localized", "step": 1}
    # The frame behind the table (and the download) still has scores, both dates and the last purchase.
    assert {"R score (then)", "M score (now)", "Last purchase"} <= set(table.value.columns)
    assert table.value.iloc[0][["Customer ID", "Days since last purchase (R) (now)", "Purchases (F) (now)"]].tolist() \
        == ["C000005", 330, 8]


def test_rates_bar_leaves_a_share_that_is_zero_everywhere_out_of_the_legend():
    tx = pl.DataFrame({
        "customer_id": ["a", "a", "b"],
        "order_date": [dt.date(2024, 1, 5), dt.date(2024, 2, 3), dt.date(2024, 1, 10)],
        "amount": [10.0, 30.0, 5.0],
        "order_id": ["1", "2", "3"],
    })
    snaps = snapshots(tx, [dt.date(2024, 1, 31), dt.date(2024, 2, 29)], rules="Big: M >= 20\nSmall: else")
    rates = tier_rates(migration_rates(snaps, "2024-01-31", "2024-02-29"))
    fig = migration_charts.rates_bar(rates, d1="2024-01-31", d2="2024-02-29", lang="en")
    # Without a lookback window nobody leaves and nobody here moved down.
    assert [(tr.name, tr.showlegend) for tr in fig.data] == [
        ("Upgraded", True), ("Unchanged", True), ("Downgraded", False), ("Left the window", False),
    ]
