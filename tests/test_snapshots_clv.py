"""P_ALIVE and CLV in tier rules over time: snapshots score every date with one fitted model."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tx_logs import D, tx_frame

from segmentation.clv import (
    BGNBDParams,
    ClvModel,
    GammaGammaParams,
    customer_lifetime_value,
    predict_clv,
    score_customers,
    summary,
)
from segmentation.enrich import add_clv
from segmentation.errors import RuleError
from segmentation.kpis import kpi_trends
from segmentation.migration import movers
from segmentation.rfm import rfm_table
from segmentation.rules import assign_tiers, parse_rules
from segmentation.scoring import score
from segmentation.snapshots import snapshots

BG = BGNBDParams(r=1.0, alpha=2.0, a=0.5, b=2.5, log_likelihood=0.0, n_customers=0, n_repeat_buyers=0,
                 converged=True)
GG = GammaGammaParams(p=6.0, q=4.0, v=15.0, log_likelihood=0.0, n_customers=0, converged=True)
MODEL = ClvModel(bgnbd=BG, gamma_gamma=GG, unit="W")

# a: buys on Jan 1, twice on Jan 15 (one purchase day), Feb 12, returns goods on Feb 20.
# b: one purchase. c: arrives in February.
LOG = tx_frame([
    ("a", D(2024, 1, 1), 10.0, "o1"),
    ("a", D(2024, 1, 15), 20.0, "o2"),
    ("a", D(2024, 1, 15), 5.0, "o3"),
    ("a", D(2024, 2, 12), 30.0, "o4"),
    ("a", D(2024, 2, 20), -7.0, "r4"),
    ("b", D(2024, 1, 8), 40.0, "o5"),
    ("c", D(2024, 2, 5), 12.0, "o6"),
])
JAN, FEB = D(2024, 1, 31), D(2024, 2, 29)
RISK_RULES = "Risky: P_ALIVE < 0.7\nSure: P_ALIVE >= 0.99\nOther: else"
UI_RULES = "At risk: P_ALIVE < 0.3 and M >= 1000\nValuable: CLV >= 500\nOthers: else"


def by_key(frame: pl.DataFrame, col: str) -> dict:
    return {(r["snapshot_date"], r["customer_id"]): r[col] for r in frame.iter_rows(named=True)}


# --- literal expectations on a hand log -----------------------------------------------------


def test_p_alive_uses_age_at_last_purchase_in_model_units():
    s = snapshots(LOG, [JAN, FEB], rules=RISK_RULES, clv_model=MODEL)
    # P(alive) = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)), weeks.
    # a at Jan 31: x = 1, t_x = 14 days = 2 weeks (Jan 1 -> Jan 15), T = 30/7 weeks
    #   -> 1 / (1 + 0.2 * (44/28)**2) = 245/366.
    # a at Feb 29: x = 2, t_x = 6 weeks (Jan 1 -> Feb 12), T = 59/7 weeks
    #   -> 1 / (1 + (1/7) * (73/56)**3) = 1229312/1618329.
    got = by_key(s, "p_alive")
    assert set(got) == {(JAN, "a"), (JAN, "b"), (FEB, "a"), (FEB, "b"), (FEB, "c")}
    assert got[(JAN, "a")] == pytest.approx(245 / 366, rel=1e-12)
    assert got[(FEB, "a")] == pytest.approx(1229312 / 1618329, rel=1e-12)
    # No repeat purchase: BG/NBD customers only drop out right after a purchase.
    assert got[(JAN, "b")] == got[(FEB, "b")] == got[(FEB, "c")] == 1.0
    # Reading recency as "days since the last purchase" (17 days at Feb 29) would give this:
    wrong = 1 / (1 + (1 / 7) * ((2 + 59 / 7) / (2 + 17 / 7)) ** 3)
    assert got[(FEB, "a")] != pytest.approx(wrong, rel=1e-3)
    assert by_key(s, "tier") == {
        (JAN, "a"): "Risky", (JAN, "b"): "Sure", (FEB, "a"): "Other", (FEB, "b"): "Sure", (FEB, "c"): "Sure",
    }


def test_clv_inputs_merge_same_day_purchases_net_returns_and_leave_out_the_first_purchase():
    s = snapshots(LOG, [JAN, FEB], rules=RISK_RULES, clv_model=MODEL)
    # (x, t_x, T, m) per row, written out by hand; m is the mean net spend of the repeat purchase
    # days: at Feb 29, a's return of 7 on Feb 20 is charged to Feb 12, so m = (25 + 30 - 7) / 2.
    want = predict_clv(
        BG, GG,
        [1, 0, 2, 0, 0],
        [2.0, 0.0, 6.0, 0.0, 0.0],
        [30 / 7, 23 / 7, 59 / 7, 52 / 7, 24 / 7],
        [25.0, 0.0, 24.0, 0.0, 0.0],
    )
    keys = [(JAN, "a"), (JAN, "b"), (FEB, "a"), (FEB, "b"), (FEB, "c")]
    for col in ("p_alive", "clv", "expected_purchases"):
        got = by_key(s, col)
        assert [got[k] for k in keys] == pytest.approx(want[col].to_list(), rel=1e-12)


def test_lookback_window_decides_who_is_in_a_snapshot_not_their_clv_inputs():
    full = snapshots(LOG, [JAN, FEB], rules=RISK_RULES, clv_model=MODEL)
    windowed = snapshots(LOG, [JAN, FEB], rules=RISK_RULES, clv_model=MODEL, window_days=30)
    # (Jan 30, Feb 29]: b's only purchase is older, so b drops out; a keeps the same P(alive).
    assert set(by_key(windowed, "p_alive")) == {(JAN, "a"), (JAN, "b"), (FEB, "a"), (FEB, "c")}
    assert by_key(windowed, "p_alive")[(FEB, "a")] == by_key(full, "p_alive")[(FEB, "a")]
    assert by_key(windowed, "clv")[(FEB, "a")] == by_key(full, "clv")[(FEB, "a")]


def test_p_alive_falls_while_a_regular_buyer_stays_away():
    weekly = tx_frame([("d", D(2024, 1, 1) + dt.timedelta(days=7 * i), 10.0, f"w{i}") for i in range(5)])
    dates = [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31), D(2024, 4, 30)]
    s = snapshots(weekly, dates, rules=RISK_RULES, clv_model=MODEL)
    alive = s.sort("snapshot_date")["p_alive"].to_list()
    assert all(x > y for x, y in itertools.pairwise(alive))
    assert s.sort("snapshot_date")["tier"].cast(pl.String).to_list()[-1] == "Risky"


def test_rules_on_p_alive_or_clv_need_the_model():
    with pytest.raises(RuleError, match="P_ALIVE or CLV"):
        snapshots(LOG, [JAN, FEB], rules=RISK_RULES)
    with pytest.raises(RuleError, match="P_ALIVE or CLV"):
        kpi_trends(LOG, rules="Rich: CLV >= 100\nRest: else")


def test_model_without_clv_rules_adds_the_columns_and_keeps_the_tiers():
    plain = snapshots(LOG, [JAN, FEB], rules="Big: M >= 30\nSmall: else")
    with_model = snapshots(LOG, [JAN, FEB], rules="Big: M >= 30\nSmall: else", clv_model=MODEL)
    assert with_model.columns == [*plain.columns, "p_alive", "clv", "expected_purchases"]
    assert with_model.drop("p_alive", "clv", "expected_purchases").equals(plain)
    assert with_model["p_alive"].null_count() == 0


def test_model_is_held_fixed_in_both_cut_modes_and_rows_order_does_not_matter():
    fixed = snapshots(LOG, [JAN, FEB], rules=RISK_RULES, clv_model=MODEL, cut_mode="fixed")
    recomputed = snapshots(LOG, [JAN, FEB], rules=RISK_RULES, clv_model=MODEL, cut_mode="recomputed")
    shuffled = snapshots(LOG.sample(fraction=1.0, shuffle=True, seed=3), [JAN, FEB], rules=RISK_RULES,
                         clv_model=MODEL)
    cols = ["snapshot_date", "customer_id", "p_alive", "clv", "expected_purchases", "tier"]
    assert recomputed.select(cols).equals(fixed.select(cols))
    assert shuffled.equals(fixed)


def test_kpis_tier_with_the_model():
    trends = kpi_trends(LOG, rules=RISK_RULES, clv_model=MODEL)
    feb = trends.filter(pl.col("period_end") == FEB)
    assert dict(feb.select("tier", "customers").rows()) == {"Risky": 0, "Sure": 2, "Other": 1}


def test_movers_show_p_alive_and_clv_at_both_dates():
    s = snapshots(LOG, [JAN, FEB], rules=RISK_RULES, clv_model=MODEL)
    who = movers(s, "Risky", "Other", JAN, FEB)
    row = who.row(0, named=True)
    assert who.height == 1 and row["customer_id"] == "a"
    assert row["p_alive_then"] == pytest.approx(245 / 366, rel=1e-12)
    assert row["p_alive_now"] == pytest.approx(1229312 / 1618329, rel=1e-12)
    assert {"clv_then", "clv_now"} <= set(who.columns)
    assert "p_alive_then" not in movers(snapshots(LOG, [JAN, FEB], rules="All: else"), "All", "All", JAN, FEB).columns


# --- every date equals summary + model at that date -----------------------------------------

row = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "007"]),
    st.integers(0, 120).map(lambda n: D(2024, 1, 1) + dt.timedelta(days=n)),
    st.sampled_from([1.0, 2.5, 7.0, 20.0, 100.0, 0.0, -2.5, -20.0]),
    st.sampled_from(["x1", "x2", "x3"]) | st.uuids().map(str),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(row, min_size=1, max_size=25),
    dates=st.lists(st.integers(-5, 130).map(lambda n: D(2024, 1, 1) + dt.timedelta(days=n)), min_size=1, max_size=4),
    window=st.sampled_from([None, 10, 45]),
    unit=st.sampled_from(["D", "W", "M"]),
    zero=st.booleans(),
)
def test_each_snapshot_scores_like_the_summary_at_that_date(rows, dates, window, unit, zero):
    tx = tx_frame(rows)
    model = ClvModel(bgnbd=BG, gamma_gamma=GG, unit=unit, zero_amount_purchases=zero, horizon_days=180)
    s = snapshots(tx, dates, rules="All: else", window_days=window, clv_model=model)
    for d in sorted(set(dates)):
        got = {r[1]: r[2:] for r in s.filter(pl.col("snapshot_date") == d).select(
            "snapshot_date", "customer_id", "p_alive", "clv", "expected_purchases").rows()}
        if not got:
            continue
        want_frame = customer_lifetime_value(
            BG, GG, summary(tx, d, unit, zero_amount_purchases=zero), unit=unit, horizon_days=180
        )
        want = {r[0]: r[1:] for r in want_frame.select(
            "customer_id", "p_alive", "clv", "expected_purchases").rows() if r[0] in got}
        assert set(want) == set(got)
        for cid, values in got.items():
            assert values == pytest.approx(want[cid], rel=1e-9, abs=1e-12)


# --- the as-of snapshot equals the Overview -------------------------------------------------


def _synthetic_log(n_customers: int = 300, seed: int = 7) -> pl.DataFrame:
    """Customers buying at their own rate who each drop out after some purchase (BG/NBD-like)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_customers):
        rate, drop = rng.gamma(1.5, 1 / 30), rng.beta(1.0, 3.0)
        day = int(rng.integers(0, 500))
        j = 0
        while day < 700:
            amount = round(float(rng.gamma(2.0, 40.0)), 2)
            rows.append((f"C{i:04d}", D(2023, 1, 1) + dt.timedelta(days=day), amount, f"{i}-{j}"))
            if rng.random() < 0.05:
                rows.append((f"C{i:04d}", D(2023, 1, 1) + dt.timedelta(days=day + 3), -amount / 2, f"R{i}-{j}"))
            if rng.random() < drop:
                break
            day += 1 + int(rng.exponential(1 / rate))
            j += 1
    return tx_frame(rows)


@pytest.mark.parametrize("window", [None, 365])
def test_snapshot_at_the_as_of_date_equals_the_overview(window):
    tx = _synthetic_log()
    as_of = D(2024, 12, 1)
    result = score_customers(tx, as_of=as_of)
    rules = "At risk: P_ALIVE < 0.5 and M >= 200\nValuable: CLV >= 60\nOthers: else"
    # The Overview: rfm_table + score + add_clv(score_customers) + assign_tiers.
    overview = assign_tiers(add_clv(score(rfm_table(tx, as_of=as_of, window_days=window)), result.frame),
                            parse_rules(rules))
    s = snapshots(tx, [D(2024, 6, 30), D(2024, 9, 30), as_of], rules=rules, window_days=window,
                  clv_model=result.model)
    now = s.filter(pl.col("snapshot_date") == as_of)
    want = {r[0]: r[1:] for r in overview.select("customer_id", pl.col("tier").cast(pl.String), "p_alive", "clv").rows()}
    got = {r[0]: r[1:] for r in now.select("customer_id", pl.col("tier").cast(pl.String), "p_alive", "clv").rows()}
    assert set(got) == set(want)
    assert {c: v[0] for c, v in got.items()} == {c: v[0] for c, v in want.items()}
    assert len({v[0] for v in got.values()}) == 3  # every tier is used, so the comparison bites
    for cid, (_, p_alive, clv) in got.items():
        assert math.isclose(p_alive, want[cid][1], rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(clv, want[cid][2], rel_tol=1e-9, abs_tol=1e-9)
    # Earlier dates are scored too, with the same parameters.
    assert s.filter(pl.col("snapshot_date") < as_of)["p_alive"].null_count() == 0


def test_demo_as_of_snapshot_equals_the_overview():
    from segmentation.demo import demo_transactions

    tx = demo_transactions()
    as_of = tx["order_date"].max().date() + dt.timedelta(days=1)
    result = score_customers(tx, as_of=as_of)
    overview = assign_tiers(add_clv(score(rfm_table(tx, as_of=as_of)), result.frame), parse_rules(UI_RULES))
    s = snapshots(tx, [D(2025, 9, 30), as_of], rules=UI_RULES, clv_model=result.model)
    now = s.filter(pl.col("snapshot_date") == as_of).sort("customer_id")
    overview = overview.sort("customer_id")
    assert now["customer_id"].to_list() == overview["customer_id"].to_list()
    assert now["tier"].cast(pl.String).to_list() == overview["tier"].cast(pl.String).to_list()
    assert (now["p_alive"] - overview["p_alive"]).abs().max() <= 1e-9
    assert ((now["clv"] - overview["clv"]).abs() / overview["clv"].abs().clip(1.0, None)).max() <= 1e-9
    # One-purchase customers are certainly active in BG/NBD, on both sides.
    single = now.filter(pl.col("frequency") == 1)["p_alive"]
    assert single.len() > 0 and set(single.to_list()) <= {1.0}
