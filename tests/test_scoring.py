"""Scores: tie-aware quantiles, thresholds, mean/median splits and fixed cut points."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation import columns as C
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
    # 1 + floor(4 x share strictly worse): the one-time buyers are the worst F, so they score 1.
    assert scores(score(df, bins=4)) == [(4, 4, 4), (2, 1, 2), (2, 1, 2), (1, 1, 1)]


def test_recent_customer_gets_high_r_score():
    df = rfm([1, 10, 100, 1000, 5000], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1])
    assert score(df, bins=5)["r_score"].to_list() == [5, 4, 3, 2, 1]


def test_skewed_frequency_half_bought_once():
    # Half the customers bought once: they are the worst and score 1; 2 purchases have half
    # the customers below them, 1 + floor(5 x 10/20) = 3, so score 2 is empty.
    freq = [1] * 10 + [2] * 4 + [3, 4, 6, 9, 12, 20]
    df = rfm(list(range(20)), freq, list(range(20)))
    out = score(df, bins=5)
    assert out["f_score"].to_list() == [1] * 10 + [3] * 4 + [4, 4, 5, 5, 5, 5]
    cuts = fit_cuts(df, bins=5)
    assert cuts.frequency == (2.0, 2.0, 3.0, 6.0)  # no score 2: 2 purchases jump to 3


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
# --- Scores use the whole scale: 1 + floor(bins x share of customers strictly worse) ----------


def _by_definition(values, bins, lower_is_better=False):
    """The score from its one-sentence definition, in integers (independent of the core)."""
    n = len(values)
    out = []
    for v in values:
        worse = sum(1 for w in values if (w > v if lower_is_better else w < v))
        out.append(min(bins, 1 + bins * worse // n))
    return out


def test_worst_value_scores_one_even_when_it_is_common():
    # 52% bought once: they are the worst and score 1; nobody is pushed to a middle score.
    freq = [1] * 13 + [2] * 5 + [3] * 3 + [4] * 2 + [7, 12]
    df = rfm(list(range(25)), freq, list(range(25)))
    out = score(df, bins=5)
    assert out["f_score"].to_list() == [1] * 13 + [3] * 5 + [4] * 3 + [5] * 2 + [5, 5]
    assert score(df, bins=5, cuts=fit_cuts(df, bins=5))["f_score"].to_list() == out["f_score"].to_list()


def test_one_customer_and_all_equal_values_score_one():
    # Nobody is strictly worse, so the share is 0 and the score is 1 (changed from the middle
    # score of the mid-rank definition).
    assert scores(score(rfm([5], [1], [10]), bins=5)) == [(1, 1, 1)]
    assert scores(score(rfm([5, 5, 5], [2, 2, 2], [9, 9, 9]), bins=4)) == [(1, 1, 1)] * 3


@pytest.mark.parametrize("n", [49, 103, 107, 161, 187, 197, 2, 3, 4, 10, 98, 196, 206, 214])
def test_median_customer_on_a_bin_edge_is_exact(n):
    # Distinct values: a customer with exactly n/2 worse scores 2 and one with fewer scores 1,
    # whatever n (98 and 196 land on the edge where w x (2/n) in floating point is 0.999...).
    df = rfm(list(range(n)), list(range(1, n + 1)), list(range(n)))
    out = score(df, bins=2)
    want = _by_definition(list(range(1, n + 1)), 2)
    assert out["f_score"].to_list() == want
    assert out["m_score"].to_list() == want
    assert out["r_score"].to_list() == _by_definition(list(range(n)), 2, lower_is_better=True)


@pytest.mark.parametrize("bins", [2, 3, 5])
def test_every_bin_edge_up_to_250_customers_is_exact(bins):
    for n in range(2, 250):
        df = rfm([0] * n, list(range(n)), [0] * n)
        assert score(df, bins=bins)["f_score"].to_list() == _by_definition(list(range(n)), bins), n


@settings(max_examples=80, deadline=None)
@given(r=values, bins=st.integers(2, 10), data=st.data())
def test_scores_follow_the_definition_and_the_fitted_cuts(r, bins, data):
    from segmentation.scoring import add_ranks

    n = len(r)
    f = data.draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    m = data.draw(st.lists(st.integers(-50, 10_000), min_size=n, max_size=n))
    df = rfm(r, f, m)
    out = score(df, bins=bins)
    assert out["r_score"].to_list() == _by_definition(r, bins, lower_is_better=True)
    assert out["f_score"].to_list() == _by_definition(f, bins)
    assert out["m_score"].to_list() == _by_definition(m, bins)
    assert min(out["f_score"]) == 1 and min(out["m_score"]) == 1 and min(out["r_score"]) == 1
    assert scores(score(df, cuts=fit_cuts(df, bins=bins))) == scores(out)
    assert scores(score(add_ranks(df), bins=bins)) == scores(out)


def test_empty_levels_say_why_in_both_languages():
    from segmentation.scoring import empty_levels

    freq = [1] * 13 + [2] * 5 + [3] * 3 + [4] * 2 + [7, 12]
    df = rfm(list(range(25)), freq, list(range(25)))
    out = empty_levels(df, bins=5)
    assert out.select("axis", "score", "value", "share").rows() == [("frequency", 2, 1.0, 0.52)]
    assert out["message_en"].to_list() == ["52% bought once, so f_score 2 is empty"]
    assert out["message_zh"].to_list() == ["52% 的客户只买过一次，所以 f_score 2 分没有客户"]
    assert empty_levels(rfm(list(range(10)), list(range(10)), list(range(10))), bins=5).height == 0


def test_suggested_thresholds_fill_every_level_and_fit_a_spec():
    from segmentation.scoring import empty_levels, suggest_thresholds
    from segmentation.spec import TieringSpec

    # A shop where half bought once: F levels 1 / 2 / 3-4 / 5-9 / 10+.
    freq = [1] * 50 + [2] * 15 + [3] * 8 + [4] * 7 + [5] * 5 + [6] * 4 + [8] * 3 + [10] * 3 + [15] * 3 + [40] * 2
    df = rfm(list(range(100)), freq, [10 * i for i in range(100)])
    assert not empty_levels(df, bins=5).filter(pl.col("axis") == "frequency").is_empty()
    text = suggest_thresholds(df, bins=5)
    assert text.split(";")[1] == "F:2,3,5,10"
    spec = TieringSpec(rules="All: else", bins=5, method="thresholds", thresholds=text)
    out = score(df, cuts=fit_cuts(df, bins=5, method="thresholds", thresholds=spec.thresholds_map))
    for col in ("r_score", "f_score", "m_score"):
        assert sorted(set(out[col].to_list())) == [1, 2, 3, 4, 5], col


@settings(max_examples=80, deadline=None)
@given(data=st.data(), bins=st.integers(2, 8))
def test_suggested_thresholds_fill_every_level_the_values_allow(data, bins):
    from segmentation.scoring import suggest_thresholds
    from segmentation.spec import parse_thresholds

    n = data.draw(st.integers(1, 60))
    r = data.draw(st.lists(st.integers(0, 800), min_size=n, max_size=n))
    f = data.draw(st.lists(st.integers(1, 40), min_size=n, max_size=n))
    m = data.draw(st.lists(st.sampled_from([0.5, 9.99, 100.0, 101.0, 102.0, 103.0, 104.0, 2500.0, -20.0]),
                           min_size=n, max_size=n))
    df = rfm(r, f, m)
    th = parse_thresholds(suggest_thresholds(df, bins=bins))
    out = score(df, cuts=fit_cuts(df, bins=bins, method="thresholds", thresholds=th))
    for axis, col in (("recency_days", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
        assert list(th[axis]) == sorted(set(th[axis])), "cut points strictly ascending"
        levels = set(out[col].to_list())
        assert len(levels) == min(bins, df[axis].n_unique()), (axis, th[axis])
        assert 1 in levels


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(st.none(), st.integers(-3, 6)), st.integers(0, 2)), max_size=40),
    st.sampled_from([C.RECENCY, C.FREQUENCY, C.MONETARY]),
)
def test_ranks_are_min_ranks_with_ties_nulls_and_windows(rows, axis):
    """Recency and frequency are ranked by counting customers per value; the ranks must be the
    "min" ranks of a sort, over the whole table and within each window of ``.over``."""
    from segmentation.scoring import _rank_expr

    df = pl.DataFrame(rows, schema={axis: pl.Int64, "g": pl.Int64}, orient="row")
    descending = axis in C.LOWER_IS_BETTER
    expected = pl.col(axis).rank("min", descending=descending).cast(pl.Int64)
    assert df.select(_rank_expr(axis)).to_series().equals(df.select(expected).to_series(), check_names=False)
    got = df.select(_rank_expr(axis).over("g")).to_series()
    assert got.equals(df.select(expected.over("g")).to_series(), check_names=False)
