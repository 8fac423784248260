"""Hand-written transaction logs shared by the core tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

D = dt.date
SCHEMA = {"customer_id": pl.String, "order_date": pl.Date, "amount": pl.Float64, "order_id": pl.String}

# Tiers on raw values, so expectations do not depend on quantiles.
RULES = "VIP: M >= 100\nActive: R <= 30\nOther: else"

# One customer who upgrades, one who churns, one who is new, one who returns goods, and one who
# comes back after a long break.
STORY = [
    ("up", D(2024, 1, 10), 20.0, "o1"),
    ("up", D(2024, 2, 5), 150.0, "o2"),
    ("churn", D(2024, 1, 15), 50.0, "o3"),
    ("new", D(2024, 2, 20), 30.0, "o4"),
    ("ret", D(2024, 1, 20), 200.0, "o5"),
    ("ret", D(2024, 2, 10), -120.0, "R5"),
    ("back", D(2023, 10, 1), 40.0, "o6"),
    ("back", D(2024, 2, 25), 10.0, "o7"),
]


def tx_frame(rows) -> pl.DataFrame:
    """A canonical transactions frame from (customer_id, date, amount, order_id) tuples."""
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")
