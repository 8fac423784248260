"""Tier rules: a tiny, whitelisted rule language compiled to Polars expressions.

Rule text has one rule per line, ``NAME: CONDITION``::

    # '#' starts a comment; blank lines are ignored
    Champions: r_score >= 4 and f_score >= 4 and m_score >= 4
    重要价值客户: R <= 30 且 M >= 5000
    Can't Lose Them: 1 <= r_score <= 2 and (f_score >= 4 or M / F > 800)
    Others: else

- The name is everything before the first colon (``:`` or the full-width ``：``), trimmed; it may
  contain spaces, apostrophes and Chinese; at most 60 characters; names must be unique.
- ``else`` (or ``否则``) as the whole condition matches everyone left and must be the last rule.
  Without an ``else`` rule, customers no rule matches land in an implicit last tier called
  ``"Unassigned"`` (``parse_rules(..., unassigned=...)`` renames it, e.g. to ``"未分层"``).
- Names in conditions: ``R`` (recency_days), ``F`` (frequency), ``M`` (monetary),
  ``AOV`` (avg_order_value), ``T`` (tenure_days), ``r_score``, ``f_score``, ``m_score``,
  ``P_ALIVE`` (p_alive), ``CLV`` (clv), and any other numeric column of the customer table written
  as an ASCII identifier. Aliases and the core column names are case-insensitive. Columns are
  checked against the table when tiers are assigned.
- Operators: ``< <= > >= == != =`` (``=`` is equality; ``≤ ≥ ≠`` also work), ``and or not``
  (also ``&& || !`` and ``且 或 非``), parentheses, ``+ - * /``, unary minus, chained comparisons
  (``3 <= r_score <= 5``). Numbers: ``12``, ``0.5``, ``1_000``, ``2e4`` (exponent at most 15).
  Full-width ASCII characters typed with a Chinese input method (``（ ） ＞ ＝ １``) are read as
  their ASCII twins.
- Nothing else: no function calls, attributes, strings or subscripts. Rule text is untrusted input,
  so it is parsed from a whitelist into ``pl.col``/``pl.lit`` expressions and never evaluated as
  Python or spliced into SQL.

Semantics: the first matching rule wins; a condition that is null for a customer (missing value,
0/0) counts as not met. Integer columns are compared as they are; arithmetic runs in Float64 so
``m_score * 100`` cannot overflow the Int8 scores; x/0 gives ±inf and 0/0 gives null.

Every error is a :class:`segmentation.errors.RuleError` whose message starts with
``"Line L, column C: "``; ``.line`` and ``.column`` are 1-based and ``.detail`` holds the message
without that prefix, so the UI can localise the position part.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import polars as pl

from . import columns as C
from .errors import RuleError

__all__ = [
    "ELSE_SHARE_WARNING",
    "UNASSIGNED",
    "ColumnRef",
    "LintIssue",
    "Rule",
    "RuleSet",
    "assign_tiers",
    "lint_rules",
    "parse_rules",
    "reachability",
    "score_lookup",
]

UNASSIGNED = "Unassigned"
ELSE_SHARE_WARNING = 0.30

# Limits keep parsing cheap and bounded whatever text arrives (a pasted file, a crafted link).
MAX_TEXT_CHARS = 20_000
MAX_RULES = 100
MAX_LINE_CHARS = 500
MAX_NAME_CHARS = 60
MAX_TOKENS_PER_RULE = 200
MAX_TOKENS_TOTAL = 2_000  # building Polars expressions costs ~10 µs a token; keeps a parse < 50 ms
MAX_DEPTH = 20
MAX_EXPONENT = 15
MAX_ABS_NUMBER = 1e15
MAX_NUMBER_CHARS = 40
MAX_LINT_BINS = 20

ALIASES: dict[str, str] = {
    "R": C.RECENCY,
    "F": C.FREQUENCY,
    "M": C.MONETARY,
    "AOV": C.AOV,
    "T": C.TENURE,
    "P_ALIVE": C.P_ALIVE,
    "CLV": C.CLV,
}
_CORE_COLUMNS = (
    C.RECENCY,
    C.FREQUENCY,
    C.MONETARY,
    C.AOV,
    C.TENURE,
    C.R_SCORE,
    C.F_SCORE,
    C.M_SCORE,
    C.P_ALIVE,
    C.CLV,
)
_KNOWN: dict[str, str] = {k.casefold(): v for k, v in ALIASES.items()} | {
    c.casefold(): c for c in _CORE_COLUMNS
}
_ALIAS_OF: dict[str, str] = {v: k for k, v in ALIASES.items()}
# Integer columns of the customer table cannot hold NaN, so they skip the NaN -> null guard.
_INTEGER_COLUMNS = frozenset({C.RECENCY, C.FREQUENCY, C.TENURE, C.R_SCORE, C.F_SCORE, C.M_SCORE})
_SCORE_COLUMNS = frozenset(C.SCORE_COLUMNS)
_ELSE_WORDS = frozenset({"else", "否则"})

_WORD_OPS = {"and": "and", "or": "or", "not": "not"}
_SYMBOL_OPS = {
    "<=": "<=",
    ">=": ">=",
    "==": "==",
    "!=": "!=",
    "&&": "and",
    "||": "or",
    "<": "<",
    ">": ">",
    "=": "==",
    "!": "not",
    "+": "+",
    "-": "-",
    "*": "*",
    "/": "/",
    "(": "(",
    ")": ")",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "且": "and",
    "或": "or",
    "非": "not",
}
_COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})
_NUMBER_RE = re.compile(
    r"(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)"
    r"(?:[eE][+-]?[0-9]+)?"
)
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_CHAR_RE = re.compile(r"[A-Za-z0-9_.]")
_ALLOWED_HINT = (
    "conditions may use column names, numbers, comparisons (< <= > >= = != ), "
    "and / or / not, + - * / and parentheses"
)
# Full-width ASCII (what a Chinese input method types) maps 1:1 to ASCII, so columns stay put.
_FULL_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_ZWJ = "\u200d"  # kept: it joins emoji a tier name may use


def _error(detail: str, line: int = 0, column: int = 0, code: str = "", **params: object) -> RuleError:
    message = f"Line {line}, column {column}: {detail}" if line else detail
    err = RuleError(message, line=line, column=column, code=code, params=params)
    err.detail = detail  # type: ignore[attr-defined]
    return err


# ----------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class ColumnRef:
    """A name used in a condition: as written, the column it means, and where it stands."""

    written: str
    column: str
    line: int
    col: int


@dataclass(frozen=True)
class Rule:
    """One parsed rule.

    ``expr`` is a Boolean Polars expression with nulls already counted as False (always False
    for the ``else`` rule, which assignment handles as "everyone left"). ``columns`` lists the
    table columns the condition reads, in order of first use.
    """

    name: str
    condition: str
    line: int
    is_else: bool
    columns: tuple[str, ...]
    expr: pl.Expr = field(compare=False, repr=False)
    refs: tuple[ColumnRef, ...] = field(default=(), compare=False, repr=False)
    # The same test with null left as null: when/then already treats null as "no match", and
    # skipping fill_null there saves a pass per rule.
    raw_expr: pl.Expr = field(default_factory=lambda: pl.lit(False), compare=False, repr=False)

    @property
    def score_only(self) -> bool:
        """True when the condition only reads r_score, f_score and m_score."""
        return set(self.columns) <= _SCORE_COLUMNS


@dataclass(frozen=True)
class RuleSet:
    """Parsed rule text; equal texts give equal (and equally hashed) rule sets.

    ``names`` lists the tiers in rule order, plus the implicit last tier ``unassigned`` (default
    ``"Unassigned"``) when there is no ``else`` rule. ``dtype`` is ``pl.Enum(names)``.
    """

    rules: tuple[Rule, ...]
    text: str
    names: tuple[str, ...]
    dtype: pl.Enum = field(compare=False, repr=False)
    columns_used: tuple[str, ...]
    unassigned: str | None = None

    @property
    def has_else(self) -> bool:
        return bool(self.rules) and self.rules[-1].is_else

    @property
    def score_only(self) -> bool:
        """True when every rule only reads r_score, f_score and m_score (or is ``else``)."""
        return all(r.score_only for r in self.rules)


@dataclass(frozen=True)
class LintIssue:
    """A finding about a rule set on a given customer table.

    kind: ``"unreachable"`` (no score combination can ever reach the tier: decided exactly for
    score-only rules), ``"shadowed"`` (on this data every customer meeting the condition was taken
    by an earlier rule), ``"empty"`` (no customer on this data), ``"else_share"`` (the ``else``
    tier holds more than the warning share), ``"no_else"`` (customers match no rule and land in
    the implicit unassigned tier). ``count`` is the number of customers concerned (for the first
    three: customers meeting the rule's own condition) and ``share`` that count over all customers.
    """

    kind: str
    tier: str
    message_en: str
    message_zh: str
    count: int = 0
    share: float = 0.0
    line: int = 0


# ----------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class _Tok:
    kind: str  # "num", "name", "op", "end"
    text: str  # as written (after full-width folding)
    value: object  # number, canonical operator, or resolved column name
    col: int  # 1-based column in the line


def _tokenize(src: str, offset: int, line: int) -> list[_Tok]:
    s = src.translate(_FULL_WIDTH)
    toks: list[_Tok] = []
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch.isspace():
            i += 1
            continue
        col = offset + i + 1
        if len(toks) >= MAX_TOKENS_PER_RULE:
            raise _error(
                f"this rule has more than {MAX_TOKENS_PER_RULE} parts; split it into simpler rules",
                line,
                col,
                code="rule_too_complex", limit=MAX_TOKENS_PER_RULE,
            )
        m = _NUMBER_RE.match(s, i)
        if m and m.end() > i:
            text = m.group()
            end = m.end()
            if end < n and _WORD_CHAR_RE.match(s[end]):
                bad = re.match(r"[A-Za-z0-9_.]+", s[i:]).group()  # type: ignore[union-attr]
                raise _error(f"'{bad}' is not a valid number", line, col, "bad_number", text=bad)
            toks.append(_Tok("num", text, _number_value(text, line, col), col))
            i = end
            continue
        m = _NAME_RE.match(s, i)
        if m:
            text = m.group()
            low = text.casefold()
            if low in _WORD_OPS:
                toks.append(_Tok("op", text, _WORD_OPS[low], col))
            elif low in _ELSE_WORDS:
                raise _error("'else' must be the whole condition (for example 'Others: else')", line, col,
                    code="else_alone")
            else:
                toks.append(_Tok("name", text, _KNOWN.get(low, text), col))
            i = m.end()
            continue
        two = s[i : i + 2]
        if two in _SYMBOL_OPS:
            toks.append(_Tok("op", two, _SYMBOL_OPS[two], col))
            i += 2
            continue
        if ch in _SYMBOL_OPS:
            toks.append(_Tok("op", ch, _SYMBOL_OPS[ch], col))
            i += 1
            continue
        raise _error(_unexpected_char(ch, s[i + 1 : i + 2]), line, col, "unexpected_char", char=ch)
    toks.append(_Tok("end", "", None, offset + len(s) + 1))
    return toks


def _unexpected_char(ch: str, nxt: str) -> str:
    if ch in "'\"`‘’“”":
        return "text in quotes is not allowed; conditions compare numbers and columns"
    if ch == "&":
        return "use 'and' (or '&&') to join two conditions"
    if ch == "|":
        return "use 'or' (or '||') to join two conditions"
    if ch == "*" and nxt == "*":
        return "'**' (power) is not allowed; use * to multiply"
    if ch == ".":
        return "'.' is only allowed inside a number such as 0.5"
    if ch in "[]{}":
        return f"'{ch}' is not allowed; {_ALLOWED_HINT}"
    if ch in ";,":
        return f"'{ch}' is not allowed; write one rule per line and join conditions with 'and' / 'or'"
    if ch in ":：":
        return "only one ':' is allowed per rule, right after the tier name"
    if ch.isalpha():
        return (
            f"'{ch}' is not a Latin letter; names in conditions are R, F, M, AOV, T, r_score, "
            f"f_score, m_score, P_ALIVE, CLV or a numeric column spelled with A-Z, 0-9 and _"
        )
    shown = ch if ch.isprintable() else ""
    return f"unexpected character '{shown}' (U+{ord(ch):04X}); {_ALLOWED_HINT}"


def _number_value(text: str, line: int, col: int) -> int | float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _error(f"the number '{text[:20]}…' is too long", line, col,
            code="number_too_long", text=text[:20] + "…")
    clean = text.replace("_", "")
    mant, _, exp = clean.lower().partition("e")
    if exp and abs(int(exp)) > MAX_EXPONENT:
        raise _error(
            f"the number '{text}' has too large an exponent (at most e{MAX_EXPONENT} is allowed)",
            line,
            col,
            code="number_too_large", text=text[:20],
        )
    value: int | float = float(clean) if (exp or "." in mant) else int(clean)
    if abs(value) > MAX_ABS_NUMBER:
        raise _error(f"the number '{text}' is too large (at most 1e{MAX_EXPONENT})", line, col,
            code="number_too_large", text=text[:20])
    return value


# ----------------------------------------------------------------------------- parser


@dataclass(frozen=True)
class _Node:
    expr: pl.Expr
    kind: str  # "num" or "bool"
    col: int
    literal: int | float | None = None  # set for constant numbers (folded)
    column: str | None = None  # set for a bare column reference
    nan_risk: bool = False  # may hold NaN (division): guard before comparing
    uses_column: bool = False


class _Parser:
    """Recursive descent, one method per precedence level (or < and < not < comparison < + - <
    * / < unary). Hand-written on purpose: the grammar is tiny and has to be a whitelist with
    precise "line, column, expected" messages, which a general parser or ``ast`` would not give.

    Types are tracked while parsing: comparisons and arithmetic take numbers, and/or/not take
    conditions, and the whole condition must be a condition.
    """

    def __init__(self, toks: list[_Tok], line: int, colon_col: int):
        self.toks = toks
        self.pos = 0
        self.line = line
        self.depth = 0
        self.colon_col = colon_col
        self.refs: list[ColumnRef] = []

    # helpers
    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def prev_text(self) -> str:
        return self.toks[self.pos - 1].text if self.pos > 0 else ":"

    def advance(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def at_op(self, *ops: str) -> bool:
        tok = self.peek()
        return tok.kind == "op" and tok.value in ops

    def err(self, detail: str, col: int, code: str = "", **params: object) -> RuleError:
        return _error(detail, self.line, col, code, **params)

    def enter(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.err(f"too many nested parentheses or operators (at most {MAX_DEPTH} levels)", tok.col,
                code="too_deep", limit=MAX_DEPTH)

    @staticmethod
    def describe(tok: _Tok) -> str:
        return "the end of the line" if tok.kind == "end" else f"'{tok.text}'"

    # grammar
    def parse(self) -> pl.Expr:
        if self.peek().kind == "end":
            raise self.err("expected a condition after ':' but found nothing", self.colon_col, "no_condition")
        node = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            if tok.kind == "op" and tok.value == ")":
                raise self.err("found ')' without a matching '('", tok.col, "unmatched_close")
            raise self.err(
                f"expected 'and', 'or', a comparison or an arithmetic operator after "
                f"'{self.prev_text()}' but found {self.describe(tok)}",
                tok.col, "expected_operator", after=self.prev_text(), found=tok.text if tok.kind != "end" else "",
            )
        if node.kind != "bool":
            raise self.err(
                "the condition is a number, not a yes/no test; compare it with something, "
                "for example 'R <= 30' or 'r_score + f_score >= 8'",
                node.col, "not_a_test",
            )
        if not node.uses_column:
            raise self.err(
                "the condition uses no column, so it is the same for every customer; "
                "use 'else' to match everyone left",
                node.col, "no_column",
            )
        return node.expr

    def _logic(self, op: str, sub: Callable[[], _Node]) -> _Node:
        left = sub()
        while self.at_op(op):
            tok = self.advance()
            right = sub()
            for side, node in (("left", left), ("right", right)):
                if node.kind != "bool":
                    raise self.err(
                        f"'{tok.text}' joins two conditions, but its {side} side is a number; "
                        f"compare it first, for example 'R <= 30'",
                        tok.col,
                        code="logic_side_number", op=tok.text, side=side,
                    )
            expr = left.expr & right.expr if op == "and" else left.expr | right.expr
            left = _Node(expr, "bool", left.col, uses_column=left.uses_column or right.uses_column)
        return left

    def or_expr(self) -> _Node:
        return self._logic("or", self.and_expr)

    def and_expr(self) -> _Node:
        return self._logic("and", self.not_expr)

    def not_expr(self) -> _Node:
        if self.at_op("not"):
            tok = self.advance()
            self.enter(tok)
            inner = self.not_expr()
            self.depth -= 1
            if inner.kind != "bool":
                raise self.err(
                    f"'{tok.text}' must be followed by a condition such as 'R <= 30', not by a number",
                    tok.col,
                    code="not_number", op=tok.text,
                )
            return _Node(~inner.expr, "bool", tok.col, uses_column=inner.uses_column)
        return self.comparison()

    def comparison(self) -> _Node:
        left = self.sum_expr()
        if not self.at_op(*_COMPARISONS):
            return left
        start = left.col
        parts: list[pl.Expr] = []
        uses = left.uses_column
        while self.at_op(*_COMPARISONS):
            tok = self.advance()
            right = self.sum_expr()
            for side, node in (("left", left), ("right", right)):
                if node.kind != "num":
                    raise self.err(
                        f"'{tok.text}' compares two numbers, but its {side} side is a condition; "
                        f"join conditions with 'and' / 'or' instead",
                        tok.col,
                        code="compare_side_condition", op=tok.text, side=side,
                    )
            parts.append(_compare(_guard(left), str(tok.value), _guard(right)))
            uses = uses or right.uses_column
            left = right
        expr = parts[0]
        for part in parts[1:]:
            expr = expr & part
        return _Node(expr, "bool", start, uses_column=uses)

    def _arith(self, ops: tuple[str, ...], sub: Callable[[], _Node]) -> _Node:
        left = sub()
        while self.at_op(*ops):
            tok = self.advance()
            right = sub()
            for side, node in (("left", left), ("right", right)):
                if node.kind != "num":
                    raise self.err(
                        f"'{tok.text}' works on numbers, but its {side} side is a condition",
                        tok.col,
                        code="arith_side_condition", op=tok.text, side=side,
                    )
            left = self._combine(left, str(tok.value), right, tok)
        return left

    def _combine(self, a: _Node, op: str, b: _Node, tok: _Tok) -> _Node:
        if op == "/" and b.literal is not None and b.literal == 0:
            raise self.err("division by zero", tok.col, code="division_by_zero")
        if a.literal is not None and b.literal is not None:
            value = _fold(a.literal, op, b.literal)
            if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER**2:
                raise self.err("the numbers in this rule give a result that is too large", tok.col,
                    code="result_too_large")
            return _Node(pl.lit(value), "num", a.col, literal=value)
        fa, fb = _as_float(a), _as_float(b)
        expr = {"+": fa + fb, "-": fa - fb, "*": fa * fb, "/": fa / fb}[op]
        return _Node(
            expr,
            "num",
            a.col,
            nan_risk=a.nan_risk or b.nan_risk or op == "/",
            uses_column=a.uses_column or b.uses_column,
        )

    def sum_expr(self) -> _Node:
        return self._arith(("+", "-"), self.term)

    def term(self) -> _Node:
        return self._arith(("*", "/"), self.unary)

    def unary(self) -> _Node:
        if self.at_op("-", "+"):
            tok = self.advance()
            self.enter(tok)
            inner = self.unary()
            self.depth -= 1
            if inner.kind != "num":
                raise self.err(f"'{tok.text}' must be followed by a number", tok.col,
                    code="sign_needs_number", op=tok.text)
            if tok.value == "+":
                return inner
            if inner.literal is not None:
                return _Node(pl.lit(-inner.literal), "num", tok.col, literal=-inner.literal)
            return _Node(
                -_as_float(inner),
                "num",
                tok.col,
                nan_risk=inner.nan_risk,
                uses_column=inner.uses_column,
            )
        return self.primary()

    def primary(self) -> _Node:
        tok = self.peek()
        if tok.kind == "num":
            self.advance()
            value = tok.value
            assert isinstance(value, (int, float))
            return _Node(pl.lit(value), "num", tok.col, literal=value)
        if tok.kind == "name":
            self.advance()
            if self.at_op("("):
                raise self.err(
                    f"'{tok.text}(...)' looks like a function call; rules only allow column "
                    f"names, numbers and operators",
                    tok.col,
                    code="function_call", name=tok.text,
                )
            column = str(tok.value)
            self.refs.append(ColumnRef(tok.text, column, self.line, tok.col))
            expr = pl.col(column)
            if column not in _INTEGER_COLUMNS:
                # NaN compares as the largest float in Polars; a missing value must never match.
                expr = expr.fill_nan(None)
            return _Node(expr, "num", tok.col, column=column, uses_column=True)
        if tok.kind == "op" and tok.value == "(":
            self.advance()
            self.enter(tok)
            inner = self.or_expr()
            self.depth -= 1
            close = self.peek()
            if not (close.kind == "op" and close.value == ")"):
                raise self.err(
                    f"expected ')' to close the '(' at column {tok.col} but found {self.describe(close)}",
                    close.col, "unclosed_paren", open_column=tok.col,
                )
            self.advance()
            return _Node(
                inner.expr,
                inner.kind,
                tok.col,
                literal=inner.literal,
                column=inner.column,
                nan_risk=inner.nan_risk,
                uses_column=inner.uses_column,
            )
        if self.pos == 0:
            raise self.err(f"expected a condition after ':' but found {self.describe(tok)}", tok.col,
                           "no_condition")
        raise self.err(
            f"expected a number or a column name after '{self.prev_text()}' but found {self.describe(tok)}",
            tok.col, "expected_operand", after=self.prev_text(), found=tok.text if tok.kind != "end" else "",
        )


def _fold(a: float, op: str, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b


def _as_float(node: _Node) -> pl.Expr:
    """Arithmetic runs in Float64: the scores are Int8 and m_score * 100 would wrap around."""
    if node.literal is not None:
        return pl.lit(float(node.literal))
    if node.column is not None:
        return node.expr.cast(pl.Float64)
    return node.expr


def _guard(node: _Node) -> pl.Expr:
    return node.expr.fill_nan(None) if node.nan_risk else node.expr


def _compare(a: pl.Expr, op: str, b: pl.Expr) -> pl.Expr:
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    if op == "==":
        return a == b
    return a != b


# ----------------------------------------------------------------------------- parse_rules


def _check_characters(raw: str, line: int) -> None:
    for i, ch in enumerate(raw):
        if ch == "\t":
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Zl", "Zp") or (cat == "Cf" and ch != _ZWJ):
            raise _error(
                f"the line contains an invisible control character (U+{ord(ch):04X}); "
                f"retype the line without it",
                line,
                i + 1,
                code="control_char", char=f"U+{ord(ch):04X}",
            )


def _strip_comment(raw: str) -> str:
    cut = raw.find("#")
    return raw if cut < 0 else raw[:cut]


def parse_rules(text: str, *, unassigned: str = UNASSIGNED) -> RuleSet:
    """Parse tier rule text into a :class:`RuleSet`.

    Parameters:
        text: rule text, one ``NAME: CONDITION`` per line (see the module docstring).
        unassigned: name of the implicit last tier for customers no rule matches; used only
            when there is no ``else`` rule.

    Returns:
        RuleSet with ``rules`` (in order), ``names`` (tier names in order, plus ``unassigned``
        when there is no ``else``), ``dtype`` (``pl.Enum(names)``), ``columns_used`` and ``text``.

    Raises:
        RuleError: the text is malformed, too large, or uses something that is not allowed.
            ``.line``/``.column`` give the position (1-based).

    Example:
        >>> rs = parse_rules("Active: R <= 30\\nOthers: else")
        >>> rs.names
        ('Active', 'Others')
        >>> parse_rules("Active: R <=")
        Traceback (most recent call last):
        ...
        segmentation.errors.RuleError: Line 1, column 13: expected a number or a column name after '<=' but found the end of the line
    """
    if not isinstance(text, str):
        raise _error("rule text must be text")
    if len(text) > MAX_TEXT_CHARS:
        raise _error(f"the rule text is too long ({len(text):,} characters; at most {MAX_TEXT_CHARS:,})",
            code="rules_too_long", chars=f"{len(text):,}", limit=f"{MAX_TEXT_CHARS:,}")
    body = text[1:] if text.startswith("\ufeff") else text
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    else_line = 0
    n_tokens = 0
    for line_no, raw in enumerate(body.split("\n"), start=1):
        raw = raw.removesuffix("\r")
        if len(raw) > MAX_LINE_CHARS:
            raise _error(
                f"the line is too long ({len(raw)} characters; at most {MAX_LINE_CHARS})",
                line_no,
                MAX_LINE_CHARS + 1,
                code="line_too_long", chars=len(raw), limit=MAX_LINE_CHARS,
            )
        _check_characters(raw, line_no)
        content = _strip_comment(raw)
        if not content.strip():
            continue
        if len(rules) >= MAX_RULES:
            raise _error(f"too many rules (at most {MAX_RULES})", line_no, 1,
                code="too_many_rules", limit=MAX_RULES)
        if else_line:
            raise _error(
                f"this rule comes after the 'else' rule on line {else_line}, so it can never "
                f"match; move 'else' to the end",
                line_no,
                1,
                code="after_else", else_line=else_line,
            )
        cut = min((i for i in (content.find(":"), content.find("：")) if i >= 0), default=-1)
        if cut < 0:
            first = len(content) - len(content.lstrip()) + 1
            raise _error("expected 'NAME: CONDITION' but there is no ':' after the tier name", line_no, first,
                         "no_colon")
        name = content[:cut].strip()
        if not name:
            raise _error("the tier name before ':' is empty", line_no, cut + 1, "empty_name")
        if "|" in name:
            raise _error("a tier name cannot contain '|'", line_no, content.find("|") + 1,
                code="name_has_bar")
        if len(name) > MAX_NAME_CHARS:
            raise _error(
                f"the tier name is too long ({len(name)} characters; at most {MAX_NAME_CHARS})",
                line_no,
                1,
                code="name_too_long", chars=len(name), limit=MAX_NAME_CHARS,
            )
        if name in seen:
            raise _error(
                f"the tier name '{name}' is already used on line {seen[name]}; names must be unique",
                line_no,
                content.find(name) + 1, "duplicate_name", name=name, first_line=seen[name],
            )
        cond_src = content[cut + 1 :]
        cond = cond_src.strip()
        if cond.translate(_FULL_WIDTH).strip().casefold() in _ELSE_WORDS:
            rules.append(Rule(name, cond, line_no, True, (), pl.lit(False), ()))
            else_line = line_no
        else:
            toks = _tokenize(cond_src, cut + 1, line_no)
            n_tokens += len(toks)
            if n_tokens > MAX_TOKENS_TOTAL:
                raise _error(
                    f"the rules have more than {MAX_TOKENS_TOTAL:,} parts in total; simplify them",
                    line_no,
                    1,
                    code="rules_too_complex", limit=f"{MAX_TOKENS_TOTAL:,}",
                )
            parser = _Parser(toks, line_no, cut + 2)
            raw = parser.parse()
            refs = tuple(parser.refs)
            columns = tuple(dict.fromkeys(r.column for r in refs))
            rules.append(Rule(name, cond, line_no, False, columns, raw.fill_null(False), refs, raw))
        seen[name] = line_no
    if not rules:
        raise _error("there are no rules yet; write one per line as 'NAME: CONDITION'", code="no_rules")
    names = [r.name for r in rules]
    implicit: str | None = None
    if not else_line:
        if unassigned in seen:
            raise _error(
                f"'{unassigned}' is the name kept for customers no rule matches; add an 'else' "
                f"rule at the end or choose another name",
                seen[unassigned],
                1,
                code="reserved_name", name=unassigned,
            )
        implicit = unassigned
        names.append(unassigned)
    columns_used = tuple(dict.fromkeys(c for r in rules for c in r.columns))
    return RuleSet(
        rules=tuple(rules),
        text=text,
        names=tuple(names),
        dtype=pl.Enum(names),
        columns_used=columns_used,
        unassigned=implicit,
    )


# ----------------------------------------------------------------------------- assignment

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


def _as_ruleset(rules: RuleSet | str) -> RuleSet:
    return rules if isinstance(rules, RuleSet) else parse_rules(rules)


def _allowed_names(schema: pl.Schema) -> list[str]:
    names = []
    for col, dtype in schema.items():
        if not dtype.is_numeric():
            continue
        alias = _ALIAS_OF.get(col)
        names.append(f"{alias} ({col})" if alias else col)
    return names


def _check_columns(rs: RuleSet, schema: pl.Schema) -> None:
    for rule in rs.rules:
        for ref in rule.refs:
            dtype = schema.get(ref.column)
            if dtype is None:
                allowed = ", ".join(_allowed_names(schema)) or "none"
                hint = ""
                if ref.column in (C.P_ALIVE, C.CLV):
                    hint = f" '{ref.written}' needs the lifetime value (CLV) columns, which this table does not have."
                raise _error(
                    f"unknown column '{ref.written}' in rule '{rule.name}'.{hint} Allowed names: {allowed}",
                    ref.line,
                    ref.col,
                    "unknown_column", name=ref.written, tier=rule.name, allowed=allowed,
                )
            if not dtype.is_numeric():
                raise _error(
                    f"column '{ref.written}' in rule '{rule.name}' holds {dtype}, not numbers; "
                    f"conditions can only use numeric columns",
                    ref.line,
                    ref.col,
                    code="column_not_numeric", name=ref.written, tier=rule.name,
                )


def _tier_expr(rs: RuleSet) -> pl.Expr:
    # A when/then chain over Enum literals measured fastest (vs. coalescing rule indices and
    # gathering names), and it already yields "first match wins" with null treated as no match.
    enum = rs.dtype
    matchers = [r for r in rs.rules if not r.is_else]
    fallback = pl.lit(rs.names[-1], dtype=enum)
    if not matchers:
        return fallback
    chain = pl.when(matchers[0].raw_expr).then(pl.lit(matchers[0].name, dtype=enum))
    for rule in matchers[1:]:
        chain = chain.when(rule.raw_expr).then(pl.lit(rule.name, dtype=enum))
    return chain.otherwise(fallback)


def assign_tiers(scored: FrameT, rules: RuleSet | str) -> FrameT:
    """Add a ``tier`` column: the first rule each customer meets (``else``/unassigned otherwise).

    Parameters:
        scored: customer table (eager or lazy), usually the output of ``score``.
        rules: a :class:`RuleSet` or rule text.

    Returns:
        The same kind of frame with ``tier`` (``pl.Enum`` in rule order) added or replaced.
        Every row gets exactly one tier; rows keep their order.

    Raises:
        RuleError: the text does not parse, or a condition names a column the table does not
            have or one that is not numeric (the message lists the allowed names).

    Example:
        >>> df = pl.DataFrame({"customer_id": ["a", "b"], "recency_days": [5, 90]})
        >>> assign_tiers(df, "Active: R <= 30\\nOthers: else")["tier"].to_list()
        ['Active', 'Others']
    """
    rs = _as_ruleset(rules)
    schema = scored.collect_schema() if isinstance(scored, pl.LazyFrame) else scored.schema
    _check_columns(rs, schema)
    return scored.with_columns(_tier_expr(rs).alias(C.TIER))


def score_lookup(rules: RuleSet | str, bins: int) -> pl.Expr:
    """The ``tier`` of score-only rules as a lookup expression over r/f/m scores 1..``bins``.

    Tiers every score combination once, so a table of millions of customers costs one gather
    instead of every rule evaluated on every row. Same tiers as :func:`assign_tiers`.

    Raises:
        RuleError: a rule reads something other than r_score, f_score and m_score.

    Example:
        >>> df = pl.DataFrame({"r_score": [5, 1], "f_score": [1, 1], "m_score": [3, 3]})
        >>> df.select(score_lookup("Active: r_score >= 4\\nOthers: else", 5))["tier"].to_list()
        ['Active', 'Others']
    """
    rs = _as_ruleset(rules)
    if not rs.score_only:
        raise RuleError("A score lookup only works for rules that read r_score, f_score and m_score.")
    table = assign_tiers(_combos(bins), rs).get_column(C.TIER)
    idx = (
        (pl.col(C.R_SCORE).cast(pl.Int32) - 1) * (bins * bins)
        + (pl.col(C.F_SCORE).cast(pl.Int32) - 1) * bins
        + (pl.col(C.M_SCORE).cast(pl.Int32) - 1)
    )
    return pl.lit(table).gather(idx).alias(C.TIER)


# ----------------------------------------------------------------------------- reachability


def _combos(bins: int) -> pl.DataFrame:
    grid = list(itertools.product(range(1, bins + 1), repeat=3))
    return pl.DataFrame(grid, schema={c: pl.Int8 for c in C.SCORE_COLUMNS}, orient="row")


def _check_bins(bins: int) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= MAX_LINT_BINS:
        raise ValueError(f"bins must be an integer from 1 to {MAX_LINT_BINS}, got {bins!r}")


def reachability(rules: RuleSet | str, bins: int) -> dict[str, int]:
    """Count the r/f/m score combinations (``bins**3`` of them) that end in each tier.

    Only for rule sets that read nothing but r_score, f_score and m_score. A tier with 0 can never
    get a customer whatever the data, because earlier rules take all its combinations.

    Returns:
        ``{tier: count}`` for every tier in order (including the implicit unassigned tier);
        the counts sum to ``bins**3``.

    Raises:
        RuleError: a rule reads another column. ValueError: bins outside 1..20.

    Example:
        >>> reachability("Top: r_score == 2 and f_score == 2\\nRest: else", bins=2)
        {'Top': 2, 'Rest': 6}
    """
    rs = _as_ruleset(rules)
    _check_bins(bins)
    for rule in rs.rules:
        if not rule.score_only:
            ref = next(r for r in rule.refs if r.column not in _SCORE_COLUMNS)
            raise _error(
                f"score combinations can only be counted for rules on r_score, f_score and "
                f"m_score; rule '{rule.name}' uses '{ref.written}'",
                ref.line,
                ref.col,
            )
    tiers = assign_tiers(_combos(bins), rs)[C.TIER]
    counts = dict(tiers.value_counts().iter_rows())
    return {name: int(counts.get(name, 0)) for name in rs.names}


# ----------------------------------------------------------------------------- lint


def _pct(share: float) -> str:
    return f"{share:.0%}"


def _customers(n: int) -> str:
    return f"{n:,} customer" if n == 1 else f"{n:,} customers"


def lint_rules(
    scored: pl.DataFrame | pl.LazyFrame,
    rules: RuleSet | str,
    *,
    bins: int | None = None,
    else_share_warning: float = ELSE_SHARE_WARNING,
) -> list[LintIssue]:
    """Find tiers that cannot or do not get customers, and a too-large leftover tier.

    Parameters:
        scored: customer table (eager or lazy) with the columns the rules use.
        rules: a :class:`RuleSet` or rule text.
        bins: number of score levels; defaults to the largest r/f/m score in the table. Rules
            that only read scores (and follow only such rules) are checked exactly over all
            ``bins**3`` combinations, so "unreachable by construction" is told apart from "empty
            on this data".
            Bins outside 1..20 skip the exact check.
        else_share_warning: report the ``else`` tier when it holds more than this share.

    Returns:
        Issues in rule order, then the leftover-tier issues. Kinds: ``unreachable``,
        ``shadowed``, ``empty``, ``no_else``, ``else_share`` (see :class:`LintIssue`).

    Raises:
        RuleError: as :func:`assign_tiers`.

    Example:
        >>> df = pl.DataFrame({"r_score": [1, 2], "f_score": [1, 2], "m_score": [1, 2]})
        >>> [i.kind for i in lint_rules(df, "A: r_score >= 1\\nB: r_score == 2\\nC: else")]
        ['unreachable', 'unreachable']
    """
    rs = _as_ruleset(rules)
    if isinstance(scored, pl.LazyFrame):
        _check_columns(rs, scored.collect_schema())
        wanted = set(rs.columns_used) | _SCORE_COLUMNS
        frame = scored.select(c for c in scored.collect_schema().names() if c in wanted).collect()
    else:
        frame = scored
    _check_columns(rs, frame.schema)
    total = frame.height
    matchers = [r for r in rs.rules if not r.is_else]
    aggs = [r.expr.sum().alias(f"own{i}") for i, r in enumerate(matchers)]
    aggs.append(_tier_expr(rs).alias(C.TIER).value_counts().implode().alias("tiers"))
    row = frame.select(aggs).row(0, named=True)
    own = {r.name: int(row[f"own{i}"] or 0) for i, r in enumerate(matchers)}
    tier_counts = {name: 0 for name in rs.names}
    for item in row["tiers"]:
        tier_counts[item[C.TIER]] = int(item["count"])

    exact = _exact_reach(rs, frame, bins)
    issues: list[LintIssue] = []
    for rule in rs.rules:
        count = own.get(rule.name, 0)
        share = count / total if total else 0.0
        verdict = exact.get(rule.name)
        if verdict is not None and verdict[0] == 0:
            issues.append(_unreachable_issue(rule, verdict[1], verdict[2], count, share))
            continue
        if rule.is_else or total == 0 or tier_counts[rule.name] > 0:
            continue
        if count > 0 and verdict is None:
            issues.append(
                LintIssue(
                    "shadowed",
                    rule.name,
                    f"'{rule.name}' gets no customers: everyone who meets its condition "
                    f"({_customers(count)}) was already placed by earlier rules.",
                    f"「{rule.name}」没有客户：满足其条件的 {count:,} 位客户都已被前面的规则分走。",
                    count,
                    share,
                    rule.line,
                )
            )
        else:
            issues.append(
                LintIssue(
                    "empty",
                    rule.name,
                    f"'{rule.name}' gets no customers on this data.",
                    f"在当前数据中，「{rule.name}」没有客户。",
                    count,
                    share,
                    rule.line,
                )
            )
    issues.extend(_leftover_issues(rs, tier_counts, total, else_share_warning))
    return issues


def _exact_reach(
    rs: RuleSet, frame: pl.DataFrame, bins: int | None
) -> dict[str, tuple[int, int, tuple[str, ...]]]:
    """{rule name: (combos reaching it, combos meeting its condition, earlier rules taking them)}
    for the leading run of score-only rules (later ones depend on data-driven earlier rules)."""
    prefix: list[Rule] = []
    for rule in rs.rules:
        if not rule.score_only:
            break
        prefix.append(rule)
    if not prefix:
        return {}
    if bins is None:
        present = [c for c in C.SCORE_COLUMNS if c in frame.columns]
        top = frame.select(pl.max_horizontal(pl.col(present).max())).item() if present else None
        if top is None:
            return {}
        bins = int(top)
    if not 1 <= bins <= MAX_LINT_BINS:
        return {}
    grid = _combos(bins)
    matchers = [r for r in prefix if not r.is_else]
    masks = grid.select(
        [r.expr.alias(f"m{i}") for i, r in enumerate(matchers)] or [pl.lit(False).alias("m0")]
    )
    taken = [False] * grid.height
    winner: list[str | None] = [None] * grid.height
    result: dict[str, tuple[int, int, tuple[str, ...]]] = {}
    for i, rule in enumerate(prefix):
        meets = masks[f"m{i}"].to_list() if not rule.is_else else [True] * grid.height
        reach = 0
        blockers: dict[str, None] = {}
        for k, hit in enumerate(meets):
            if not hit:
                continue
            if taken[k]:
                blockers[winner[k]] = None  # type: ignore[index]
            else:
                taken[k] = True
                winner[k] = rule.name
                reach += 1
        in_rule_order = tuple(r.name for r in prefix[:i] if r.name in blockers)
        result[rule.name] = (reach, sum(meets), in_rule_order)
    return result


def _unreachable_issue(
    rule: Rule, covered: int, blockers: tuple[str, ...], count: int, share: float
) -> LintIssue:
    if rule.is_else:
        en = f"'{rule.name}' can never get customers: the rules above already cover every score combination."
        zh = f"「{rule.name}」永远不会有客户：前面的规则已覆盖所有评分组合。"
    elif covered == 0:
        en = f"'{rule.name}' can never get customers: no score combination meets its condition."
        zh = f"「{rule.name}」永远不会有客户：没有任何评分组合满足其条件。"
    else:
        en_names = ", ".join(f"'{b}'" for b in blockers)
        zh_names = "、".join(f"「{b}」" for b in blockers)
        en = (
            f"'{rule.name}' can never get customers: every score combination it covers is "
            f"taken first by {en_names}. Move it up or narrow the earlier rules."
        )
        zh = (
            f"「{rule.name}」永远不会有客户：它覆盖的评分组合都先被{zh_names}分走了。"
            f"请把它上移，或收窄前面的规则。"
        )
    return LintIssue("unreachable", rule.name, en, zh, count, share, rule.line)


def _leftover_issues(rs: RuleSet, tier_counts: dict[str, int], total: int, warn: float) -> list[LintIssue]:
    if total == 0:
        return []
    if rs.unassigned is not None:
        count = tier_counts[rs.unassigned]
        if count == 0:
            return []
        share = count / total
        return [
            LintIssue(
                "no_else",
                rs.unassigned,
                f"No rule matches {_customers(count)} ({_pct(share)}); they are shown as "
                f"'{rs.unassigned}'. Add a last rule such as 'Others: else'.",
                f"有 {count:,} 位客户（{_pct(share)}）不满足任何规则，显示为「{rs.unassigned}」；"
                f"可在最后加一条如「其他: else」的规则。",
                count,
                share,
                0,
            )
        ]
    last = rs.rules[-1]
    count = tier_counts[last.name]
    share = count / total
    if share <= warn:
        return []
    return [
        LintIssue(
            "else_share",
            last.name,
            f"'{last.name}' (else) holds {_pct(share)} of customers ({count:,}), more than "
            f"{_pct(warn)}; the rules above may be too narrow.",
            f"「{last.name}」（else）占客户的 {_pct(share)}（{count:,} 位），超过 {_pct(warn)}；"
            f"前面的规则可能过窄。",
            count,
            share,
            last.line,
        )
    ]
