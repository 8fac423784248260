"""The tiering spec: one frozen, hashable value that parses its own text once."""

from __future__ import annotations

import pytest

import segmentation as seg
from segmentation.spec import TieringSpec, as_spec, format_thresholds, parse_thresholds

RULES = "Best: r_score == 3\nRest: else"


def test_equal_settings_give_equal_specs_and_one_parse():
    a = TieringSpec(RULES, bins=3, method="thresholds", thresholds="r:30, 90;F:2,5;M:100,500")
    b = TieringSpec(RULES, bins=3, method="thresholds", thresholds="R:30,90;F:2,5;M:100,500")
    assert a == b and hash(a) == hash(b) and a.thresholds == "R:30,90;F:2,5;M:100,500"
    assert a.ruleset is a.ruleset  # parsed once, then kept
    assert {a: 1}[b] == 1


def test_thresholds_are_dropped_for_other_methods_and_mean_forces_two_bins():
    assert TieringSpec(RULES, method="quantile", thresholds="R:1;F:1;M:1").thresholds == ""
    assert TieringSpec(RULES, bins=5, method="mean").bins == 2


@pytest.mark.parametrize("kwargs", [
    {"bins": 11}, {"method": "magic"}, {"method": "thresholds", "thresholds": "R:1,2;F:1,2"},
    {"method": "thresholds", "thresholds": "R:30;F:2;M:9", "bins": 3}, {"method": "thresholds", "thresholds": "oops"},
])
def test_bad_scoring_raises_settings_error(kwargs):
    with pytest.raises(seg.SettingsError):
        TieringSpec(RULES, **kwargs)


def test_bad_window_and_rules():
    with pytest.raises(seg.DataError):
        TieringSpec(RULES, window_days=0)
    with pytest.raises(seg.RuleError):
        _ = TieringSpec("Best: r_score ==").ruleset


def test_tier_order_follows_the_declared_value_order_then_rule_order():
    spec = TieringSpec("A: F >= 5\nB: F >= 2\nC: else", value_order=("B", "A", "Ghost"))
    assert spec.tier_order == ("B", "A", "C")
    assert TieringSpec("A: F >= 5\nB: F >= 2").tier_order == ("A", "B", "Unassigned")


def test_keyword_form_and_text_round_trip():
    spec = as_spec(None, RULES, bins=3, method="thresholds",
                   thresholds={"R": (30, 90), "F": (2, 5), "M": (100, 500)})
    assert spec == TieringSpec(RULES, bins=3, method="thresholds", thresholds="R:30,90;F:2,5;M:100,500")
    assert as_spec(spec, None) is spec
    with pytest.raises(TypeError):
        as_spec(None, None)
    text = "R:30,90.5;F:2,5;M:100,500"
    assert format_thresholds(parse_thresholds(text)) == text
