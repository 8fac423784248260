"""Rule text is untrusted: any input parses or raises RuleError, quickly, and runs nothing."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation.errors import RuleError
from segmentation.rules import RuleSet, assign_tiers, parse_rules

FUZZ = settings(
    max_examples=150,
    # Hypothesis' own deadline turns one scheduler stall into a flaky failure; the 100 ms budget
    # is enforced in parse_or_rule_error instead, re-timed best of three before it fails.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
# Examples that also run a Polars query: on a busy machine one collect can stall well past 100 ms
# for reasons that have nothing to do with the rules, so these only check the outcome.
FUZZ_QUERY = settings(FUZZ, max_examples=80, deadline=None)


def best_of_three(fn) -> float:
    """Shortest of three timings: catches slow algorithms, ignores a scheduler hiccup."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


SCORES = pl.DataFrame(
    {
        "r_score": [1, 3, 5],
        "f_score": [2, 4, 1],
        "m_score": [5, 1, 3],
        "recency_days": [400, 30, 2],
        "frequency": [1, 4, 9],
        "monetary": [10.0, None, 9000.0],
    },
    schema_overrides={"r_score": pl.Int8, "f_score": pl.Int8, "m_score": pl.Int8},
)

# The first parse pays one-off start-up costs; do it here so no fuzz example is timed with it.
parse_rules("Warm up: R > 1 and M / F >= 2")


def _parse(text: str) -> RuleSet | None:
    try:
        return parse_rules(text)
    except RuleError as err:
        assert err.line >= 0 and err.column >= 0
        assert str(err).endswith(err.detail) and err.detail
        return None


def parse_or_rule_error(text: str) -> RuleSet | None:
    """Parse or RuleError, never another exception, and within 100 ms."""
    start = time.perf_counter()
    result = _parse(text)
    if time.perf_counter() - start > 0.1:
        assert best_of_three(lambda: _parse(text)) < 0.1, f"parsing took over 100 ms: {text[:80]!r}"
    return result


@FUZZ
@given(st.text(max_size=400))
def test_any_text_gives_ruleset_or_rule_error(text):
    parse_or_rule_error(text)


@FUZZ
@given(st.text(max_size=40), st.text(max_size=200))
def test_any_condition_after_a_name(name, condition):
    parse_or_rule_error(f"{name}: {condition}")


TOKENS = [
    "R",
    "F",
    "M",
    "AOV",
    "T",
    "r_score",
    "f_score",
    "m_score",
    "P_ALIVE",
    "CLV",
    "monetary",
    "x",
    "0",
    "1",
    "2.5",
    "1_000",
    "1e3",
    "1e99",
    ".5",
    "-",
    "+",
    "*",
    "/",
    "(",
    ")",
    "<",
    "<=",
    ">",
    ">=",
    "=",
    "==",
    "!=",
    "!",
    "and",
    "or",
    "not",
    "&&",
    "||",
    "且",
    "或",
    "非",
    "else",
    "≥",
    "（",
    "）",
    ":",
    "#",
    "'",
    '"',
    ".",
    ";",
    "**",
    "[",
    "]",
    "lambda",
    "__import__",
]


@st.composite
def grammar_texts(draw) -> str:
    lines = []
    for i in range(draw(st.integers(1, 8))):
        tokens = draw(st.lists(st.sampled_from(TOKENS), min_size=0, max_size=25))
        name = draw(st.sampled_from([f"T{i}", f"层级{i}", f"Can't {i}", "", "  ", "A"]))
        lines.append(f"{name}: {' '.join(tokens)}")
    return "\n".join(lines)


@FUZZ_QUERY
@given(grammar_texts())
def test_grammar_shaped_texts_parse_or_fail_cleanly(text):
    rs = parse_or_rule_error(text)
    if rs is None:
        return
    try:
        out = assign_tiers(SCORES, rs)
    except RuleError:
        return  # a column the table does not have
    assert out.height == SCORES.height
    assert out["tier"].null_count() == 0
    assert out["tier"].dtype == rs.dtype


@st.composite
def valid_conditions(draw, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        col = draw(st.sampled_from(["R", "F", "M", "r_score", "f_score", "m_score", "M / F"]))
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
        num = draw(st.integers(-5, 5000))
        return f"{col} {op} {num}"
    left = draw(valid_conditions(depth + 1))
    right = draw(valid_conditions(depth + 1))
    join = draw(st.sampled_from(["and", "or", "&&", "||", "且", "或"]))
    neg = draw(st.sampled_from(["", "not ", "非"]))
    return f"{neg}({left} {join} {right})"


@FUZZ_QUERY
@given(st.lists(valid_conditions(), min_size=1, max_size=6))
def test_valid_random_rules_assign_exactly_one_tier(conditions):
    text = "\n".join(f"T{i}: {c}" for i, c in enumerate(conditions))
    out = assign_tiers(SCORES.lazy(), text).collect()
    assert out["tier"].null_count() == 0
    assert out["tier"].dtype == parse_rules(text).dtype


INJECTIONS = [
    "__import__('os').system('touch {sentinel}')",
    "open('/etc/passwd')",
    "R; DROP TABLE x",
    "'; SELECT 1 --",
    'R > 1 or exec("x")',
    "R > 1 or exec(x)",
    "R > eval(1)",
    "lambda: 1",
    "R.__class__",
    "R.__class__.__bases__ > 1",
    "[x for x in ()]",
    "{1: 2}",
    "R[0] > 1",
    "9**9**9**9",
    "R > 9**9**9**9",
    "1e308*1e308",
    "R > 1e308*1e308",
    "R > " + "9" * 400,
    "(" * 10_000 + "R > 1" + ")" * 10_000,
    "(" * 200 + "R > 1" + ")" * 200,
    "not " * 100 + "R > 1",
    "R > 1 and " * 1000 + "R > 1",
    "R > 1\x00",
    "R >\x001",
    "R > 1 \u202e",  # right-to-left override
    "R\u200b > 1",  # zero-width space
    "Р > 1",  # Cyrillic Р, looks like R
    "R > ١",  # Arabic-Indic digit one
    "R > 1 # ok\x0b",
    "R = 1 if True else 2",
    "R > 1 \\\nor 1",
    "${jndi:ldap://x}",
    "R > 1 /* x */",
    "R @ F > 1",
    "R > 1 ; import os",
    "`R` > 1",
    "R > 0x10",
    "R > 1_",
    "R > 1e",
]


@pytest.mark.parametrize("payload", INJECTIONS, ids=range(len(INJECTIONS)))
def test_injection_attempts_are_refused_quickly_and_run_nothing(payload, tmp_path: Path):
    sentinel = tmp_path / "pwned"
    payload = payload.replace("{sentinel}", str(sentinel))
    for text in (payload, f"Tier: {payload}", f"A: R > 1\nTier: {payload}\nRest: else"):
        with pytest.raises(RuleError):
            parse_rules(text)
        assert best_of_three(lambda t=text: parse_or_rule_error(t)) < 0.1
    assert not sentinel.exists()


def test_huge_text_is_refused_before_parsing():
    text = "A: R > 1\n" * 1_000_000
    with pytest.raises(RuleError, match="too long"):
        parse_rules(text)
    assert best_of_three(lambda: parse_or_rule_error(text)) < 0.1


def test_biggest_allowed_text_parses_fast():
    # 100 rules of 19 tokens each (plus an end marker): the most the limits let through.
    body = "r_score + f_score + m_score + M / F + AOV * T - R + 1 >= "
    text = "\n".join(f"T{i}: {body}{i}" for i in range(100))
    rs = parse_rules(text)
    assert len(rs.rules) == 100
    assert best_of_three(lambda: parse_rules(text)) < 0.5
    with pytest.raises(RuleError) as info:
        parse_rules(text.replace("T99: ", "T99: R > 1 and "))
    assert (
        str(info.value) == "Line 100, column 1: the rules have more than 2,000 parts in total; simplify them"
    )


def test_sql_comment_is_just_arithmetic_on_an_unknown_column():
    # "R > 1 -- x" reads as R > 1 - (-x); the table has no column x, so nothing is assigned.
    with pytest.raises(RuleError, match="unknown column 'comment'"):
        assign_tiers(SCORES, "A: R > 1 -- comment")


def test_unicode_names_are_fine_but_invisible_characters_are_not():
    assert parse_rules("🏆 冠军 Champions: r_score >= 4").names[0] == "🏆 冠军 Champions"
    with pytest.raises(RuleError) as info:
        parse_rules("Cham\u202epions: r_score >= 4")
    assert (info.value.line, info.value.column) == (1, 5)
