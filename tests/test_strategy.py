"""Strategy: tier summaries, playbook suggestions, budget allocation and what-ifs."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tx_logs import RULES, STORY, D, tx_frame

from segmentation.demo import demo_transactions
from segmentation.errors import DataError
from segmentation.playbook import KINDS, PLAYBOOK, Play, playbook_table
from segmentation.presets import get_preset
from segmentation.snapshots import snapshots
from segmentation.strategy import (
    allocate_budget,
    classify_kinds,
    suggest,
    tier_summary,
    what_if,
    window_periods,
)

LOG = tx_frame(STORY)
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


def small_summary(**extra):
    # A: 10 big spenders, 100 per customer per period (12,000 over 12 periods).
    # B: 100 growing customers, 5 per customer per period. C: 50 lapsed, 2 per period.
    return pl.DataFrame({
        "tier": ["A", "B", "C", *extra.get("tiers", [])],
        "kind": ["high_value", "growing", "low_value", *extra.get("kinds", [])],
        "customers": [10, 100, 50, *extra.get("customers", [])],
        "value": [12000.0, 6000.0, 1200.0, *extra.get("values", [])],
    })


COSTS = {"phone": 5.0, "app": 0.1, "email": 0.1}


def plan(frame):
    return {r["tier"]: r for r in frame.iter_rows(named=True)}


def test_budget_funds_the_best_return_per_yuan_first():
    b = allocate_budget(small_summary(), 42.5, COSTS, periods_in_window=12)
    # Per contacted customer: A 100 x 8% = 8.0 by phone (5.0), B 5 x 6% = 0.3 by app (0.1),
    # C 2 x 1.5% = 0.03 by email (0.1). ROI: B 3.0, A 1.6, C 0.3.
    assert b["tier"].to_list() == ["B", "A", "C", "__unallocated__"]
    got = plan(b)
    assert {t: (r["contacted"], r["spend"], r["expected_incremental_revenue"]) for t, r in got.items()} == {
        "B": (100, pytest.approx(10.0), pytest.approx(30.0)),
        "A": (6, pytest.approx(30.0), pytest.approx(48.0)),
        "C": (0, 0.0, 0.0),
        "__unallocated__": (None, pytest.approx(2.5), None),
    }
    assert [got[t]["roi"] for t in "BAC"] == pytest.approx([3.0, 1.6, 0.3])
    assert [got[t]["coverage"] for t in "BAC"] == pytest.approx([1.0, 0.6, 0.0])
    assert [got[t]["reason"] for t in ["B", "A", "C", "__unallocated__"]] == ["full", "budget", "roi_below_1", "too_small"]
    assert [got[t]["channel"] for t in "BAC"] == ["app", "phone", "email"]
    assert (got["A"]["revenue_per_customer_period"], got["A"]["response_rate"], got["A"]["spend_uplift"]) == (
        100.0, 0.08, 1.0)


def test_budget_stops_at_full_coverage_and_keeps_unprofitable_tiers_out():
    got = plan(allocate_budget(small_summary(), 1000.0, COSTS, periods_in_window=12))
    assert {t: r["spend"] for t, r in got.items()} == pytest.approx(
        {"B": 10.0, "A": 50.0, "C": 0.0, "__unallocated__": 940.0})
    assert got["__unallocated__"]["reason"] == "roi_below_1"
    # Asked for, the unprofitable tier is funded last and loses money: 50 x 0.03 for 5.0.
    loose = plan(allocate_budget(small_summary(), 1000.0, COSTS, periods_in_window=12, allow_negative=True))
    assert (loose["C"]["contacted"], loose["C"]["spend"]) == (50, pytest.approx(5.0))
    assert loose["C"]["expected_incremental_revenue"] == pytest.approx(1.5)
    assert (loose["__unallocated__"]["spend"], loose["__unallocated__"]["reason"]) == (pytest.approx(935.0), "all_covered")
    exact = plan(allocate_budget(small_summary(), 60.0, COSTS, periods_in_window=12))
    assert (exact["__unallocated__"]["spend"], exact["__unallocated__"]["reason"]) == (0.0, None)


def test_budget_assumptions_are_arguments():
    # Twice the contacts double the cost per customer; a higher response rate and a smaller
    # uplift move the return per contacted customer: A 100 x 20% x 0.5 = 10 for 2 x 5.0.
    got = plan(allocate_budget(small_summary(), 20.0, COSTS, periods_in_window=12, contacts_per_customer=2,
                               response_rates={"high_value": 0.2}, spend_uplift=0.5))
    assert (got["A"]["roi"], got["A"]["response_rate"], got["A"]["spend_uplift"]) == (1.0, 0.2, 0.5)
    assert got["B"]["roi"] == pytest.approx(5 * 0.06 * 0.5 / 0.2)  # 0.75, now below break-even
    assert (got["A"]["contacted"], got["A"]["spend"], got["B"]["contacted"]) == (2, 20.0, 0)
    # Fewer periods in the window mean more spend per period: B 6000 / 100 / 6 = 10 per period.
    assert plan(allocate_budget(small_summary(), 0.0, COSTS, periods_in_window=6))["B"]["roi"] == pytest.approx(6.0)
    assert plan(allocate_budget(small_summary(), 1.0, COSTS, periods_in_window=12,
                                channels={"growing": "email"}))["B"]["channel"] == "email"


def test_budget_handles_empty_and_negative_tiers():
    s = small_summary(tiers=["Empty", "Refunds"], kinds=["growing", "slipping"], customers=[0, 4], values=[0.0, -50.0])
    got = plan(allocate_budget(s, 100.0, COSTS, periods_in_window=12))
    assert (got["Empty"]["reason"], got["Empty"]["roi"], got["Empty"]["coverage"]) == ("no_customers", None, None)
    # Net refunds count as no spend to win back, never as a negative return.
    assert (got["Refunds"]["revenue_per_customer_period"], got["Refunds"]["roi"], got["Refunds"]["contacted"]) == (0.0, 0.0, 0)
    assert allocate_budget(s.head(0), 10.0, COSTS, periods_in_window=12)["tier"].to_list() == ["__unallocated__"]


@pytest.mark.parametrize("bad", [
    {"total_budget": -1.0}, {"total_budget": float("nan")}, {"cost_per_contact": {}},
    {"cost_per_contact": {"sms": 0.0}}, {"periods_in_window": 0.0}, {"response_rates": {"high_value": 1.5}},
    {"response_rates": {"gold": 0.1}}, {"spend_uplift": -0.1}, {"contacts_per_customer": 0},
    {"channels": {"growing": "fax"}},
])
def test_budget_rejects_bad_input(bad):
    args = {"total_budget": 10.0, "cost_per_contact": COSTS, "periods_in_window": 12.0, **bad}
    with pytest.raises(DataError):
        allocate_budget(small_summary(), args.pop("total_budget"), args.pop("cost_per_contact"), **args)


def test_window_periods():
    assert window_periods("2025-01-01", "2025-04-01", period="week") == pytest.approx(90 / 7)
    assert window_periods("2020-01-01", "2025-01-01", period="quarter", window_days=730) == pytest.approx(8 * 730 / 730.5)
    assert window_periods("2024-12-20", "2025-01-01", period="month") == 1.0  # a short history is not stretched
    with pytest.raises(DataError):
        window_periods("2024-01-01", "2025-01-01", period="year")


@given(
    tiers=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 500), st.floats(-100, 1e6)), max_size=6),
    budget=st.floats(0, 1e5),
    allow=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_budget_properties(tiers, budget, allow):
    summary = pl.DataFrame({"tier": [f"t{i}" for i in range(len(tiers))], "kind": [k for k, _, _ in tiers],
                            "customers": [n for _, n, _ in tiers], "value": [v for _, _, v in tiers]},
                           schema={"tier": pl.String, "kind": pl.String, "customers": pl.Int64, "value": pl.Float64})
    b = allocate_budget(summary, budget, {"phone": 3.0, "sms": 0.2, "app": 0.05, "email": 0.01},
                        periods_in_window=12, allow_negative=allow)
    rows = b.filter(pl.col("tier") != "__unallocated__")
    assert b["spend"].sum() == pytest.approx(budget, abs=1e-6)
    assert all(c <= n for c, n in zip(rows["contacted"], rows["customers"], strict=True))
    funded = rows.filter(pl.col("contacted") > 0)
    if not allow:
        assert all(r >= 1 for r in funded["roi"])
    # Greedy: a tier is only funded when every tier with a better return is fully covered, or
    # the money left after it could not pay for one more of its contacts.
    spent_through = rows["spend"].cum_sum().to_list()
    for i, r in enumerate(rows.iter_rows(named=True)):
        if r["contacted"]:
            for j, p in enumerate(rows.head(i).iter_rows(named=True)):
                if p["customers"] and (p["roi"] or 0) > r["roi"]:
                    left = budget - spent_through[j]
                    assert p["coverage"] == 1.0 or p["cost_per_contact"] > left + 1e-9


def test_budget_returns_are_plausible_on_the_demo_data():
    # The page's default channel costs and assumptions on the real snapshot summary of the demo:
    # before this model, single tiers showed returns of up to ~3,000 times their spend.
    tx = demo_transactions()
    preset = get_preset("cn8")
    snaps = snapshots(tx, ["2025-11-30", "2026-01-01"], rules=preset.rules_zh, bins=preset.bins, method=preset.method)
    summary = tier_summary(snaps, "2026-01-01", previous="2025-11-30")
    periods = window_periods(tx["order_date"].min(), "2026-01-01", period="month")
    b = allocate_budget(summary, 5000.0, {"phone": 5.0, "sms": 0.1, "app": 0.05, "email": 0.01},
                        periods_in_window=periods)
    rows = b.filter(pl.col("tier") != "__unallocated__", pl.col("spend") > 0)
    overall = rows["expected_incremental_revenue"].sum() / rows["spend"].sum()
    assert 1.0 <= overall <= 10.0
    assert rows["roi"].max() <= 100.0
    assert rows["spend"].sum() <= 5000.0


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


def test_tier_summary_says_its_period_and_follows_the_value_order():
    s = tier_summary(SNAPS, "2024-02-29", previous="2024-01-31", value_order=["Active", "VIP"])
    assert s["tier"].to_list() == ["Active", "VIP", "Other"]
    assert s.select("revenue_from", "revenue_to").unique().rows() == [(D(2024, 2, 1), D(2024, 2, 29))]
    # VIP -> Other is a downgrade either way; Active's 'up' moved to VIP, now a worse tier.
    got = {r["tier"]: (r["upgrade_rate"], r["downgrade_rate"]) for r in s.iter_rows(named=True)}
    assert got["Active"] == (0.0, 0.5) and got["VIP"] == (0.0, 1.0)
    first = tier_summary(SNAPS, "2024-01-31")
    assert first.select("revenue_from", "revenue_to").unique().rows() == [(None, D(2024, 1, 31))]
