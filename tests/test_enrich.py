"""Joining the lifetime-value columns onto the customer table before tier rules run."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from segmentation.enrich import add_clv, needs_clv
from segmentation.errors import DataError
from segmentation.rules import assign_tiers, parse_rules

RFM = pl.DataFrame({"customer_id": ["007", "a", "b"], "monetary": [1500.0, 2000.0, 50.0]})
CLV = pl.DataFrame({
    "customer_id": ["b", "007"], "p_alive": [0.9, 0.2], "expected_purchases": [3.0, 0.1],
    "expected_avg_spend": [10.0, 500.0], "clv": [30.0, 45.0],
})


def test_left_join_keeps_every_customer_in_order_and_nulls_the_unscored():
    out = add_clv(RFM, CLV)
    assert out.columns == ["customer_id", "monetary", "p_alive", "clv", "expected_purchases"]
    assert out.rows() == [("007", 1500.0, 0.2, 45.0, 0.1), ("a", 2000.0, None, None, None), ("b", 50.0, 0.9, 30.0, 3.0)]
    assert RFM.columns == ["customer_id", "monetary"]  # the input is not changed


def test_lazy_in_lazy_out_and_existing_columns_are_replaced():
    stale = RFM.with_columns(pl.lit(0.5).alias("p_alive"))
    out = add_clv(stale.lazy(), CLV.lazy())
    assert isinstance(out, pl.LazyFrame)
    assert out.collect()["p_alive"].to_list() == [0.2, None, 0.9]


def test_expected_purchases_may_be_missing():
    out = add_clv(RFM, CLV.select("customer_id", "p_alive", "clv"))
    assert out["expected_purchases"].to_list() == [None, None, None]


def test_bad_clv_tables_are_data_errors():
    with pytest.raises(DataError, match="no column clv"):
        add_clv(RFM, CLV.drop("clv"))
    with pytest.raises(DataError, match="more than once"):
        add_clv(RFM, pl.concat([CLV, CLV]))


def test_rules_can_use_p_alive_and_clv_after_the_join():
    rules = parse_rules("At risk: P_ALIVE < 0.3 and M >= 1000\nValuable: CLV >= 40\nRest: else")
    assert needs_clv(rules.columns_used) is True
    assert needs_clv(parse_rules("Big: M >= 10\nRest: else").columns_used) is False
    tiered = assign_tiers(add_clv(RFM, CLV), rules)
    # 'a' has no score: the null comparisons do not match, so it falls through to else.
    assert dict(tiered.select("customer_id", pl.col("tier").cast(pl.String)).iter_rows()) == {
        "007": "At risk", "a": "Rest", "b": "Rest",
    }


@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), unique=True),
       st.lists(st.sampled_from(["a", "b", "c", "x"]), unique=True))
def test_rows_and_order_are_those_of_the_customer_table(ids, scored):
    rfm = pl.DataFrame({"customer_id": ids}, schema={"customer_id": pl.String})
    clv = pl.DataFrame({"customer_id": scored, "p_alive": [0.5] * len(scored), "clv": [1.0] * len(scored)},
                       schema={"customer_id": pl.String, "p_alive": pl.Float64, "clv": pl.Float64})
    out = add_clv(rfm, clv)
    assert out["customer_id"].to_list() == ids
    assert out["clv"].to_list() == [1.0 if i in scored else None for i in ids]
