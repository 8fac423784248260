"""Strategy: tier summaries, playbook suggestions, budget allocation and what-ifs."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from segmentation.errors import DataError
from segmentation.playbook import KINDS, PLAYBOOK, Play, playbook_table
from segmentation.snapshots import snapshots
from segmentation.strategy import allocate_budget, classify_kinds, suggest, tier_summary, what_if

D = dt.date
RULES = "VIP: M >= 100\nActive: R <= 30\nOther: else"


def tx_frame(rows):
    return pl.DataFrame(
        rows,
        schema={"customer_id": pl.String, "order_date": pl.Date, "amount": pl.Float64, "order_id": pl.String},
        orient="row",
    )


LOG = tx_frame(
    [
        ("up", D(2024, 1, 10), 20.0, "o1"),
        ("up", D(2024, 2, 5), 150.0, "o2"),
        ("churn", D(2024, 1, 15), 50.0, "o3"),
        ("new", D(2024, 2, 20), 30.0, "o4"),
        ("ret", D(2024, 1, 20), 200.0, "o5"),
        ("ret", D(2024, 2, 10), -120.0, "R5"),
        ("back", D(2023, 10, 1), 40.0, "o6"),
        ("back", D(2024, 2, 25), 10.0, "o7"),
    ]
)
SNAPS = snapshots(LOG, [D(2024, 1, 31), D(2024, 2, 29)], rules=RULES, bins=2, window_days=45)


def test_tier_summary_numbers_and_change():
    s = tier_summary(SNAPS, "2024-02-29", previous="2024-01-31")
    assert s.select("tier", "customers", "revenue", "value", "customers_prev", "inflow").rows() == [
        ("VIP", 1, 150.0, 150.0, 1, 1),
        ("Active", 2, 40.0, 40.0, 2, 2),
        ("Other", 1, -120.0, 80.0, 0, 1),
    ]
    vip = s.row(0, named=True)
    assert (vip["downgrade_rate"], vip["gone_rate"], vip["outflow_rate"], vip["customers_change"]) == (1.0, 0.0, 1.0, 0.0)
    active = s.row(1, named=True)
    assert (active["upgrade_rate"], active["gone_rate"], active["outflow_rate"]) == (0.5, 0.5, 0.5)
    assert s.row(2, named=True)["outflow_rate"] is None  # nobody was in Other before
    assert s["value_share"].to_list() == pytest.approx([150 / 270, 40 / 270, 80 / 270])
    first = tier_summary(SNAPS, "2024-01-31")
    assert first["customers_change"].to_list() == [None, None, None]


def test_kinds_come_from_names_then_scores():
    summary = pl.DataFrame({
        "tier": ["Champions", "mine-a", "mine-b", "mine-c", "mine-d"],
        "avg_r_score": [5.0, 4.5, 4.2, 1.5, 1.2],
        "avg_f_score": [5.0, 4.0, 1.5, 4.5, 1.0],
        "avg_m_score": [5.0, 4.0, 2.0, 4.0, 1.5],
    })
    assert classify_kinds(summary).to_list() == ["high_value", "high_value", "growing", "slipping", "low_value"]
    assert classify_kinds(summary, kinds={"mine-a": "slipping"}).to_list()[1] == "slipping"
    with pytest.raises(DataError):
        classify_kinds(summary, kinds={"mine-a": "gold"})


def summary_row(**kw):
    base = {"tier": "T", "kind": "high_value", "customers": 100, "customer_share": 0.1,
            "revenue_share": 0.1, "value_share": 0.1, "value": 1000.0, "customers_change": None,
            "revenue_change": None, "upgrade_rate": None, "downgrade_rate": None, "gone_rate": None,
            "outflow_rate": None, "inflow_rate": None, "avg_frequency": 3.0, "avg_recency": 10.0}
    base.update(kw)
    return base


def test_suggestions_follow_the_numbers_and_say_why():
    summary = pl.DataFrame([
        summary_row(tier="Top", kind="high_value", revenue_share=0.42, outflow_rate=0.2, value=5000.0),
        summary_row(tier="Sleepy", kind="slipping", value_share=0.05, customers_change=0.25),
        summary_row(tier="Tail", kind="low_value", avg_frequency=1.1, customer_share=0.3),
        summary_row(tier="Empty", kind="growing", customers=0),
    ])
    s = suggest(summary)
    assert s.select("tier", "play", "priority").rows() == [
        ("Top", "hv_guard", 1), ("Top", "hv_leak", 1), ("Sleepy", "sl_rising", 1),
        ("Top", "hv_reward", 2), ("Sleepy", "sl_winback", 2),
        ("Tail", "lv_automate", 3), ("Tail", "lv_exit", 3),
    ]
    why = dict(zip(s["play"], s["why"], strict=True))
    assert why["hv_guard"] == "revenue_share 42.0% >= 30%"
    assert why["sl_rising"] == "customers_change 25.0% >= 10%"
    assert why["lv_exit"] == "avg_frequency 1.1 <= 1.5"
    assert why["hv_reward"] == "always"
    assert s.filter(pl.col("play") == "hv_leak")["outflow_rate"].item() == 0.2
    # Without a previous date, change-driven plays stay silent.
    quiet = suggest(pl.DataFrame([summary_row(tier="Sleepy", kind="slipping", value_share=0.05)]))
    assert quiet["play"].to_list() == ["sl_winback"]


def test_playbook_is_data_a_user_can_read_and_extend():
    table = playbook_table()
    assert table.height == len(PLAYBOOK)
    assert set(table["kind"]) == {*KINDS, "any"}
    assert all(table["action_zh"].str.len_chars() > 10) and all(table["action_en"].str.len_chars() > 20)
    custom = (Play("big_tail", "low_value", (("customers", ">=", 50),), 1, "试点", "Pilot", "sms"),)
    s = suggest(pl.DataFrame([summary_row(kind="low_value")]), playbook=custom)
    assert s.select("play", "why").rows() == [("big_tail", "customers 100 >= 50")]


def test_budget_is_split_by_value_at_stake_with_caps():
    summary = pl.DataFrame({
        "tier": ["A", "B", "C"], "kind": ["high_value", "slipping", "low_value"],
        "customers": [10, 1000, 100], "value": [10000.0, 20000.0, 1000.0],
    })
    b = allocate_budget(summary, 100.0, {"phone": 2.0, "sms": 0.1, "email": 0.01})
    rows = {r["tier"]: r for r in b.iter_rows(named=True)}
    # Stakes: A 500 (5%), B 2000 (10%), C 20 (2%). A would get 100*500/2520 = 19.84 of max 20.
    assert rows["A"]["channel"] == "phone" and rows["B"]["channel"] == "sms" and rows["C"]["channel"] == "email"
    assert rows["A"]["budget"] == pytest.approx(100 * 500 / 2520)
    # B can use at most 1000 * 0.1 = 100, C at most 1; C is capped, its spare goes to A and B.
    assert rows["C"]["budget"] == pytest.approx(100 * 20 / 2520)
    assert sum(r["budget"] for r in rows.values()) == pytest.approx(100.0)
    assert rows["B"]["expected_return"] == pytest.approx(2000 * rows["B"]["budget"] / 100)
    assert rows["__unallocated__"]["budget"] == pytest.approx(0.0)
    capped = allocate_budget(summary, 1000.0, {"phone": 2.0, "sms": 0.1, "email": 0.01})
    got = {r["tier"]: r["budget"] for r in capped.iter_rows(named=True)}
    assert got == pytest.approx({"B": 100.0, "A": 20.0, "C": 1.0, "__unallocated__": 879.0})
    with pytest.raises(DataError):
        allocate_budget(summary, -1.0, {"sms": 0.1})
    with pytest.raises(DataError):
        allocate_budget(summary, 1.0, {"sms": 0.0})


def test_what_if_moves_customers_at_tier_averages():
    s = tier_summary(SNAPS, "2024-02-29")
    w = what_if(s, "Active", "VIP", 0.5)
    assert w.select("tier", "customers_before", "customers_after", "amount_before", "amount_after").rows() == [
        ("VIP", 1, 2, 150.0, 300.0),
        ("Active", 2, 1, 40.0, 20.0),
        ("Other", 1, 1, -120.0, -120.0),
        ("__all__", 4, 4, 70.0, 200.0),
    ]
    by_value = what_if(s, "Active", "VIP", 1.0, basis="value")
    assert by_value.filter(pl.col("tier") == "__all__")["amount_change"].item() == 2 * (150.0 - 20.0)
    with pytest.raises(DataError):
        what_if(s, "Active", "VIP", 1.5)
    with pytest.raises(DataError):
        what_if(s, "Active", "Nope", 0.1)
