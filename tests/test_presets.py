"""Presets: rule text that parses in both languages, reaches every tier and fits its scoring."""

from __future__ import annotations

import itertools

import polars as pl
import pytest

from segmentation.presets import PRESETS, Preset, get_preset
from segmentation.rules import assign_tiers, lint_rules, parse_rules, reachability
from segmentation.scoring import SettingsError, score


def combos(bins: int) -> pl.DataFrame:
    rows = list(itertools.product(range(1, bins + 1), repeat=3))
    return pl.DataFrame(
        rows, schema={"r_score": pl.Int8, "f_score": pl.Int8, "m_score": pl.Int8}, orient="row"
    )


def test_presets_in_display_order():
    assert list(PRESETS) == ["cn8", "segments11", "groups6", "membership", "value3"]
    assert all(p.id == key for key, p in PRESETS.items())
    assert get_preset("groups6") is PRESETS["groups6"]


def test_unknown_preset_is_a_settings_error():
    with pytest.raises(SettingsError) as info:
        get_preset("gold")
    assert str(info.value) == (
        "Unknown preset 'gold'; choose one of: cn8, segments11, groups6, membership, value3."
    )


@pytest.mark.parametrize("preset", PRESETS.values(), ids=list(PRESETS))
def test_both_languages_parse_with_the_same_conditions(preset: Preset):
    zh, en = parse_rules(preset.rules_zh), parse_rules(preset.rules_en)
    assert [r.condition for r in zh.rules] == [r.condition for r in en.rules]
    assert len(set(zh.names) & set(en.names)) < len(zh.names)  # names really are translated
    assert preset.rules_text("zh") == preset.rules_zh and preset.rules_text("en") == preset.rules_en
    assert preset.name("zh") == preset.name_zh and preset.description("en") == preset.description_en
    assert preset.method in ("quantile", "thresholds", "mean", "median")
    assert (preset.method in ("mean", "median")) == (preset.bins == 2)
    hash(preset)


@pytest.mark.parametrize("preset", [p for p in PRESETS.values() if p.id != "membership"], ids=lambda p: p.id)
def test_score_presets_reach_every_tier_and_cover_every_combination(preset: Preset):
    for lang in ("zh", "en"):
        rs = parse_rules(preset.rules_text(lang))
        counts = reachability(rs, bins=preset.bins)
        assert sum(counts.values()) == preset.bins**3
        assert all(counts[r.name] >= 1 for r in rs.rules)
        if rs.unassigned is not None:
            assert counts[rs.unassigned] == 0
        assert lint_rules(combos(preset.bins), rs) == []


def test_reachability_counts_per_preset():
    def counts(pid: str) -> list[int]:
        p = PRESETS[pid]
        return list(reachability(p.rules_en, bins=p.bins).values())

    assert counts("cn8") == [1, 1, 1, 1, 1, 1, 1, 1, 0]
    assert counts("segments11") == [8, 19, 22, 5, 5, 11, 5, 22, 8, 10, 10]
    assert counts("groups6") == [3, 9, 3, 3, 7, 2, 0]
    assert counts("value3") == [20, 70, 35]


def test_cn8_standard_mapping():
    df = combos(2)
    out = assign_tiers(df, PRESETS["cn8"].rules_zh)
    got = {(r, f, m): t for r, f, m, t in out.iter_rows()}
    assert got == {
        (2, 2, 2): "重要价值客户",
        (2, 1, 2): "重要发展客户",
        (1, 2, 2): "重要保持客户",
        (1, 1, 2): "重要挽留客户",
        (2, 2, 1): "一般价值客户",
        (2, 1, 1): "一般发展客户",
        (1, 2, 1): "一般保持客户",
        (1, 1, 1): "一般挽留客户",
    }
    assert "中位数" in PRESETS["cn8"].description_zh
    assert "median" in PRESETS["cn8"].description_en


def test_cn8_with_its_own_scoring_settings():
    p = PRESETS["cn8"]
    rfm = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "recency_days": [5, 5, 100, 100],
            "frequency": [10, 1, 10, 1],
            "monetary": [1000.0, 1000.0, 10.0, 10.0],
        }
    )
    scored = score(rfm, bins=p.bins, method=p.method, thresholds=p.thresholds)
    assert assign_tiers(scored, p.rules_zh)["tier"].to_list() == [
        "重要价值客户",
        "重要发展客户",
        "一般保持客户",
        "一般挽留客户",
    ]


def test_groups6_every_combination_meets_exactly_one_rule():
    rs = parse_rules(PRESETS["groups6"].rules_en)
    assert not rs.has_else
    hits = combos(3).select(pl.sum_horizontal([r.expr.cast(pl.Int8) for r in rs.rules]))
    assert hits.to_series().to_list() == [1] * 27


def test_segments11_literal_segments_in_chinese():
    df = pl.DataFrame(
        {"r_score": [5, 5, 4, 1, 2, 1], "f_score": [5, 1, 1, 5, 2, 1], "m_score": [5, 3, 1, 5, 2, 1]},
        schema={"r_score": pl.Int8, "f_score": pl.Int8, "m_score": pl.Int8},
    )
    assert assign_tiers(df, PRESETS["segments11"].rules_zh)["tier"].to_list() == [
        "冠军客户",
        "新客户",
        "潜力新客",
        "重点挽回客户",
        "休眠客户",
        "已流失客户",
    ]


def test_membership_thresholds():
    df = pl.DataFrame({"monetary": [25000.0, 20000.0, 19999.99, 5000.0, 2000.0, 500.0, 499.0, -30.0]})
    assert assign_tiers(df, PRESETS["membership"].rules_en)["tier"].to_list() == [
        "VIP",
        "VIP",
        "Gold",
        "Gold",
        "Silver",
        "Bronze",
        "Regular",
        "Regular",
    ]
    assert assign_tiers(df, PRESETS["membership"].rules_zh)["tier"].to_list() == [
        "VIP",
        "VIP",
        "金卡",
        "金卡",
        "银卡",
        "铜卡",
        "普通",
        "普通",
    ]


def test_value3_bands_on_score_sum():
    df = pl.DataFrame(
        {"r_score": [5, 4, 3, 3, 1], "f_score": [5, 4, 3, 2, 1], "m_score": [5, 4, 2, 2, 1]},
        schema={"r_score": pl.Int8, "f_score": pl.Int8, "m_score": pl.Int8},
    )
    assert assign_tiers(df, PRESETS["value3"].rules_en)["tier"].to_list() == [
        "High value",
        "High value",
        "Medium value",
        "Low value",
        "Low value",
    ]


@pytest.mark.parametrize("preset", PRESETS.values(), ids=list(PRESETS))
def test_every_preset_declares_a_value_order_with_a_reason(preset: Preset):
    for lang in ("zh", "en"):
        names = parse_rules(preset.rules_text(lang)).names
        assert sorted(preset.value_order(lang)) == sorted(n for n in names if n != "Unassigned")
        assert preset.value_reason(lang)
    # The two languages list the same tiers in the same order.
    zh_rules, en_rules = parse_rules(preset.rules_zh).names, parse_rules(preset.rules_en).names
    assert [en_rules[zh_rules.index(n)] for n in preset.value_order_zh] == list(preset.value_order_en)


def test_cn8_value_order_is_not_rule_order():
    order = get_preset("cn8").value_order("zh")
    # 一般价值 (recent, frequent, low spend) ranks above 重要挽留 (lapsed, one purchase, high spend).
    assert order.index("一般价值客户") < order.index("重要挽留客户")
    assert order == ("重要价值客户", "重要发展客户", "一般价值客户", "重要保持客户",
                     "一般发展客户", "重要挽留客户", "一般保持客户", "一般挽留客户")


def test_cn8_scoring_is_locked_and_says_why():
    cn8 = get_preset("cn8")
    assert cn8.scoring_locked and not get_preset("membership").scoring_locked
    cn8.check_scoring(bins=2, method="mean")
    cn8.check_scoring(bins=2, method="median")
    with pytest.raises(SettingsError, match="needs 2 levels with the mean or median method: the eight classes"):
        cn8.check_scoring(bins=5, method="quantile")
    with pytest.raises(SettingsError, match="八类规则只认 1 分"):
        cn8.check_scoring(bins=5, method="quantile", lang="zh")
    with pytest.raises(SettingsError, match="scores 1-5"):
        get_preset("segments11").check_scoring(bins=3, method="quantile")
    get_preset("segments11").check_scoring(bins=5, method="thresholds")
    get_preset("membership").check_scoring(bins=3, method="median")


@pytest.mark.parametrize("preset", [p for p in PRESETS.values() if p.scoring_locked], ids=lambda p: p.id)
def test_locked_presets_accept_their_own_settings(preset: Preset):
    preset.check_scoring(bins=preset.bins, method=preset.method)
