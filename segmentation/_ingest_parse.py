"""Parse customer ids, amounts and dates from string columns (private helper of ``ingest``).

Everything here works column-wise with Polars expressions. Dates are parsed on the distinct raw
values only (a transaction log repeats each date many times), and format decisions such as
day/month order or the decimal separator are made from the whole column, never row by row, so
one file never mixes two readings of the same notation.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from .errors import AmbiguousDatesError, DataError

# Cell contents that mean "no value" in common exports (compared lower-cased).
NULL_TOKENS = (
    "",
    "nan",
    "null",
    "none",
    "na",
    "n/a",
    "#n/a",
    "nil",
    "-",
    "--",
    "—",
    "undefined",
    "空",
    "无",
)

_FULLWIDTH = {
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    "，": ",",
    "．": ".",
    "：": ":",
    "－": "-",
    "−": "-",
    "／": "/",
    "（": "(",
    "）": ")",
    "＋": "+",
    "\u3000": " ",
}


def _halfwidth(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(list(_FULLWIDTH), list(_FULLWIDTH.values()))


# One case-insensitive, anchored pattern: it rejects most cells at their first character and
# allocates nothing, ~10x faster on 10M cells than lower-casing the column to look it up.
# Spaces around a marker are allowed: the date and amount columns reach their parsers as read.
NULL_MARKER = r"(?i)^\s*(?:" + "|".join(re.escape(t) for t in sorted(NULL_TOKENS, key=len, reverse=True)) + r")\s*$"


def is_missing(expr: pl.Expr) -> pl.Expr:
    """True where a cell is empty, blank or a conventional null marker (any letter case)."""
    return expr.is_null() | expr.str.contains(NULL_MARKER)


# Spaces around a value, or an empty value: what tidying a text column changes.
UNTIDY = r"^\s|\s$|^$"


def rare_matches(frame: pl.DataFrame, checks: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, int]]:
    """How many values of each column match each pattern, for patterns that seldom match.

    ``checks`` maps a column to named patterns; the answer maps them to counts. A pattern pass
    costs ~15 ns per cell on one core (~0.15 s per 10M-cell column), almost all of it the cost
    of calling the matcher at all. So a column's patterns are first joined into one: where
    none matches, as in most columns of a machine-written export, one pass answers them all;
    the columns with a match are then counted pattern by pattern. Each round is one select,
    so its passes run side by side on the available cores.
    """
    def count(column: str, pattern: str) -> pl.Expr:
        return pl.col(column).cast(pl.String).str.contains(pattern).sum()

    out = {c: dict.fromkeys(patterns, 0) for c, patterns in checks.items()}
    checks = {c: patterns for c, patterns in checks.items() if patterns}
    if not checks:
        return out
    joined = frame.select(
        count(c, "|".join(f"(?:{p})" for p in patterns.values())).alias(c) for c, patterns in checks.items()
    ).row(0)
    again = []
    for (c, patterns), n in zip(checks.items(), joined, strict=True):
        if len(patterns) == 1:
            out[c][next(iter(patterns))] = int(n)
        elif n:
            again += [(c, name, p) for name, p in patterns.items()]
    if again:
        counts = frame.select(count(c, p).alias(str(i)) for i, (c, _, p) in enumerate(again)).row(0)
        for (c, name, _), n in zip(again, counts, strict=True):
            out[c][name] = int(n)
    return out


# ---------------------------------------------------------------------------------------------
# Customer ids


_INTEGRAL_FLOAT = r"^\d+\.0+$"
_INTEGRAL = r"^\d+(\.0+)?$"


def clean_ids(ids: pl.Series, *, marker: bool | None = None) -> tuple[pl.Series, bool]:
    """Blank out null markers; undo the ``12346.0`` that spreadsheets make of numeric ids.

    The ``.0`` suffix is removed only when every present id is an integer written either as
    ``12346`` or ``12346.0`` and at least one carries the suffix: then the column was clearly a
    number column that went through a float. Any other id (``A-17``, ``000123``, ``1.5``) keeps
    every character. ``marker`` says whether any id is a null marker, when the caller knows
    (:func:`rare_matches` with :data:`NULL_MARKER`). Returns the cleaned ids and whether the
    suffix was removed.
    """
    col = pl.lit(ids)
    # One id near the top that is neither a number nor a null marker settles that the ids
    # are not numbers, and spares the scan for whole numbers.
    head = ids.head(1000)
    numeric = bool(pl.select((pl.lit(head).str.contains(_INTEGRAL) | is_missing(pl.lit(head))).all()).item())
    # Otherwise both questions in one select, so the two scans run side by side.
    seen = pl.select(
        (pl.lit(marker) if marker is not None else col.str.contains(NULL_MARKER).any()).alias("marker"),
        (col.str.contains(_INTEGRAL).sum() if numeric else pl.lit(-1)).alias("integral"),
    ).row(0, named=True)
    if seen["marker"]:
        ids = pl.select(pl.when(is_missing(col)).then(None).otherwise(col)).to_series()
        if numeric:
            seen["integral"] = int(ids.str.contains(_INTEGRAL).sum())
    # else the column is used as it is: rewriting 10M ids only to change none costs ~250 MB.
    present = len(ids) - ids.null_count()
    stripped = False
    if present and seen["integral"] == present and ids.str.contains(_INTEGRAL_FLOAT).any():
        ids = ids.str.replace(r"\.0+$", "")
        stripped = True
    return ids.alias("id"), stripped


# ---------------------------------------------------------------------------------------------
# Numbers (amount, quantity, unit price)

_CURRENCY = (
    r"(?i)(HK\$|NT\$|US\$|S\$|A\$|C\$|R\$|\$|¥|￥|€|£|₩|₹|円|元|人民币|RMB|CNY|USD|EUR|GBP|JPY|"
    r"HKD|KRW|INR|TWD|SGD|AUD|CAD|BRL)"
)
_FAMILY = {
    "$": "USD ($)",
    "US$": "USD ($)",
    "USD": "USD ($)",
    # ¥ is read as the yuan: the product serves Chinese shops first, and a column mixing ¥ with
    # 元 or RMB is one currency, not two.
    "¥": "CNY (¥)",
    "￥": "CNY (¥)",
    "元": "CNY (¥)",
    "人民币": "CNY (¥)",
    "RMB": "CNY (¥)",
    "CNY": "CNY (¥)",
    "HK$": "HKD (HK$)",
    "HKD": "HKD (HK$)",
    "NT$": "TWD (NT$)",
    "TWD": "TWD (NT$)",
    "S$": "SGD (S$)",
    "SGD": "SGD (S$)",
    "A$": "AUD (A$)",
    "AUD": "AUD (A$)",
    "C$": "CAD (C$)",
    "CAD": "CAD (C$)",
    "R$": "BRL (R$)",
    "BRL": "BRL (R$)",
    "€": "EUR (€)",
    "EUR": "EUR (€)",
    "£": "GBP (£)",
    "GBP": "GBP (£)",
    "₩": "KRW (₩)",
    "KRW": "KRW (₩)",
    "₹": "INR (₹)",
    "INR": "INR (₹)",
    "円": "JPY (円)",
    "JPY": "JPY (円)",
}

# Evidence that a value uses a decimal comma (1.234,50 / 12,5 / 1,2345 / 1234,5 / 1.234.567)
# or a decimal point (the mirror images). A value like 1,234 or 1.234 is evidence of neither.
_COMMA_EVIDENCE = (
    r"^(\d{1,3}(\.\d{3})+,\d+|\d{1,3}(\.\d{3}){2,}|\d*,\d{1,2}|\d*,\d{4,}|\d{4,},\d+|0,\d+)$"
)
_DOT_EVIDENCE = r"^(\d{1,3}(,\d{3})+\.\d+|\d{1,3}(,\d{3}){2,}|\d*\.\d{1,2}|\d*\.\d{4,}|\d{4,}\.\d+|0\.\d+)$"


@dataclass(frozen=True)
class Numbers:
    values: pl.Series  # Float64, null where missing or bad
    missing: pl.Series  # Boolean
    bad: pl.Series  # Boolean: present but not a finite number
    currency: str | None
    decimal: str  # "." or ","


def parse_numbers(raw: pl.Series, *, column: str, comma_default: bool) -> Numbers:
    """Parse money-like strings: currency marks, grouping, decimal commas, (negatives).

    Raises DataError when the column mixes currencies, since adding dollars to yuan gives a
    number that means nothing. A column that is already numeric (typed Parquet) is used as it
    is: nothing to parse, and a string round trip would cost most of the load.
    """
    if raw.dtype.is_numeric():
        values = raw.cast(pl.Float64)
        # NaN is how a typed column writes "no value" (as "nan" is in text); infinity is bad.
        missing = values.is_null() | values.is_nan().fill_null(False)
        bad = ~missing & ~values.is_finite().fill_null(True)
        return Numbers(values=_null_where(values, bad), missing=missing, bad=bad, currency=None, decimal=".")
    frame = pl.DataFrame({"raw": raw.cast(pl.String)})
    if not comma_default:
        # Fast path for the common case of plain numbers ("12.5", "-3"): one native cast. Null
        # markers are looked for only where the cast gave no number (or NaN, which "nan"
        # casts to): lower-casing a whole column of numbers cost more than the cast.
        # The cast once, in a select (which Polars splits across cores; a Series cast does not).
        text = frame["raw"]
        value = frame.select(pl.col("raw").cast(pl.Float64, strict=False)).to_series()
        odd = text.is_not_null() & (value.is_null() | value.is_nan())
        missing = pl.select(is_missing(pl.lit(text))).to_series() if odd.any() else text.is_null()
        if not (value.is_null() & ~missing).any():
            bad = ~missing & ~value.is_finite().fill_null(True)
            return Numbers(values=_null_where(value, bad), missing=missing, bad=bad, currency=None, decimal=".")
    t = _halfwidth(pl.col("raw"))
    frame = frame.with_columns(
        is_missing(pl.col("raw")).alias("missing"),
        t.str.extract(_CURRENCY, 1).str.to_uppercase().alias("token"),
        t.str.replace_all(_CURRENCY, "").str.replace_all(r"[\s'’_]", "").alias("t"),
    )
    families = (
        frame["token"].drop_nulls().unique().replace_strict(_FAMILY, default="other", return_dtype=pl.String)
    )
    found = sorted(set(families.to_list()))
    if len(found) > 1:
        examples = (
            frame.filter(pl.col("token").is_not_null())
            .group_by("token", maintain_order=True)
            .agg(pl.col("raw").first())["raw"]
            .head(3)
            .to_list()
        )
        raise DataError(
            f"The amount column “{column}” mixes currencies ({' and '.join(found)}; for example "
            f"{', '.join(examples)}). Tierlens adds amounts up, so they must all be in one "
            "currency: convert them first, or split the file by currency.",
            code="mixed_currencies",
            params={"column": column, "currencies": " / ".join(found), "examples": ", ".join(examples)},
        )
    frame = frame.with_columns(
        (pl.col("t").str.contains(r"^\(.*\)$") | pl.col("t").str.contains(r"^[\d.,]+-$")).alias("neg"),
    ).with_columns(
        pl.col("t").str.replace(r"^\((.*)\)$", "${1}").str.replace(r"^([\d.,]+)-$", "${1}").alias("t")
    ).with_columns(pl.col("t").str.replace(r"^[+-]", "").alias("body"))
    distinct = frame.select(pl.col("body").drop_nulls().unique())["body"]
    comma_ev = bool(distinct.str.contains(_COMMA_EVIDENCE).any())
    dot_ev = bool(distinct.str.contains(_DOT_EVIDENCE).any())
    if comma_ev and dot_ev:
        n_comma = int(frame["body"].str.contains(_COMMA_EVIDENCE).sum())
        n_dot = int(frame["body"].str.contains(_DOT_EVIDENCE).sum())
        decimal = "," if n_comma > n_dot else "."
    elif comma_ev or dot_ev:
        decimal = "," if comma_ev else "."
    else:
        decimal = "," if comma_default else "."
    if decimal == ".":
        number = pl.col("t").str.replace_all(",", "")
        contradicts = pl.col("body").str.contains(_COMMA_EVIDENCE)
    else:
        number = pl.col("t").str.replace_all(r"\.", "").str.replace(",", ".")
        contradicts = pl.col("body").str.contains(_DOT_EVIDENCE)
    value = number.cast(pl.Float64, strict=False)
    value = pl.when(pl.col("neg")).then(-value.abs()).otherwise(value)
    frame = frame.with_columns(value.alias("value"), contradicts.fill_null(False).alias("contra"))
    bad_expr = ~pl.col("missing") & (
        pl.col("value").is_null() | ~pl.col("value").is_finite() | pl.col("contra")
    )
    frame = frame.with_columns(bad_expr.alias("bad")).with_columns(
        pl.when(pl.col("missing") | pl.col("bad")).then(None).otherwise(pl.col("value")).alias("value")
    )
    return Numbers(
        values=frame["value"],
        missing=frame["missing"],
        bad=frame["bad"],
        currency=found[0] if found else None,
        decimal=decimal,
    )


# ---------------------------------------------------------------------------------------------
# Dates

_TIME = (
    r"(?: (?<H>\d{1,2}):(?<M>\d{2})(?::(?<S>\d{2})(?:[.,]\d+)?)?(?: ?(?<ap>[ap])\.?m\.?)?)?"
    r"(?: ?(?:z|utc|gmt|[+-]\d{2}:?\d{2}))?"
)
_PATTERNS = {
    "ymd": r"^(?<y>\d{4})-(?<m>\d{1,2})-(?<d>\d{1,2})" + _TIME + "$",
    "compact": r"^(?<y>\d{4})(?<m>\d{2})(?<d>\d{2})(?: ?(?<H>\d{2}):?(?<M>\d{2}):?(?<S>\d{2}))?$",
    "xy": r"^(?<p>\d{1,2})-(?<q>\d{1,2})-(?<y>\d{4}|\d{2})" + _TIME + "$",
    "dmon": r"^(?<d>\d{1,2})[ -](?<mon>[a-z]{3,9})\.?[ ,-]+(?<y>\d{4})" + _TIME + "$",
    "mond": r"^(?<mon>[a-z]{3,9})\.?[ -](?<d>\d{1,2})(?:st|nd|rd|th)?,?[ -]+(?<y>\d{4})" + _TIME + "$",
    "serial": r"^(?<n>\d{5})(?:\.(?<f>\d+))?$",
    "epoch": r"^(?<e>\d{10}|\d{13})$",
}
_MONTHS = {
    name: i + 1
    for i, name in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
}
_MIN_YEAR, _MAX_YEAR = 1900, 2100
_EXCEL_EPOCH = {False: dt.datetime(1899, 12, 30), True: dt.datetime(1904, 1, 1)}
KIND_LABELS = {
    "ymd": "year-month-day",
    "compact": "YYYYMMDD",
    "dmy": "day/month/year",
    "mdy": "month/day/year",
    "xy": "day and month in either order",
    "dmon": "day, month name, year",
    "mond": "month name, day, year",
    "serial": "Excel date numbers",
    "epoch": "Unix timestamps",
}


@dataclass(frozen=True)
class Dates:
    values: pl.Series  # Datetime("us"), null where missing or bad
    missing: pl.Series
    bad: pl.Series
    has_time: bool
    order: str | None  # "dmy" / "mdy" when day-first or month-first values were present
    formats: tuple[str, ...]  # human labels with an example, most common first
    two_digit_years: bool


_YEARS_OK = (dt.datetime(_MIN_YEAR, 1, 1), dt.datetime(_MAX_YEAR + 1, 1, 1))


def _typed_dates(raw: pl.Series) -> Dates:
    values = raw.cast(pl.Datetime("us"))
    if isinstance(raw.dtype, pl.Datetime) and raw.dtype.time_zone is not None:
        # Keep the wall-clock time the shop recorded; RFM works in whole days.
        values = raw.dt.replace_time_zone(None).cast(pl.Datetime("us"))
    missing = values.is_null()
    # The same plausibility window as text dates: a year 1 or 9999 is a placeholder, not a sale.
    bad = ~missing & ((values < _YEARS_OK[0]) | (values >= _YEARS_OK[1])).fill_null(False)
    values = _null_where(values, bad)
    has_time = raw.dtype != pl.Date and _shows_time(values)
    label = "date and time" if has_time else "date"
    return Dates(
        values=values, missing=missing, bad=bad, has_time=has_time, order=None,
        formats=(f"typed {label} column",), two_digit_years=False,
    )


def _normalise_date(expr: pl.Expr) -> pl.Expr:
    return (
        _halfwidth(expr.str.to_lowercase())
        .str.replace_all(r"[年月]", "-")
        .str.replace_all(r"[日号]", " ")
        .str.replace_all(r"[时點点]", ":")
        .str.replace_all("分", ":")
        .str.replace_all("秒", "")
        .str.replace(r"^(\d{1,4})[/.](\d{1,2})[/.](\d{1,4})", "${1}-${2}-${3}")
        .str.replace(r"^(\d{1,4}-\d{1,2}-\d{1,4})t(\d)", "${1} ${2}")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" :,")
    )


def parse_dates(raw: pl.Series, *, column: str, date_order: str | None, date1904: bool) -> Dates:
    """Parse a column of date strings written in any of the supported notations.

    ISO values go through Polars' native parser on the whole column; everything else is
    parsed by regular expressions on its distinct values only. Raises AmbiguousDatesError when
    day/month order matters but nothing in the column decides it and ``date_order`` is None,
    and DataError when some values are clearly day-first and others clearly month-first.
    A Date or Datetime column (typed Parquet) is used as it is.
    """
    if raw.dtype == pl.Date or isinstance(raw.dtype, pl.Datetime):
        return _typed_dates(raw)
    frame = pl.DataFrame({"raw": raw.cast(pl.String)})
    sample = _present_sample(frame)
    hits = {fmt: int(sample.select(_fast(fmt).is_not_null().sum()).item()) for fmt in _FAST_FORMATS}
    ordered = sorted((f for f, n in hits.items() if n), key=lambda f: -hits[f])
    fast = pl.coalesce(*[_fast(f) for f in ordered]) if ordered else pl.lit(None, dtype=pl.Datetime("us"))
    frame = frame.with_columns(fast.alias("value"))
    # A null marker never reads as a date, so the marker pattern only runs when some value
    # did not (on a machine-written column, none): ~0.1 s of a 10M-row file.
    unread = bool(frame.select((pl.col("value").is_null() & pl.col("raw").is_not_null()).any()).item())
    frame = frame.with_columns(
        (is_missing(pl.col("raw")) if unread else pl.col("raw").is_null()).alias("missing"),
        pl.when(pl.col("value").is_not_null()).then(pl.lit("ymd")).alias("kind"),
    )
    leftover = frame.filter(~pl.col("missing") & pl.col("value").is_null()).select(pl.col("raw").unique())["raw"]
    order, two_digit = None, False
    if len(leftover):
        # The column arrives as read (see load_transactions): values are parsed without the
        # spaces around them, and matched back to the values as they are.
        stripped = leftover.str.strip_chars()
        slow, order, two_digit = _parse_slow(stripped.unique(), column=column, date_order=date_order, date1904=date1904)
        slow = (
            pl.DataFrame({"raw": leftover, "_stripped": stripped})
            .join(slow.rename({"raw": "_stripped"}), on="_stripped", how="left")
            .drop("_stripped")
        )
        # A join, not replace_strict: the mapping can hold ~10^6 entries and joins scale better.
        frame = frame.join(
            slow.rename({"value": "slow_value", "kind": "slow_kind"}), on="raw", how="left", maintain_order="left"
        ).select(
            "raw",
            "missing",
            pl.coalesce("value", "slow_value").alias("value"),
            pl.coalesce("kind", "slow_kind").alias("kind"),
        )
    in_range = pl.col("value").dt.year().is_between(_MIN_YEAR, _MAX_YEAR)
    frame = frame.with_columns(pl.when(in_range).then(pl.col("value")).alias("value")).with_columns(
        (~pl.col("missing") & pl.col("value").is_null()).alias("bad")
    )
    has_time = _shows_time(frame["value"])
    return Dates(
        values=frame["value"],
        missing=frame["missing"],
        bad=frame["bad"],
        has_time=has_time,
        order=order,
        formats=_format_labels(frame, order),
        two_digit_years=two_digit,
    )


def _null_where(values: pl.Series, mask: pl.Series) -> pl.Series:
    """``values`` with nulls where ``mask`` is True (unchanged, no copy, when it never is)."""
    if not mask.any():
        return values
    return pl.select(pl.when(pl.lit(mask)).then(None).otherwise(pl.lit(values))).to_series()


def _shows_time(values: pl.Series) -> bool:
    """Whether any datetime has a time of day other than midnight. The first rows usually
    show one, which spares looking at all of them."""
    return any(bool((v.dt.time() != dt.time(0)).any()) for v in (values.head(1000), values))


def _present_sample(frame: pl.DataFrame, size: int = 2000) -> pl.DataFrame:
    """The first ``size`` values of the ``raw`` column that are not missing (looked for in the
    first rows, then in the whole column if those are mostly blank)."""
    present = ~is_missing(pl.col("raw"))
    sample = frame.head(50 * size).filter(present).head(size)
    if sample.height < size and frame.height > 50 * size:
        sample = frame.filter(present).head(size)
    return sample


def _parse_slow(
    distinct: pl.Series, *, column: str, date_order: str | None, date1904: bool
) -> tuple[pl.DataFrame, str | None, bool]:
    """Parse distinct non-ISO values; return (raw, value, kind), the day/month order, 2-digit years."""
    rest = pl.DataFrame({"raw": distinct})
    rest = rest.with_columns(_normalise_date(pl.col("raw")).alias("v"))
    probe = rest.head(2000)
    slow_hits = {kind: int(probe.select(pl.col("v").str.contains(pat).sum()).item()) for kind, pat in _PATTERNS.items()}
    parts: list[pl.DataFrame] = []
    for kind in sorted(_PATTERNS, key=lambda k: -slow_hits[k]):
        if rest.height == 0:
            break
        got = rest.with_columns(pl.col("v").str.extract_groups(_PATTERNS[kind]).alias("g"))
        hit = pl.col("g").struct.field(_first_group()[kind]).is_not_null()
        matched = got.filter(hit)
        if matched.height:
            fields = matched.schema["g"].fields  # type: ignore[attr-defined]
            parts.append(
                matched.select(
                    "raw",
                    pl.lit(kind).alias("kind"),
                    *[pl.col("g").struct.field(f.name).alias(f"{kind}.{f.name}") for f in fields],
                )
            )
        rest = got.filter(~hit).select("raw", "v")
    parts.append(rest.select("raw", pl.lit(None, dtype=pl.String).alias("kind")))
    slow = pl.concat(parts, how="diagonal_relaxed")
    wanted = [f"{k}.{name}" for k, pat in _PATTERNS.items() for name in re.findall(r"\(\?<(\w+)>", pat)]
    slow = slow.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in wanted if c not in slow.columns])

    def g(kind: str, name: str) -> pl.Expr:
        return pl.col(f"{kind}.{name}")

    # Day/month order of p-q-year values, decided from the whole column.
    xy = slow.filter(pl.col("kind") == "xy").select(
        pl.col("raw"), g("xy", "p").cast(pl.Int32).alias("p"), g("xy", "q").cast(pl.Int32).alias("q")
    )
    order = _decide_order(xy, column=column, date_order=date_order)

    year_xy = g("xy", "y").cast(pl.Int32)
    year_xy = pl.when(g("xy", "y").str.len_chars() == 2).then(
        pl.when(year_xy < 70).then(year_xy + 2000).otherwise(year_xy + 1900)
    ).otherwise(year_xy)
    day_first = order == "dmy"
    month_name = pl.coalesce(g("dmon", "mon"), g("mond", "mon")).str.slice(0, 3).replace_strict(
        _MONTHS, default=None, return_dtype=pl.Int32
    )
    y = pl.coalesce(g("ymd", "y").cast(pl.Int32), g("compact", "y").cast(pl.Int32), year_xy,
                    g("dmon", "y").cast(pl.Int32), g("mond", "y").cast(pl.Int32))
    m = pl.coalesce(
        g("ymd", "m").cast(pl.Int32),
        g("compact", "m").cast(pl.Int32),
        (g("xy", "q") if day_first else g("xy", "p")).cast(pl.Int32),
        month_name,
    )
    d = pl.coalesce(
        g("ymd", "d").cast(pl.Int32),
        g("compact", "d").cast(pl.Int32),
        (g("xy", "p") if day_first else g("xy", "q")).cast(pl.Int32),
        g("dmon", "d").cast(pl.Int32),
        g("mond", "d").cast(pl.Int32),
    )
    timed = [k for k in _PATTERNS if k not in ("serial", "epoch")]
    hour = pl.coalesce(*[g(k, "H").cast(pl.Int32) for k in timed], pl.lit(0))
    minute = pl.coalesce(*[g(k, "M").cast(pl.Int32) for k in timed], pl.lit(0))
    second = pl.coalesce(*[g(k, "S").cast(pl.Int32) for k in timed], pl.lit(0))
    ampm = pl.coalesce(*[g(k, "ap") for k in timed if k != "compact"])
    hour = (
        pl.when(ampm.is_null())
        .then(hour)
        .when((hour < 1) | (hour > 12))
        .then(pl.lit(99))  # "13:00 pm" is not a time
        .otherwise(hour % 12 + pl.when(ampm == "p").then(12).otherwise(0))
    )
    text = pl.format(
        "{}-{}-{} {}:{}:{}",
        y.cast(pl.String).str.zfill(4),
        m.cast(pl.String).str.zfill(2),
        d.cast(pl.String).str.zfill(2),
        hour.cast(pl.String).str.zfill(2),
        minute.cast(pl.String).str.zfill(2),
        second.cast(pl.String).str.zfill(2),
    )
    calendar = text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    serial_days = g("serial", "n").cast(pl.Int64)
    serial_secs = (pl.lit("0.") + g("serial", "f").fill_null("0")).cast(pl.Float64).mul(86400).round(0).cast(pl.Int64)
    serial = pl.lit(_EXCEL_EPOCH[date1904]).cast(pl.Datetime("us")) + pl.duration(days=serial_days, seconds=serial_secs)
    epoch_digits = g("epoch", "e")
    epoch = pl.when(epoch_digits.str.len_chars() == 10).then(
        pl.from_epoch(epoch_digits.cast(pl.Int64), time_unit="s")
    ).otherwise(pl.from_epoch(epoch_digits.cast(pl.Int64), time_unit="ms")).cast(pl.Datetime("us"))
    value = (
        pl.when(pl.col("kind") == "serial").then(serial)
        .when(pl.col("kind") == "epoch").then(epoch)
        .when(pl.col("kind").is_not_null()).then(calendar)
    )
    slow = slow.with_columns(value.alias("slow"), year_xy.alias("_yxy"))
    two_digit = bool(
        slow.filter(pl.col("kind") == "xy").select((g("xy", "y").str.len_chars() == 2).any()).item() or False
    )
    return slow.select("raw", pl.col("slow").alias("value"), "kind"), order, two_digit


# ``%.f`` also takes seconds without a fraction. Exports written by pandas, Polars or databases
# carry ".000000"; without it here, every distinct timestamp went through the regular-expression
# route (5.5 s instead of 0.2 s for 1M rows).
_FAST_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d")


# Machine-written timestamps ("2024-03-05T14:07:09.123456"): the first 19 characters parsed
# with a fixed format take half the time of parsing fractions only to drop them (10M values:
# 0.6 s instead of 1.3 s). Values of any other shape (no zero padding, a time zone) are read
# by the regular-expression route, on distinct values only.
_ISO_SECONDS = {"%Y-%m-%d %H:%M:%S%.f": " ", "%Y-%m-%dT%H:%M:%S%.f": "T"}


def _fast(fmt: str) -> pl.Expr:
    if fmt in _ISO_SECONDS:
        sep = _ISO_SECONDS[fmt]
        exact = pl.col("raw").str.contains(rf"^\d{{4}}-\d{{2}}-\d{{2}}{sep}\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)?$")
        # Whole seconds, as the regular-expression route reads fractions.
        seconds = pl.col("raw").str.slice(0, 19).str.to_datetime(f"%Y-%m-%d{sep}%H:%M:%S", strict=False, time_unit="us")
        return pl.when(exact).then(seconds)
    return pl.col("raw").str.to_date(fmt, strict=False).cast(pl.Datetime("us"))


def _first_group() -> dict[str, str]:
    return {"ymd": "y", "compact": "y", "xy": "p", "dmon": "d", "mond": "mon", "serial": "n", "epoch": "e"}


def _decide_order(xy: pl.DataFrame, *, column: str, date_order: str | None) -> str | None:
    if xy.height == 0:
        return None
    if date_order is not None:
        return date_order
    day_first = xy.filter((pl.col("p") > 12) & (pl.col("p") <= 31) & (pl.col("q") <= 12))
    month_first = xy.filter((pl.col("q") > 12) & (pl.col("q") <= 31) & (pl.col("p") <= 12))
    if day_first.height and month_first.height:
        raise DataError(
            f"The date column “{column}” mixes day/month dates (such as "
            f"{day_first['raw'][0]}) with month/day dates (such as {month_first['raw'][0]}), so "
            "Tierlens cannot tell which day each date means. Export the dates in one format, "
            "preferably year-month-day (2024-01-31).",
            code="mixed_date_orders",
            params={"column": column, "dmy": day_first["raw"][0], "mdy": month_first["raw"][0]},
        )
    if day_first.height:
        return "dmy"
    if month_first.height:
        return "mdy"
    unclear = xy.filter((pl.col("p") != pl.col("q")) & (pl.col("p") <= 12) & (pl.col("q") <= 12))
    if unclear.height == 0:
        return None  # every value reads the same both ways (1/1/2024, 2/2/2024, ...)
    examples = tuple(unclear.sort("raw")["raw"].head(3).to_list())
    raise AmbiguousDatesError(
        f"The dates in “{column}” (for example {', '.join(examples)}) can be read as day/month or "
        "as month/day, and no date in the file settles it. Choose the order: day/month/year "
        "(31/01/2024) or month/day/year (01/31/2024).",
        column=column,
        examples=examples,
    )


def _format_labels(u: pl.DataFrame, order: str | None) -> tuple[str, ...]:
    # One lazy pass; the example is the first value of its kind in the file (the smallest one
    # meant comparing 10M strings, ~0.4 s of a 10M-row load).
    summary = (
        u.lazy()
        .filter(pl.col("value").is_not_null() & pl.col("kind").is_not_null())
        .group_by("kind")
        .agg(pl.len().alias("n"), pl.col("raw").first().alias("example"))
        .sort(["n", "kind"], descending=[True, False])
        .collect()
    )
    labels = []
    for kind, _n, example in summary.iter_rows():
        key = (order or "xy") if kind == "xy" else kind
        labels.append(f"{KIND_LABELS[key]} (e.g. {example})")
    return tuple(labels)
