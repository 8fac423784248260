"""One-date summaries of a customer table (segmentation.summary), on a tiny hand-written table."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation.summary import (
    customer_history,
    find_customer,
    headline,
    pareto,
    rf_grid,
    tier_summary,
    top_share,
)

# ----------------------------------------------------------------------------- summaries


def test_tier_summary_follows_rule_order_and_keeps_empty_tiers(tiered):
    summary = tier_summary(tiered.filter(pl.col("tier") != "Middle"))
    assert summary.select("tier", "customers", "revenue").rows() == [
        ("Best", 1, 600.0), ("Middle", 0, 0.0), ("Lost", 2, 80.0),
    ]
    assert summary["customer_share"].to_list() == pytest.approx([1 / 3, 0.0, 2 / 3])
    assert summary["revenue_share"].to_list() == pytest.approx([600 / 680, 0.0, 80 / 680])


def test_tier_summary_hides_an_empty_implicit_unassigned_tier(tiered):
    with_unassigned = tiered.with_columns(pl.col("tier").cast(pl.String).cast(pl.Enum(["Best", "Middle", "Lost", "Unassigned"])))
    assert tier_summary(with_unassigned, unassigned="Unassigned")["tier"].to_list() == ["Best", "Middle", "Lost"]
    assert tier_summary(with_unassigned)["tier"].to_list() == ["Best", "Middle", "Lost", "Unassigned"]


def test_headline_numbers(tiered):
    numbers = headline(tiered, tiered)
    assert numbers["customers"] == 5
    assert numbers["revenue"] == pytest.approx(980.0)
    assert numbers["orders"] == 13
    # gross = 600 + 210 + 100 + 100 + 20 = 1030 over 13 orders
    assert numbers["aov"] == pytest.approx(1030 / 13)
    assert numbers["repeat_share"] == pytest.approx(0.6)
    assert numbers["top_tier"] == "Best"
    assert numbers["top_tier_revenue_share"] == pytest.approx(600 / 980)


def test_rf_grid_counts_and_dominant_tier(tiered):
    grid = rf_grid(tiered)
    assert grid.rows() == [(1, 1, 2, 40.0, "Lost"), (2, 2, 3, 300.0, "Middle")]


def test_pareto_curve_and_top_share(tiered):
    curve = pareto(tiered)
    # Sorted spend 600, 200, 100, 100, 0 (the net return counts as 0) of 1000.
    assert curve["customer_share"].to_list() == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert curve["revenue_share"].to_list() == pytest.approx([0.0, 0.6, 0.8, 0.9, 1.0, 1.0])
    assert top_share(tiered, 0.2) == pytest.approx(0.6)
    assert top_share(tiered, 0.4) == pytest.approx(0.8)


def test_pareto_of_an_empty_table_is_a_flat_line():
    empty = pl.DataFrame({"monetary": []}, schema={"monetary": pl.Float64})
    assert pareto(empty).rows() == [(0.0, 0.0), (1.0, 0.0)]
    assert top_share(empty) == 0.0


def test_find_customer_ignores_case_and_spaces_but_returns_ids_verbatim():
    tx = pl.DataFrame({"customer_id": ["AB-12", "ab-12", "Cd 34", "007", "AB-12"]})
    assert find_customer(tx, "AB-12") == ["AB-12"]          # exact wins over its look-alike
    assert find_customer(tx, " Ab-12 ") == ["AB-12", "ab-12"]  # two customers: both, sorted
    assert find_customer(tx, "cd34") == ["Cd 34"]
    assert find_customer(tx, "CD  34") == ["Cd 34"]
    assert find_customer(tx, "7") == [] and find_customer(tx, "   ") == []
    assert find_customer(tx["customer_id"], "007") == ["007"]


@settings(max_examples=80, deadline=None)
@given(ids=st.lists(st.text(alphabet="aAbB 1éÉ客", min_size=1, max_size=5), min_size=1, max_size=8),
       pick=st.integers(0, 7), noise=st.booleans())
def test_find_customer_finds_every_id_typed_in_another_case(ids, pick, noise):
    target = ids[pick % len(ids)]
    typed = target.swapcase() if noise else f"  {target.upper()} "
    found = find_customer(pl.DataFrame({"customer_id": ids}), typed)
    # From the definition, in plain Python: an exact match, else ids equal once spaces and case go.
    if typed in ids:
        assert found == [typed]
    else:
        key = "".join(typed.split()).lower()
        assert found == sorted({i for i in ids if "".join(i.split()).lower() == key} if key else set())
        if key:
            assert target in found


def test_customer_history_keeps_ids_verbatim():
    tx = pl.DataFrame({
        "customer_id": ["007", "7", "007"],
        "order_date": [dt.date(2024, 3, 1), dt.date(2024, 1, 1), dt.date(2024, 1, 5)],
        "amount": [5.0, 1.0, 2.0], "order_id": ["x", "y", "z"],
    })
    assert customer_history(tx, "007")["order_id"].to_list() == ["z", "x"]


