"""Errors a user can cause are told in the page's language: every error code the core raises has
a Chinese and an English sentence in ui/text.json whose blanks are the error's own params, and
the modules that read files, rules and settings give every such error a code."""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT = json.loads((ROOT / "ui" / "text.json").read_text(encoding="utf-8"))
SOURCES = [*sorted((ROOT / "segmentation").rglob("*.py")), ROOT / "ui" / "datasets.py"]
# Error constructors: the classes, and the rule parser's helpers _error(detail, line, col, code,
# **params) and err(detail, col, code, **params); _guard(fn, message, code=, params=) in the reader.
CONSTRUCTORS = {"DataError", "RuleError", "SettingsError", "_error", "err", "_guard"}
CODE_POSITION = {"_error": 3, "err": 2}
# Params the UI turns into one value per language (``x_en`` / ``x_zh`` -> ``x``).
PAIRED = ("_en", "_zh")


def _name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")


def _code(call: ast.Call) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == "code":
            return kw.value
    pos = CODE_POSITION.get(_name(call))
    return call.args[pos] if pos is not None and len(call.args) > pos else None


def _params(call: ast.Call) -> set[str] | None:
    """The param names given at the call, or None when they are not written out literally."""
    if _name(call) in CODE_POSITION:
        if any(kw.arg is None for kw in call.keywords):
            return None
        names = {kw.arg for kw in call.keywords if kw.arg != "code"}
    else:
        given = next((kw.value for kw in call.keywords if kw.arg == "params"), None)
        if given is None:
            names = set()
        elif isinstance(given, ast.Dict) and all(isinstance(k, ast.Constant) for k in given.keys):
            names = {k.value for k in given.keys}
        else:
            return None
    return {n[:-3] if n.endswith(PAIRED) else n for n in names}


def coded_calls() -> list[tuple[str, int, str, set[str] | None]]:
    """(file, line, code, param names) of every error raised with a literal code."""
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node) in CONSTRUCTORS:
                code = _code(node)
                if isinstance(code, ast.Constant) and code.value:
                    found.append((str(path.relative_to(ROOT)), node.lineno, code.value, _params(node)))
    return found


CALLS = coded_calls()


def test_the_ambiguous_dates_error_has_its_sentence():
    # Its code is set inside the class (segmentation/errors.py), not where it is raised.
    entry = TEXT["err_ambiguous_dates"]
    assert blanks(entry["zh"]) == blanks(entry["en"]) == {"column"}


def blanks(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_walk_finds_the_codes():
    codes = {c for _, _, c, _ in CALLS}
    # A sample from each kind of source: files, columns, rules, settings, store, strategy.
    assert {"bad_encoding", "file_empty", "missing_columns", "function_call", "thr_count", "store_unknown_id",
            "no_channel_cost", "unexpected_char"} <= codes
    assert len(codes) > 120


@pytest.mark.parametrize("where,line,code,params", CALLS, ids=[f"{c}@{w}:{n}" for w, n, c, _ in CALLS])
def test_every_error_code_has_a_sentence_in_both_languages(where, line, code, params):
    entry = TEXT.get(f"err_{code}")
    assert entry is not None, f"ui/text.json has no err_{code} ({where}:{line})"
    assert entry.get("zh", "").strip() and entry.get("en", "").strip()
    assert blanks(entry["zh"]) == blanks(entry["en"]), code
    if params is not None:
        assert blanks(entry["zh"]) <= params, f"err_{code} needs {blanks(entry['zh']) - params} ({where}:{line})"
        # The sentence is filled by ui.i18n.t(key, lang, **params): a param cannot take those names.
        assert not params & {"key", "lang"}, f"{where}:{line}"


# Modules whose errors a user reaches from the app: files, columns, rules, settings, saving,
# the strategy tab. Each error there has a code, except arguments only a program can get wrong.
USER_FACING = ("_dates.py", "_ingest_read.py", "_ingest_parse.py", "ingest.py", "combine.py", "customers.py",
               "rules.py", "spec.py", "scoring.py", "store.py", "strategy.py")
PROGRAMMER_ONLY = (
    "Tierlens can read a file path",  # a source of the wrong type
    "date_order must be",
    "must be one of",
    "is not a field",  # a mapping key outside the fixed list the page offers
    "rule text must be text",
    "A score lookup only works",
    "score combinations can only be counted",
    "Only a table of transactions can be saved",
    "The table cannot be saved",  # the page saves what the loader returned
    "Only a table of customers can be saved",
    "The customer table cannot be saved",  # the page saves what load_customers returned
    "has no coded form",  # the app never asks a customer-level data set for one
    "The order_date column must hold dates",
    "The transactions lack the column",  # the command line's SQL path
    "Could not read the Parquet data at",
    "Unknown period",
    "Unknown kind of tier",
    "The number of periods in the lookback window",
    "Plan at least one contact",
    "basis must be",
    "No cost per contact for channel",
)


def _message_start(call: ast.Call) -> str:
    first = call.args[0] if call.args else None
    if isinstance(first, ast.JoinedStr):
        return "".join(v.value for v in first.values if isinstance(v, ast.Constant))
    while isinstance(first, ast.BinOp):  # "..." + "..."
        first = first.left
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""


def test_every_error_a_user_can_cause_has_a_code():
    missing = []
    for path in (ROOT / "segmentation" / name for name in USER_FACING):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _name(node) in CONSTRUCTORS - {"_guard"}):
                continue
            if _code(node) is not None or any(p in _message_start(node) for p in PROGRAMMER_ONLY):
                continue
            missing.append(f"{path.name}:{node.lineno} {_message_start(node)[:60]}")
    assert missing == []


def test_params_are_worded_for_the_page_not_left_as_internal_names():
    from ui.layout import error_params

    zh = error_params({"fields": ["customer_id", "amount"], "field": "order_date", "reason": "bad_date",
                       "side": "left", "where": "日期", "period": "quarter", "name": "a.csv"}, "zh")
    assert zh == {"fields": "客户编号、金额", "field": "下单时间", "reason": "日期无法识别", "side": "左边",
                  "where": "（列“日期”）", "period": "季度", "name": "a.csv"}
    en = error_params({"fields": ["customer_id", "amount"], "where": "", "side": "right"}, "en")
    assert en == {"fields": "Customer ID, Amount", "where": "", "side": "right"}
    assert error_params({"reason_en": "no orders", "reason_zh": "订单数为 0"}, "zh") == {"reason": "订单数为 0"}
