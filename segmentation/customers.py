"""Load a customer-level export (one row per customer) into the customer table.

Many CRMs and warehouses export customers, not orders: an id, the last purchase date or the
days since it, the number of orders, the total spend, sometimes the first purchase date. Such
a file skips the per-customer aggregation and goes straight to scoring and tiers. It is read
with the transaction loader's machinery (:func:`segmentation.ingest.read_table`, its header
matching and value parsing), so formats, encodings, Chinese headers, currency marks and
day/month order behave exactly as for transactions.

What a customer-level file cannot give: the history. Migration and Trends compare customers at
several dates (and count orders per period), which needs either transactions or one customer
table per date; a single customer table supports Overview, Strategy, rules and exports.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from . import columns as C
from ._headers import SYNONYMS, clip, header_list, match_header, norm, rows_text
from ._ingest_parse import clean_ids, parse_dates, parse_numbers
from .errors import DataError
from .ingest import DEFAULT_MAX_BYTES as _MAX_BYTES
from .ingest import detect_columns, list_tables, read_table
from .rfm import to_date

__all__ = [
    "AS_OF_HEADERS",
    "CUSTOMER_FIELDS",
    "REASONS",
    "CustomerReport",
    "as_of_column",
    "detect_customer_columns",
    "detect_kind",
    "load_customer_tables",
    "load_customers",
    "name_date",
    "reason_text",
    "stored_report",
]

CUSTOMER_FIELDS: tuple[str, ...] = (
    C.CUSTOMER_ID, C.LAST_PURCHASE, C.RECENCY, C.FREQUENCY, C.MONETARY, C.FIRST_PURCHASE, C.TENURE, C.AOV,
)
_OUTPUT = (C.CUSTOMER_ID, C.RECENCY, C.FREQUENCY, C.MONETARY, C.FIRST_PURCHASE, C.LAST_PURCHASE, C.TENURE, C.AOV)

# Known headers per field, compared after norm(); earlier entries win.
_CUSTOMER_SYNONYMS: dict[str, tuple[str, ...]] = {
    C.LAST_PURCHASE: (
        "lastpurchase", "lastpurchasedate", "lastpurchasetime", "lastorderdate", "lastorder",
        "lastordertime", "lastbuydate", "mostrecentpurchase", "lastpurchaseat",
        "最近购买日期", "最后购买日期", "最近消费日期", "最后消费日期", "最近下单日期", "最后下单日期",
        "最近购买时间", "最后购买时间", "最近消费时间", "最后消费时间", "最近下单时间", "最后下单时间",
        "最近一次购买", "最近一次消费", "最近一次购买日期", "最近一次消费日期",
    ),
    C.RECENCY: (
        "recencydays", "recency", "dayssincelastpurchase", "dayssincelastorder", "daysinactive", "r",
        "最近购买天数", "距今天数", "未购天数", "未消费天数", "距上次购买天数", "距上次消费天数",
        "最近一次消费距今天数", "最近消费间隔",
    ),
    C.FREQUENCY: (
        "frequency", "orders", "ordercount", "numberoforders", "numorders", "totalorders", "orderstotal",
        "purchases", "purchasecount", "numberofpurchases", "f",
        "购买次数", "订单数", "订单数量", "消费次数", "下单次数", "购买频次", "累计订单数", "累计购买次数",
    ),
    C.MONETARY: (
        "monetary", "totalspend", "totalspent", "spend", "spent", "totalrevenue", "revenue",
        "totalsales", "sales", "totalamount", "amount", "netspend", "netsales", "m",
        "消费金额", "累计消费", "累计消费金额", "总消费", "总消费金额", "消费总额", "总金额", "销售额",
        "累计金额", "金额",
    ),
    C.FIRST_PURCHASE: (
        "firstpurchase", "firstpurchasedate", "firstpurchasetime", "firstorderdate", "firstorder",
        "firstordertime", "firstbuydate", "customersince",
        "首次购买日期", "首次购买时间", "首次消费日期", "首次消费时间", "首单日期", "首单时间",
        "第一次购买日期", "首次下单日期", "首次下单时间",
    ),
    C.TENURE: (
        "tenuredays", "tenure", "customerage", "daysascustomer", "客户时长", "入会天数", "注册天数", "首购距今天数",
    ),
    C.AOV: (
        "avgordervalue", "averageordervalue", "aov", "avgorder", "平均订单金额", "客单价", "平均客单价",
    ),
}

REASONS: tuple[str, ...] = (
    "empty_row",
    "duplicate_row",
    "missing_customer_id",
    "missing_last_purchase",
    "bad_last_purchase",
    "after_as_of",
    "missing_frequency",
    "bad_frequency",
    "no_purchases",
    "missing_monetary",
    "bad_monetary",
    "bad_first_purchase",
)
_REASON_TEXT = {
    "empty_row": ("the row is empty", "整行为空"),
    "duplicate_row": ("exact copy of an earlier row", "与前面某一行完全相同"),
    "missing_customer_id": ("no customer id", "缺少客户编号"),
    "missing_last_purchase": ("no last purchase date or recency", "缺少最近购买日期或天数"),
    "bad_last_purchase": ("the last purchase date or recency could not be read", "最近购买日期或天数无法识别"),
    "after_as_of": ("the last purchase is after the reference date", "最近购买日期晚于参考日期"),
    "missing_frequency": ("no number of orders", "缺少订单数"),
    "bad_frequency": ("the number of orders is not a whole number of zero or more", "订单数不是大于等于 0 的整数"),
    "no_purchases": ("no orders (zero purchases)", "订单数为 0（没有购买）"),
    "missing_monetary": ("no total spend", "缺少消费金额"),
    "bad_monetary": ("the total spend is not a valid number", "消费金额不是有效数字"),
    "bad_first_purchase": ("the first purchase date is unreadable or after the last", "首次购买日期无法识别或晚于最近购买"),
}
_EXAMPLES_PER_REASON = 3


def reason_text(reason: str, lang: str = "en") -> str:
    """Why rows were dropped from a customer file, in English or Chinese (``reason`` from
    :data:`REASONS`; an unknown code comes back as it is)."""
    texts = _REASON_TEXT.get(reason)
    return reason if texts is None else texts[lang.lower().startswith("zh")]


@dataclass(frozen=True)
class CustomerReport:
    """What :func:`load_customers` read, kept, dropped and derived.

    ``rows_read == rows_kept + sum(dropped.values())``; each dropped row is counted once, under
    the first reason that applies in the order of ``REASONS``. Rows are numbered like a
    spreadsheet (the first data row is ``header_row + 1``). ``currency`` is the currency whose
    marks the total spend carried (``"USD ($)"``), as for transaction amounts, or None.
    """

    source_name: str
    file_format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    header_row: int
    rows_read: int
    rows_kept: int
    dropped: dict[str, int]
    examples: dict[str, tuple[dict[str, Any], ...]]
    customers: int
    as_of: str
    recency_source: Literal["last_purchase", "recency_days"]
    has_first_purchase: bool
    mapping_used: dict[str, str]
    currency: str | None = None
    notes: tuple[str, ...] = ()
    notes_zh: tuple[str, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (lists instead of tuples)."""
        return {
            "source_name": self.source_name, "file_format": self.file_format, "encoding": self.encoding,
            "delimiter": self.delimiter, "sheet": self.sheet, "header_row": self.header_row,
            "rows_read": self.rows_read, "rows_kept": self.rows_kept, "dropped": dict(self.dropped),
            "examples": {k: [dict(e) for e in v] for k, v in self.examples.items()},
            "customers": self.customers, "as_of": self.as_of, "recency_source": self.recency_source,
            "has_first_purchase": self.has_first_purchase, "mapping_used": dict(self.mapping_used),
            "currency": self.currency, "notes": list(self.notes), "notes_zh": list(self.notes_zh),
        }

    def summary_lines(self, lang: str = "en") -> list[str]:
        """Short sentences for the UI, in English (``"en"``) or Chinese (``"zh"``)."""
        zh = lang.lower().startswith("zh")
        if zh:
            lines = [
                f"从“{self.source_name}”读取了 {self.rows_read:,} 行客户数据。",
                f"保留 {self.rows_kept:,} 位客户，参考日期为 {self.as_of}。",
            ]
        else:
            lines = [
                f"Read {rows_text(self.rows_read)} of customer data from “{self.source_name}”.",
                f"Kept {self.rows_kept:,} customer{'s' if self.rows_kept != 1 else ''}, as of {self.as_of}.",
            ]
        for reason in REASONS:
            n = self.dropped.get(reason, 0)
            if not n:
                continue
            rows = [str(e["row"]) for e in self.examples.get(reason, ())]
            text = _REASON_TEXT[reason][zh]
            if zh:
                eg = f"（如第 {'、'.join(rows)} 行）" if rows else ""
                lines.append(f"删除 {n:,} 行：{text}{eg}。")
            else:
                eg = f" (e.g. row {', '.join(rows)})" if rows else ""
                lines.append(f"Dropped {rows_text(n)}: {text}{eg}.")
        lines.extend(self.notes_zh if zh else self.notes)
        return lines


def _resolve(headers: list[str], mapping: Mapping[str, str | None] | None) -> dict[str, str]:
    explicit: dict[str, str] = {}
    excluded: set[str] = set()
    for key, value in (mapping or {}).items():
        if key not in CUSTOMER_FIELDS:
            raise DataError(
                f"“{key}” is not a field of a customer file; use one of: {', '.join(CUSTOMER_FIELDS)}."
            )
        if value is None or (isinstance(value, str) and not value.strip()):
            excluded.add(key)
            continue
        header = match_header(str(value), headers)
        if header is None:
            raise DataError(
                f"The column “{value}” chosen for {key} is not in the file. The columns are: {header_list(headers)}.",
                code="mapping_missing_column",
                params={"field": key, "column": value, "columns": header_list(headers)},
            )
        if header in explicit.values():
            other = next(k for k, v in explicit.items() if v == header)
            raise DataError(f"The column “{header}” was chosen for both {other} and {key}; pick one column for each.",
                            code="mapping_twice", params={"column": header, "field": key, "other_field": other})
        explicit[key] = header
        excluded.add(key)
    taken = set(explicit.values())
    found: dict[str, str] = {}
    normed = [(norm(h), h) for h in headers]
    for fld, synonyms in _CUSTOMER_SYNONYMS.items():
        if fld in excluded:
            continue
        for synonym in synonyms:
            hit = next((h for n, h in normed if n == synonym and h not in taken), None)
            if hit is not None:
                found[fld] = hit
                taken.add(hit)
                break
    if C.CUSTOMER_ID not in excluded:
        # Customer ids are named as in transaction files, so the transaction detector finds them.
        # In a file of customers a bare "id" can only be the customer's.
        names = (*SYNONYMS[C.CUSTOMER_ID], "id", "编号", "客户编码")
        exact = next((h for s in names for n, h in normed if n == s and h not in taken), None)
        hit = exact or detect_columns([h for h in headers if h not in taken]).get(C.CUSTOMER_ID)
        if hit is not None:
            found[C.CUSTOMER_ID] = hit
    merged = {**found, **explicit}
    return {fld: merged[fld] for fld in CUSTOMER_FIELDS if fld in merged}


def detect_customer_columns(headers: Sequence[str], mapping: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The column :func:`load_customers` uses for each customer field (``mapping`` first, then
    English and Chinese headers), ``{field: header}`` for the fields found.

    Raises DataError for a mapping naming a field or column that does not exist.

    Example:
        >>> detect_customer_columns(["会员ID", "最近购买日期", "购买次数", "累计消费"])
        {'customer_id': '会员ID', 'last_purchase': '最近购买日期', 'frequency': '购买次数', 'monetary': '累计消费'}
    """
    return _resolve([str(h) for h in headers], mapping)


def _missing_error(name: str, headers: list[str], used: dict[str, str]) -> DataError | None:
    looked, fields = [], []
    if C.CUSTOMER_ID not in used:
        looked.append("a customer id column (such as customer_id, Customer ID, 客户编号, 会员ID)")
        fields.append(C.CUSTOMER_ID)
    if C.LAST_PURCHASE not in used and C.RECENCY not in used:
        looked.append("a last purchase date (such as last_purchase, Last Order Date, 最近购买日期) or the days "
                      "since it (recency_days, Recency, 距今天数)")
        fields.append(C.LAST_PURCHASE)
    if C.FREQUENCY not in used:
        looked.append("a number of orders (such as frequency, Orders, 购买次数, 订单数)")
        fields.append(C.FREQUENCY)
    if C.MONETARY not in used:
        looked.append("a total spend (such as monetary, Total Spend, 消费金额, 累计消费)")
        fields.append(C.MONETARY)
    if not looked:
        return None
    return DataError(
        f"Tierlens could not find {'this column' if len(looked) == 1 else 'these columns'} in “{name}”: "
        f"{'; '.join(looked)}. The file's columns are: {header_list(headers)}. Rename the columns or "
        "choose them by hand. A file with one row per order is loaded as transactions instead.",
        code="cust_missing", params={"file": name, "fields": fields, "columns": header_list(headers)},
    )


def load_customers(
    source: Any,
    *,
    mapping: Mapping[str, str | None] | None = None,
    as_of: dt.date | dt.datetime | str | None = None,
    date_order: Literal["dmy", "mdy"] | None = None,
    max_bytes: int = _MAX_BYTES,
) -> tuple[pl.DataFrame, CustomerReport]:
    """Read a customer-level file (one row per customer) into the customer table plus a report.

    Args:
        source: path, bytes or binary file-like, in any format :func:`load_transactions`
            reads (CSV/TSV, Excel, Parquet; the output of ``rfm_table`` or the Spark engine
            written as Parquet loads as it is).
        mapping: ``{field: header}`` for any of customer_id, last_purchase, recency_days,
            frequency, monetary, first_purchase, tenure_days, avg_order_value; overrides the automatic
            detection (English and Chinese headers). ``None`` means "the file has no such column".
        as_of: the date the file describes (its export date). Needed when the file gives the
            days since the last purchase instead of its date; with dates, the default is the day
            after the latest last purchase, as for transactions. With both, recency is recounted
            from the dates.
        date_order: ``"dmy"`` or ``"mdy"`` for dates such as 03/04/2024.
        max_bytes: refuse larger files.

    Returns:
        ``(customers, report)``. ``customers`` has the :func:`segmentation.rfm.rfm_table`
        columns: customer_id (String), recency_days (Int64), frequency (Int64), monetary
        (Float64), first_purchase (Date; from the file's first purchase date, else counted back
        from its tenure in days, else null), last_purchase (Date),
        tenure_days (Int64; null without a first purchase), avg_order_value (Float64; the file's
        own, else monetary / frequency), then every other column of the file as String, sorted
        by customer_id. Customers with zero orders are dropped (the customer table only holds
        buyers), as are rows that cannot be used (counted by reason in the report).

    Raises:
        DataError: a needed column is missing, recency in days comes without ``as_of``, a
            customer id appears on two different rows, or no usable row remains.

    Example:
        >>> customers, report = load_customers(
        ...     b"Customer ID,Last Order Date,Orders,Total Spend\\n007,2024-06-01,3,\\"$1,200.50\\"\\n"
        ...     b"008,2024-06-20,0,0\\n"
        ... )
        >>> customers.select("customer_id", "recency_days", "frequency", "monetary").rows()
        [('007', 20, 3, 1200.5)]
        >>> report.as_of, report.dropped
        ('2024-06-21', {'no_purchases': 1})
    """
    if date_order not in (None, "dmy", "mdy"):
        raise DataError(f"date_order must be \"dmy\", \"mdy\" or None, not {date_order!r}.")
    as_of_date = to_date(as_of)
    raw, meta = read_table(source, max_bytes=max_bytes)
    name, headers = meta.source_name, raw.columns
    used = _resolve(headers, mapping)
    problem = _missing_error(name, headers, used)
    if problem is not None:
        raise problem
    by_dates = C.LAST_PURCHASE in used
    if not by_dates and as_of_date is None:
        raise DataError(
            f"“{name}” gives the days since each customer's last purchase (“{used[C.RECENCY]}”) but not "
            "the date they were counted from. Give the file's export date as the reference date (as_of), "
            "or map a last purchase date column instead.",
            code="cust_needs_as_of", params={"file": name, "column": used[C.RECENCY]},
        )
    comma = meta.delimiter == ";"
    notes: list[tuple[str, str]] = []
    n = raw.height
    ids, ids_float = clean_ids(raw[used[C.CUSTOMER_ID]])
    if ids_float:
        notes.append(("Customer ids were whole numbers stored with a decimal part (like 12346.0); the "
                      "trailing .0 was removed.", "客户编号是带小数部分的整数（如 12346.0），已去掉末尾的 .0。"))

    def dates(fld: str) -> tuple[pl.Series, pl.Series, pl.Series]:
        parsed = parse_dates(raw[used[fld]], column=used[fld], date_order=date_order, date1904=meta.date1904)
        return parsed.values.dt.date(), parsed.missing, parsed.bad

    def numbers(fld: str) -> tuple[pl.Series, pl.Series, pl.Series]:
        parsed = parse_numbers(raw[used[fld]], column=used[fld], comma_default=comma)
        return parsed.values, parsed.missing, parsed.bad

    if by_dates:
        last, last_missing, last_bad = dates(C.LAST_PURCHASE)
        if as_of_date is None:
            latest = last.max()
            as_of_date = latest + dt.timedelta(days=1) if isinstance(latest, dt.date) else None
        if C.RECENCY in used:
            notes.append((f"Recency was recounted from “{used[C.LAST_PURCHASE]}” as of the reference date.",
                          f"最近购买天数已按“{used[C.LAST_PURCHASE]}”和参考日期重新计算。"))
    else:
        days, last_missing, last_bad = numbers(C.RECENCY)
        whole = days.is_not_null() & (days == days.floor()) & (days >= 0)
        last_bad = last_bad | (days.is_not_null() & ~whole)
        assert as_of_date is not None
        last = pl.select(
            pl.when(pl.lit(whole)).then(pl.lit(as_of_date) - pl.duration(days=pl.lit(days).cast(pl.Int64)))
        ).to_series().cast(pl.Date)
        notes.append((f"Last purchase dates were counted back from “{used[C.RECENCY]}” and the reference date.",
                      f"最近购买日期由“{used[C.RECENCY]}”和参考日期倒推得出。"))
    freq, freq_missing, freq_bad = numbers(C.FREQUENCY)
    freq_bad = freq_bad | (freq.is_not_null() & ((freq != freq.floor()) | (freq < 0)))
    spend = parse_numbers(raw[used[C.MONETARY]], column=used[C.MONETARY], comma_default=comma)
    money, money_missing, money_bad = spend.values, spend.missing, spend.bad
    if spend.currency:
        notes.append((f"Total spend is in {spend.currency}; currency marks were removed.",
                      f"消费金额币种为 {spend.currency}，已去掉货币符号。"))
    if C.FIRST_PURCHASE in used:
        first, _, first_bad = dates(C.FIRST_PURCHASE)
    elif C.TENURE in used:
        tenure, _, first_bad = numbers(C.TENURE)
        whole = tenure.is_not_null() & (tenure == tenure.floor()) & (tenure >= 0)
        first_bad = first_bad | (tenure.is_not_null() & ~whole)
        first = pl.select(
            pl.when(pl.lit(whole)).then(pl.lit(as_of_date) - pl.duration(days=pl.lit(tenure).cast(pl.Int64)))
        ).to_series().cast(pl.Date)
    else:
        first, first_bad = pl.Series([None] * n, dtype=pl.Date), pl.Series([False] * n)
    aov = numbers(C.AOV)[0] if C.AOV in used else None

    originals = [pl.col(h) for h in headers]
    flags = raw.select(
        pl.all_horizontal(*[c.is_null() for c in originals]).alias("empty"),
        (~pl.struct(originals).is_first_distinct()).alias("dup"),
    )
    calc = pl.DataFrame({
        "row": pl.int_range(meta.header_row + 1, meta.header_row + 1 + n, eager=True, dtype=pl.Int64),
        "empty": flags["empty"], "dup": flags["dup"], "id": ids,
        "last": last, "last_missing": last_missing, "last_bad": last_bad,
        "freq": freq, "freq_missing": freq_missing, "freq_bad": freq_bad,
        "money": money, "money_missing": money_missing, "money_bad": money_bad,
        "first": first, "first_bad": first_bad,
    })
    after = pl.col("last") > pl.lit(as_of_date, pl.Date)
    reason = (
        pl.when(pl.col("empty")).then(pl.lit("empty_row"))
        .when(pl.col("dup")).then(pl.lit("duplicate_row"))
        .when(pl.col("id").is_null()).then(pl.lit("missing_customer_id"))
        .when(pl.col("last_missing")).then(pl.lit("missing_last_purchase"))
        .when(pl.col("last_bad") | pl.col("last").is_null()).then(pl.lit("bad_last_purchase"))
        .when(after).then(pl.lit("after_as_of"))
        .when(pl.col("freq_missing")).then(pl.lit("missing_frequency"))
        .when(pl.col("freq_bad")).then(pl.lit("bad_frequency"))
        .when(pl.col("freq") == 0).then(pl.lit("no_purchases"))
        .when(pl.col("money_missing")).then(pl.lit("missing_monetary"))
        .when(pl.col("money_bad")).then(pl.lit("bad_monetary"))
        .when(pl.col("first_bad") | (pl.col("first") > pl.col("last")).fill_null(False))
        .then(pl.lit("bad_first_purchase"))
    )
    calc = calc.with_columns(reason.alias("reason"))
    dropped, examples = _drop_summary(calc, raw, used)
    keep = calc["reason"].is_null()
    if not keep.any():
        main = max(dropped, key=lambda r: dropped[r])
        raise DataError(
            f"No usable customers in “{name}”: {'the only row was' if n == 1 else f'all {n:,} rows were'} "
            f"dropped, {'because' if n == 1 else 'most because'} {_REASON_TEXT[main][0]}. Check that the "
            "right columns are mapped and that the file holds one row per customer.",
            code="cust_no_rows", params={"file": name, "rows": f"{n:,}", "reason": main},
        )
    kept = calc.filter(keep)
    _check_unique(kept, name)

    ref = pl.lit(as_of_date, pl.Date)
    out = kept.select(
        pl.col("id").alias(C.CUSTOMER_ID),
        (ref - pl.col("last")).dt.total_days().cast(pl.Int64).alias(C.RECENCY),
        pl.col("freq").cast(pl.Int64).alias(C.FREQUENCY),
        pl.col("money").round(6).cast(pl.Float64).alias(C.MONETARY),
        pl.col("first").alias(C.FIRST_PURCHASE),
        pl.col("last").alias(C.LAST_PURCHASE),
        (ref - pl.col("first")).dt.total_days().cast(pl.Int64).alias(C.TENURE),
        (pl.lit(aov).filter(keep) if aov is not None else pl.col("money").round(6) / pl.col("freq"))
        .cast(pl.Float64).alias(C.AOV),
    )
    if aov is None:
        notes.append(("The file has no average order value, so it is total spend / number of orders.",
                      "文件中没有平均订单金额，按消费金额 / 订单数计算。"))
    if C.FIRST_PURCHASE not in used and C.TENURE not in used:
        notes.append(("The file has no first purchase date, so tenure (T) is unknown and rules on T match no one.",
                      "文件中没有首次购买日期，客户时长（T）未知，使用 T 的规则不会匹配任何客户。"))
    kept_raw = raw.filter(keep)
    mapped = set(used.values())
    for h in headers:
        if h in mapped:
            continue
        new = h
        k = 1
        while new in out.columns:
            new = f"{h}_original" if k == 1 else f"{h}_original_{k}"
            k += 1
        out = out.with_columns(_extra_values(kept_raw[h], comma=comma).alias(new))
    out = out.sort(C.CUSTOMER_ID)
    notes[:0] = list(zip(meta.notes, meta.notes_zh, strict=True))
    report = CustomerReport(
        source_name=name, file_format=meta.file_format, encoding=meta.encoding, delimiter=meta.delimiter,
        sheet=meta.sheet, header_row=meta.header_row, rows_read=n, rows_kept=out.height, dropped=dropped,
        examples=examples, customers=out.height, as_of=as_of_date.isoformat(),
        recency_source="last_purchase" if by_dates else "recency_days",
        has_first_purchase=C.FIRST_PURCHASE in used or C.TENURE in used, mapping_used=dict(used),
        currency=spend.currency,
        notes=tuple(en for en, _ in notes), notes_zh=tuple(zh for _, zh in notes),
    )
    return out, report


# Text that must stay text even when it reads as a number: ids and codes with leading zeros.
_CODE_LIKE = r"^\s*[+-]?0\d"


def _extra_values(values: pl.Series, *, comma: bool) -> pl.Series:
    """An extra column as numbers when every value in it is one (points, credit limit, ¥1,200),
    so rules can compare it; otherwise as it was. Codes with leading zeros (zip codes, phone
    numbers) stay text, as do columns with no value at all."""
    if values.dtype != pl.String:
        return values
    if values.str.contains(_CODE_LIKE).any():
        return values
    try:
        parsed = parse_numbers(values, column=values.name, comma_default=comma)
    except DataError:  # several currencies: not a number a rule could compare
        return values
    if parsed.bad.any() or parsed.missing.all():
        return values
    numbers = parsed.values
    whole = numbers.drop_nulls()
    if (whole == whole.floor()).all() and whole.abs().max() < 2**53:  # type: ignore[operator]
        return numbers.cast(pl.Int64)
    return numbers


def _check_unique(kept: pl.DataFrame, name: str) -> None:
    twice = kept.filter(pl.col("id").is_duplicated())
    if twice.height == 0:
        return
    first = twice["id"][0]
    rows = twice.filter(pl.col("id") == first)["row"].to_list()
    others = twice["id"].n_unique() - 1
    more = f" ({others:,} more customer id{'s' if others != 1 else ''} repeat too)" if others else ""
    raise DataError(
        f"The customer id “{clip(str(first), 40)}” appears on rows {', '.join(map(str, rows[:5]))} of “{name}” "
        f"with different values{more}. A customer file needs one row per customer; if the file has one row "
        "per order, load it as transactions instead.",
        code="cust_duplicate_id",
        params={"id": clip(str(first), 40), "rows": "、".join(map(str, rows[:5])), "file": name, "more": others},
    )


def _drop_summary(
    calc: pl.DataFrame, raw: pl.DataFrame, used: dict[str, str]
) -> tuple[dict[str, int], dict[str, tuple[dict[str, Any], ...]]]:
    by_reason = dict(calc.group_by("reason").len().drop_nulls("reason").iter_rows())
    dropped = {r: int(by_reason[r]) for r in REASONS if by_reason.get(r)}
    examples: dict[str, tuple[dict[str, Any], ...]] = {}
    if not dropped:
        return dropped, examples
    shown = list(dict.fromkeys(used.values()))
    table = pl.concat([calc.select("row", "reason"), raw.select(shown)], how="horizontal")
    sample = table.filter(pl.col("reason").is_not_null()).group_by("reason", maintain_order=True).head(
        _EXAMPLES_PER_REASON
    )
    for reason in dropped:
        rows = sample.filter(pl.col("reason") == reason).drop("reason")
        if reason == "empty_row":
            rows = rows.select("row")
        examples[reason] = tuple(
            {k: clip(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows.iter_rows(named=True)
        )
    return dropped, examples


# Headers of a column giving the date each row's customer table describes (several dated
# tables stacked in one file), compared after norm().
AS_OF_HEADERS: tuple[str, ...] = (
    "asof", "asofdate", "snapshotdate", "snapshot", "exportdate", "reportdate", "datadate",
    "统计日期", "快照日期", "导出日期", "数据日期", "截止日期", "报表日期",
)


def stored_report(reports: Sequence[Any]) -> dict[str, Any]:
    """The report kept with a customer-level data set: the newest table's, with every table's
    beside it, and the spend's currency as any table shows it (a table of plain numbers does
    not unset it). ``reports``: :class:`CustomerReport` objects or their ``to_dict()``."""
    plain = [r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in reports]
    if not plain:
        return {"kind": "customers"}
    found = next((r.get("currency") for r in reversed(plain) if r.get("currency")), None)
    return {**plain[-1], "currency": found, "kind": "customers", "tables": plain}


def detect_kind(headers: Sequence[str]) -> tuple[Literal["transactions", "customers"], str, str]:
    """Whether a file's columns look like one row per order or one row per customer.

    A column counting each row's orders (Orders, 购买次数) next to a last purchase date or the
    days since it means one row per customer; otherwise the file is read as transactions.

    Returns:
        ``(kind, why_en, why_zh)``: ``"transactions"`` or ``"customers"`` and the reason, naming
        the columns that decided it.

    Example:
        >>> detect_kind(["Customer ID", "Last Order Date", "Orders", "Total Spend"])[0]
        'customers'
        >>> detect_kind(["Customer ID", "InvoiceDate", "Amount"])[0]
        'transactions'
    """
    headers = [str(h) for h in headers]
    found = _resolve(headers, None)
    when = found.get(C.LAST_PURCHASE) or found.get(C.RECENCY)
    if C.FREQUENCY in found and when is not None:
        return (
            "customers",
            f"“{found[C.FREQUENCY]}” counts each row's orders and “{when}” gives the last purchase, "
            "so each row is one customer.",
            f"“{found[C.FREQUENCY]}”是每行的订单数，“{when}”是最近一次购买，因此每行是一位客户。",
        )
    order_date = detect_columns(headers).get(C.ORDER_DATE)
    if order_date is not None:
        return (
            "transactions",
            f"“{order_date}” dates each row and no column counts orders, so each row is one order.",
            f"“{order_date}”是每行的下单日期，且没有订单数列，因此每行是一笔订单。",
        )
    return (
        "transactions",
        "No column counts orders per customer, so the file is read as one row per order.",
        "没有找到每位客户的订单数列，因此按每行一笔订单读取。",
    )


class _Part(io.BytesIO):
    """One dated table of a stacked file, with a name for the loader's messages."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


_NAME_DATE = re.compile(r"(?<!\d)(20\d{2}|19\d{2})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)")


def name_date(name: str) -> dt.date | None:
    """A date written in a file or sheet name (``crm_2025-11-30.csv``, ``2025_11_30``,
    ``20251130``), or None.

    Example:
        >>> name_date("crm_2025-11-30.csv"), name_date("Sheet1")
        (datetime.date(2025, 11, 30), None)
    """
    for match in _NAME_DATE.finditer(name):
        try:
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            continue
    return None


def _as_part(raw: pl.DataFrame, label: str) -> _Part:
    buffer = io.BytesIO()
    raw.write_parquet(buffer)
    return _Part(buffer.getvalue(), label)


def _split_by_date(
    raw: pl.DataFrame, meta: Any, column: str, label: str, *, mapping: Mapping[str, str | None] | None,
    date_order: Literal["dmy", "mdy"] | None, max_bytes: int,
) -> list[tuple[pl.DataFrame, CustomerReport]]:
    """One table per date of ``column`` (rows counted within their date's table)."""
    parsed = parse_dates(raw[column], column=column, date_order=date_order, date1904=meta.date1904)
    days = parsed.values.dt.date()
    unusable = parsed.missing | parsed.bad
    if unusable.any():
        row = int(unusable.arg_max() or 0) + meta.header_row + 1
        raise DataError(
            f"The date column “{column}” of “{label}” is empty or unreadable on row {row}. "
            "Every row needs the date its customer table describes.",
            code="cust_bad_as_of", params={"file": label, "column": column, "row": row},
        )
    rest = raw.drop(column).with_columns(days.alias("_as_of"))
    return [
        load_customers(_as_part(group.drop("_as_of"), f"{label} ({day.isoformat()})"), mapping=mapping, as_of=day,
                       date_order=date_order, max_bytes=max_bytes)
        for (day,), group in rest.group_by("_as_of", maintain_order=True)
    ]


def as_of_column(headers: Sequence[str]) -> str | None:
    """The header giving each row's table date (see :data:`AS_OF_HEADERS`), or None.

    Example:
        >>> as_of_column(["统计日期", "会员ID", "购买次数"]), as_of_column(["id", "orders"])
        ('统计日期', None)
    """
    normed = {norm(str(h)): str(h) for h in headers}
    return next((normed[n] for n in AS_OF_HEADERS if n in normed), None)


def load_customer_tables(
    sources: Any,
    *,
    mapping: Mapping[str, str | None] | None = None,
    as_of: dt.date | dt.datetime | str | None = None,
    date_order: Literal["dmy", "mdy"] | None = None,
    max_bytes: int = _MAX_BYTES,
) -> tuple[pl.DataFrame, list[CustomerReport]]:
    """One or more customer tables, each with the date it describes, stacked in one frame.

    A customer table per date lets Migration and Trends compare customers over time. Each
    file, and each sheet of a workbook with several, is one table. The dates come from, in this
    order: a date column (``as_of``, ``snapshot_date``, 统计日期...; its rows are split into one
    table per date), ``as_of`` (one source only), a date in the sheet's or file's name
    (``crm_2025-11-30.csv``, see :func:`name_date`), or the table's own default (the day after
    its latest last purchase, see :func:`load_customers`).

    Args:
        sources: one source as for :func:`load_customers`, or a list of them; a list inside
            the list is one table written in parts (the files of a Parquet folder).
        mapping, date_order, max_bytes: as for :func:`load_customers`, applied to every table.
        as_of: the date of a single table without a date column.

    Returns:
        ``(tables, reports)``: ``tables`` has ``as_of`` (Date) first, then the
        :func:`load_customers` columns, sorted by as_of then customer_id; one report per table
        in date order (rows in a split file are counted within their date's table).

    Raises:
        DataError: as :func:`load_customers` for any table, ``as_of`` with several sources, or
            two tables with the same date.

    Example:
        >>> tables, reports = load_customer_tables(
        ...     b"as_of,id,last_purchase,orders,spend\\n2024-03-31,a,2024-03-01,1,10\\n"
        ...     b"2024-06-30,a,2024-06-01,2,30\\n2024-06-30,b,2024-06-20,1,5\\n")
        >>> tables.select("as_of", "customer_id", "frequency").rows()  # doctest: +NORMALIZE_WHITESPACE
        [(datetime.date(2024, 3, 31), 'a', 1), (datetime.date(2024, 6, 30), 'a', 2),
         (datetime.date(2024, 6, 30), 'b', 1)]
    """
    items = list(sources) if isinstance(sources, list | tuple) else [sources]
    if not items:
        raise DataError("Choose at least one customer file.", code="cust_no_files")
    if as_of is not None and len(items) > 1:
        raise DataError("A reference date applies to one file; with several files each file's own date is used.",
                        code="cust_one_as_of")
    parts: list[tuple[pl.DataFrame, CustomerReport]] = []
    for item in items:
        # A list inside the list is one table in parts (a Parquet folder as Spark writes it).
        parted = isinstance(item, list | tuple)
        sheets = [] if parted else [t["table"] for t in list_tables(item, max_bytes=max_bytes)]
        for sheet in sheets if len(sheets) > 1 else [None]:
            raw, meta = read_table(item, max_bytes=max_bytes, sheet=sheet)
            label = meta.source_name if sheet is None else f"{meta.source_name} ({sheet})"
            column = as_of_column(raw.columns)
            if column is not None and not (mapping and column in mapping.values()):
                parts += _split_by_date(raw, meta, column, label, mapping=mapping, date_order=date_order,
                                        max_bytes=max_bytes)
                continue
            day = as_of or name_date(str(sheet) if sheet is not None else meta.source_name)
            source = item if sheet is None else _as_part(raw, label)
            parts.append(load_customers(source, mapping=mapping, as_of=day, date_order=date_order,
                                        max_bytes=max_bytes))
    dated = sorted(((dt.date.fromisoformat(r.as_of), f, r) for f, r in parts), key=lambda p: p[0])
    seen: dict[dt.date, str] = {}
    for day, _f, report in dated:
        if day in seen:
            raise DataError(
                f"“{seen[day]}” and “{report.source_name}” both describe {day.isoformat()}. Each customer "
                "table needs its own date; give each file its export date.",
                code="cust_same_date", params={"a": seen[day], "b": report.source_name, "date": day.isoformat()},
            )
        seen[day] = report.source_name
    tables = pl.concat(
        [f.with_columns(pl.lit(day, pl.Date).alias("as_of")).select("as_of", *f.columns) for day, f, _r in dated],
        how="diagonal_relaxed",
    )
    return tables, [r for _d, _f, r in dated]
