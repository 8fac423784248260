"""CLV numbers that say when they cannot be trusted: one-time buyers, returns, fit warnings,
the holdout verdict."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation.clv import (
    BGNBDParams,
    GammaGammaParams,
    holdout_check,
    score_customers,
    summary,
    summary_with_report,
)
from segmentation.clv import holdout as holdout_module
from segmentation.clv.diagnostics import (
    AT_RISK_P_ALIVE,
    P_ALIVE_ALL_HIGH,
    buyer_signals,
    clv_overview,
    fit_warnings,
    tier_clv_summary,
)
from segmentation.clv.holdout import HOLDOUT_GOOD_ERROR, HOLDOUT_ROUGH_ERROR, holdout_verdict
from segmentation.errors import DataError

CDNOW = Path(__file__).parent / "data" / "cdnow"
CAL_END = date(1997, 9, 30)
OBS_END = date(1998, 6, 30)
START = date(2024, 1, 1)


def tx_frame(rows: list[tuple[str, date, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_date": [r[1] for r in rows],
            "amount": [r[2] for r in rows],
            "order_id": [str(i) for i in range(len(rows))],
        },
        schema={"customer_id": pl.String, "order_date": pl.Date, "amount": pl.Float64, "order_id": pl.String},
    )


def day(n: int) -> date:
    return START + timedelta(days=n)


def bg_params(**kw) -> BGNBDParams:
    base = {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.43, "log_likelihood": 0.0, "n_customers": 0,
            "n_repeat_buyers": 0, "converged": True}
    return BGNBDParams(**{**base, **kw})


def btyd_tx(n: int = 300, seed: int = 11) -> pl.DataFrame:
    """Customers who buy at their own rate and drop out after some purchase (BG/NBD-like)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, date, float]] = []
    for i in range(n):
        rate = rng.gamma(0.9, 1 / 30)
        drop = rng.beta(1.0, 4.0)
        t = float(rng.integers(0, 200))
        spend = rng.gamma(4.0, 10.0)
        first = True
        while t < 365:
            rows.append((f"c{i:04d}", day(int(t)), round(float(rng.gamma(5, spend / 5)), 2)))
            if not first and rng.random() < drop:
                break
            first = False
            t += rng.exponential(1 / rate)
    return tx_frame(rows)


def regular_buyers_tx(n: int = 200, seed: int = 1) -> pl.DataFrame:
    """Everyone buys every 5-9 days up to the end: nobody ever drops out."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        t, spend = int(rng.integers(0, 60)), float(rng.gamma(4, 10))
        while t < 365:
            rows.append((f"c{i}", day(t), round(spend, 2)))
            t += int(rng.integers(5, 10))
    return tx_frame(rows)


@pytest.fixture(scope="module")
def cdnow_tx() -> pl.DataFrame:
    fields = np.array((CDNOW / "CDNOW_sample.txt").read_text().split()).reshape(-1, 5)
    return pl.DataFrame({
        "customer_id": fields[:, 1],
        "order_date": pl.Series(fields[:, 2]).str.to_date("%Y%m%d"),
        "amount": fields[:, 4].astype(float),
        "order_id": [str(i) for i in range(len(fields))],
    })


# --------------------------------------------------------------------------------------------
# One-time buyers: P(alive) = 1 by construction, so they get their own signal
# --------------------------------------------------------------------------------------------


def test_buyer_signals_literal() -> None:
    # Weeks: x buys on days 0 and 14 (T = 4 weeks at the end), y once on day 0, z once on day 21.
    s = pl.DataFrame({"frequency": [1, 0, 0], "recency": [2.0, 0.0, 0.0], "T": [4.0, 4.0, 1.0]})
    out = buyer_signals(s, unit_days=7.0, gap_days=14.0)
    assert out.rows() == [(True, 14, None), (False, 28, True), (False, 7, False)]
    assert buyer_signals(s, unit_days=7.0, gap_days=None)["past_typical_gap"].to_list() == [None, None, None]


def test_score_customers_flags_one_time_buyers_against_the_typical_gap() -> None:
    tx = pl.concat([btyd_tx(), tx_frame([("new", day(360), 25.0)])])
    as_of = day(364)
    result = score_customers(tx, as_of=as_of)
    # Independent: purchase days per customer from the rows, in plain Python.
    days: dict[str, set[date]] = defaultdict(set)
    for cid, when, amount in tx.select("customer_id", "order_date", "amount").rows():
        if amount >= 0 and when <= as_of:
            days[cid].add(when)
    gaps = [(max(v) - min(v)).days / (len(v) - 1) for v in days.values() if len(v) > 1]
    typical = statistics.median(gaps)
    assert result.typical_gap_days == pytest.approx(typical, rel=1e-12)
    got = {r[0]: r[1:] for r in result.frame.select(
        "customer_id", "repeat_buyer", "days_since_last_purchase", "past_typical_gap", "p_alive").rows()}
    assert set(got) == set(days)
    for cid, v in days.items():
        repeat, since, past, p_alive = got[cid]
        assert repeat == (len(v) > 1)
        assert since == (as_of - max(v)).days
        assert past == (None if repeat else since > typical)
        if not repeat:
            assert p_alive == 1.0  # what the model says, and why the signal exists
    assert any(r[2] for r in got.values()) and any(r[2] is False for r in got.values())


def test_clv_by_tier_literal() -> None:
    tiered = pl.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e", "f"],
        "tier": pl.Series(["Lapsed", "Lapsed", "Lapsed", "Lapsed", "Top", "Top"],
                          dtype=pl.Enum(["Top", "Lapsed", "Empty"])),
    })
    scores = pl.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"],  # f has no score
        "p_alive": [0.2, 1.0, 1.0, 1.0, 0.9],
        "clv": [10.0, 5.0, 3.0, 2.0, 30.0],
        "repeat_buyer": [True, False, False, False, True],
        "past_typical_gap": [None, True, True, False, None],
    })
    out = tier_clv_summary(tiered, scores)
    assert out.to_dicts() == [
        {"tier": "Top", "customers": 2, "scored": 1, "total_clv": 30.0, "mean_clv": 30.0, "median_clv": 30.0,
         "repeat_buyers": 1, "mean_p_alive_repeat": 0.9, "at_risk_repeat": 0, "one_time_buyers": 0,
         "one_time_past_gap": 0, "one_time_past_gap_share": None},
        {"tier": "Lapsed", "customers": 4, "scored": 4, "total_clv": 20.0, "mean_clv": 5.0, "median_clv": 4.0,
         "repeat_buyers": 1, "mean_p_alive_repeat": 0.2, "at_risk_repeat": 1, "one_time_buyers": 3,
         "one_time_past_gap": 2, "one_time_past_gap_share": pytest.approx(2 / 3)},
    ]
    # The all-customer mean P(alive) the old chart showed for Lapsed would be 0.8.
    overview = clv_overview(scores).row(0, named=True)
    assert overview["customers"] == 5 and overview["repeat_buyers"] == 2
    assert overview["mean_p_alive_repeat"] == pytest.approx(0.55)
    assert overview["one_time_buyers"] == 3 and overview["one_time_past_gap"] == 2
    with pytest.raises(DataError, match="repeat_buyer"):
        clv_overview(scores.drop("repeat_buyer"))


score_row = st.tuples(
    st.sampled_from(["T1", "T2", "T3"]),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1e4),
    st.booleans(),
    st.booleans(),
    st.booleans(),  # scored at all
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(score_row, min_size=1, max_size=30))
def test_clv_by_tier_matches_plain_python(rows) -> None:
    ids = [f"c{i}" for i in range(len(rows))]
    tiered = pl.DataFrame({"customer_id": ids, "tier": [r[0] for r in rows]})
    scored = [(cid, r) for cid, r in zip(ids, rows, strict=True) if r[5]]
    scores = pl.DataFrame(
        {
            "customer_id": [c for c, _ in scored],
            "p_alive": [1.0 if not r[3] else r[1] for _, r in scored],
            "clv": [r[2] for _, r in scored],
            "repeat_buyer": [r[3] for _, r in scored],
            "past_typical_gap": [None if r[3] else r[4] for _, r in scored],
        },
        schema={"customer_id": pl.String, "p_alive": pl.Float64, "clv": pl.Float64, "repeat_buyer": pl.Boolean,
                "past_typical_gap": pl.Boolean},
    )
    out = {r["tier"]: r for r in tier_clv_summary(tiered, scores).iter_rows(named=True)}
    assert sorted(out) == sorted({r[0] for r in rows})
    for tier, got in out.items():
        members = [r for r in rows if r[0] == tier]
        with_score = [r for r in members if r[5]]
        repeat = [r for r in with_score if r[3]]
        once = [r for r in with_score if not r[3]]
        assert got["customers"] == len(members)
        assert got["scored"] == len(with_score)
        assert got["repeat_buyers"] + got["one_time_buyers"] == len(with_score)
        assert got["one_time_past_gap"] == sum(r[4] for r in once)
        assert got["at_risk_repeat"] == sum(r[1] < AT_RISK_P_ALIVE for r in repeat)
        if repeat:
            assert got["mean_p_alive_repeat"] == pytest.approx(sum(r[1] for r in repeat) / len(repeat))
        else:
            assert got["mean_p_alive_repeat"] is None
        if once:
            assert got["one_time_past_gap_share"] == pytest.approx(sum(r[4] for r in once) / len(once))
        if with_score:
            assert got["total_clv"] == pytest.approx(sum(r[2] for r in with_score))


# --------------------------------------------------------------------------------------------
# Spend net of returns
# --------------------------------------------------------------------------------------------


def test_a_cancelled_huge_order_does_not_make_a_huge_clv() -> None:
    # Online Retail's customer 16446: £2.90 in May, then a £168,469.60 order cancelled the same
    # day in December. Net spend £2.90.
    tx = pl.concat([
        btyd_tx(),
        tx_frame([("big", day(130), 2.90), ("big", day(340), 168_469.60), ("big", day(340), -168_469.60)]),
    ])
    frame, report = summary_with_report(tx, day(364))
    big = frame.filter(pl.col("customer_id") == "big").row(0, named=True)
    assert (big["frequency"], big["monetary"]) == (1, 0.0)
    assert report.n_returns == 1 and report.returns_amount == pytest.approx(168_469.60)
    result = score_customers(tx, as_of=day(364))
    clv = dict(result.frame.select("customer_id", "clv").rows())
    others = sorted(v for k, v in clv.items() if k != "big")
    # Spend falls back to the population mean: an ordinary customer, not the top one.
    assert clv["big"] < others[len(others) // 2] * 2
    assert result.frame.filter(pl.col("customer_id") == "big")["expected_avg_spend"].item() == pytest.approx(
        result.gamma_gamma.mean_spend
    )


def test_returns_are_charged_to_the_latest_purchase_day_on_or_before_them() -> None:
    tx = tx_frame([
        ("a", day(0), 10.0),
        ("a", day(0), -4.0),  # first purchase day: not part of the repeat spend
        ("a", day(10), 30.0),
        ("a", day(12), -5.0),  # charged to day 10
        ("a", day(20), 40.0),
        ("a", day(20), -50.0),  # charged to day 20: net -10 on that day
        ("b", day(1), -9.0),  # before any purchase of b: changes nothing
        ("b", day(3), 20.0),
        ("b", day(6), 15.0),
    ])
    frame, report = summary_with_report(tx, day(30), unit="D")
    assert frame.rows() == [
        ("a", 2, 20.0, 30.0, (25.0 - 10.0) / 2),
        ("b", 1, 3.0, 27.0, 15.0),
    ]
    assert (report.n_returns, report.returns_amount) == (4, 68.0)
    assert (report.n_returns_unmatched, report.returns_amount_unmatched) == (1, 9.0)
    # Net spend never goes below 0.
    assert summary(tx_frame([("c", day(0), 5.0), ("c", day(2), 5.0), ("c", day(3), -50.0)]), day(9))[
        "monetary"].to_list() == [0.0]


def test_holdout_returns_stay_in_the_holdout() -> None:
    tx = tx_frame([
        ("a", day(0), 10.0), ("a", day(5), 20.0),
        ("a", day(12), -20.0),  # in the holdout, with no holdout purchase before it
        ("a", day(14), 30.0), ("a", day(15), -6.0),  # holdout purchase, partly returned
    ])
    out = summary(tx, day(10), unit="D", observation_end=day(20))
    assert out.select("monetary", "frequency_holdout", "monetary_holdout").rows() == [(20.0, 1, 24.0)]


# --------------------------------------------------------------------------------------------
# Fit warnings
# --------------------------------------------------------------------------------------------


def test_boundary_fit_is_not_converged_and_warns() -> None:
    result = score_customers(regular_buyers_tx(), as_of=day(364))
    assert result.bgnbd.at_bound  # nobody drops out: the parameters run to the box
    assert result.bgnbd.converged is False
    codes = [w.code for w in result.warnings]
    assert codes[0] == "bgnbd_at_bound"
    assert "p_alive_all_high" in codes
    assert not result.trusted
    repeat_alive = result.frame.filter(pl.col("repeat_buyer"))["p_alive"]
    assert repeat_alive.min() > P_ALIVE_ALL_HIGH
    for w in result.warnings:
        assert w.message_en and w.message("en") == w.message_en
        assert any("\u4e00" <= ch <= "\u9fff" for ch in w.message("zh"))


def test_fit_warnings_literal() -> None:
    ok = bg_params()
    assert fit_warnings(ok) == ()
    assert fit_warnings(ok, min_p_alive_repeat=P_ALIVE_ALL_HIGH) == ()  # strictly above warns
    assert [w.code for w in fit_warnings(ok, min_p_alive_repeat=0.72)] == ["p_alive_all_high"]
    assert "72%" in fit_warnings(ok, min_p_alive_repeat=0.72)[0].message_en
    stalled = bg_params(converged=False)
    assert [w.code for w in fit_warnings(stalled)] == ["bgnbd_not_converged"]
    gg = GammaGammaParams(p=6.0, q=4.0, v=15.0, log_likelihood=0.0, n_customers=0, converged=False,
                          at_bound=("p",))
    assert [w.code for w in fit_warnings(bg_params(at_bound=("b",), converged=False), gg)] == [
        "bgnbd_at_bound", "gamma_gamma_at_bound"]


def test_cdnow_fit_has_no_warnings(cdnow_tx) -> None:
    result = score_customers(cdnow_tx, as_of=CAL_END)
    assert result.warnings == ()
    assert result.bgnbd.at_bound == () and result.bgnbd.converged


# --------------------------------------------------------------------------------------------
# Holdout verdict
# --------------------------------------------------------------------------------------------


def test_cdnow_holdout_error_and_verdict(cdnow_tx) -> None:
    check = holdout_check(cdnow_tx, calibration_end=CAL_END, observation_end=OBS_END)
    assert round(check.relative_error, 3) == -0.121
    assert "-0.121" in holdout_check.__doc__ and "-0.012" not in holdout_check.__doc__
    assert check.summary.height == 2357
    assert check.verdict.level == "rough"
    assert check.verdict.message_en.startswith("Rough: the model predicted 12.1% fewer purchases")
    assert check.warnings == ()


@pytest.mark.parametrize(
    ("error", "level"),
    [
        (0.0, "good"),
        (-HOLDOUT_GOOD_ERROR, "good"),
        (HOLDOUT_GOOD_ERROR + 1e-9, "rough"),
        (-HOLDOUT_ROUGH_ERROR, "rough"),
        (HOLDOUT_ROUGH_ERROR + 1e-9, "do_not_use"),
        (3.0, "do_not_use"),
        (float("nan"), "do_not_use"),
    ],
)
def test_holdout_verdict_thresholds(error: float, level: str) -> None:
    verdict = holdout_verdict(error)
    assert verdict.level == level
    assert verdict.message("en") == verdict.message_en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in verdict.message("zh"))
    if math.isfinite(error) and error:
        assert f"{abs(error):.1%}" in verdict.message_en


def test_holdout_of_a_boundary_fit_is_not_for_planning(cdnow_tx, monkeypatch) -> None:
    check = holdout_check(regular_buyers_tx(), calibration_end=day(200), observation_end=day(364))
    assert check.bgnbd.at_bound and not check.bgnbd.converged
    assert check.warnings[0].code == "bgnbd_at_bound"
    assert check.verdict.level == "do_not_use"
    # A boundary fit whose error alone would rate "rough" is still not for planning.
    real = holdout_module.fit_bgnbd
    monkeypatch.setattr(
        holdout_module, "fit_bgnbd",
        lambda *a, **kw: dataclasses.replace(real(*a, **kw), at_bound=("b",), converged=False),
    )
    check = holdout_check(cdnow_tx, calibration_end=CAL_END, observation_end=OBS_END)
    assert round(check.relative_error, 3) == -0.121
    assert check.verdict.level == "do_not_use"
    assert "12.1%" in check.verdict.message_en and check.warnings[0].message_en in check.verdict.message_en


def test_expected_purchases_never_negative_for_a_vanishing_horizon() -> None:
    # Found by the property test: the closed form rounded to -1.8e-50 here.
    fit = bg_params(r=1.0, alpha=1.0, a=0.5, b=0.25)
    assert fit.expected_purchases(7.383989802953189e-50, 0, 0.0, 0.0)[0] == 0.0
