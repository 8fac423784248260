"""Scores: tie-aware quantiles, thresholds, mean/median splits and fixed cut points."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation.scoring import Cuts, SettingsError, fit_cuts, score


def rfm(recency, frequency, monetary):
    n = len(recency)
    return pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "recency_days": recency,
            "frequency": frequency,
            "monetary": [float(m) for m in monetary],
        }
    )


def scores(df):
    return df.select("r_score", "f_score", "m_score").rows()


def test_quantile_literal_scores_with_ties():
    df = rfm([3, 40, 40, 200], [5, 1, 1, 1], [500, 20, 20, 5])
    assert scores(score(df, bins=4)) == [(4, 4, 4), (3, 2, 3), (3, 2, 3), (1, 2, 1)]


def test_recent_customer_gets_high_r_score():
    df = rfm([1, 10, 100, 1000, 5000], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1])
    assert score(df, bins=5)["r_score"].to_list() == [5, 4, 3, 2, 1]


def test_skewed_frequency_half_bought_once():
    # Half the customers bought once: they all share one score, and the cut points show it.
    freq = [1] * 10 + [2] * 4 + [3, 4, 6, 9, 12, 20]
    df = rfm(list(range(20)), freq, list(range(20)))
    out = score(df, bins=5)
    assert out["f_score"].to_list() == [2] * 10 + [4] * 4 + [4, 4, 5, 5, 5, 5]
    cuts = fit_cuts(df, bins=5)
    assert cuts.frequency == (1.0, 2.0, 2.0, 6.0)  # no score 3: 2 purchases jump to 4


def test_one_customer_and_all_equal_values_land_in_the_middle():
    assert scores(score(rfm([5], [1], [10]), bins=5)) == [(3, 3, 3)]
    assert scores(score(rfm([5, 5, 5], [2, 2, 2], [9, 9, 9]), bins=4)) == [(3, 3, 3)] * 3


def test_empty_table_scores_without_error():
    out = score(rfm([], [], []), bins=5)
    assert out.height == 0 and out.columns[-3:] == ["r_score", "f_score", "m_score"]


def test_thresholds_literal():
    df = rfm([5, 31, 400], [1, 3, 9], [50, 500, 5000])
    th = {"R": [30, 90, 180, 365], "F": [2, 3, 5, 8], "M": [100, 300, 1000, 3000]}
    assert scores(score(df, bins=5, method="thresholds", thresholds=th)) == [(5, 1, 1), (4, 3, 3), (1, 5, 5)]


@pytest.mark.parametrize(
    "th, msg",
    [
        (None, "needs cut points"),
        ({"R": [1, 2, 3, 4], "F": [1, 2, 3, 4]}, "missing"),
        ({"R": [1, 2, 3], "F": [1, 2, 3, 4], "M": [1, 2, 3, 4]}, "needs 4 cut points"),
        ({"R": [4, 3, 2, 1], "F": [1, 2, 3, 4], "M": [1, 2, 3, 4]}, "ascending"),
        ({"X": [1, 2, 3, 4]}, "Unknown axis"),
    ],
)
def test_bad_thresholds_say_what_is_wrong(th, msg):
    with pytest.raises(SettingsError, match=msg):
        score(rfm([1], [1], [1]), bins=5, method="thresholds", thresholds=th)


@pytest.mark.parametrize("bins", [1, 11, 2.5])
def test_bins_out_of_range(bins):
    with pytest.raises(SettingsError, match="between 2 and 10"):
        score(rfm([1], [1], [1]), bins=bins)


def test_median_split_is_strict_so_one_time_buyers_are_low():
    df = rfm([10, 20, 30, 40], [1, 1, 1, 5], [10, 20, 30, 40])
    out = score(df, method="median")
    assert out["f_score"].to_list() == [1, 1, 1, 2]
    assert out["r_score"].to_list() == [2, 2, 1, 1]
    assert out["m_score"].to_list() == [1, 1, 2, 2]


def test_mean_split():
    df = rfm([10, 20, 30, 100], [1, 1, 1, 5], [10, 20, 30, 100])
    assert scores(score(df, method="mean")) == [(2, 1, 1), (2, 1, 1), (2, 1, 1), (1, 2, 2)]


def test_fixed_cuts_move_nobody_when_behaviour_is_unchanged():
    # Same customers, plus a new cohort of heavy buyers: recomputed quantiles push the old
    # customers down, fixed cut points do not.
    old = rfm([10, 20, 30, 40], [1, 2, 3, 4], [10, 20, 30, 40])
    grown = pl.concat([old, rfm([1, 1, 1, 1], [9, 9, 9, 9], [99, 99, 99, 99]).with_columns(
        customer_id=pl.Series([f"n{i}" for i in range(4)]))])
    cuts = fit_cuts(old, bins=4)
    fixed = score(grown, cuts=cuts).head(4)
    assert scores(fixed) == scores(score(old, bins=4))
    assert scores(score(grown, bins=4).head(4)) != scores(score(old, bins=4))


def test_cut_table_for_display():
    cuts = Cuts(bins=3, method="thresholds", recency=(30.0, 90.0), frequency=(2.0, 5.0), monetary=(100.0, math.inf))
    t = cuts.table()
    assert t.filter(pl.col("axis") == "recency_days").rows() == [
        ("recency_days", 1, 90.0, None, "upper"),
        ("recency_days", 2, 30.0, 90.0, "upper"),
        ("recency_days", 3, None, 30.0, "upper"),
    ]
    assert t.filter(pl.col("axis") == "monetary").rows() == [
        ("monetary", 1, None, 100.0, "lower"),
        ("monetary", 2, 100.0, None, "lower"),
        ("monetary", 3, None, None, "lower"),
    ]


values = st.lists(st.integers(0, 30), min_size=1, max_size=60)


@settings(max_examples=80, deadline=None)
@given(r=values, bins=st.integers(3, 10), data=st.data())
def test_quantile_properties(r, bins, data):
    n = len(r)
    f = data.draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    m = data.draw(st.lists(st.floats(-50, 1e4, allow_nan=False), min_size=n, max_size=n))
    df = rfm(r, f, m)
    out = score(df, bins=bins)
    for axis, col, better in [("recency_days", "r_score", -1), ("frequency", "f_score", 1), ("monetary", "m_score", 1)]:
        pairs = sorted(zip(out[axis].to_list(), out[col].to_list(), strict=True), key=lambda p: better * p[0])
        ss = [s for _, s in pairs]
        assert all(1 <= s <= bins for s in ss)
        assert ss == sorted(ss), "scores must be monotone in the raw value"
        by_value = {}
        for v, s in pairs:
            assert by_value.setdefault(v, s) == s, "equal values must get equal scores"
    # Applying the fitted cut points reproduces the quantile scores exactly.
    assert scores(score(df, cuts=fit_cuts(df, bins=bins))) == scores(out)
    # Row order does not change anyone's score.
    shuffled = out.sample(fraction=1.0, shuffle=True, seed=1)
    again = score(shuffled.drop("r_score", "f_score", "m_score"), bins=bins)
    assert dict(zip(again["customer_id"], scores(again), strict=True)) == dict(
        zip(out["customer_id"], scores(out), strict=True))


def test_lazy_input_gives_lazy_output():
    df = rfm([1, 2], [1, 2], [1, 2])
    assert isinstance(score(df.lazy(), bins=3), pl.LazyFrame)
    assert score(df.lazy(), method="median").collect().equals(score(df, method="median"))


@settings(max_examples=60, deadline=None)
@given(r=values, bins=st.integers(2, 10), data=st.data())
def test_precomputed_ranks_give_identical_scores_and_cuts(r, bins, data):
    from segmentation.scoring import add_ranks

    n = len(r)
    f = data.draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    m = data.draw(st.lists(st.floats(-50, 1e4, allow_nan=False), min_size=n, max_size=n))
    df = rfm(r, f, m)
    ranked = add_ranks(df)
    assert scores(score(ranked, bins=bins)) == scores(score(df, bins=bins))
    assert fit_cuts(ranked, bins=bins) == fit_cuts(df, bins=bins)


def test_a_wrong_cut_point_count_carries_a_code_and_plain_params():
    import pytest as _pytest

    from segmentation.errors import SettingsError as _SettingsError
    from segmentation.scoring import normalize_thresholds

    with _pytest.raises(_SettingsError) as caught:
        normalize_thresholds({"R": [30, 90], "F": [2], "M": [100]}, 2)
    assert caught.value.code == "thr_count"
    assert caught.value.params == {"axis": "recency_days", "needed": 1, "bins": 2, "got": 2}
