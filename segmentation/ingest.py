"""Load a transaction export (CSV, Excel, Parquet) into the canonical transaction frame.

The upload is the one place where the outside world's mess meets the core, so this module is
strict about what it accepts and explicit about what it changed:

- The format is read from the content (magic bytes), not the file name. Text is decoded
  strictly (UTF-8, UTF-16, GBK/GB18030, Windows-1252): a file is never decoded lossily.
- Every column is read as text first and parsed by Polars expressions, so customer ids keep
  their leading zeros and format decisions (decimal comma, day/month order) are made once per
  column, from all of its values.
- Rows that cannot be used are dropped and counted by reason, with a few examples, in a
  :class:`LoadReport`; when nothing usable remains, a :class:`~segmentation.errors.DataError`
  says why in words a marketer understands.

Public API: :func:`load_transactions`, :func:`read_table`, :func:`detect_columns`,
:class:`LoadReport`, :class:`TableMeta`, :data:`DEFAULT_MAX_BYTES`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from . import columns as C
from ._ingest_parse import KIND_LABELS, Numbers, clean_ids, is_missing, parse_dates, parse_numbers
from ._ingest_read import DEFAULT_MAX_BYTES, TableMeta, read_any, source_bytes
from .errors import DataError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "LoadReport",
    "TableMeta",
    "detect_columns",
    "load_transactions",
    "read_table",
    "reason_text",
]

CANONICAL_FIELDS: tuple[str, ...] = (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT, C.ORDER_ID, C.QUANTITY, C.UNIT_PRICE)

# Known headers per field, compared after _norm(); earlier entries win when several match.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    C.CUSTOMER_ID: (
        "customerid", "customerno", "customernumber", "customercode", "custid", "clientid",
        "memberid", "userid", "buyerid", "accountid", "customer", "client", "member", "user",
        "客户id", "客户编号", "客户号", "客户代码", "会员id", "会员编号", "会员号", "会员卡号",
        "用户id", "用户编号", "买家id", "顾客id", "顾客编号", "客户", "会员", "用户", "买家", "顾客",
    ),
    C.ORDER_ID: (
        "orderid", "orderno", "ordernumber", "invoiceno", "invoicenumber", "invoiceid", "invoice",
        "transactionid", "transactionno", "receiptno", "receiptid", "order",
        "订单号", "订单编号", "订单id", "交易单号", "交易号", "交易编号", "流水号", "小票号", "单号", "订单",
    ),
    C.ORDER_DATE: (
        "orderdate", "invoicedate", "ordertime", "orderdatetime", "purchasedate", "purchasetime",
        "transactiondate", "transactiontime", "paymentdate", "paymenttime", "paidat", "createdat",
        "date", "datetime", "timestamp", "time",
        "订单日期", "下单时间", "下单日期", "交易日期", "交易时间", "支付时间", "付款时间", "支付日期",
        "购买日期", "购买时间", "消费日期", "消费时间", "订单时间", "成交时间", "创建时间", "日期", "时间",
    ),
    C.AMOUNT: (
        "amount", "revenue", "sales", "total", "totalamount", "ordertotal", "orderamount",
        "ordervalue", "salesamount", "netamount", "paymentamount", "paidamount", "payment", "gmv",
        "金额", "订单金额", "实付金额", "消费金额", "销售额", "交易金额", "实付款", "实收金额",
        "支付金额", "付款金额", "成交金额", "销售金额", "总金额", "合计金额", "应付金额",
    ),
    C.QUANTITY: ("quantity", "qty", "units", "数量", "购买数量", "商品数量", "件数", "销量"),
    C.UNIT_PRICE: ("unitprice", "price", "itemprice", "单价", "商品单价", "成交单价", "价格", "售价"),
}

# Second tier: a header containing one word of each group, used only when no exact synonym
# matched (e.g. "VIP Customer No", "实际支付金额").
_FUZZY: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    C.CUSTOMER_ID: (
        ("customer", "client", "member", "user", "buyer", "客户", "会员", "用户", "买家", "顾客"),
        ("id", "no", "number", "code", "编号", "号", "代码", "账号"),
        ("name", "名称", "姓名", "phone", "电话", "手机"),
    ),
    C.ORDER_DATE: (
        ("date", "time", "日期", "时间"),
        ("",),
        ("ship", "deliver", "birth", "regist", "signup", "发货", "收货", "退款", "生日", "注册", "refund"),
    ),
    C.AMOUNT: (
        ("amount", "revenue", "sales", "金额", "销售额", "实付", "paid"),
        ("",),
        ("qty", "quantity", "数量", "discount", "折扣", "优惠", "tax", "税", "shipping", "运费",
         "refund", "退款", "price", "单价", "rate"),
    ),
}

_EXAMPLES_PER_REASON = 3

REASONS: tuple[str, ...] = (
    "empty_row",
    "duplicate_row",
    "missing_customer_id",
    "missing_date",
    "bad_date",
    "missing_amount",
    "bad_amount",
)
_REASON_TEXT = {
    "empty_row": ("the row is empty", "整行为空"),
    "duplicate_row": ("exact copy of an earlier row", "与前面某一行完全相同"),
    "missing_customer_id": ("no customer id", "缺少客户编号"),
    "missing_date": ("no date", "缺少日期"),
    "bad_date": ("the date could not be read", "日期无法识别"),
    "missing_amount": ("no amount", "缺少金额"),
    "bad_amount": ("the amount is not a valid number", "金额不是有效数字"),
}


def reason_text(reason: str, lang: str = "en") -> str:
    """A drop reason (a key of ``LoadReport.dropped``) in words, English or Chinese.

    Example:
        >>> reason_text("bad_date", "zh")
        '日期无法识别'
    """
    texts = _REASON_TEXT.get(reason)
    if texts is None:
        return reason
    return texts[1] if lang == "zh" else texts[0][:1].upper() + texts[0][1:]


_FORMAT_TEXT = {
    "csv": ("delimited text", "分隔符文本"),
    "xlsx": ("Excel workbook", "Excel 工作簿"),
    "xls": ("Excel 97-2003 workbook", "Excel 97-2003 工作簿"),
    "parquet": ("Parquet file", "Parquet 文件"),
}
_DELIM_TEXT = {",": ("comma", "逗号"), "\t": ("tab", "制表符"), ";": ("semicolon", "分号"), "|": ("pipe", "竖线")}


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_transactions` read, kept, dropped and changed.

    Rows are numbered like a spreadsheet: the header is row ``header_row`` (1 unless lines
    above it were skipped) and the first data row is ``header_row + 1``.
    ``rows_read == rows_kept + sum(dropped.values())`` always holds; ``dropped`` includes
    ``duplicate_row`` (also given as ``duplicates_dropped``) and ``empty_row``. Each dropped row
    is counted once, under the first reason that applies in the order of ``REASONS``.

    Treat it as read-only; mappings are plain dicts so the report pickles and caches.
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
    duplicates_dropped: int
    returns: int
    zero_amount_rows: int
    customers: int
    first_date: str | None
    last_date: str | None
    mapping_used: dict[str, str]
    amount_source: Literal["column", "quantity_x_unit_price"]
    currency: str | None
    decimal_separator: str
    date_format: str
    date_order: str | None
    has_time: bool
    notes: tuple[str, ...] = ()
    notes_zh: tuple[str, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (lists instead of tuples)."""
        return {
            "source_name": self.source_name,
            "file_format": self.file_format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "dropped": dict(self.dropped),
            "examples": {k: [dict(e) for e in v] for k, v in self.examples.items()},
            "duplicates_dropped": self.duplicates_dropped,
            "returns": self.returns,
            "zero_amount_rows": self.zero_amount_rows,
            "customers": self.customers,
            "first_date": self.first_date,
            "last_date": self.last_date,
            "mapping_used": dict(self.mapping_used),
            "amount_source": self.amount_source,
            "currency": self.currency,
            "decimal_separator": self.decimal_separator,
            "date_format": self.date_format,
            "date_order": self.date_order,
            "has_time": self.has_time,
            "notes": list(self.notes),
            "notes_zh": list(self.notes_zh),
        }

    def summary_lines(self, lang: str = "en") -> list[str]:
        """Short sentences for the UI, in English (``"en"``) or Chinese (``"zh"``)."""
        zh = lang.lower().startswith("zh")
        fmt = _FORMAT_TEXT.get(self.file_format, (self.file_format, self.file_format))[zh]
        details = []
        if self.encoding:
            details.append(self.encoding)
        if self.delimiter:
            details.append(_DELIM_TEXT[self.delimiter][zh] + ("分隔" if zh else "-separated"))
        if self.sheet:
            details.append(f"工作表“{self.sheet}”" if zh else f"sheet “{self.sheet}”")
        detail = f"（{'，'.join(details)}）" if zh and details else (f" ({', '.join(details)})" if details else "")
        lines: list[str] = []
        if zh:
            lines.append(f"从“{self.source_name}”读取了 {self.rows_read:,} 行数据，格式为{fmt}{detail}。")
            span = f"，日期从 {self.first_date} 到 {self.last_date}" if self.first_date else ""
            lines.append(f"保留 {self.rows_kept:,} 笔交易，涉及 {self.customers:,} 位客户{span}。")
        else:
            lines.append(f"Read {self.rows_read:,} rows from “{self.source_name}”, a {fmt}{detail}.")
            span = f", dated {self.first_date} to {self.last_date}" if self.first_date else ""
            lines.append(
                f"Kept {self.rows_kept:,} transaction{'s' if self.rows_kept != 1 else ''} from "
                f"{self.customers:,} customer{'s' if self.customers != 1 else ''}{span}."
            )
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
                lines.append(f"Dropped {n:,} row{'s' if n != 1 else ''}: {text}{eg}.")
        if self.returns:
            lines.append(
                f"{self.returns:,} 行为退货或取消（金额为负），已保留并计入客户净消费。"
                if zh
                else f"{_rows(self.returns)} {'is a return' if self.returns == 1 else 'are returns'} "
                "or cancellations (negative amounts); kept, they reduce each customer's net value."
            )
        if self.zero_amount_rows:
            lines.append(
                f"{self.zero_amount_rows:,} 行金额为 0，已保留，但不算作购买。"
                if zh
                else f"{_rows(self.zero_amount_rows)} {'has' if self.zero_amount_rows == 1 else 'have'} "
                "an amount of zero; kept, but not counted as purchases."
            )
        lines.extend(self.notes_zh if zh else self.notes)
        return lines


# ---------------------------------------------------------------------------------------------
# Column detection


def _norm(header: str) -> str:
    text = unicodedata.normalize("NFKC", str(header)).lower()
    text = re.sub(r"[(\[【].*?[)\]】]", "", text)  # "Amount (USD)", "金额（元）" after NFKC
    return re.sub(r"[\s_\-./#:·]+", "", text)


def detect_columns(headers: Iterable[str], *, exclude: Iterable[str] = ()) -> dict[str, str]:
    """Guess which header holds each canonical field.

    Headers are compared case-, space-, underscore- and width-insensitively, ignoring a
    bracketed unit such as "(USD)" or "（元）". Known English and Chinese names are tried in
    order of preference; a header is used for at most one field.

    Args:
        headers: column names as they appear in the file.
        exclude: canonical fields not to guess (e.g. those the user mapped by hand).

    Returns:
        ``{canonical field: header}`` for the fields found; fields are among
        customer_id, order_date, amount, order_id, quantity, unit_price.

    Example:
        >>> detect_columns(["Invoice", "Customer ID", "InvoiceDate", "Price", "Quantity"])
        {'customer_id': 'Customer ID', 'order_id': 'Invoice', 'order_date': 'InvoiceDate', 'quantity': 'Quantity', 'unit_price': 'Price'}
    """
    headers = list(headers)
    skip = set(exclude)
    normed = [(_norm(h), h) for h in headers]
    taken: set[str] = set()
    found: dict[str, str] = {}
    order = (C.CUSTOMER_ID, C.ORDER_ID, C.ORDER_DATE, C.AMOUNT, C.QUANTITY, C.UNIT_PRICE)
    for fld in order:
        if fld in skip:
            continue
        for synonym in _SYNONYMS[fld]:
            hit = next((h for n, h in normed if n == synonym and h not in taken), None)
            if hit is not None:
                found[fld] = hit
                taken.add(hit)
                break
    for fld, (must, also, never) in _FUZZY.items():
        if fld in skip or fld in found:
            continue
        for n, h in normed:
            if h in taken:
                continue
            if any(w in n for w in must) and any(w in n for w in also) and not any(w in n for w in never):
                found[fld] = h
                taken.add(h)
                break
    return {fld: found[fld] for fld in order if fld in found}


def _resolve_mapping(headers: list[str], mapping: Mapping[str, str | None] | None) -> dict[str, str]:
    explicit: dict[str, str] = {}
    excluded: set[str] = set()
    available = _header_list(headers)
    for key, value in (mapping or {}).items():
        if key not in CANONICAL_FIELDS:
            raise DataError(
                f"“{key}” is not a field Tierlens maps; use one of: {', '.join(CANONICAL_FIELDS)}."
            )
        if value is None or (isinstance(value, str) and not value.strip()):
            excluded.add(key)
            continue
        header = _match_header(str(value), headers)
        if header is None:
            raise DataError(
                f"The column “{value}” chosen for {key} is not in the file. The columns are: {available}."
            )
        if header in explicit.values():
            other = next(k for k, v in explicit.items() if v == header)
            raise DataError(f"The column “{header}” was chosen for both {other} and {key}; pick one column for each.")
        explicit[key] = header
        excluded.add(key)
    rest = [h for h in headers if h not in explicit.values()]
    auto = detect_columns(rest, exclude=excluded)
    merged = {**auto, **explicit}
    return {fld: merged[fld] for fld in CANONICAL_FIELDS if fld in merged}


def _match_header(wanted: str, headers: list[str]) -> str | None:
    if wanted in headers:
        return wanted
    stripped = [h for h in headers if h.strip() == wanted.strip()]
    if len(stripped) == 1:
        return stripped[0]
    loose = [h for h in headers if _norm(h) == _norm(wanted)]
    return loose[0] if len(loose) == 1 else None


def _missing_field_error(name: str, headers: list[str], missing: list[str]) -> DataError:
    looked = {
        C.CUSTOMER_ID: "a customer id column (such as customer_id, CustomerID, Customer ID, member_id, 客户ID, 客户编号, 会员ID)",
        C.ORDER_DATE: "a date column (such as order_date, InvoiceDate, Date, 订单日期, 下单时间, 交易日期)",
        C.AMOUNT: "an amount column (such as amount, Revenue, Sales, 金额, 实付金额, 销售额) or both a quantity "
        "and a unit price column (Quantity and UnitPrice, 数量 and 单价)",
    }
    wanted = "; ".join(looked[m] for m in missing)
    cols = _header_list(headers)
    what = "this column" if len(missing) == 1 else "these columns"
    return DataError(
        f"Tierlens could not find {what} in “{name}”: {wanted}. The file's columns are: {cols}. "
        "Rename the columns or choose them by hand."
    )


# ---------------------------------------------------------------------------------------------
# Public entry points


def read_table(source: Any, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[pl.DataFrame, TableMeta]:
    """Read a file into a table of strings for preview and column mapping.

    Args:
        source: path (str | Path), bytes, or a binary file-like with ``.name`` (Streamlit's
            UploadedFile).
        max_bytes: refuse larger files with a DataError (default 2 GB).

    Returns:
        ``(frame, meta)``: every column is ``pl.String`` with the header names of the file
        (stripped, made unique); empty cells are null. ``meta`` says how the file was read.

    Raises:
        DataError: the file is not a readable table (wrong format, empty, damaged, too big).

    Example:
        >>> frame, meta = read_table(b"id;date;amount\\n007;2024-01-31;12,50\\n")
        >>> frame.row(0), meta.delimiter
        (('007', '2024-01-31', '12,50'), ';')
    """
    data, name = source_bytes(source, max_bytes=max_bytes)
    frame, meta = read_any(data, name)
    if frame.height == 0:
        raise DataError(
            f"The file “{name}” has column headers but no rows of data. Export it again with the "
            "transactions included."
        )
    return frame, meta


def load_transactions(
    source: Any,
    *,
    mapping: Mapping[str, str | None] | None = None,
    date_order: Literal["dmy", "mdy"] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[pl.DataFrame, LoadReport]:
    """Read a transaction export into the canonical transaction frame plus a report.

    Args:
        source: path (str | Path), bytes, or a binary file-like with ``.name``. CSV/TSV/
            semicolon/pipe text in UTF-8 (with or without BOM), UTF-16, GBK/GB18030 or
            Windows-1252; Excel (.xlsx, .xls); Parquet. The format is read from the content.
        mapping: ``{field: header}`` for any of customer_id, order_date, amount, order_id,
            quantity, unit_price; overrides the automatic detection. ``None`` as a value means
            "the file has no such column".
        date_order: ``"dmy"`` or ``"mdy"`` for dates such as 03/04/2024 when the file itself
            does not settle the order.
        max_bytes: refuse larger files (default 2 GB).

    Returns:
        ``(tx, report)``. ``tx`` columns: customer_id (String, verbatim), order_date (Date, or
        Datetime when any value has a time of day), amount (Float64; negative = return),
        order_id (String; ``row-<n>`` when the file has none), then quantity and unit_price
        (Float64) when present, then every other column of the file as String. Exact
        duplicate rows are dropped; returns and zero amounts are kept and counted.

    Raises:
        AmbiguousDatesError: dates read equally well as day/month and month/day; call again
            with ``date_order``.
        DataError: the file cannot be read, a needed column is missing, values are
            inconsistent (mixed currencies, mixed date orders), or no usable row remains.

    Example:
        >>> tx, report = load_transactions(
        ...     b"Customer ID,Date,Amount\\n007,2024-01-31,\\"$1,200.50\\"\\n,2024-02-01,5\\n"
        ... )
        >>> tx.row(0), report.dropped
        (('007', datetime.date(2024, 1, 31), 1200.5, 'row-2'), {'missing_customer_id': 1})
    """
    if date_order not in (None, "dmy", "mdy"):
        raise DataError(f"date_order must be \"dmy\", \"mdy\" or None, not {date_order!r}.")
    raw, meta = read_table(source, max_bytes=max_bytes)
    name = meta.source_name
    headers = raw.columns
    used = _resolve_mapping(headers, mapping)
    has_amount = C.AMOUNT in used
    has_qp = C.QUANTITY in used and C.UNIT_PRICE in used
    missing = [f for f in (C.CUSTOMER_ID, C.ORDER_DATE) if f not in used]
    if not has_amount and not has_qp:
        missing.append(C.AMOUNT)
    if missing:
        raise _missing_field_error(name, headers, missing)

    notes: list[tuple[str, str]] = []
    comma_default = meta.delimiter == ";"
    n = raw.height
    row_no = pl.int_range(meta.header_row + 1, meta.header_row + 1 + n, eager=True, dtype=pl.Int64)

    ids, ids_float = clean_ids(raw[used[C.CUSTOMER_ID]])
    if ids_float:
        notes.append((
            "Customer ids were whole numbers stored with a decimal part (like 12346.0); the "
            "trailing .0 was removed.",
            "客户编号是带小数部分的整数（如 12346.0），已去掉末尾的 .0。",
        ))
    dates = parse_dates(
        raw[used[C.ORDER_DATE]], column=used[C.ORDER_DATE], date_order=date_order, date1904=meta.date1904
    )
    qty = price = None
    if C.QUANTITY in used:
        qty = parse_numbers(raw[used[C.QUANTITY]], column=used[C.QUANTITY], comma_default=comma_default)
    if C.UNIT_PRICE in used:
        price = parse_numbers(raw[used[C.UNIT_PRICE]], column=used[C.UNIT_PRICE], comma_default=comma_default)
    if has_amount:
        amounts = parse_numbers(raw[used[C.AMOUNT]], column=used[C.AMOUNT], comma_default=comma_default)
        amount_source: Literal["column", "quantity_x_unit_price"] = "column"
    else:
        if qty is None or price is None:  # unreachable: checked with `missing` above
            raise _missing_field_error(name, headers, [C.AMOUNT])
        amounts = _product(qty, price)
        amount_source = "quantity_x_unit_price"
        notes.append((
            f"The file has no amount column, so each row's amount is “{used[C.QUANTITY]}” × "
            f"“{used[C.UNIT_PRICE]}”.",
            f"文件中没有金额列，每行金额按“{used[C.QUANTITY]}”×“{used[C.UNIT_PRICE]}”计算。",
        ))

    originals = [pl.col(h) for h in headers]
    flags = raw.select(
        pl.all_horizontal(*[c.is_null() for c in originals]).alias("empty"),
        (~pl.struct(originals).is_first_distinct()).alias("dup"),
    )
    reason = (
        pl.when(pl.col("empty")).then(pl.lit("empty_row"))
        .when(pl.col("dup")).then(pl.lit("duplicate_row"))
        .when(pl.col("id").is_null()).then(pl.lit("missing_customer_id"))
        .when(pl.col("date_missing")).then(pl.lit("missing_date"))
        .when(pl.col("date_bad")).then(pl.lit("bad_date"))
        .when(pl.col("amount_missing")).then(pl.lit("missing_amount"))
        .when(pl.col("amount_bad")).then(pl.lit("bad_amount"))
    )
    calc = pl.DataFrame({
        "row": row_no,
        "empty": flags["empty"],
        "dup": flags["dup"],
        "id": ids,
        "date": dates.values,
        "date_missing": dates.missing,
        "date_bad": dates.bad,
        "amount": amounts.values,
        "amount_missing": amounts.missing,
        "amount_bad": amounts.bad,
    }).with_columns(reason.alias("reason"))

    dropped, examples = _drop_summary(calc, raw, used)
    keep = calc["reason"].is_null()
    rows_kept = int(keep.sum())
    if rows_kept == 0:
        raise _nothing_left(name, n, dropped, examples, used)

    kept_raw = raw.filter(keep)
    kept = calc.filter(keep)
    order_ids, order_notes, flipped = _order_ids(kept, kept_raw, used)
    notes.extend(order_notes)
    amount = kept["amount"]
    if flipped is not None:
        amount = pl.select(pl.when(flipped).then(-pl.lit(amount).abs()).otherwise(pl.lit(amount))).to_series()

    order_date = kept["date"] if dates.has_time else kept["date"].dt.date()
    out_cols: dict[str, pl.Series] = {
        C.CUSTOMER_ID: kept["id"],
        C.ORDER_DATE: order_date,
        C.AMOUNT: amount.cast(pl.Float64),
        C.ORDER_ID: order_ids,
    }
    if qty is not None:
        out_cols[C.QUANTITY] = qty.values.filter(keep)
    if price is not None:
        out_cols[C.UNIT_PRICE] = price.values.filter(keep)
    mapped_headers = set(used.values())
    taken = set(out_cols)
    for h in headers:
        if h in mapped_headers:
            continue
        new = h
        if new in taken:
            new = f"{h}_original"
            k = 2
            while new in taken or new in headers:
                new = f"{h}_original_{k}"
                k += 1
            notes.append((
                f"The extra column “{h}” was renamed “{new}” so it does not clash with a standard column.",
                f"附加列“{h}”已重命名为“{new}”，以免与标准列重名。",
            ))
        taken.add(new)
        out_cols[new] = kept_raw[h].alias(new)
    tx = pl.DataFrame([s.alias(k) for k, s in out_cols.items()])

    notes[:0] = _value_notes(amounts, dates, amount_source, meta)
    stats = tx.select(
        (pl.col(C.AMOUNT) < 0).sum().alias("returns"),
        (pl.col(C.AMOUNT) == 0).sum().alias("zero"),
        pl.col(C.CUSTOMER_ID).n_unique().alias("customers"),
        pl.col(C.ORDER_DATE).min().alias("first"),
        pl.col(C.ORDER_DATE).max().alias("last"),
    ).row(0, named=True)
    if dropped.get("duplicate_row"):
        k = dropped["duplicate_row"]
        notes.append((
            f"{_rows(k)} {'was an exact copy' if k == 1 else 'were exact copies'} of an earlier row "
            "(usually an export glitch) and dropped.",
            f"{k:,} 行与前面某一行完全相同（通常是导出时重复），已删除。",
        ))
    notes[:0] = list(zip(meta.notes, meta.notes_zh, strict=True))
    report = LoadReport(
        source_name=name,
        file_format=meta.file_format,
        encoding=meta.encoding,
        delimiter=meta.delimiter,
        sheet=meta.sheet,
        header_row=meta.header_row,
        rows_read=n,
        rows_kept=rows_kept,
        dropped=dropped,
        examples=examples,
        duplicates_dropped=dropped.get("duplicate_row", 0),
        returns=int(stats["returns"]),
        zero_amount_rows=int(stats["zero"]),
        customers=int(stats["customers"]),
        first_date=_iso(stats["first"]),
        last_date=_iso(stats["last"]),
        mapping_used=dict(used),
        amount_source=amount_source,
        currency=amounts.currency if amount_source == "column" else (price.currency if price else None),
        decimal_separator=amounts.decimal,
        date_format="; ".join(dates.formats),
        date_order=dates.order,
        has_time=dates.has_time,
        notes=tuple(en for en, _ in notes),
        notes_zh=tuple(zh for _, zh in notes),
    )
    return tx, report


# ---------------------------------------------------------------------------------------------
# Helpers


def _product(qty: Numbers, price: Numbers) -> Numbers:
    missing = qty.missing | price.missing
    value = qty.values * price.values
    bad = ~missing & (qty.bad | price.bad | value.is_null() | ~value.is_finite().fill_null(False))
    value = pl.select(pl.when(bad | missing).then(None).otherwise(pl.lit(value))).to_series()
    currency = price.currency or qty.currency
    return Numbers(values=value, missing=missing, bad=bad, currency=currency, decimal=price.decimal)


def _drop_summary(
    calc: pl.DataFrame, raw: pl.DataFrame, used: dict[str, str]
) -> tuple[dict[str, int], dict[str, tuple[dict[str, Any], ...]]]:
    counts = calc.group_by("reason").len().drop_nulls("reason")
    by_reason = dict(counts.iter_rows())
    dropped = {r: int(by_reason[r]) for r in REASONS if by_reason.get(r)}
    shown = [h for f, h in used.items() if f in (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT, C.QUANTITY, C.UNIT_PRICE, C.ORDER_ID)]
    examples: dict[str, tuple[dict[str, Any], ...]] = {}
    if not dropped:
        return dropped, examples
    with_reason = pl.concat([calc.select("row", "reason"), raw.select(shown)], how="horizontal")
    sample = with_reason.filter(pl.col("reason").is_not_null()).group_by("reason", maintain_order=True).head(
        _EXAMPLES_PER_REASON
    )
    for reason in dropped:
        rows = sample.filter(pl.col("reason") == reason).drop("reason")
        if reason == "empty_row":
            rows = rows.select("row")
        examples[reason] = tuple(
            {k: _clip(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows.iter_rows(named=True)
        )
    return dropped, examples


def _nothing_left(
    name: str, n: int, dropped: dict[str, int], examples: dict[str, tuple[dict[str, Any], ...]], used: dict[str, str]
) -> DataError:
    main = max(dropped, key=lambda r: dropped[r])
    eg = examples.get(main, ())
    column = {
        "missing_customer_id": used.get(C.CUSTOMER_ID),
        "missing_date": used.get(C.ORDER_DATE),
        "bad_date": used.get(C.ORDER_DATE),
        "missing_amount": used.get(C.AMOUNT) or used.get(C.QUANTITY),
        "bad_amount": used.get(C.AMOUNT) or used.get(C.QUANTITY),
    }.get(main)
    shown = ""
    if eg and column:
        shown = "; for example " + ", ".join(
            f"row {e['row']}: “{_clip(e[column], 40)}”" if e.get(column) is not None else f"row {e['row']}: empty"
            for e in eg
        )
    where = f" (column “{column}”)" if column else ""
    return DataError(
        f"No usable rows in “{name}”: {'the only row was' if n == 1 else f'all {n:,} rows were'} dropped, "
        f"{'because' if n == 1 else 'most because'} "
        f"{_REASON_TEXT[main][0]}{where}{shown}. Check that the right columns are mapped and that "
        "the file holds transactions."
    )


_C_INVOICE = r"^[Cc]\d+$"


def _order_ids(
    kept: pl.DataFrame, kept_raw: pl.DataFrame, used: dict[str, str]
) -> tuple[pl.Series, list[tuple[str, str]], pl.Series | None]:
    synthetic = pl.lit("row-") + kept["row"].cast(pl.String)
    notes: list[tuple[str, str]] = []
    if C.ORDER_ID not in used:
        ids = pl.select(synthetic).to_series()
        notes.append((
            "The file has no order number column, so each row counts as one order.",
            "文件中没有订单号列，每一行视为一笔订单。",
        ))
        return ids.alias(C.ORDER_ID), notes, None
    raw_ids = kept_raw[used[C.ORDER_ID]]
    absent = pl.select(is_missing(pl.lit(raw_ids))).to_series()
    ids = pl.select(pl.when(absent).then(synthetic).otherwise(pl.lit(raw_ids))).to_series()
    n_absent = int(absent.sum())
    if n_absent:
        notes.append((
            f"{_rows(n_absent)} {'has' if n_absent == 1 else 'have'} no order number; each counts as its own order.",
            f"{n_absent:,} 行没有订单号，每行各算一笔订单。",
        ))
    # Online-Retail style: numeric invoice numbers, cancellations written as "C" + number. The
    # rule needs plain numeric invoices next to the C ones, so ids like "CN2024..." on every
    # row are never mistaken for cancellations.
    is_c = raw_ids.str.contains(_C_INVOICE).fill_null(False)
    numeric = raw_ids.str.contains(r"^\d+$").fill_null(False)
    n_c = int(is_c.sum())
    flipped = None
    if n_c and numeric.any() and n_c * 2 < len(raw_ids):
        flipped = is_c
        notes.append((
            f"{_rows(n_c)} {'has an invoice number' if n_c == 1 else 'have invoice numbers'} starting "
            "with “C” (cancellations); their amounts count as negative.",
            f"{n_c:,} 行的单号以“C”开头（取消的订单），金额按负数计。",
        ))
    return ids.alias(C.ORDER_ID), notes, flipped


def _value_notes(amounts: Numbers, dates: Any, amount_source: str, meta: TableMeta) -> list[tuple[str, str]]:
    notes: list[tuple[str, str]] = []
    if amounts.currency and amount_source == "column":
        notes.append((
            f"Amounts are in {amounts.currency}; currency marks were removed.",
            f"金额币种为 {amounts.currency}，已去掉货币符号。",
        ))
    if amounts.decimal == ",":
        notes.append((
            "Amounts use a decimal comma (1.234,50 means 1234.50).",
            "金额使用逗号作小数点（1.234,50 即 1234.50）。",
        ))
    if dates.order in ("dmy", "mdy"):
        en = KIND_LABELS[dates.order]
        zh = "日/月/年" if dates.order == "dmy" else "月/日/年"
        notes.append((f"Dates were read as {en}.", f"日期按{zh}读取。"))
    if dates.two_digit_years:
        notes.append((
            "Some years have two digits; 00-69 were read as 2000-2069 and 70-99 as 1970-1999.",
            "部分年份只有两位：00-69 视为 2000-2069，70-99 视为 1970-1999。",
        ))
    if any(f.startswith(KIND_LABELS["serial"]) for f in dates.formats):
        system = "1904" if meta.date1904 else "1900"
        notes.append((
            f"Some dates were Excel date numbers (the {system} date system) and were converted.",
            f"部分日期是 Excel 日期序号（{system} 日期系统），已转换。",
        ))
    return notes


def _clip(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _header_list(headers: list[str], limit: int = 30) -> str:
    shown = ", ".join(f"“{_clip(h, 60)}”" for h in headers[:limit]) or "none"
    return shown if len(headers) <= limit else f"{shown} and {len(headers) - limit:,} more"


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
