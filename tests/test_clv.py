"""Tests of segmentation.clv: summary semantics, published CDNOW results, stability, errors."""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.optimize import approx_fprime
from scipy.special import betaln

from segmentation import clv
from segmentation.clv import (
    BGNBDParams,
    GammaGammaParams,
    customer_lifetime_value,
    fit_bgnbd,
    fit_gamma_gamma,
    holdout_check,
    score_customers,
    summary,
    summary_with_report,
)
from segmentation.clv import bgnbd as bgnbd_module
from segmentation.clv import common as common_module
from segmentation.clv import gamma_gamma as gamma_gamma_module
from segmentation.errors import DataError

CDNOW = Path(__file__).parent / "data" / "cdnow"
CAL_END = date(1997, 9, 30)  # end of week 39 of the CDNOW study (1997-01-01 is day 1)
OBS_END = date(1998, 6, 30)  # end of week 78

# Published values (Fader, Hardie & Lee 2005; Fader & Hardie 2013, the Gamma-Gamma note).
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.44}
# Tolerance: one unit in the last published digit.
BGNBD_TOL = 0.001
GG_TOL = 0.01


def d(day: int, month: int = 1, year: int = 2024) -> date:
    return date(year, month, day)


def tx_frame(rows: list[tuple[str, date, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_date": [r[1] for r in rows],
            "amount": [r[2] for r in rows],
            "order_id": [str(i) for i in range(len(rows))],
        },
        schema={
            "customer_id": pl.String,
            "order_date": pl.Date,
            "amount": pl.Float64,
            "order_id": pl.String,
        },
    )


def params(r: float = 0.243, alpha: float = 4.414, a: float = 0.793, b: float = 2.426) -> BGNBDParams:
    return BGNBDParams(
        r=r, alpha=alpha, a=a, b=b, log_likelihood=0.0, n_customers=0, n_repeat_buyers=0, converged=True
    )


@pytest.fixture(scope="module")
def cdnow_tx() -> pl.DataFrame:
    # CDNOW_sample.txt: master id, sample id (1..2357), yyyymmdd, number of CDs, dollar value,
    # space-aligned columns.
    fields = np.array((CDNOW / "CDNOW_sample.txt").read_text().split()).reshape(-1, 5)
    return pl.DataFrame(
        {
            "customer_id": fields[:, 1],
            "order_date": pl.Series(fields[:, 2]).str.to_date("%Y%m%d"),
            "amount": fields[:, 4].astype(float),
            "order_id": [str(i) for i in range(len(fields))],
        }
    )


@pytest.fixture(scope="module")
def cdnow_summary_file() -> pl.DataFrame:
    return pl.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")


# --------------------------------------------------------------------------------------------
# summary()
# --------------------------------------------------------------------------------------------

SMALL = [
    ("a", d(1), 10.0),
    ("a", d(8), 20.0),
    ("a", d(8), 5.0),  # same day as the previous row: one purchase period of 25
    ("a", d(15), -7.0),  # a return: not a purchase; netted against the purchase day of d(8)
    ("a", d(22), 15.0),
    ("b", d(8), 30.0),  # one purchase only
    ("c", d(3), 0.0),  # zero amount: a purchase (a visit) by default, with spend 0
    ("c", d(10), 40.0),
    ("d", d(30), 50.0),  # after the calibration end below
]


def test_summary_semantics_in_weeks() -> None:
    out = summary(tx_frame(SMALL), d(29), zero_amount_purchases=False)
    assert out.columns == ["customer_id", "frequency", "recency", "T", "monetary"]
    assert out.schema["frequency"] == pl.Int64
    # a's repeat days: d(8) 25 - 7 returned = 18, d(22) 15.
    assert out.to_dicts() == [
        {"customer_id": "a", "frequency": 2, "recency": 3.0, "T": 4.0, "monetary": 16.5},
        {"customer_id": "b", "frequency": 0, "recency": 0.0, "T": 3.0, "monetary": 0.0},
        {"customer_id": "c", "frequency": 0, "recency": 0.0, "T": pytest.approx(19 / 7), "monetary": 0.0},
    ]


def test_summary_counts_free_orders_by_default() -> None:
    # A transaction is a transaction for the count model: c's free order on d(3) is the first
    # purchase, the 40 on d(10) the one repeat purchase.
    out = summary(tx_frame(SMALL), d(29), unit="D")
    assert out.to_dicts() == [
        {"customer_id": "a", "frequency": 2, "recency": 21.0, "T": 28.0, "monetary": 16.5},
        {"customer_id": "b", "frequency": 0, "recency": 0.0, "T": 21.0, "monetary": 0.0},
        {"customer_id": "c", "frequency": 1, "recency": 7.0, "T": 26.0, "monetary": 40.0},
    ]
    only_free = tx_frame([("z", d(5), 0.0), *SMALL])
    assert "z" in summary(only_free, d(29))["customer_id"].to_list()
    assert "z" not in summary(only_free, d(29), zero_amount_purchases=False)["customer_id"].to_list()


def test_summary_units_days_and_months() -> None:
    days = summary(tx_frame(SMALL), d(29), unit="D", zero_amount_purchases=False)
    assert days.select("customer_id", "recency", "T").rows() == [
        ("a", 21.0, 28.0),
        ("b", 0.0, 21.0),
        ("c", 0.0, 19.0),
    ]
    months = summary(tx_frame(SMALL), d(29), unit="M", zero_amount_purchases=False)
    assert months["T"].to_list() == pytest.approx(
        [28 / (365.25 / 12), 21 / (365.25 / 12), 19 / (365.25 / 12)]
    )


def test_summary_zero_amounts_can_count_as_purchases() -> None:
    out = summary(tx_frame(SMALL), d(29), unit="D", zero_amount_purchases=True)
    row = out.filter(pl.col("customer_id") == "c").to_dicts()[0]
    # First purchase is the free order on day 3; the 40 is the one repeat purchase.
    assert row == {"customer_id": "c", "frequency": 1, "recency": 7.0, "T": 26.0, "monetary": 40.0}


def test_summary_report_counts_returns_and_merges() -> None:
    tx = tx_frame([*SMALL, ("b", d(31), -3.0)])
    _, report = summary_with_report(tx, d(29), observation_end=d(31), zero_amount_purchases=False)
    assert report.n_customers == 3
    assert report.n_repeat_buyers == 1
    assert report.n_purchase_rows == 6  # a: 4, b: 1, c: 1
    assert report.n_purchase_periods == 5
    assert report.n_same_day_merged == 1
    assert report.n_returns == 1
    assert report.returns_amount == 7.0
    assert report.n_returns_unmatched == 0
    assert report.returns_amount_unmatched == 0.0
    assert report.n_returns_holdout == 1
    assert report.n_ignored_rows == 1
    assert report.n_new_customers_holdout == 1  # d first buys in the holdout


def test_summary_holdout_columns() -> None:
    tx = tx_frame([*SMALL, ("a", d(30), 12.0), ("a", d(30), 3.0), ("a", d(1, 2), 30.0), ("a", d(2, 2), 1.0)])
    out = summary(tx, d(29), unit="D", observation_end=d(1, 2))
    assert out.columns == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary",
        "frequency_holdout",
        "monetary_holdout",
        "duration_holdout",
    ]
    assert out.select("customer_id", "frequency_holdout", "monetary_holdout", "duration_holdout").rows() == [
        ("a", 2, 22.5, 3.0),  # days 30 (15) and Feb 1 (30); Feb 2 is after the holdout
        ("b", 0, 0.0, 3.0),
        ("c", 0, 0.0, 3.0),
    ]
    # The calibration columns do not change when a holdout is added.
    assert (
        out.select("frequency", "recency", "T", "monetary").rows()
        == summary(tx, d(29), unit="D").select("frequency", "recency", "T", "monetary").rows()
    )


def test_summary_accepts_lazy_and_datetime_input() -> None:
    eager = summary(tx_frame(SMALL), d(29))
    lazy = summary(tx_frame(SMALL).lazy(), datetime(2024, 1, 29, 18, 0))
    as_datetime = tx_frame(SMALL).with_columns(
        pl.col("order_date").cast(pl.Datetime("us")) + pl.duration(hours=pl.int_range(pl.len()))
    )
    assert lazy.rows() == eager.rows()
    assert summary(as_datetime, d(29)).rows() == eager.rows()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unit": "Y"}, "Unknown time unit"),
        ({"observation_end": d(29)}, "must be after"),
        ({"observation_end": d(2)}, "must be after"),
    ],
)
def test_summary_rejects_bad_options(kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        summary(tx_frame(SMALL), d(29), **kwargs)


def test_summary_without_purchases_before_calibration_end() -> None:
    with pytest.raises(DataError, match="No purchases"):
        summary(tx_frame(SMALL), date(2023, 12, 31))


# --------------------------------------------------------------------------------------------
# CDNOW: the published results
# --------------------------------------------------------------------------------------------


def test_cdnow_summary_matches_the_published_summary(cdnow_tx, cdnow_summary_file) -> None:
    # The published summary counts the eight $0.00 first orders as purchases.
    ours = summary(cdnow_tx, CAL_END, zero_amount_purchases=True).with_columns(
        pl.col("customer_id").cast(pl.Int64).alias("ID")
    )
    joined = ours.join(cdnow_summary_file, on="ID", how="full", coalesce=True)
    assert joined.height == 2357
    assert joined.select(
        (pl.col("frequency") != pl.col("x")).sum().alias("x"),
        ((pl.col("recency") - pl.col("t_x")).abs() > 0.005001).sum().alias("t_x"),
        ((pl.col("T") - pl.col("T_right")).abs() > 0.005001).sum().alias("T"),
        ((pl.col("monetary") - pl.col("zbar")).abs() > 0.005001).sum().alias("zbar"),
    ).row(0, named=True) == {"x": 0, "t_x": 0, "T": 0, "zbar": 0}
    assert int((ours["frequency"] > 0).sum()) == 946


def test_cdnow_bgnbd_from_published_summary_file() -> None:
    s = pl.read_csv(CDNOW / "cdnow_customers_summary.csv")
    fit = fit_bgnbd(s["frequency"], s["recency"], s["T"])
    got = {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b}
    assert got == pytest.approx(PUBLISHED_BGNBD, abs=BGNBD_TOL)
    assert fit.n_customers == 2357
    assert fit.n_repeat_buyers == 946
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)


def test_cdnow_bgnbd_from_raw_transactions(cdnow_tx) -> None:
    s = summary(cdnow_tx, CAL_END, unit="W", zero_amount_purchases=True)
    fit = fit_bgnbd(s["frequency"], s["recency"], s["T"])
    got = {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b}
    assert got == pytest.approx(PUBLISHED_BGNBD, abs=BGNBD_TOL)


def test_cdnow_gamma_gamma_published(cdnow_tx, cdnow_summary_file) -> None:
    from_file = fit_gamma_gamma(cdnow_summary_file["x"], cdnow_summary_file["zbar"])
    s = summary(cdnow_tx, CAL_END, zero_amount_purchases=True)
    from_tx = fit_gamma_gamma(s["frequency"], s["monetary"])
    for fit in (from_file, from_tx):
        assert fit.n_customers == 946
        assert {"p": fit.p, "q": fit.q, "v": fit.v} == pytest.approx(PUBLISHED_GG, abs=GG_TOL)


def test_cdnow_conditional_expectation_published() -> None:
    # Fader, Hardie & Lee (2005): customer with x = 2, t_x = 30.43, T = 38.86 is expected to
    # make 1.226 purchases in the next 39 weeks.
    fit = params()
    assert fit.expected_purchases(39, 2, 30.43, 38.86)[0] == pytest.approx(1.226, abs=0.0005)


def test_cdnow_default_summary_keeps_customers_whose_only_order_was_free(cdnow_tx) -> None:
    # Fader & Hardie's CDNOW sample has 2,357 customers; eight first orders were $0.00.
    frame, report = summary_with_report(cdnow_tx, CAL_END)
    assert frame.height == 2357
    assert report.n_ignored_rows == 0
    fit = fit_bgnbd(frame["frequency"], frame["recency"], frame["T"])
    got = {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b}
    assert got == pytest.approx(PUBLISHED_BGNBD, abs=BGNBD_TOL)
    assert score_customers(cdnow_tx, as_of=CAL_END).frame.height == 2357


def test_cdnow_summary_can_ignore_free_orders(cdnow_tx) -> None:
    frame, report = summary_with_report(cdnow_tx, CAL_END, zero_amount_purchases=False)
    assert frame.height == 2349
    assert report.n_ignored_rows == 8
    fit = fit_bgnbd(frame["frequency"], frame["recency"], frame["T"])
    # Eight one-time customers fewer: close to, but not exactly, the published fit.
    assert fit.r == pytest.approx(0.2439, abs=1e-4)
    assert fit.alpha == pytest.approx(4.4224, abs=1e-4)


def test_cdnow_holdout_check(cdnow_tx) -> None:
    check = holdout_check(
        cdnow_tx, calibration_end=CAL_END, observation_end=OBS_END, zero_amount_purchases=True
    )
    frame = check.frame
    assert frame[clv.REPEAT_PURCHASES].cast(pl.String).to_list() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert frame["customers"].to_list() == [1411, 439, 214, 100, 62, 38, 29, 64]
    assert frame["customers"].sum() == 2357
    assert check.actual_total == frame["actual_total"].sum() == 1882
    assert check.predicted_total == pytest.approx(frame["predicted_total"].sum())
    assert check.relative_error == pytest.approx((check.predicted_total - 1882) / 1882)
    # The forecast rises with past purchases, as the actual means do.
    assert frame["predicted_mean"].is_sorted()
    assert check.bgnbd.r == pytest.approx(0.243, abs=BGNBD_TOL)


# --------------------------------------------------------------------------------------------
# BG/NBD predictions: independent formulas, stability
# --------------------------------------------------------------------------------------------


def p_alive_reference(fit: BGNBDParams, x: int, t_x: float, t_cal: float) -> float:
    if x == 0:
        return 1.0
    odds = fit.a / (fit.b + x - 1) * ((fit.alpha + t_cal) / (fit.alpha + t_x)) ** (fit.r + x)
    return 1.0 / (1.0 + odds)


def expected_reference(fit: BGNBDParams, t: float, x: int, t_x: float, t_cal: float) -> float:
    """E[Y(t)] = P(alive) * E[(1 - exp(-lambda p t)) / p] under the posterior, by quadrature.

    Integrating lambda out analytically leaves a one-dimensional integral over the dropout
    probability p ~ Beta(a, b + x); this does not use the hypergeometric function at all.
    """
    r, alpha, a, b = fit.r + x, fit.alpha + t_cal, fit.a, fit.b + x

    def integrand(p: float) -> float:
        density = math.exp((a - 1) * math.log(p) + (b - 1) * math.log1p(-p) - betaln(a, b))
        return density * -math.expm1(-r * math.log1p(p * t / alpha)) / p

    value = quad(integrand, 0, 1, points=[a / (a + b)], limit=500, epsabs=0, epsrel=1e-11)[0]
    return p_alive_reference(fit, x, t_x, t_cal) * value


@pytest.mark.parametrize(
    ("t", "x", "t_x", "t_cal"),
    [
        (39, 2, 30.43, 38.86),
        (39, 0, 0.0, 38.86),
        (0.01, 3, 1.0, 5.0),
        (10, 1000, 100.0, 100.0),
        (1000, 300, 299.0, 300.0),
        (1e5, 50, 49.0, 50.0),
        (52, 0, 0.0, 0.0),
    ],
)
def test_expected_purchases_match_quadrature(t: float, x: int, t_x: float, t_cal: float) -> None:
    fit = params()
    got = fit.expected_purchases(t, x, t_x, t_cal)[0]
    assert got == pytest.approx(expected_reference(fit, t, x, t_x, t_cal), rel=1e-8, abs=1e-12)
    assert fit.p_alive(x, t_x, t_cal)[0] == pytest.approx(p_alive_reference(fit, x, t_x, t_cal), rel=1e-12)


@pytest.mark.parametrize("a", [0.3, 1.0, 1.0 + 1e-9, 2.5])
def test_expected_purchases_any_a(a: float) -> None:
    # a = 1 is a removable singularity of the closed form.
    fit = params(r=0.5, alpha=3.0, a=a, b=4.0)
    assert fit.expected_purchases(20, 5, 10, 30)[0] == pytest.approx(
        expected_reference(fit, 20, 5, 10, 30), rel=1e-6
    )


def test_expected_purchases_new_customer() -> None:
    fit = params()
    got = fit.expected_purchases_new([0.0, 1.0, 39.0, 78.0])
    want = [expected_reference(fit, t, 0, 0.0, 0.0) for t in (1.0, 39.0, 78.0)]
    assert got[0] == 0.0
    assert got[1:].tolist() == pytest.approx(want, rel=1e-9)
    # Small t: E[X(t)] ~ r t / alpha.
    assert fit.expected_purchases_new(1e-6) == pytest.approx(0.243e-6 / 4.414, rel=1e-4)


def test_p_alive_literal_cases() -> None:
    fit = params()
    alive = fit.p_alive([0, 2, 2, 2], [0.0, 30.43, 38.86, 1.0], [38.86, 38.86, 38.86, 38.86])
    assert alive[0] == 1.0  # no repeat purchase: cannot have dropped out
    assert alive[2] == pytest.approx(1.0 / (1.0 + 0.793 / 3.426))  # bought at the end: only a/(b+x-1)
    assert alive[1] > alive[3]  # a long silence since the last purchase lowers the chance


def test_heavy_buyers_are_finite() -> None:
    fit = params()
    x = np.array([0, 1, 10, 100, 500, 1000, 1000, 1000, 5000], dtype=float)
    t_cal = np.array([1e-3, 1e4, 1e4, 1e4, 52, 52, 1e4, 1e-3, 1e5])
    t_x = np.array([0, 1e-6, 1e4, 5e3, 52, 1e-6, 1e4, 1e-3, 1])
    for t in (0.5, 52.0, 1e4):
        e = fit.expected_purchases(t, x, t_x, t_cal)
        assert np.isfinite(e).all() and (e >= 0).all()
    alive = fit.p_alive(x, t_x, t_cal)
    assert np.isfinite(alive).all() and ((alive >= 0) & (alive <= 1)).all()
    assert alive[5] == 0.0  # 1000 purchases in the first instant of a year of silence


@settings(max_examples=60, deadline=None)
@given(
    r=st.floats(0.01, 50),
    alpha=st.floats(0.01, 1e4),
    a=st.floats(0.01, 50),
    b=st.floats(0.01, 50),
    x=st.integers(0, 2000),
    t_cal=st.floats(0.0, 1e4),
    share=st.floats(0.0, 1.0),
    t=st.floats(0.0, 1e4),
)
def test_predictions_finite_for_any_parameters(r, alpha, a, b, x, t_cal, share, t) -> None:
    fit = params(r, alpha, a, b)
    t_x = t_cal * share if x > 0 else 0.0
    alive = fit.p_alive(x, t_x, t_cal)[0]
    e = fit.expected_purchases(t, x, t_x, t_cal)[0]
    assert 0.0 <= alive <= 1.0
    assert math.isfinite(e) and e >= 0.0


# --------------------------------------------------------------------------------------------
# Fitting: gradients, recovery, inputs, errors
# --------------------------------------------------------------------------------------------


def simulate_summary(
    n: int, seed: int, true: dict[str, float], horizon: float = 52.0
) -> dict[str, np.ndarray]:
    """Continuous-time BG/NBD customers observed for `horizon` weeks, ages spread uniformly."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(true["r"], 1 / true["alpha"], n)
    p = rng.beta(true["a"], true["b"], n)
    t_cal = rng.uniform(1.0, horizon, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        now[active] += rng.exponential(1 / lam[active])
        bought = active & (now < t_cal)
        x[bought] += 1
        t_x[bought] = now[bought]
        active = bought & (rng.random(n) >= p)
    return {"frequency": x, "recency": t_x, "T": t_cal}


def test_fit_recovers_simulated_parameters() -> None:
    true = {"r": 0.8, "alpha": 5.0, "a": 0.6, "b": 3.0}
    s = simulate_summary(30_000, seed=3, true=true)
    fit = fit_bgnbd(s["frequency"], s["recency"], s["T"])
    got = {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b}
    assert got == pytest.approx(true, rel=0.15)
    assert fit.converged


def test_analytic_gradients_match_finite_differences() -> None:
    s = pl.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    x, t_x, t_cal, z = (s[c].to_numpy().astype(float) for c in ("x", "t_x", "T", "zbar"))
    for penalizer in (0.0, 0.1):
        bg = bgnbd_module._BGNBDObjective(x, t_x, t_cal, penalizer)
        theta = np.log([0.3, 5.0, 0.9, 2.0])
        numeric = approx_fprime(theta, lambda v, o=bg: o(v)[0], 1e-7)
        assert bg(theta)[1] == pytest.approx(numeric, rel=1e-4, abs=1e-6)
        keep = x > 0
        gg = gamma_gamma_module._GammaGammaObjective(x[keep], z[keep], penalizer)
        theta = np.log([5.0, 3.0, 12.0])
        numeric = approx_fprime(theta, lambda v, o=gg: o(v)[0], 1e-7)
        assert gg(theta)[1] == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_large_fit_uses_warm_start_and_agrees(monkeypatch) -> None:
    true = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.5}
    s = simulate_summary(6_000, seed=5, true=true)
    direct = fit_bgnbd(s["frequency"], s["recency"], s["T"])
    monkeypatch.setattr(common_module, "WARM_START_SIZE", 1_000)  # forces the subset warm start
    warm = fit_bgnbd(s["frequency"], s["recency"], s["T"])
    assert (warm.r, warm.alpha, warm.a, warm.b) == pytest.approx(
        (direct.r, direct.alpha, direct.a, direct.b), rel=1e-4
    )


def test_inputs_may_be_series_arrays_or_lists() -> None:
    s = pl.read_csv(CDNOW / "cdnow_customers_summary.csv")
    from_series = fit_bgnbd(s["frequency"], s["recency"], s["T"])
    from_numpy = fit_bgnbd(s["frequency"].to_numpy(), s["recency"].to_numpy(), s["T"].to_numpy())
    from_lists = fit_bgnbd(s["frequency"].to_list(), s["recency"].to_list(), s["T"].to_list())
    assert from_series == from_numpy == from_lists


def test_penalizer_shrinks_parameters() -> None:
    s = pl.read_csv(CDNOW / "cdnow_customers_summary.csv")
    plain = fit_bgnbd(s["frequency"], s["recency"], s["T"])
    shrunk = fit_bgnbd(s["frequency"], s["recency"], s["T"], penalizer=0.01)
    size = lambda f: f.r**2 + f.alpha**2 + f.a**2 + f.b**2  # noqa: E731
    assert size(shrunk) < size(plain)
    assert shrunk.log_likelihood < plain.log_likelihood
    assert shrunk.penalizer == 0.01


def test_too_few_repeat_buyers() -> None:
    x = [0] * 50 + [1] * 9
    t_x = [0.0] * 50 + [2.0] * 9
    t_cal = [10.0] * 59
    with pytest.raises(DataError, match="9 of them with a repeat purchase"):
        fit_bgnbd(x, t_x, t_cal)
    with pytest.raises(DataError, match="Too few repeat buyers"):
        fit_gamma_gamma(x, [0.0] * 50 + [20.0] * 9)


def test_too_few_customers() -> None:
    with pytest.raises(DataError, match="at least 20 customers"):
        fit_bgnbd([1] * 15, [2.0] * 15, [10.0] * 15)


@pytest.mark.parametrize(
    ("frequency", "recency", "t_cal", "message"),
    [
        ([1, 0], [5.0, 0.0], [3.0, 3.0], "recency is greater than T"),
        ([0, 1], [2.0, 1.0], [3.0, 3.0], "not the time since the last purchase"),
        ([1.5, 1], [1.0, 1.0], [3.0, 3.0], "whole number"),
        ([1, 1], [-1.0, 1.0], [3.0, 3.0], "must not be negative"),
        ([1, None], [1.0, 1.0], [3.0, 3.0], "missing"),
        ([1, 1, 1], [1.0, 1.0], [3.0, 3.0], "same length"),
        (["x", 1], [1.0, 1.0], [3.0, 3.0], "must be numbers"),
    ],
)
def test_invalid_inputs_are_explained(frequency, recency, t_cal, message) -> None:
    with pytest.raises(DataError, match=message):
        fit_bgnbd(frequency, recency, t_cal)


def test_non_convergence_is_a_data_error(monkeypatch) -> None:
    s = pl.read_csv(CDNOW / "cdnow_customers_summary.csv")

    class Stopped:
        def __init__(self, x):
            self.x, self.success = x, False

    monkeypatch.setattr(common_module, "minimize", lambda fun, x0, **kw: Stopped(x0))
    with pytest.raises(DataError, match="did not converge"):
        fit_bgnbd(s["frequency"], s["recency"], s["T"])


def test_gamma_gamma_expected_spend() -> None:
    gg = GammaGammaParams(p=6.25, q=3.74, v=15.44, log_likelihood=0.0, n_customers=0, converged=True)
    got = gg.conditional_expected_average_profit([0, 2, 10], [0.0, 22.35, 100.0])
    mean = 6.25 * 15.44 / 2.74
    assert gg.mean_spend == pytest.approx(mean)
    assert got.tolist() == pytest.approx(
        [mean, (15.44 + 2 * 22.35) * 6.25 / (6.25 * 2 + 2.74), (15.44 + 1000.0) * 6.25 / (62.5 + 2.74)]
    )
    # More purchases move the estimate towards the customer's own mean.
    assert abs(got[2] - 100.0) < abs(mean - 100.0)


def test_gamma_gamma_ignores_non_repeat_rows_and_rejects_negative() -> None:
    s = pl.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    base = fit_gamma_gamma(s["x"], s["zbar"])
    padded = fit_gamma_gamma(
        pl.concat([s["x"], pl.Series([0] * 100)]), pl.concat([s["zbar"], pl.Series([0.0] * 100)])
    )
    assert (padded.p, padded.q, padded.v) == pytest.approx((base.p, base.q, base.v), rel=1e-9)
    with pytest.raises(DataError, match="must not be negative"):
        fit_gamma_gamma([1, 2], [-1.0, 3.0])


# --------------------------------------------------------------------------------------------
# CLV, scoring
# --------------------------------------------------------------------------------------------


def simulated_tx(n: int = 400, seed: int = 11) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, date, float]] = []
    start = date(2023, 1, 1).toordinal()
    for i in range(n):
        rate = rng.gamma(0.9, 1 / 30)  # purchases per day
        drop = rng.beta(1.0, 5.0)  # chance of leaving after each repeat purchase
        day = float(rng.integers(0, 200))
        spend = rng.gamma(4.0, 10.0)
        first = True
        while day < 365:
            rows.append(
                (f"c{i:04d}", date.fromordinal(start + int(day)), round(float(rng.gamma(5, spend / 5)), 2))
            )
            if not first and rng.random() < drop:
                break
            first = False
            day += rng.exponential(1 / rate)
    rows.append(("c0000", date(2023, 6, 1), -12.5))
    return tx_frame(rows)


def test_clv_without_discount_is_purchases_times_spend() -> None:
    tx = simulated_tx()
    result = score_customers(tx, as_of=date(2023, 12, 31), horizon_days=365, discount_rate=0.0)
    f = result.frame
    assert f.columns == [
        "customer_id",
        "p_alive",
        "expected_purchases",
        "expected_avg_spend",
        "clv",
        "repeat_buyer",
        "days_since_last_purchase",
        "past_typical_gap",
    ]
    assert f.height == result.summary.height
    assert f["clv"].to_numpy() == pytest.approx(
        (f["expected_purchases"] * f["expected_avg_spend"]).to_numpy(), rel=1e-9
    )
    assert result.report.n_returns == 1


def test_clv_discount_and_margin() -> None:
    tx = simulated_tx()
    base = score_customers(tx, as_of=date(2023, 12, 31), discount_rate=0.0)
    discounted = customer_lifetime_value(
        base.bgnbd, base.gamma_gamma, base.summary, horizon_days=365, discount_rate=0.2, margin=0.3
    )
    ratio = (discounted["clv"] / (base.frame["clv"] * 0.3)).to_numpy()
    # Purchases fall between month 1 and month 12, so the discount lies between those factors.
    assert ((ratio < 1.2 ** (-30 / 365)) & (ratio > 1.2**-1)).all()
    assert discounted["expected_purchases"].to_list() == base.frame["expected_purchases"].to_list()


def test_clv_one_step_literal() -> None:
    tx = simulated_tx()
    base = score_customers(tx, as_of=date(2023, 12, 31), horizon_days=30, discount_rate=0.0)
    one = customer_lifetime_value(
        base.bgnbd, base.gamma_gamma, base.summary, horizon_days=30, discount_rate=0.1, margin=0.5
    )
    # A single 30-day step is discounted once, from its end.
    assert one["clv"].to_numpy() == pytest.approx(base.frame["clv"].to_numpy() * 0.5 / 1.1 ** (30 / 365))


def test_score_customers_lazy_and_eager_agree() -> None:
    tx = simulated_tx()
    eager = score_customers(tx, as_of=date(2023, 12, 31))
    lazy = score_customers(tx.lazy(), as_of=date(2023, 12, 31))
    assert lazy.frame["customer_id"].to_list() == eager.frame["customer_id"].to_list()
    # Polars float sums may differ in the last bit between runs (SIMD blocks); the fits then
    # stop a hair apart, hence approx.
    numbers = ["p_alive", "expected_purchases", "expected_avg_spend", "clv"]
    assert lazy.frame.select(numbers).to_numpy() == pytest.approx(eager.frame.select(numbers).to_numpy(), rel=1e-5)
    assert lazy.frame.drop(numbers).equals(eager.frame.drop(numbers))
    values = eager.frame.select(numbers).to_numpy()
    assert np.isfinite(values).all()
    assert eager.frame["p_alive"].is_between(0, 1).all()


def test_score_customers_defaults_to_last_order_date() -> None:
    tx = simulated_tx()
    last = tx["order_date"].max()
    default, explicit = score_customers(tx), score_customers(tx, as_of=last)
    assert default.report.calibration_end == explicit.report.calibration_end == last
    assert default.frame["clv"].to_numpy() == pytest.approx(explicit.frame["clv"].to_numpy(), rel=1e-5)


def test_clv_rejects_bad_options() -> None:
    tx = simulated_tx()
    base = score_customers(tx, as_of=date(2023, 12, 31))
    with pytest.raises(DataError, match="horizon"):
        customer_lifetime_value(base.bgnbd, base.gamma_gamma, base.summary, horizon_days=0)
    with pytest.raises(DataError, match="margin"):
        customer_lifetime_value(base.bgnbd, base.gamma_gamma, base.summary, margin=-1)


def test_quadrature_fallback_when_hyp2f1_fails(monkeypatch) -> None:
    fit = params()
    monkeypatch.setattr(bgnbd_module, "hyp2f1", lambda *args: np.full(np.broadcast(*args).shape, np.nan))
    got = fit.expected_purchases(39, [2, 0, 300], [30.43, 0.0, 299.0], [38.86, 38.86, 300.0])
    want = [expected_reference(fit, 39, 2, 30.43, 38.86), expected_reference(fit, 39, 0, 0.0, 38.86)]
    assert got[:2].tolist() == pytest.approx(want, rel=1e-6)
    assert got[2] == pytest.approx(expected_reference(fit, 39, 300, 299.0, 300.0), rel=1e-6)
