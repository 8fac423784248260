"""Tier rules: parsing, assignment, linting and reachability on tiny hand-written tables."""

from __future__ import annotations

import itertools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation.errors import RuleError
from segmentation.presets import get_preset
from segmentation.rules import (
    LintIssue,
    RuleSet,
    assign_tiers,
    lint_rules,
    parse_rules,
    reachability,
    score_lookup,
)

SEGMENTS11 = get_preset("segments11").rules_en

# The segment table copied from blog to blog (R, F and M ranges per segment, in this order).
# Written out as rules, first match wins, four segments can never receive anyone.
COMMON_SEGMENTS = """\
Champions: 4 <= r_score <= 5 and 4 <= f_score <= 5 and 4 <= m_score <= 5
Loyal: 2 <= r_score <= 5 and 3 <= f_score <= 5 and 3 <= m_score <= 5
Potential Loyalist: 3 <= r_score <= 5 and 1 <= f_score <= 3 and 1 <= m_score <= 3
New Customers: 4 <= r_score <= 5 and f_score <= 1 and m_score <= 1
Promising: 3 <= r_score <= 4 and f_score <= 1 and m_score <= 1
Need Attention: 2 <= r_score <= 3 and 2 <= f_score <= 3 and 2 <= m_score <= 3
About to Sleep: 2 <= r_score <= 3 and f_score <= 2 and m_score <= 2
At Risk: r_score <= 2 and 2 <= f_score <= 5 and 2 <= m_score <= 5
Can't Lose Them: r_score <= 1 and 4 <= f_score <= 5 and 4 <= m_score <= 5
Hibernating: 1 <= r_score <= 2 and 1 <= f_score <= 2 and 1 <= m_score <= 2
Lost: r_score <= 2 and f_score <= 2 and m_score <= 2
Other: else
"""


def scores_frame(rows: list[tuple[int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(rows))],
            "r_score": [r for r, _, _ in rows],
            "f_score": [f for _, f, _ in rows],
            "m_score": [m for _, _, m in rows],
        },
        schema_overrides={"r_score": pl.Int8, "f_score": pl.Int8, "m_score": pl.Int8},
    )


def all_combos(bins: int) -> pl.DataFrame:
    return scores_frame(list(itertools.product(range(1, bins + 1), repeat=3)))


def tiers(df: pl.DataFrame, text: str | RuleSet) -> list[str]:
    return assign_tiers(df, text)["tier"].to_list()


def error_of(text: str) -> RuleError:
    with pytest.raises(RuleError) as info:
        parse_rules(text)
    return info.value


# ----------------------------------------------------------------------------- parsing


def test_parse_names_else_and_columns():
    rs = parse_rules(
        "# loyalty tiers\n"
        "\n"
        "重要价值客户: R <= 30 且 M >= 5_000   # big and recent\n"
        "Can't Lose Them: r_score <= 2 && (f_score >= 4 || AOV > 1e3)\n"
        "Others : else\n"
    )
    assert rs.names == ("重要价值客户", "Can't Lose Them", "Others")
    assert [(r.name, r.line, r.is_else) for r in rs.rules] == [
        ("重要价值客户", 3, False),
        ("Can't Lose Them", 4, False),
        ("Others", 5, True),
    ]
    assert rs.rules[0].condition == "R <= 30 且 M >= 5_000"
    assert rs.rules[0].columns == ("recency_days", "monetary")
    assert rs.rules[1].columns == ("r_score", "f_score", "avg_order_value")
    assert rs.columns_used == ("recency_days", "monetary", "r_score", "f_score", "avg_order_value")
    assert rs.dtype == pl.Enum(["重要价值客户", "Can't Lose Them", "Others"])
    assert rs.unassigned is None and rs.has_else


def test_without_else_an_unassigned_tier_comes_last():
    rs = parse_rules("Active: R <= 30")
    assert rs.names == ("Active", "Unassigned")
    assert rs.unassigned == "Unassigned"
    assert parse_rules("活跃: R <= 30", unassigned="未分层").names == ("活跃", "未分层")


def test_same_text_same_ruleset_usable_as_cache_key():
    a, b = parse_rules(SEGMENTS11), parse_rules(SEGMENTS11)
    assert a == b and hash(a) == hash(b)
    assert {a: 1}[b] == 1
    assert a != parse_rules(SEGMENTS11 + "# tweak\n")


def test_full_width_input_method_characters_are_read_as_ascii():
    df = pl.DataFrame({"recency_days": [10, 50], "frequency": [3, 3]})
    text = "近期：（Ｒ　＜＝　３０）且 F ≥ 2\n其他：否则"
    assert tiers(df, text) == ["近期", "其他"]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        (
            "A: R <= 30\n\n# note\nB: F >= )",
            4,
            9,
            "Line 4, column 9: expected a number or a column name after '>=' but found ')'",
        ),
        (
            "A: R >",
            1,
            7,
            "Line 1, column 7: expected a number or a column name after '>' but found the end of the line",
        ),
        (
            "Best R > 3",
            1,
            1,
            "Line 1, column 1: expected 'NAME: CONDITION' but there is no ':' after the tier name",
        ),
        (
            "A: (R > 3 and F > 1",
            1,
            20,
            "Line 1, column 20: expected ')' to close the '(' at column 4 but found the end of the line",
        ),
        (
            "A: R > 3)",
            1,
            9,
            "Line 1, column 9: found ')' without a matching '('",
        ),
        (
            "A: R and F",
            1,
            6,
            "Line 1, column 6: 'and' joins two conditions, but its left side is a number; "
            "compare it first, for example 'R <= 30'",
        ),
        (
            "A: R > (F < 3)",
            1,
            6,
            "Line 1, column 6: '>' compares two numbers, but its right side is a condition; "
            "join conditions with 'and' / 'or' instead",
        ),
        (
            "A: r_score + f_score",
            1,
            4,
            "Line 1, column 4: the condition is a number, not a yes/no test; compare it with "
            "something, for example 'R <= 30' or 'r_score + f_score >= 8'",
        ),
        (
            "A: R > 3 F < 2",
            1,
            10,
            "Line 1, column 10: expected 'and', 'or', a comparison or an arithmetic operator "
            "after '3' but found 'F'",
        ),
        (
            "A: R > 1\nA: R > 2",
            2,
            1,
            "Line 2, column 1: the tier name 'A' is already used on line 1; names must be unique",
        ),
        (
            "A: else\nB: R > 1",
            2,
            1,
            "Line 2, column 1: this rule comes after the 'else' rule on line 1, so it can never "
            "match; move 'else' to the end",
        ),
        (
            "A: M / 0 > 1",
            1,
            6,
            "Line 1, column 6: division by zero",
        ),
        (
            "A: 1 < 2",
            1,
            4,
            "Line 1, column 4: the condition uses no column, so it is the same for every "
            "customer; use 'else' to match everyone left",
        ),
        (
            "A:",
            1,
            3,
            "Line 1, column 3: expected a condition after ':' but found nothing",
        ),
        (
            "  : R > 1",
            1,
            3,
            "Line 1, column 3: the tier name before ':' is empty",
        ),
        (
            "A: R > 1 else",
            1,
            10,
            "Line 1, column 10: 'else' must be the whole condition (for example 'Others: else')",
        ),
        (
            "A: M > 1e16",
            1,
            8,
            "Line 1, column 8: the number '1e16' has too large an exponent (at most e15 is allowed)",
        ),
        (
            "客户: 消费 > 1",
            1,
            5,
            "Line 1, column 5: '消' is not a Latin letter; names in conditions are R, F, M, AOV, T, "
            "r_score, f_score, m_score, P_ALIVE, CLV or a numeric column spelled with A-Z, 0-9 and _",
        ),
        (
            "Unassigned: R > 1",
            1,
            1,
            "Line 1, column 1: 'Unassigned' is the name kept for customers no rule matches; add "
            "an 'else' rule at the end or choose another name",
        ),
    ],
)
def test_parse_errors_say_where_and_what(text, line, column, message):
    err = error_of(text)
    assert (str(err), err.line, err.column) == (message, line, column)
    assert err.detail == message.split(": ", 1)[1]


def test_empty_text_and_long_name_are_errors():
    assert str(error_of("# only a comment\n\n")) == (
        "there are no rules yet; write one per line as 'NAME: CONDITION'"
    )
    err = error_of("x" * 61 + ": R > 1")
    assert str(err) == "Line 1, column 1: the tier name is too long (61 characters; at most 60)"


def test_limits_are_errors():
    assert "too many rules (at most 100)" in str(error_of("\n".join(f"T{i}: R > {i}" for i in range(101))))
    assert "at most 500" in str(error_of("A: " + "R > 1 and " * 60 + "R > 1"))
    nested = "A: " + "(" * 21 + "R > 1" + ")" * 21
    err = error_of(nested)
    assert str(err) == "Line 1, column 24: too many nested parentheses or operators (at most 20 levels)"
    assert "too long" in str(error_of("A: R > 1\n" * 3000))


# ----------------------------------------------------------------------------- assignment


def test_segments11_literal_tiers():
    rows = [
        (5, 5, 5),
        (3, 3, 3),
        (5, 2, 1),
        (5, 1, 4),
        (4, 1, 1),
        (3, 2, 5),
        (3, 1, 1),
        (1, 3, 1),
        (2, 5, 4),
        (2, 2, 5),
        (1, 1, 5),
    ]
    assert tiers(scores_frame(rows), SEGMENTS11) == [
        "Champions",
        "Loyal",
        "Potential Loyalist",
        "New Customers",
        "Promising",
        "Need Attention",
        "About to Sleep",
        "At Risk",
        "Can't Lose Them",
        "Hibernating",
        "Lost",
    ]


def test_aliases_first_match_and_missing_values():
    df = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "recency_days": [10, 20, 40, 200, 90, 90],
            "frequency": [6, 2, 1, 3, 4, 2],
            "monetary": [12000.0, 500.0, 80.0, 900.0, 100.0, None],
            "avg_order_value": [2000.0, 250.0, 80.0, 300.0, 25.0, None],
            "tenure_days": [400, 300, 40, 500, 365, 365],
        }
    )
    text = (
        "VIP: M >= 10_000 and F >= 5\n"
        "Active: R <= 30 && AOV > 100\n"
        "New: T <= 60\n"
        "Lapsed: R > 180 or M / F < 50\n"
        "Others: else\n"
    )
    out = assign_tiers(df, text)
    assert out["tier"].to_list() == ["VIP", "Active", "New", "Lapsed", "Lapsed", "Others"]
    assert out["tier"].dtype == pl.Enum(["VIP", "Active", "New", "Lapsed", "Others"])
    assert out.columns == [*df.columns, "tier"]


def test_unmatched_customers_go_to_unassigned():
    df = pl.DataFrame({"monetary": [6000.0, 10.0]})
    assert tiers(df, "Big: M >= 1000") == ["Big", "Unassigned"]


def test_null_nan_and_division_by_zero_never_match():
    df = pl.DataFrame(
        {
            "monetary": [0.0, 5.0, None, float("nan"), 8.0],
            "frequency": [0, 0, 1, 1, 2],
        }
    )
    # 0/0 is NaN -> treated as missing; 5/0 is +inf; null and NaN monetary never match.
    assert tiers(df, "High: M / F > 1\nRest: else") == ["Rest", "High", "Rest", "Rest", "High"]
    assert tiers(df, "Big: M > 1\nRest: else") == ["Rest", "Big", "Rest", "Rest", "Big"]
    assert tiers(df, "Small: not M > 1\nRest: else") == ["Small", "Rest", "Rest", "Rest", "Rest"]


def test_arithmetic_on_int8_scores_does_not_overflow():
    df = scores_frame([(1, 1, 4), (1, 1, 3)])
    assert tiers(df, "Big: m_score * 100 >= 400\nRest: else") == ["Big", "Rest"]
    assert tiers(df, "Big: -m_score * -m_score = 16\nRest: else") == ["Big", "Rest"]


def test_chained_comparison_and_equals_sign():
    df = scores_frame([(1, 1, 1), (2, 1, 1), (4, 1, 1), (5, 1, 1)])
    assert tiers(df, "Mid: 2 <= r_score <= 4\nTop: r_score = 5\nLow: else") == ["Low", "Mid", "Mid", "Top"]


def test_lazy_in_lazy_out():
    lf = scores_frame([(5, 5, 5), (1, 1, 1)]).lazy()
    out = assign_tiers(lf, SEGMENTS11)
    assert isinstance(out, pl.LazyFrame)
    assert out.collect()["tier"].to_list() == ["Champions", "Lost"]


def test_unknown_column_names_line_and_allowed_names():
    df = pl.DataFrame(
        {
            "customer_id": ["a"],
            "recency_days": [3],
            "monetary": [10.0],
            "r_score": pl.Series([1], dtype=pl.Int8),
        }
    )
    with pytest.raises(RuleError) as info:
        assign_tiers(df, "A: R <= 30\nB: R <= 30 and visits > 3")
    err = info.value
    assert str(err) == (
        "Line 2, column 16: unknown column 'visits' in rule 'B'. "
        "Allowed names: R (recency_days), M (monetary), r_score"
    )
    assert (err.line, err.column) == (2, 16)


def test_clv_names_explain_what_is_missing_and_text_columns_are_refused():
    df = pl.DataFrame({"customer_id": ["a"], "monetary": [10.0]})
    with pytest.raises(RuleError, match="needs the lifetime value"):
        assign_tiers(df, "Risk: P_ALIVE < 0.3")
    with pytest.raises(RuleError) as info:
        assign_tiers(df, "Odd: customer_id > 3")
    assert str(info.value) == (
        "Line 1, column 6: column 'customer_id' in rule 'Odd' holds String, not numbers; "
        "conditions can only use numeric columns"
    )


def test_other_numeric_columns_are_allowed():
    df = pl.DataFrame({"p_alive": [0.1, 0.9], "clv": [500.0, 50.0], "visits": [1, 9]})
    text = "Save: P_ALIVE < 0.3 and CLV >= 100\nFan: visits > 5\nRest: else"
    assert tiers(df, text) == ["Save", "Fan"]


# ----------------------------------------------------------------------------- reachability & lint


def test_reachability_of_segments11():
    assert reachability(SEGMENTS11, bins=5) == {
        "Champions": 8,
        "Loyal": 19,
        "Potential Loyalist": 22,
        "New Customers": 5,
        "Promising": 5,
        "Need Attention": 11,
        "About to Sleep": 5,
        "At Risk": 22,
        "Can't Lose Them": 8,
        "Hibernating": 10,
        "Lost": 10,
    }


def test_reachability_of_common_version_shows_dead_segments():
    assert reachability(COMMON_SEGMENTS, bins=5) == {
        "Champions": 8,
        "Loyal": 28,
        "Potential Loyalist": 24,
        "New Customers": 0,
        "Promising": 0,
        "Need Attention": 3,
        "About to Sleep": 3,
        "At Risk": 20,
        "Can't Lose Them": 0,
        "Hibernating": 3,
        "Lost": 0,
        "Other": 36,
    }


def test_reachability_refuses_rules_on_raw_values():
    with pytest.raises(RuleError) as info:
        reachability("A: r_score > 3\nB: M > 100", bins=5)
    assert str(info.value) == (
        "Line 2, column 4: score combinations can only be counted for rules on r_score, "
        "f_score and m_score; rule 'B' uses 'M'"
    )


def test_lint_common_version_reports_four_unreachable_segments():
    issues = lint_rules(all_combos(5), COMMON_SEGMENTS)
    assert [(i.kind, i.tier) for i in issues] == [
        ("unreachable", "New Customers"),
        ("unreachable", "Promising"),
        ("unreachable", "Can't Lose Them"),
        ("unreachable", "Lost"),
    ]
    by_tier = {i.tier: i for i in issues}
    assert by_tier["New Customers"].message_en == (
        "'New Customers' can never get customers: every score combination it covers is taken "
        "first by 'Potential Loyalist'. Move it up or narrow the earlier rules."
    )
    assert by_tier["Lost"].message_zh == (
        "「Lost」永远不会有客户：它覆盖的评分组合都先被「Need Attention」、「About to Sleep」、"
        "「At Risk」、「Hibernating」分走了。请把它上移，或收窄前面的规则。"
    )
    assert (by_tier["Lost"].count, by_tier["Lost"].share, by_tier["Lost"].line) == (8, 8 / 125, 11)
    # 36 of 125 combinations (29%) are left to 'Other': just under the 30% warning.
    assert lint_rules(all_combos(5), COMMON_SEGMENTS, else_share_warning=0.25)[-1].tier == "Other"


def test_lint_tells_unreachable_from_empty_on_data():
    # Only three kinds of customer on this data; bins given, so the rest is decided exactly.
    df = scores_frame([(5, 5, 5), (1, 1, 1), (3, 1, 1)])
    issues = lint_rules(df, SEGMENTS11, bins=5)
    assert [(i.kind, i.tier) for i in issues] == [
        ("empty", t)
        for t in (
            "Loyal",
            "Potential Loyalist",
            "New Customers",
            "Promising",
            "Need Attention",
            "At Risk",
            "Can't Lose Them",
            "Hibernating",
        )
    ] + [("else_share", "Lost")]
    assert lint_rules(all_combos(5), SEGMENTS11) == []


def test_lint_bins_default_to_the_largest_score():
    # With 1-2 scores, this rule can match nothing at all: decided exactly, not "empty".
    df = scores_frame([(1, 2, 1), (2, 2, 2)])
    issues = lint_rules(df, "Top: r_score >= 3\nRest: else")
    assert [(i.kind, i.tier, i.message_en) for i in issues] == [
        ("unreachable", "Top", "'Top' can never get customers: no score combination meets its condition."),
        (
            "else_share",
            "Rest",
            "'Rest' (else) holds 100% of customers (2), more than 30%; the rules above may be too narrow.",
        ),
    ]


def test_lint_shadowed_empty_no_else_on_raw_values():
    df = pl.DataFrame({"monetary": [6000.0, 2000.0, 10.0]})
    issues = lint_rules(df, "Big: M >= 1000\nBigger: M >= 5000\nHuge: M >= 1e6")
    assert issues == [
        LintIssue(
            "shadowed",
            "Bigger",
            "'Bigger' gets no customers: everyone who meets its condition (1 customer) was "
            "already placed by earlier rules.",
            "「Bigger」没有客户：满足其条件的 1 位客户都已被前面的规则分走。",
            1,
            1 / 3,
            2,
        ),
        LintIssue(
            "empty",
            "Huge",
            "'Huge' gets no customers on this data.",
            "在当前数据中，「Huge」没有客户。",
            0,
            0.0,
            3,
        ),
        LintIssue(
            "no_else",
            "Unassigned",
            "No rule matches 1 customer (33%); they are shown as 'Unassigned'. Add a last rule "
            "such as 'Others: else'.",
            "有 1 位客户（33%）不满足任何规则，显示为「Unassigned」；可在最后加一条如「其他: else」的规则。",
            1,
            1 / 3,
            0,
        ),
    ]


def test_lint_else_share_threshold_and_exhaustive_else():
    df = pl.DataFrame({"monetary": [6000.0, 10.0, 20.0]})
    assert [i.kind for i in lint_rules(df, "Big: M >= 5000\nRest: else")] == ["else_share"]
    assert lint_rules(df, "Big: M >= 5000\nRest: else", else_share_warning=0.7) == []
    # Rules already covering every combination make the else tier unreachable by construction.
    issues = lint_rules(all_combos(2), "Hi: r_score == 2\nLo: r_score == 1\nRest: else")
    assert [(i.kind, i.tier) for i in issues] == [("unreachable", "Rest")]


def test_lint_accepts_lazy_frames():
    issues = lint_rules(all_combos(5).lazy(), COMMON_SEGMENTS)
    assert [i.tier for i in issues if i.kind == "unreachable"] == [
        "New Customers",
        "Promising",
        "Can't Lose Them",
        "Lost",
    ]


# ----------------------------------------------------------------------------- properties

COLUMNS = ("r_score", "f_score", "m_score", "monetary")
OPS = ("<", "<=", ">", ">=", "==", "!=")


def _holds(value, op, bound) -> bool:
    if value is None:
        return False
    return {
        "<": value < bound,
        "<=": value <= bound,
        ">": value > bound,
        ">=": value >= bound,
        "==": value == bound,
        "!=": value != bound,
    }[op]


rule_strategy = st.lists(
    st.lists(
        st.tuples(st.sampled_from(COLUMNS), st.sampled_from(OPS), st.integers(0, 6)),
        min_size=1,
        max_size=3,
    ),
    min_size=1,
    max_size=6,
)
frame_strategy = st.lists(
    st.tuples(
        st.integers(1, 5),
        st.integers(1, 5),
        st.integers(1, 5),
        st.one_of(st.none(), st.floats(-10, 10, allow_nan=False)),
    ),
    min_size=0,
    max_size=30,
)


def _frame(rows) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(rows))],
            "r_score": [r[0] for r in rows],
            "f_score": [r[1] for r in rows],
            "m_score": [r[2] for r in rows],
            "monetary": [r[3] for r in rows],
        },
        schema={
            "customer_id": pl.String,
            "r_score": pl.Int8,
            "f_score": pl.Int8,
            "m_score": pl.Int8,
            "monetary": pl.Float64,
        },
    )


@settings(max_examples=60, deadline=None)
@given(rules=rule_strategy, rows=frame_strategy, with_else=st.booleans())
def test_every_customer_gets_the_first_matching_tier(rules, rows, with_else):
    text = "\n".join(
        f"T{i}: " + " and ".join(f"{c} {op} {v}" for c, op, v in conj) for i, conj in enumerate(rules)
    )
    if with_else:
        text += "\nRest: else"
    rs = parse_rules(text)
    out = assign_tiers(_frame(rows), rs)
    got = out["tier"].to_list()
    fallback = "Rest" if with_else else "Unassigned"
    expected = []
    for row in rows:
        values = dict(zip(COLUMNS, row, strict=True))
        hit = next(
            (f"T{i}" for i, conj in enumerate(rules) if all(_holds(values[c], op, v) for c, op, v in conj)),
            fallback,
        )
        expected.append(hit)
    assert len(got) == len(rows)
    assert out["tier"].null_count() == 0
    assert got == expected


@settings(max_examples=40, deadline=None)
@given(rows=frame_strategy, seed=st.randoms(use_true_random=False))
def test_tiers_do_not_depend_on_row_order(rows, seed):
    df = _frame(rows)
    order = list(range(len(rows)))
    seed.shuffle(order)
    text = SEGMENTS11.replace("Lost: else", "Lost: M < 0 or monetary > 5")
    a = assign_tiers(df, text)
    b = assign_tiers(df[order], text)
    assert dict(a.select("customer_id", "tier").iter_rows()) == dict(
        b.select("customer_id", "tier").iter_rows()
    )
    assert b["tier"].null_count() == 0


def test_reachability_matches_assignment_on_every_combination():
    for bins in (2, 3, 5):
        counts = reachability(SEGMENTS11, bins=bins)
        assert sum(counts.values()) == bins**3
        assigned = assign_tiers(all_combos(bins), SEGMENTS11)["tier"].value_counts()
        assert {k: v for k, v in counts.items() if v} == dict(assigned.iter_rows())


def test_rule_errors_carry_a_code_and_params_for_other_languages():
    import pytest as _pytest

    from segmentation import parse_rules as _parse
    from segmentation.errors import RuleError as _RuleError

    with _pytest.raises(_RuleError) as caught:
        _parse("Good: R <=\nRest: else")
    assert (caught.value.code, caught.value.params, caught.value.line, caught.value.column) == (
        "expected_operand", {"after": "<=", "found": ""}, 1, 11)
    with _pytest.raises(_RuleError) as caught:
        _parse("A: R < 5\nA: F > 2")
    assert (caught.value.code, caught.value.params) == ("duplicate_name", {"name": "A", "first_line": 1})


@settings(max_examples=30, deadline=None)
@given(
    bins=st.integers(2, 7),
    rows=st.lists(st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 7)), min_size=1, max_size=40),
)
def test_score_lookup_gives_the_tiers_assign_tiers_gives(bins, rows):
    rules = SEGMENTS11
    scores = pl.DataFrame(
        [tuple(min(v, bins) for v in r) for r in rows],
        schema={"r_score": pl.Int8, "f_score": pl.Int8, "m_score": pl.Int8},
        orient="row",
    )
    looked_up = scores.select(score_lookup(rules, bins))["tier"].to_list()
    assert looked_up == assign_tiers(scores, rules)["tier"].to_list()


def test_score_lookup_refuses_rules_that_read_more_than_scores():
    with pytest.raises(RuleError, match="only works for rules that read"):
        score_lookup("Big: M >= 100\nOthers: else", 5)
