"""All UI text in both languages, and number/date formatting per language.

The texts are data (``ui/text.json``, one line per key). ``t(key, lang, **fmt)`` looks a text up
and fills ``{placeholders}``. A missing key is a bug,
so it raises KeyError (the tests check every key has both languages). Product text is written
for a marketer: it says what a number means and what to do next.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

from segmentation.playbook import KIND_LABELS

LANG_LABELS = {"zh": "中文", "en": "English"}


CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$", "NONE": ""}

# Every text of the product, both languages, as data: {key: {"zh": ..., "en": ...}}.
TEXT: dict[str, dict[str, str]] = json.loads((Path(__file__).parent / "text.json").read_text(encoding="utf-8"))


def t(key: str, lang: str = "zh", **fmt: object) -> str:
    """The text for ``key`` in ``lang`` ("zh" or "en"), with ``{placeholders}`` filled."""
    entry = TEXT[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**fmt) if fmt else text


def currency_symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " " if currency else "")


def fmt_int(value: float | int | None, lang: str = "zh") -> str:
    """An integer with thousands separators (12,345); "—" for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{round(value):,}"


def fmt_num(value: float | None, lang: str = "zh", digits: int = 1) -> str:
    """A number with thousands separators and ``digits`` decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def _compact(value: float, lang: str) -> tuple[float, str]:
    a = abs(value)
    if lang == "zh":
        # Chinese groups large numbers by 10^4 (万) and 10^8 (亿), not by thousands.
        if a >= 1e8:
            return value / 1e8, "亿"
        if a >= 1e4:
            return value / 1e4, "万"
        return value, ""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if a >= size:
            return value / size, suffix
    return value, ""


def fmt_money(
    value: float | None, lang: str = "zh", currency: str = "CNY", *, compact: bool = False, cents: bool = False,
) -> str:
    """Money with the currency symbol: ¥12,345 / $12,345; compact (three significant digits): ¥1.23万 / $12.3K / $90K;
    ``cents``: always two decimals ($1,234.50), for accounts whose parts must add up to the total."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    symbol = currency_symbol(currency)
    sign = "-" if value < 0 else ""
    if compact:
        # Three significant digits, rounded before the unit is chosen so 999,950 reads $1M,
        # not $1,000K; trailing zeros go ($90K, not $90.00K).
        scaled, suffix = _compact(float(f"{abs(value):.3g}"), lang)
        if suffix:
            digits = max(0, 2 - int(math.log10(scaled)))
            text = f"{scaled:,.{digits}f}"
            return f"{sign}{symbol}{text.rstrip('0').rstrip('.') if digits else text}{suffix}"
    digits = 2 if cents or (abs(value) < 100 and not float(value).is_integer()) else 0
    return f"{sign}{symbol}{abs(value):,.{digits}f}"


def fmt_pct(share: float | None, lang: str = "zh", digits: int = 1) -> str:
    """A share (0..1) as a percentage: 0.123 -> 12.3%."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "—"
    return f"{share * 100:.{digits}f}%"


def fmt_date(value: dt.date | dt.datetime | str | None, lang: str = "zh") -> str:
    """A date: 2024年6月30日 / 30 Jun 2024."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.date()
    if lang == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {value.strftime('%b')} {value.year}"


def fmt_window(days: int, lang: str = "zh") -> str:
    return t("sb_window_all", lang) if not days else t("sb_window_days", lang, days=fmt_int(days))


def column_label(column: str, lang: str = "zh") -> str:
    """A readable label for a core column name (falls back to the name itself)."""
    return t(column, lang) if column in TEXT else column


def fmt_span(d1: str | dt.date, d2: str | dt.date, lang: str = "zh") -> str:
    """How far apart two dates are, in the unit a reader expects: "1 个月" / "1 month", "3 months",
    "2 weeks", "5 days" (months are whole calendar months, rounded to the nearest).

    >>> fmt_span("2025-11-30", "2026-01-01", "en")
    '1 month'
    >>> fmt_span("2025-09-30", "2026-01-01", "zh")
    '3 个月'
    """
    a = d1 if isinstance(d1, dt.date) else dt.date.fromisoformat(d1)
    b = d2 if isinstance(d2, dt.date) else dt.date.fromisoformat(d2)
    days = (b - a).days
    months = round(days / 30.4375)
    if months >= 1:
        return t("span_months", lang, n=months) if months != 1 else t("span_month", lang)
    if days >= 7:
        weeks = round(days / 7)
        return t("span_weeks", lang, n=weeks) if weeks != 1 else t("span_week", lang)
    return t("span_days", lang, n=days)


def signed(text: str, value: float) -> str:
    """``text`` with a leading "+" for positive values (negative numbers carry their own sign)."""
    return ("+" + text) if value > 0 else text


def explain_why(why: str, lang: str) -> str:
    """The playbook's trigger text with metric names in ``lang`` ("always" -> standing advice)."""
    if why == "always":
        return t("st_always", lang)
    parts = []
    for piece in why.split("; "):
        metric, _, rest = piece.partition(" ")
        key = f"metric_{metric}"
        name = t(key, lang) if key in TEXT else metric
        parts.append(f"{name} {_readable_clause(rest, lang)}")
    return "；".join(parts) if lang == "zh" else "; ".join(parts)


def _readable_clause(rest: str, lang: str) -> str:
    # "42.3% >= 30%" -> "42.3%（≥ 30%）"; the actual number first, the threshold after.
    value, _, cond = rest.partition(" ")
    op, _, limit = cond.partition(" ")
    sign = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}.get(op, op)
    return f"{value}（{sign} {limit}）" if lang == "zh" else f"{value} ({sign} {limit})"


def kind_label(kind: str, lang: str) -> str:
    labels = KIND_LABELS.get(str(kind))
    return labels[lang if lang in labels else "en"] if labels else str(kind)


def channel_label(channel: str | None, lang: str) -> str:
    key = f"channel_{channel}"
    return t(key, lang) if key in TEXT else str(channel or "—")
