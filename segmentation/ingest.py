"""Load a transaction export (CSV, Excel, Parquet, ZIP; one file or several) into the canonical frame.

The upload is the one place where the outside world's mess meets the core, so this module is
strict about what it accepts and explicit about what it changed:

- The format is read from the content (magic bytes), not the file name. Text is decoded
  strictly (UTF-8, UTF-16, GBK/GB18030, Windows-1252): a file is never decoded lossily.
- Every sheet of a workbook, every table in an archive and every file given is read; tables
  with the same columns are appended, related tables are joined onto the one holding the
  amounts (never repeating an amount), anything else asks the caller to choose.
- Text columns are parsed by Polars expressions, so customer ids keep their leading zeros and
  format decisions (decimal comma, day/month order) are made once per column, from all of its
  values; typed Parquet dates and numbers are used as they are.
- Rows that cannot be used, or are not sales (cancelled orders, optionally fee lines), are
  dropped and counted by reason with their money and a few examples in a :class:`LoadReport`;
  rows read = rows kept + rows dropped, and the money likewise. When nothing usable remains, a
  :class:`~segmentation.errors.DataError` says why in words a marketer understands.

Public API: :func:`load_transactions`, :func:`read_table`, :func:`list_tables`,
:func:`detect_columns`, :class:`LoadReport`, :class:`TableMeta`, :data:`DEFAULT_MAX_BYTES`,
:data:`EXCLUDED_STATUSES`, :data:`NON_PRODUCT_CODES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import polars as pl

from . import columns as C
from ._headers import SYNONYMS as _SYNONYMS
from ._headers import clip as _clip
from ._headers import header_list as _header_list
from ._headers import match_header as _match_header
from ._headers import norm as _norm
from ._headers import rows_text as _rows
from ._ingest_parse import (
    KIND_LABELS,
    NULL_MARKER,
    UNTIDY,
    Dates,
    Numbers,
    clean_ids,
    is_missing,
    parse_dates,
    parse_numbers,
    rare_matches,
)
from ._ingest_read import (
    DEFAULT_MAX_BYTES,
    Table,
    TableMeta,
    direct_path,
    read_tables,
    source_bytes,
    text_columns,
    tidy_values,
)
from .coding import ORDER_HASH_SEED, all_distinct
from .combine import JoinStep, join_tables, stack_tables, suggest_join_keys
from .errors import DataError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EXCLUDED_STATUSES",
    "NON_PRODUCT_CODES",
    "LoadReport",
    "TableMeta",
    "detect_columns",
    "example_place",
    "list_tables",
    "load_transactions",
    "read_table",
    "reason_text",
]

CANONICAL_FIELDS: tuple[str, ...] = (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT, C.ORDER_ID, C.QUANTITY, C.UNIT_PRICE)

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
    "cancelled_order",
    "no_join_match",
    "missing_customer_id",
    "missing_date",
    "bad_date",
    "missing_amount",
    "bad_amount",
    "non_product",
)
_REASON_TEXT = {
    "empty_row": ("the row is empty", "整行为空"),
    "duplicate_row": ("exact copy of an earlier row", "与前面某一行完全相同"),
    "no_join_match": ("no matching row in a joined table, so no customer or date", "在关联的表中没有匹配行，因此缺少客户或日期"),
    "missing_customer_id": ("no customer id", "缺少客户编号"),
    "missing_date": ("no date", "缺少日期"),
    "bad_date": ("the date could not be read", "日期无法识别"),
    "missing_amount": ("no amount", "缺少金额"),
    "bad_amount": ("the amount is not a valid number", "金额不是有效数字"),
    "cancelled_order": ("the order status says cancelled, closed, unpaid or refunded", "订单状态为关闭、未付款、已取消或已退款"),
    "non_product": ("postage, fee or adjustment, not a product", "运费、手续费或调整，不是商品"),
}


def example_place(example: Mapping[str, Any], lang: str = "en") -> str:
    """Where an example row of the report is: its row number, and its sheet or file when the
    load read several.

    Example:
        >>> example_place({"table": "Year 2010-2011", "row": 6}), example_place({"row": 6}, "zh")
        ('“Year 2010-2011” row 6', '第 6 行')
    """
    row = example.get("row", "")
    table = example.get("table")
    if lang == "zh":
        return f"“{table}”第 {row} 行" if table else f"第 {row} 行"
    return f"“{table}” row {row}" if table else f"row {row}"


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
    "csv": ("delimited text file", "分隔符文本"),
    "xlsx": ("Excel workbook", "Excel 工作簿"),
    "xls": ("Excel 97-2003 workbook", "Excel 97-2003 工作簿"),
    "parquet": ("Parquet file", "Parquet 文件"),
}
_DELIM_TEXT = {" ": ("space-aligned", "空格对齐"), ",": ("comma", "逗号"), "\t": ("tab", "制表符"), ";": ("semicolon", "分号"), "|": ("pipe", "竖线")}


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
    # Money: the sum of every readable amount, what was kept, and what each drop reason removed;
    # money_read == money_kept + sum(dropped_money.values()) up to float rounding.
    money_read: float = 0.0
    money_kept: float = 0.0
    dropped_money: dict[str, float] = field(default_factory=dict)
    # {"policy": "drop"|"keep", "rows", "money", "reason": "order_id"|"no_order_id"}
    identical_rows: dict[str, Any] = field(default_factory=dict)
    # {"column", "policy", "rows", "money", "values": {status: rows}}; empty without a status column
    statuses: dict[str, Any] = field(default_factory=dict)
    # {"column", "policy", "rows", "money", "codes": {code: rows}}; empty without a code column
    non_product_lines: dict[str, Any] = field(default_factory=dict)
    returns_only_customers: int = 0
    returns_only_money: float = 0.0
    # {field: {"column", "how", "runner_up", "why", "why_zh"}}
    column_choices: dict[str, dict[str, Any]] = field(default_factory=dict)
    parts: tuple[tuple[str, int], ...] = ()  # (table, rows) when several were read together
    joins: tuple[dict[str, Any], ...] = ()  # JoinStep.to_dict() per joined table
    has_header: bool = True

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
            "money_read": self.money_read,
            "money_kept": self.money_kept,
            "dropped_money": dict(self.dropped_money),
            "identical_rows": dict(self.identical_rows),
            "statuses": {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.statuses.items()},
            "non_product_lines": {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.non_product_lines.items()},
            "returns_only_customers": self.returns_only_customers,
            "returns_only_money": self.returns_only_money,
            "column_choices": {k: dict(v) for k, v in self.column_choices.items()},
            "parts": [list(p) for p in self.parts],
            "joins": [dict(j) for j in self.joins],
            "has_header": self.has_header,
        }

    def summary_lines(self, lang: str = "en", *, money: Callable[[float], str] | None = None) -> list[str]:
        """Short sentences for the UI, in English (``"en"``) or Chinese (``"zh"``); ``money``
        writes amounts (default: two decimals, no currency symbol)."""
        zh = lang.lower().startswith("zh")
        money = money or (lambda v: f"{v:,.2f}")
        fmt = _FORMAT_TEXT.get(self.file_format, (self.file_format, self.file_format))[zh]
        details = []
        if self.encoding:
            details.append(self.encoding)
        if self.delimiter:
            details.append(
                _DELIM_TEXT[self.delimiter][zh]
                + ("" if self.delimiter == " " else ("分隔" if zh else "-separated"))
            )
        if self.sheet:
            details.append(f"工作表“{self.sheet}”" if zh else f"sheet “{self.sheet}”")
        detail = f"（{'，'.join(details)}）" if zh and details else (f" ({', '.join(details)})" if details else "")
        lines: list[str] = []
        if zh:
            lines.append(f"从“{self.source_name}”读取了 {self.rows_read:,} 行数据，格式为{fmt}{detail}。")
            span = f"，日期从 {self.first_date} 到 {self.last_date}" if self.first_date else ""
            lines.append(f"保留 {self.rows_kept:,} 笔交易，涉及 {self.customers:,} 位客户{span}。")
        else:
            article = "an" if fmt[:1].lower() in "aeiou" else "a"
            lines.append(f"Read {_rows(self.rows_read)} from “{self.source_name}”, {article} {fmt}{detail}.")
            span = f", dated {self.first_date} to {self.last_date}" if self.first_date else ""
            lines.append(
                f"Kept {self.rows_kept:,} transaction{'s' if self.rows_kept != 1 else ''} from "
                f"{self.customers:,} customer{'s' if self.customers != 1 else ''}{span}."
            )
        for reason in REASONS:
            n = self.dropped.get(reason, 0)
            if not n:
                continue
            found = self.examples.get(reason, ())
            text = _REASON_TEXT[reason][zh]
            if found and any("table" in e for e in found):
                places = ("、" if zh else ", ").join(example_place(e, "zh" if zh else "en") for e in found)
                eg = f"（如{places}）" if zh else f" (e.g. {places})"
            elif found:
                rows = [str(e["row"]) for e in found]
                eg = f"（如第 {'、'.join(rows)} 行）" if zh else f" (e.g. {'row' if len(rows) == 1 else 'rows'} {', '.join(rows)})"
            else:
                eg = ""
            lines.append(f"删除 {n:,} 行：{text}{eg}。" if zh else f"Dropped {n:,} row{'s' if n != 1 else ''}: {text}{eg}.")
        lost = math.fsum(self.dropped_money.values())
        if lost:
            share = f" ({lost / self.money_read:.1%})" if self.money_read else ""
            lines.append(
                f"删除的行合计金额 {money(lost)}{share}，读取总额 {money(self.money_read)}。"
                if zh
                else f"The dropped rows were worth {money(lost)}{share} of {money(self.money_read)} read."
            )
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


def _candidates(fld: str, normed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers that could hold ``fld``, best first, each with how it matched ("name" or "fuzzy")."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for synonym in _SYNONYMS[fld]:
        for n, h in normed:
            if n == synonym and h not in seen:
                out.append((h, "name"))
                seen.add(h)
    if fld in _FUZZY:
        must, also, never = _FUZZY[fld]
        for n, h in normed:
            if h in seen:
                continue
            if any(w in n for w in must) and any(w in n for w in also) and not any(w in n for w in never):
                out.append((h, "fuzzy"))
                seen.add(h)
    return out


def _detect(headers: list[str], exclude: Iterable[str] = ()) -> dict[str, tuple[str, str, str | None]]:
    """``{field: (header, how, runner-up header or None)}``: exact names first, then fuzzy."""
    skip = set(exclude)
    normed = [(_norm(h), h) for h in headers]
    cands = {fld: _candidates(fld, normed) for fld in CANONICAL_FIELDS if fld not in skip}
    taken: set[str] = set()
    found: dict[str, tuple[str, str, str | None]] = {}
    order = (C.CUSTOMER_ID, C.ORDER_ID, C.ORDER_DATE, C.AMOUNT, C.QUANTITY, C.UNIT_PRICE)
    # Exact names for every field before any fuzzy match, so a fuzzy guess never takes a
    # header another field names exactly.
    for kind in ("name", "fuzzy"):
        for fld in order:
            if fld in skip or fld in found:
                continue
            free = [(h, how) for h, how in cands[fld] if h not in taken]
            hit = next(((h, how) for h, how in free if how == kind), None)
            if hit is None:
                continue
            rest = [h for h, _ in free if h != hit[0]]
            found[fld] = (hit[0], hit[1], rest[0] if rest else None)
            taken.add(hit[0])
    return {fld: found[fld] for fld in order if fld in found}


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
    return {fld: h for fld, (h, _how, _r) in _detect(list(headers), exclude).items()}


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
        "Rename the columns or choose them by hand.",
        code="missing_columns",
        params={"name": name, "fields": list(missing), "columns": cols, "headers": list(headers)},
    )


# ---------------------------------------------------------------------------------------------
# Column choice, with the reason for each choice


_ROLE_TEXT = {
    C.CUSTOMER_ID: ("customer", "客户"),
    C.ORDER_DATE: ("date", "日期"),
    C.AMOUNT: ("amount", "金额"),
    C.ORDER_ID: ("order number", "订单号"),
    C.QUANTITY: ("quantity", "数量"),
    C.UNIT_PRICE: ("unit price", "单价"),
}
# A preferred header beats a runner-up for a reason worth saying (compared after _norm()).
_PAID = ("实付金额", "买家实际支付金额", "实际支付金额", "实付款", "paidamount", "amountpaid", "totalpaid", "paymentvalue")
_LISTED = ("总金额", "应付金额", "合计金额", "买家应付货款", "total", "totalamount", "ordertotal")
_PAID_TIME = ("订单付款时间", "付款时间", "支付时间", "paymentdate", "paymenttime", "paidat")
_CREATED_TIME = ("订单创建时间", "创建时间", "createdat")


def _why(fld: str, header: str, how: str, runner: str | None) -> tuple[str, str]:
    role_en, role_zh = _ROLE_TEXT[fld]
    if how == "mapped":
        return f"“{header}” was chosen by hand as the {role_en}.", f"“{header}”是手动指定的{role_zh}列。"
    if how == "position":
        return f"“{header}” was chosen by position as the {role_en}.", f"“{header}”是按位置指定的{role_zh}列。"
    n, r = _norm(header), _norm(runner) if runner else ""
    if fld == C.AMOUNT and n in _PAID and r in _LISTED:
        return (
            f"“{header}” is what customers paid; “{runner}” is the price before discounts and unpaid orders.",
            f"“{header}”是客户实际支付的金额；“{runner}”是优惠前的应付金额，也包括未付款订单。",
        )
    if fld == C.ORDER_DATE and n in _PAID_TIME and r in _CREATED_TIME:
        return (
            f"“{header}” is when the order was paid; “{runner}” is when it was created, paid or not.",
            f"“{header}”是付款时间；“{runner}”是创建订单的时间，不论是否付款。",
        )
    if how == "fuzzy":
        return (f"The header “{header}” contains a word for {role_en}.", f"列名“{header}”含有表示{role_zh}的词。")
    return (f"“{header}” is a usual name for the {role_en} column.", f"“{header}”是{role_zh}列的常用名称。")


def _choice(fld: str, header: str, how: str, runner: str | None, why: tuple[str, str] | None = None) -> dict[str, Any]:
    en, zh = why or _why(fld, header, how, runner)
    return {"column": header, "how": how, "runner_up": runner, "why": en, "why_zh": zh}


def _resolve_mapping(
    raw: pl.DataFrame, mapping: Mapping[str, str | int | None] | None, *, has_header: bool = True
) -> tuple[dict[str, str], dict[str, dict[str, Any]], list[tuple[str, str]]]:
    """Decide the column of every field: by hand, by header name, or from the values.

    Returns ``(used, choices, notes)``; ``choices[field]`` says which column, how it was
    chosen ("mapped", "position", "name", "fuzzy", "repeats", "content"), why, in English and
    Chinese, and the runner-up column.
    """
    headers = raw.columns
    explicit: dict[str, str] = {}
    choices: dict[str, dict[str, Any]] = {}
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
        how = "mapped"
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(headers):
                raise DataError(
                    f"Column position {value} chosen for {key} does not exist: the file has {len(headers)} "
                    f"columns, numbered 0 to {len(headers) - 1}.",
                    code="mapping_position", params={"field": key, "position": value, "count": len(headers)},
                )
            header: str | None = headers[value]
            how = "position"
        else:
            header = _match_header(str(value), headers)
        if header is None:
            raise DataError(
                f"The column “{value}” chosen for {key} is not in the file. The columns are: {available}.",
                code="mapping_missing_column", params={"field": key, "column": value, "columns": available},
            )
        if header in explicit.values():
            other = next(k for k, v in explicit.items() if v == header)
            raise DataError(f"The column “{header}” was chosen for both {other} and {key}; pick one column for each.",
                code="mapping_twice", params={"column": header, "field": key, "other_field": other})
        explicit[key] = header
        excluded.add(key)
        choices[key] = _choice(key, header, how, None)
    rest = [h for h in headers if h not in explicit.values()]
    for fld, (h, how, runner) in _detect(rest, exclude=excluded).items():
        explicit.setdefault(fld, h)
        choices[fld] = _choice(fld, h, how, runner)
    notes: list[tuple[str, str]] = []
    if C.CUSTOMER_ID in choices and choices[C.CUSTOMER_ID]["how"] in ("name", "fuzzy"):
        notes.extend(_prefer_repeating_customer(raw, explicit, choices))
    _infer_by_content(raw, explicit, choices, excluded, has_header=has_header)
    for c in choices.values():
        if c["how"] == "content":
            notes.append((c["why"], c["why_zh"]))
    used = {fld: explicit[fld] for fld in CANONICAL_FIELDS if fld in explicit}
    return used, {fld: choices[fld] for fld in used}, notes


def _prefer_repeating_customer(
    raw: pl.DataFrame, used: dict[str, str], choices: dict[str, dict[str, Any]]
) -> list[tuple[str, str]]:
    """Olist's customer_id is one per order; the person is customer_unique_id. Prefer the latter.

    An id that is one-to-one with the order number names the order, not the person: taken as
    the customer it makes every repeat buyer a one-time buyer.
    """
    cust, order = used[C.CUSTOMER_ID], used.get(C.ORDER_ID)
    if order is None:
        return []
    # One-to-one holds in every part of a file if it holds in the whole: a customer with two
    # orders among the first rows settles it at once (most files, whatever their order).
    head = tidy_values(raw.head(_PAIR_SAMPLE).select(cust, order))
    seen = head.select(
        pl.col(cust).n_unique().alias("c"), pl.col(order).n_unique().alias("o"), pl.struct(cust, order).n_unique().alias("p")
    ).row(0)
    if len(set(seen)) > 1:
        return []
    # Exact distinct counts of two string columns cost ~0.5 s per million rows; an estimate (a
    # few % error at most) settles the usual case, many orders per customer, for a fraction.
    est = raw.select(
        pl.col(cust).hash(ORDER_HASH_SEED).approx_n_unique().alias("c"), pl.col(order).hash(ORDER_HASH_SEED).approx_n_unique().alias("o")
    ).row(0, named=True)
    if est["o"] > 1000 and not 0.8 * est["o"] <= est["c"] <= 1.25 * est["o"]:
        return []
    pair = tidy_values(raw.select(cust, order))  # exact counts of the values as they will be used
    stats = pair.select(pl.col(cust).n_unique().alias("c"), pl.col(order).n_unique().alias("o")).row(0, named=True)
    # The pair count is the expensive part; most files fail the cheap test first.
    if not (stats["o"] > 1 and stats["c"] == stats["o"]):
        return []
    if pair.select(pl.struct(cust, order).n_unique()).item() != stats["o"]:
        return []
    # A handful of orders from distinct customers is normal in a small file; the warning below
    # is only worth giving when there are enough orders for a repeat buyer to be expected.
    normed = [(_norm(h), h) for h in raw.columns if h not in used.values()]
    others = [h for h, _ in _candidates(C.CUSTOMER_ID, normed)]
    for other in others:
        if tidy_values(raw.select(other))[other].n_unique() < stats["o"]:
            used[C.CUSTOMER_ID] = other
            choices[C.CUSTOMER_ID] = _choice(C.CUSTOMER_ID, other, "repeats", cust, (
                f"“{cust}” has exactly one value per order (one-to-one with “{order}”), so it names the "
                f"order, not the person; “{other}” repeats across orders and was used instead.",
                f"“{cust}”与“{order}”一一对应，每笔订单一个值，代表的是订单而不是人；"
                f"“{other}”在多笔订单间重复出现，因此改用它作为客户列。",
            ))
            return [(choices[C.CUSTOMER_ID]["why"], choices[C.CUSTOMER_ID]["why_zh"])]
    if stats["o"] < _ONE_ORDER_WARNING_MIN:
        return []
    return [(
        f"Every customer id in “{cust}” appears with exactly one order, so every customer looks like a "
        "one-time buyer. If this column names orders rather than people, choose the customer column by hand.",
        f"“{cust}”中每个客户编号只对应一笔订单，所有客户都会显示为只购买过一次。"
        "如果这一列代表订单而不是客户，请手动选择客户列。",
    )]


_ONE_ORDER_WARNING_MIN = 50
_PAIR_SAMPLE = 100_000
_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)$"
_CONTENT_SAMPLE = 2000


def _infer_by_content(
    raw: pl.DataFrame,
    used: dict[str, str],
    choices: dict[str, dict[str, Any]],
    excluded: set[str],
    *,
    has_header: bool,
) -> None:
    """Fill a missing amount column (and, without a header row, date and customer) from values.

    Amount: the one numeric column with decimals that is neither an id nor a quantity. Without
    a header row also the date (the column whose values read as dates) and the customer (of
    the rest, the repeating column with the most distinct values, ids with leading zeros or
    letters first). A named column is not second-guessed as a date or customer: a header such
    as "when" may as well be a delivery date, and asking is cheaper than a wrong tiering.
    """
    roles = (C.ORDER_DATE, C.AMOUNT, C.CUSTOMER_ID) if not has_header else (C.AMOUNT,)
    wanted = [f for f in roles if f not in used and f not in excluded]
    if not wanted or (C.AMOUNT in wanted and C.QUANTITY in used and C.UNIT_PRICE in used and len(wanted) == 1):
        return
    sample = tidy_values(raw.head(_CONTENT_SAMPLE))
    free = [h for h in raw.columns if h not in used.values()]
    profile: dict[str, dict[str, Any]] = {}
    for h in free:
        col = sample[h].cast(pl.String).drop_nulls()
        if col.len() == 0:
            continue
        numeric = bool(col.str.contains(_NUMBER).all())
        profile[h] = {
            "numeric": numeric,
            "decimals": numeric and bool(col.str.contains(r"\.\d*[1-9]").any()),
            "zeros": bool(col.str.contains(r"^0\d").any()),
            "dateish": bool(col.str.contains(r"^(19|20)\d{2}([-/.年]\d{1,2}|[01]\d[0-3]\d$)").mean() >= 0.9),
            "distinct": col.n_unique(),
            "n": col.len(),
        }
    if C.ORDER_DATE in wanted:
        dates = [h for h, p in profile.items() if p["dateish"]]
        if dates:
            h = dates[0]
            used[C.ORDER_DATE] = h
            choices[C.ORDER_DATE] = _choice(C.ORDER_DATE, h, "content", dates[1] if len(dates) > 1 else None, (
                f"No header names the date, so “{h}” was chosen because its values read as dates.",
                f"没有列名表示日期，因“{h}”中的值可读作日期，选用它作为日期列。",
            ))
            profile.pop(h)
    if C.AMOUNT in wanted and not (C.QUANTITY in used and C.UNIT_PRICE in used):
        money = [h for h, p in profile.items() if p["decimals"] and not p["zeros"]]
        if money:
            h = money[0]
            used[C.AMOUNT] = h
            choices[C.AMOUNT] = _choice(C.AMOUNT, h, "content", money[1] if len(money) > 1 else None, (
                f"No header names the amount, so “{h}” was chosen: it is the "
                f"{'only' if len(money) == 1 else 'first'} numeric column with decimals, neither an id nor a quantity.",
                f"没有列名表示金额，因“{h}”是{'唯一' if len(money) == 1 else '第一个'}带小数、"
                "既非编号也非数量的数值列，选用它作为金额列。",
            ))
            profile.pop(h)
    if C.CUSTOMER_ID in wanted:
        ids = [h for h, p in profile.items() if p["distinct"] < p["n"] and not p["decimals"]]
        ids.sort(key=lambda h: (not (profile[h]["zeros"] or not profile[h]["numeric"]), -profile[h]["distinct"]))
        if ids:
            h = ids[0]
            used[C.CUSTOMER_ID] = h
            choices[C.CUSTOMER_ID] = _choice(C.CUSTOMER_ID, h, "content", ids[1] if len(ids) > 1 else None, (
                f"No header names the customer, so “{h}” was chosen: its values repeat across rows like "
                "customer ids and it has the most distinct values.",
                f"没有列名表示客户，因“{h}”的值像客户编号一样在多行重复，且不同值最多，选用它作为客户列。",
            ))


# ---------------------------------------------------------------------------------------------
# Sources: files, sheets, archive members, and how they are put together


def _gather_tables(source: Any, max_bytes: int, *, tidy: bool = True) -> tuple[list[Table], str]:
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    if not items:
        raise DataError("No file was given. Choose at least one export file.", code="no_file")
    tables: list[Table] = []
    names: list[str] = []
    for item in items:
        path = direct_path(item, max_bytes)
        data, name = (path, path.name) if path is not None else source_bytes(item, max_bytes=max_bytes)
        names.append(name)
        found = read_tables(data, name, max_bytes=max_bytes, tidy=tidy)
        if len(items) > 1:
            found = [t if t.label == name else Table(f"{name} › {t.label}", t.frame, t.meta) for t in found]
        tables.extend(found)
    seen: dict[str, int] = {}
    unique: list[Table] = []
    for t in tables:
        k = seen.get(t.label, 0) + 1
        seen[t.label] = k
        unique.append(t if k == 1 else Table(f"{t.label} ({k})", t.frame, t.meta))
    return unique, ", ".join(names)


def _table_list(tables: list[Table]) -> str:
    return "; ".join(f"“{t.label}” ({', '.join(_clip(c, 30) for c in t.frame.columns[:8])}"
                     f"{', …' if t.frame.width > 8 else ''})" for t in tables[:12])


def _select(tables: list[Table], sheet: str | int | Sequence[str | int] | None, name: str) -> list[Table]:
    if sheet is None:
        return tables
    wanted = [sheet] if isinstance(sheet, (str, int)) else list(sheet)
    labels = ", ".join(f"“{t.label}”" for t in tables)
    out: list[Table] = []
    for w in wanted:
        if isinstance(w, int) and not isinstance(w, bool):
            if not 0 <= w < len(tables):
                raise DataError(
                    f"There is no table number {w} in “{name}”: it holds {len(tables)} table(s), numbered "
                    f"from 0: {labels}.",
                    code="no_table_number", params={"name": name, "number": w, "tables": labels},
                )
            out.append(tables[w])
            continue
        hits = [t for t in tables if t.label == w] or [t for t in tables if t.label.endswith(f" › {w}")]
        if len(hits) != 1:
            raise DataError(f"There is no sheet or table called “{w}” in “{name}”. The tables are: {labels}.",
                code="no_table_named", params={"name": name, "table": w, "tables": labels})
        out.append(hits[0])
    return out


def _looks_like_transactions(frame: pl.DataFrame) -> bool:
    found = detect_columns(frame.columns)
    has_money = C.AMOUNT in found or (C.QUANTITY in found and C.UNIT_PRICE in found)
    return C.CUSTOMER_ID in found and C.ORDER_DATE in found and has_money


def _stack(tables: list[Table]) -> tuple[pl.DataFrame, pl.Series, pl.Series | None]:
    frame = stack_tables([t.frame for t in tables])
    rows = pl.concat([
        pl.int_range(t.meta.header_row + 1, t.meta.header_row + 1 + t.frame.height, eager=True, dtype=pl.Int64)
        for t in tables
    ])
    part = None
    if len(tables) > 1:
        part = pl.concat([pl.repeat(t.label, t.frame.height, eager=True, dtype=pl.String) for t in tables])
    return frame, rows, part


@dataclass(frozen=True)
class _Combined:
    frame: pl.DataFrame
    meta: TableMeta
    rows: pl.Series  # spreadsheet-style row number of each row in its own table
    part: pl.Series | None  # the table each row came from, when there are several
    joins: tuple[JoinStep, ...]
    notes: tuple[tuple[str, str], ...]
    unmatched: pl.Series | None = None  # per row, the first joined table without a match


_UNMATCHED = "__tierlens_unmatched__"


def _combine(
    tables: list[Table],
    *,
    name: str,
    combine: str,
    join_keys: Mapping[str, Sequence[str]] | None,
) -> _Combined:
    if len(tables) > 1:
        # Typed columns are kept only for a single table: appending or joining a typed
        # Parquet file to text would otherwise meet a date on one side and text on the other.
        tables = [Table(t.label, t.frame.with_columns(pl.all().cast(pl.String)), t.meta) for t in tables]
    groups: dict[frozenset[str], list[Table]] = {}
    for t in tables:
        groups.setdefault(frozenset(t.frame.columns), []).append(t)
    notes: list[tuple[str, str]] = []
    joins: tuple[JoinStep, ...] = ()
    unmatched_by: pl.Series | None = None
    parts = tuple((t.label, t.frame.height) for t in tables) if len(tables) > 1 else ()
    if len(groups) == 1 or combine == "append":
        chosen = tables
        frame, rows, part = _stack(chosen)
        if len(chosen) > 1:
            each = ", ".join(f"“{t.label}” {t.frame.height:,}" for t in chosen)
            each_zh = "，".join(f"“{t.label}” {t.frame.height:,} 行" for t in chosen)
            notes.append((
                f"Read {len(chosen)} tables with the same columns together ({each} rows).",
                f"将 {len(chosen)} 个列相同的表合并读取（{each_zh}）。",
            ))
    else:
        stacked = {g[0].label: g for g in groups.values()}
        frames = {label: _stack(g)[0] for label, g in stacked.items()}
        tx_like = [label for label, f in frames.items() if _looks_like_transactions(f)]
        # Two transaction tables with different columns (a year whose export gained a column)
        # are not related tables: joining them would pair every line of one with lines of the
        # other, so the user chooses instead.
        connected = (bool(suggest_join_keys(frames)) and len(tx_like) <= 1) or bool(join_keys)
        if combine == "auto" and not join_keys and len(tx_like) == 1 and not any(
            tx_like[0] in pair for pair in suggest_join_keys(frames)
        ):
            chosen = stacked[tx_like[0]]
            frame, rows, part = _stack(chosen)
            picked = {t.label for t in chosen}
            skipped = [t.label for t in tables if t.label not in picked]
            parts = tuple((t.label, t.frame.height) for t in chosen) if len(chosen) > 1 else ()
            notes.append((
                "Left out tables without transaction columns: " + ", ".join(f"“{s}”" for s in skipped) + ".",
                "以下表格没有交易列，已略过：" + "、".join(f"“{s}”" for s in skipped) + "。",
            ))
        elif combine == "join" or connected:
            base = _join_base(frames, name)
            chosen = stacked[base]
            frame, steps = join_tables(frames, base=base, keys=join_keys, mark_unmatched=_UNMATCHED)
            unmatched_by = frame.get_column(_UNMATCHED)
            frame = frame.drop(_UNMATCHED)
            _, rows, part = _stack(stacked[base])
            joins = tuple(steps)
            notes.append((
                f"Each row is a row of “{base}”; row numbers in this report refer to it.",
                f"每一行对应“{base}”中的一行；本报告中的行号指该表的行号。",
            ))
            for st in steps:
                unmatched = st.rows_before - st.rows_matched
                notes.append((
                    f"Joined “{st.table}” on {', '.join(f'“{k}”' for k in st.on)}: {st.rows_before:,} rows before, "
                    f"{st.rows_after:,} after; {st.rows_matched:,} found a match"
                    + (f", {unmatched:,} did not." if unmatched else "."),
                    f"按 {'、'.join(f'“{k}”' for k in st.on)} 关联了“{st.table}”：关联前 {st.rows_before:,} 行，"
                    f"关联后 {st.rows_after:,} 行；{st.rows_matched:,} 行找到匹配"
                    + (f"，{unmatched:,} 行没有。" if unmatched else "。"),
                ))
        else:
            raise DataError(
                f"“{name}” holds tables with different columns: {_table_list(tables)}. Choose which one to "
                "read (or several with the same columns), or join them on a key column.",
                code="tables_differ", params={"name": name, "tables": _table_list(tables)},
            )
    first = chosen[0]
    meta = replace(
        first.meta,
        sheet=first.meta.sheet if len(tables) == 1 or (len(chosen) == 1 and not joins) else None,
        parts=parts,
        notes=first.meta.notes if len(tables) == 1 else tuple(n for n in first.meta.notes if not n.startswith("Read the sheet")),
        notes_zh=first.meta.notes_zh if len(tables) == 1 else tuple(n for n in first.meta.notes_zh if not n.startswith("读取了工作表")),
    )
    if len(chosen) == 1 and not joins and len(tables) > 1 and first.meta.sheet is None:
        meta = replace(meta, sheet=first.label)
    return _Combined(frame, meta, rows, part, joins, tuple(notes), unmatched_by)


def _join_base(frames: Mapping[str, pl.DataFrame], name: str) -> str:
    """The table whose rows are the transactions: the one holding the amount column."""
    for label, f in frames.items():
        if C.AMOUNT in detect_columns(f.columns):
            return label
    for label, f in frames.items():
        found = detect_columns(f.columns)
        if C.QUANTITY in found and C.UNIT_PRICE in found:
            return label
    raise DataError(
        f"None of the tables in “{name}” has an amount column, so Tierlens cannot tell which one "
        "holds the purchases. Include the table with the amounts (such as payments or order lines).",
        code="no_amount_table", params={"name": name},
    )


def list_tables(source: Any, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[dict[str, Any]]:
    """The tables a source holds, for the Data page to offer a choice before loading.

    Args:
        source: a path, bytes or uploaded file, or a list of them. Workbooks give one table per
            sheet that holds one; ZIP archives one per table inside.

    Returns:
        One dict per table: ``table`` (the name to pass as ``sheet=``), ``rows``, ``columns``
        (list of header names), ``transactions`` (True when customer, date and amount columns
        were recognised), ``has_header``.

    Example:
        >>> list_tables(b"customer_id,order_date,amount\\nc1,2024-01-01,5\\n")[0]["rows"]
        1
    """
    tables, _ = _gather_tables(source, max_bytes)
    return [
        {
            "table": t.label,
            "rows": t.frame.height,
            "columns": list(t.frame.columns),
            "transactions": _looks_like_transactions(t.frame),
            "has_header": t.meta.has_header,
        }
        for t in tables
    ]


# ---------------------------------------------------------------------------------------------
# Orders that are not sales, lines that are not products

_STATUS_HEADERS = (
    "orderstatus", "financialstatus", "paymentstatus", "status", "订单状态", "交易状态", "付款状态", "状态",
)
# Status values (compared lower-cased and stripped) meaning the money never changed hands or
# went back: Taobao/Tmall, Olist, Shopify.
EXCLUDED_STATUSES: tuple[str, ...] = (
    "交易关闭", "未付款", "已退款", "等待买家付款", "已取消", "退款成功", "交易取消",
    "canceled", "cancelled", "unavailable", "refunded", "voided",
)
_CODE_HEADERS = ("stockcode", "sku", "productcode", "itemcode", "商品编码", "商品编号", "货号")
_DESCRIPTION_HEADERS = ("description", "productname", "itemname", "商品名称", "商品标题", "宝贝标题")
# Online Retail's stock codes for postage, fees, discounts and adjustments (and the same names in
# a description column): lines a shop writes on an invoice that are not goods a customer chose.
NON_PRODUCT_CODES: tuple[str, ...] = (
    "POST", "DOT", "C2", "M", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS",
    "ADJUST", "ADJUST2", "TEST001", "TEST002",
)
_NON_PRODUCT_DESCRIPTIONS = (
    "POSTAGE", "DOTCOM POSTAGE", "CARRIAGE", "MANUAL", "DISCOUNT", "BANK CHARGES", "AMAZON FEE",
    "CRUK COMMISSION", "SAMPLES", "ADJUST BAD DEBT", "运费", "邮费", "手续费",
)


def _find_header(headers: Sequence[str], names: tuple[str, ...], used: Mapping[str, str]) -> str | None:
    taken = set(used.values())
    normed = {_norm(h): h for h in reversed(headers) if h not in taken}
    return next((normed[n] for n in names if n in normed), None)


def _created_time_fallback(
    raw: pl.DataFrame,
    dates: Dates,
    used: Mapping[str, str],
    headers: Sequence[str],
    *,
    cancelled: str,
    date_order: str | None,
    date1904: bool,
) -> tuple[Dates, tuple[str, str] | None]:
    """Date unpaid orders by their creation time when the user keeps them.

    The payment time is the purchase date, but an unpaid or closed order has none; keeping
    such orders (``cancelled="keep"``) would otherwise drop them again as "no date".
    """
    date_col = used[C.ORDER_DATE]
    if cancelled != "keep" or _norm(date_col) not in _PAID_TIME or not dates.missing.any():
        return dates, None
    created_col = _find_header(headers, _CREATED_TIME, used)
    if created_col is None:
        return dates, None
    created = parse_dates(raw[created_col], column=created_col, date_order=date_order, date1904=date1904)
    fill = dates.missing & created.values.is_not_null()
    k = int(fill.sum())
    if not k:
        return dates, None
    values = pl.select(pl.when(pl.lit(fill)).then(pl.lit(created.values)).otherwise(pl.lit(dates.values))).to_series()
    filled = replace(dates, values=values, missing=dates.missing & ~fill, has_time=dates.has_time or created.has_time)
    return filled, (
        f"{_rows(k)} had no payment time in “{date_col}”; because you kept unpaid and closed orders, "
        f"{'its' if k == 1 else 'their'} creation time in “{created_col}” is used as the order date.",
        f"{k:,} 行在“{date_col}”中没有付款时间；因为您选择保留未付款和已关闭的订单，这些行改用“{created_col}”中的创建时间作为下单日期。",
    )


def _money(values: pl.Series, mask: pl.Series | None = None) -> float:
    picked = values if mask is None else values.filter(mask)
    total = float(picked.sum() or 0.0)
    if not math.isfinite(total):  # a NaN or an infinity in the column: only finite values count
        total = float(picked.filter(picked.is_finite()).sum() or 0.0)
    # Rounded to 1e-6 so sums of cents read back as the cents a marketer would add up by hand.
    return round(total, 6)


# ---------------------------------------------------------------------------------------------
# Public entry points


def read_table(
    source: Any, *, max_bytes: int = DEFAULT_MAX_BYTES, sheet: str | int | Sequence[str | int] | None = None
) -> tuple[pl.DataFrame, TableMeta]:
    """Read a file into a table of strings for preview and column mapping.

    Args:
        source: path (str | Path), bytes, or a binary file-like with ``.name`` (Streamlit's
            UploadedFile).
        max_bytes: refuse larger files with a DataError (default 2 GB).
        sheet: which sheet(s) or archive member(s) to read, by name or 0-based index (see
            :func:`list_tables`); default: all, when they have the same columns.

    Returns:
        ``(frame, meta)``: every column is ``pl.String`` with the header names of the file
        (stripped, made unique); empty cells are null. ``meta`` says how the file was read.

    Raises:
        DataError: the file is not a readable table (wrong format, empty, damaged, too big), or
            it holds tables with different columns and ``sheet`` does not say which.

    Example:
        >>> frame, meta = read_table(b"id;date;amount\\n007;2024-01-31;12,50\\n")
        >>> frame.row(0), meta.delimiter
        (('007', '2024-01-31', '12,50'), ';')
    """
    tables, name = _gather_tables(source, max_bytes)
    tables = _select(tables, sheet, name)
    groups = {frozenset(t.frame.columns) for t in tables}
    if len(groups) > 1:
        raise DataError(
            f"“{name}” holds tables with different columns: {_table_list(tables)}. Choose which one to read.",
            code="tables_differ", params={"name": name, "tables": _table_list(tables)},
        )
    frame, _rows, _part = _stack(tables)
    frame = frame.with_columns(pl.all().cast(pl.String))
    meta = tables[0].meta if len(tables) == 1 else replace(
        tables[0].meta, sheet=None, parts=tuple((t.label, t.frame.height) for t in tables)
    )
    if frame.height == 0:
        raise DataError(
            f"The file “{name}” has column headers but no rows of data. Export it again with the "
            "transactions included.",
            code="no_data_rows", params={"name": name},
        )
    return frame, meta


def load_transactions(
    source: Any,
    *,
    mapping: Mapping[str, str | int | None] | None = None,
    date_order: Literal["dmy", "mdy"] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    sheet: str | int | Sequence[str | int] | None = None,
    combine: Literal["auto", "append", "join"] = "auto",
    join_keys: Mapping[str, Sequence[str]] | None = None,
    duplicates: Literal["drop", "keep"] | None = None,
    cancelled: Literal["drop", "keep"] = "drop",
    non_product: Literal["keep", "drop"] = "keep",
) -> tuple[pl.DataFrame, LoadReport]:
    """Read a transaction export into the canonical transaction frame plus a report.

    Args:
        source: path (str | Path), bytes, or a binary file-like with ``.name``, or a list of
            them (several files: appended when their columns match, joined otherwise). CSV/TSV/
            semicolon/pipe or space-aligned text in UTF-8 (with or without BOM), UTF-16,
            GBK/GB18030 or Windows-1252; Excel (.xlsx, .xls; every sheet); Parquet; ZIP
            archives of those. The format is read from the content. A path to a Parquet
            file, or to UTF-8 text over 1 MB, is read in place without a copy in memory
            (same result as its bytes).
        mapping: ``{field: header or 0-based column position}`` for any of customer_id,
            order_date, amount, order_id, quantity, unit_price; overrides the automatic
            detection. ``None`` as a value means "the file has no such column". Positions are
            how a file without a header row (columns named column_1, column_2, ...) is mapped.
        date_order: ``"dmy"`` or ``"mdy"`` for dates such as 03/04/2024 when the file itself
            does not settle the order.
        max_bytes: refuse larger files, and archives that unpack to more (default 2 GB).
        sheet: the sheet(s) or archive member(s) to read, by name or 0-based index (see
            :func:`list_tables`). Default: every table, read together when the columns match.
        combine: ``"append"`` (same columns), ``"join"`` (related tables onto the one holding
            the amounts), or ``"auto"``: append when the columns match, otherwise join when
            the tables share an id-like column, otherwise use the only table that looks like
            transactions; anything else is a DataError asking for a choice.
        join_keys: ``{table: [key columns]}`` overriding the suggested join keys.
        duplicates: ``"drop"`` exact duplicate lines or ``"keep"`` them. Default: drop when
            the file has an order number (a repeated line is an export glitch), keep when it
            has none (every row is a purchase, and two identical ones are two purchases).
        cancelled: ``"drop"`` (default) orders whose status column says cancelled, closed,
            unpaid, refunded or voided, or ``"keep"`` them.
        non_product: ``"keep"`` (default) or ``"drop"`` lines whose stock code or description
            marks postage, fees, discounts or adjustments (always listed in the report).

    Returns:
        ``(tx, report)``. ``tx`` columns: customer_id (String, verbatim), order_date (Date, or
        Datetime when any value has a time of day), amount (Float64; negative = return),
        order_id (String; ``row-<n>`` when the file has none), then quantity and unit_price
        (Float64) when present, then every other column of the file as String. Returns and
        zero amounts are kept and counted. ``report.rows_read == report.rows_kept +
        sum(report.dropped.values())`` and ``report.money_read == report.money_kept +
        sum(report.dropped_money.values())``.

    Raises:
        AmbiguousDatesError: dates read equally well as day/month and month/day; call again
            with ``date_order``.
        DataError: the file cannot be read, a needed column is missing, values are
            inconsistent (mixed currencies, mixed date orders), tables cannot be combined
            safely, or no usable row remains.

    Example:
        >>> tx, report = load_transactions(
        ...     b"Customer ID,Date,Amount\\n007,2024-01-31,\\"$1,200.50\\"\\n,2024-02-01,5\\n"
        ... )
        >>> tx.row(0), report.dropped, report.dropped_money
        (('007', datetime.date(2024, 1, 31), 1200.5, 'row-2'), {'missing_customer_id': 1}, {'missing_customer_id': 5.0})
    """
    if date_order not in (None, "dmy", "mdy"):
        raise DataError(f"date_order must be \"dmy\", \"mdy\" or None, not {date_order!r}.")
    for arg, value, allowed in (
        ("duplicates", duplicates, (None, "drop", "keep")),
        ("cancelled", cancelled, ("drop", "keep")),
        ("non_product", non_product, ("drop", "keep")),
        ("combine", combine, ("auto", "append", "join")),
    ):
        if value not in allowed:
            raise DataError(f"{arg} must be one of {', '.join(repr(a) for a in allowed)}, not {value!r}.")
    every, name = _gather_tables(source, max_bytes, tidy=False)
    tables = _select(every, sheet, name)
    # Messages name what was read: one sheet or file of several, not the whole source.
    where = name
    if len(tables) < len(every):
        several_files = isinstance(source, (list, tuple)) and len(source) > 1
        where = ", ".join(t.label if several_files else f"{name} › {t.label}" for t in tables)
    # Cell values are tidied (stripped, blanks to null) once the columns' roles are known, so
    # the date and amount columns, whose parsers take spaces and blanks in their stride, are not
    # scanned for them first (~0.3 s of a 10M-row CSV). Tables that are put together are tidied
    # before: appending and joining compare values.
    deferred = len(tables) == 1
    if not deferred:
        tables = [Table(t.label, tidy_values(t.frame), t.meta) for t in tables]
    combined = _combine(tables, name=name, combine=combine, join_keys=join_keys)
    raw, meta = combined.frame, combined.meta
    if raw.height == 0:
        raise DataError(
            f"The file “{name}” has column headers but no rows of data. Export it again with the "
            "transactions included.",
            code="no_data_rows", params={"name": name},
        )
    headers = raw.columns
    used, choices, choice_notes = _resolve_mapping(raw, mapping, has_header=meta.has_header)
    has_amount = C.AMOUNT in used
    has_qp = C.QUANTITY in used and C.UNIT_PRICE in used
    missing = [f for f in (C.CUSTOMER_ID, C.ORDER_DATE) if f not in used]
    if not has_amount and not has_qp:
        missing.append(C.AMOUNT)
    if missing:
        raise _missing_field_error(where, headers, missing)
    parsed = {used[f] for f in (C.ORDER_DATE, C.AMOUNT, C.QUANTITY, C.UNIT_PRICE) if f in used}
    scans = _scan_columns(raw, used, [h for h in headers if h not in parsed] if deferred else [])
    if deferred:
        raw = tidy_values(raw, list(scans["untidy"]), untidy=scans["untidy"])

    notes: list[tuple[str, str]] = list(combined.notes) + choice_notes
    comma_default = meta.delimiter == ";"
    n = raw.height
    row_no = combined.rows

    ids, ids_float = clean_ids(raw[used[C.CUSTOMER_ID]].cast(pl.String), marker=scans["id_marker"])
    if ids_float:
        notes.append((
            "Customer ids were whole numbers stored with a decimal part (like 12346.0); the "
            "trailing .0 was removed.",
            "客户编号是带小数部分的整数（如 12346.0），已去掉末尾的 .0。",
        ))
    dates = parse_dates(
        raw[used[C.ORDER_DATE]], column=used[C.ORDER_DATE], date_order=date_order, date1904=meta.date1904
    )
    dates, fallback_note = _created_time_fallback(
        raw, dates, used, headers, cancelled=cancelled, date_order=date_order, date1904=meta.date1904
    )
    if fallback_note:
        notes.append(fallback_note)
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
            raise _missing_field_error(where, headers, [C.AMOUNT])
        amounts = _product(qty, price)
        amount_source = "quantity_x_unit_price"
        notes.append((
            f"The file has no amount column, so each row's amount is “{used[C.QUANTITY]}” × "
            f"“{used[C.UNIT_PRICE]}”.",
            f"文件中没有金额列，每行金额按“{used[C.QUANTITY]}”×“{used[C.UNIT_PRICE]}”计算。",
        ))
    flipped, flip_notes = _cancellations(raw, used, scans.get("c_invoices", 0))
    notes.extend(flip_notes)
    amount_values = amounts.values
    if flipped is not None:
        amount_values = pl.select(
            pl.when(flipped).then(-pl.lit(amount_values).abs()).otherwise(pl.lit(amount_values))
        ).to_series()

    has_order_id = C.ORDER_ID in used
    dup_policy = duplicates or ("drop" if has_order_id else "keep")
    status_col = _find_header(headers, _STATUS_HEADERS, used)
    code_col = _find_header(headers, _CODE_HEADERS, used)
    desc_col = _find_header(headers, _DESCRIPTION_HEADERS, used)
    originals = [pl.col(h) for h in headers]
    flag_exprs = [
        pl.all_horizontal(*[c.is_null() for c in originals]).alias("empty"),
        pl.lit(_repeated_rows(raw, used.get(C.ORDER_ID))).alias("dup"),
    ]
    if status_col is not None:
        flag_exprs.append(
            pl.col(status_col).cast(pl.String).str.to_lowercase().str.strip_chars().is_in(EXCLUDED_STATUSES).fill_null(False).alias("status")
        )
    else:
        flag_exprs.append(pl.lit(False).alias("status"))
    np_expr = pl.lit(False)
    if code_col is not None:
        # One-letter codes (M, D, S, B) are Online Retail's StockCode convention; in a generic
        # SKU column they may well be sizes, so only the spelled-out codes count there.
        codes = NON_PRODUCT_CODES if _norm(code_col) == "stockcode" else tuple(c for c in NON_PRODUCT_CODES if len(c) > 2)
        np_expr = np_expr | pl.col(code_col).cast(pl.String).str.to_uppercase().is_in(codes).fill_null(False)
    if desc_col is not None:
        np_expr = np_expr | pl.col(desc_col).cast(pl.String).str.to_uppercase().is_in(_NON_PRODUCT_DESCRIPTIONS).fill_null(False)
    flag_exprs.append(np_expr.alias("nonproduct"))
    flags = raw.select(flag_exprs)
    # Rows of a join's base table that found no match in some joined table (no join: none).
    unmatched = pl.lit(combined.unmatched.is_not_null()) if combined.unmatched is not None else pl.lit(False)
    reason = (
        pl.when(pl.col("empty")).then(pl.lit("empty_row"))
        .when(pl.col("dup") & pl.lit(dup_policy == "drop")).then(pl.lit("duplicate_row"))
        # Status before missing values: an unpaid order has no payment time, and "not a sale"
        # is the reason a marketer needs to read.
        .when(pl.col("status") & pl.lit(cancelled == "drop")).then(pl.lit("cancelled_order"))
        # A payment whose order is not in the orders file lacks the customer for that reason.
        .when(unmatched & (pl.col("id").is_null() | pl.col("date_missing")))
        .then(pl.lit("no_join_match"))
        .when(pl.col("id").is_null()).then(pl.lit("missing_customer_id"))
        .when(pl.col("date_missing")).then(pl.lit("missing_date"))
        .when(pl.col("date_bad")).then(pl.lit("bad_date"))
        .when(pl.col("amount_missing")).then(pl.lit("missing_amount"))
        .when(pl.col("amount_bad")).then(pl.lit("bad_amount"))
        .when(pl.col("nonproduct") & pl.lit(non_product == "drop")).then(pl.lit("non_product"))
    )
    calc = pl.DataFrame({
        "row": row_no,
        "empty": flags["empty"],
        "dup": flags["dup"],
        "status": flags["status"],
        "nonproduct": flags["nonproduct"],
        "id": ids,
        "date": dates.values,
        "date_missing": dates.missing,
        "date_bad": dates.bad,
        "amount": amount_values,
        "amount_missing": amounts.missing,
        "amount_bad": amounts.bad,
    }).with_columns(reason.alias("reason"))
    if combined.part is not None:
        calc = calc.with_columns(combined.part.alias("table"))

    dropped, examples = _drop_summary(calc, raw, used)
    dropped_money = {
        r: _money(calc["amount"], calc["reason"] == r) for r in dropped
    }
    keep = calc["reason"].is_null()
    rows_kept = int(keep.sum())
    if rows_kept == 0:
        raise _nothing_left(where, n, dropped, examples, used)

    # Usually nothing is dropped; filtering would still copy every column of the file.
    kept_raw, kept = (raw, calc) if rows_kept == n else (raw.filter(keep), calc.filter(keep))
    order_ids, order_notes = _order_ids(kept, kept_raw, used, scans.get("order_absent") if rows_kept == n else None)
    notes.extend(order_notes)
    amount = kept["amount"]

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
        out_cols[new] = kept_raw[h].cast(pl.String).alias(new)
    tx = pl.DataFrame([s.alias(k) for k, s in out_cols.items()])

    notes[:0] = _value_notes(amounts, dates, amount_source, meta)
    stats = tx.select(
        (pl.col(C.AMOUNT) < 0).sum().alias("returns"),
        (pl.col(C.AMOUNT) == 0).sum().alias("zero"),
        pl.col(C.ORDER_DATE).min().alias("first"),
        pl.col(C.ORDER_DATE).max().alias("last"),
    ).row(0, named=True)

    # Identical rows: counted whichever way the policy goes, so the user can judge the switch.
    dup_rows = calc.filter(pl.col("dup") & ~pl.col("empty"))
    identical = {
        "policy": dup_policy,
        "rows": dup_rows.height,
        "money": _money(dup_rows["amount"]),
        "reason": "order_id" if has_order_id else "no_order_id",
    }
    if dup_rows.height and dup_policy == "drop":
        k = dropped.get("duplicate_row", 0)
        notes.append((
            f"{_rows(k)} {'was an exact copy' if k == 1 else 'were exact copies'} of an earlier row "
            f"(worth {identical['money']:,.2f}; usually an export glitch when orders have numbers) and dropped.",
            f"{k:,} 行与前面某一行完全相同（金额 {identical['money']:,.2f}；有订单号时通常是导出重复），已删除。",
        ))
    elif dup_rows.height:
        k = dup_rows.height
        notes.append((
            f"{_rows(k)} {'is identical' if k == 1 else 'are identical'} to an earlier row (worth "
            f"{identical['money']:,.2f}); kept, because "
            + ("without an order number every row is a purchase." if not has_order_id else "you chose to keep them."),
            f"{k:,} 行与前面某一行完全相同（金额 {identical['money']:,.2f}），已保留，因为"
            + ("没有订单号时每一行都是一次购买。" if not has_order_id else "您选择了保留。"),
        ))

    status_info: dict[str, Any] = {}
    if status_col is not None:
        hit = raw.filter(flags["status"]).group_by(status_col).len().sort("len", descending=True)
        status_info = {
            "column": status_col,
            "policy": cancelled,
            "rows": int(flags["status"].sum()),
            "money": _money(calc["amount"], flags["status"]),
            "values": {str(v): int(c) for v, c in hit.iter_rows()},
        }
        if status_info["rows"]:
            vals = ", ".join(f"“{v}” {c:,}" for v, c in status_info["values"].items())
            vals_zh = "，".join(f"“{v}” {c:,} 行" for v, c in status_info["values"].items())
            notes.append((
                f"The status column “{status_col}” marks {_rows(status_info['rows'])} as not sales ({vals}); "
                + ("left out." if cancelled == "drop" else "kept, as you chose."),
                f"状态列“{status_col}”中有 {status_info['rows']:,} 行不是成交（{vals_zh}），"
                + ("已剔除。" if cancelled == "drop" else "按您的选择保留。"),
            ))
    np_info: dict[str, Any] = {}
    if code_col is not None or desc_col is not None:
        np_mask = flags["nonproduct"]
        label_col = code_col or desc_col
        hit = raw.filter(np_mask).group_by(label_col).len().sort("len", descending=True)
        np_info = {
            "column": label_col,
            "policy": non_product,
            "rows": int(np_mask.sum()),
            "money": _money(calc["amount"], np_mask),
            "codes": {str(v): int(c) for v, c in hit.iter_rows()},
        }
        if np_info["rows"]:
            codes = ", ".join(f"“{v}”" for v in list(np_info["codes"])[:10])
            notes.append((
                f"{_rows(np_info['rows'])} (worth {np_info['money']:,.2f}) are postage, fees or adjustments, "
                f"not products ({codes}); "
                + ("left out, as you chose." if non_product == "drop" else "kept in customer spend; you can leave them out."),
                f"{np_info['rows']:,} 行（金额 {np_info['money']:,.2f}）是运费、手续费或调整，不是商品（{codes}），"
                + ("已按您的选择剔除。" if non_product == "drop" else "已计入客户消费，可选择剔除。"),
            ))

    # The text as read is not needed any more: release it before the last passes over the
    # customers (on a 10M-row CSV, the date and amount strings alone are ~600 MB).
    money_read = _money(calc["amount"])
    joins = tuple(s.to_dict() for s in combined.joins)
    del tables, combined, raw, kept_raw, calc, kept
    # Customers counted on 64-bit hashes of their ids: grouping millions of id strings was a
    # third of a 10M-row load. Two different ids share a hash with probability ~n^2/2^65
    # (1e-7 for 2M customers), which could only make this report's count one lower; no
    # customer table uses it.
    # Customers who only returned goods: only those with a return row need a look, and on
    # hashes again (a group-by over 2M id strings was ~0.5 s of a 10M-row load). A collision
    # could only hide one such customer from this note; the customer table never uses it.
    hashed = tx.select(pl.col(C.CUSTOMER_ID).hash(ORDER_HASH_SEED).alias("h"), pl.col(C.AMOUNT).alias("a"))
    returners = hashed.filter(pl.col("a") < 0).get_column("h").unique()
    # Both full passes in one select, so they run side by side.
    counted = hashed.select(
        pl.col("h").n_unique().alias("customers"),
        pl.col("h").filter((pl.col("a") > 0) & pl.col("h").is_in(returners.implode())).unique().implode().alias("bought"),
    )
    n_customers = int(counted["customers"].item())
    only_ids = returners.filter(~returners.is_in(counted["bought"]))
    only_net = _money(hashed["a"], hashed["h"].is_in(only_ids.implode())) if len(only_ids) else 0.0
    if len(only_ids):
        k = len(only_ids)
        notes.append((
            f"{k:,} customer{'s' if k != 1 else ''} only returned goods in this file (no purchase in it, "
            f"net {only_net:,.2f}); their rows are kept, but without a purchase they are "
            "not in the customer table or any tier.",
            f"{k:,} 位客户在此文件中只有退货、没有购买（净额 {only_net:,.2f}）；"
            "这些行已保留，但没有购买的客户不进入客户表，也不分层。",
        ))
    money_kept = _money(tx[C.AMOUNT])
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
        customers=n_customers,
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
        money_read=money_read,
        money_kept=money_kept,
        dropped_money=dropped_money,
        identical_rows=identical,
        statuses=status_info,
        non_product_lines=np_info,
        returns_only_customers=len(only_ids),
        returns_only_money=only_net,
        column_choices=choices,
        parts=tuple(meta.parts),
        joins=joins,
        has_header=meta.has_header,
    )
    return tx, report


# ---------------------------------------------------------------------------------------------
# Helpers


def _repeated_rows(raw: pl.DataFrame, order: str | None = None) -> pl.Series:
    """True for each row that is an exact copy of an earlier row.

    Comparing whole rows is ~2 s per million rows; a 64-bit hash per row is ~10x cheaper, and
    rows whose hash occurs once are certainly unique. Only the (few) rows sharing a hash are
    compared in full, so a hash collision can never drop a real row. The shared hashes are
    found by sorting and comparing neighbours: on 10M rows that is about half the time of
    ``is_duplicated``, whose hash table of 10M entries misses the CPU cache. ``order`` names
    the order-number column, if any: copies of a row share its order number, so when no two
    rows do, no row is a copy.
    """
    if raw.height == 0:
        return pl.Series("dup", [], dtype=pl.Boolean)
    if order is not None and all_distinct(raw[order]):
        return pl.repeat(False, raw.height, eager=True).alias("dup")
    # ~40% cheaper than hashing a struct of all columns. Sorted in place and compared with
    # itself one step on (slices share memory): no other copy of 10M hashes is made.
    ordered = raw.hash_rows(ORDER_HASH_SEED).sort(in_place=True)
    same = ordered.slice(1) == ordered.slice(0, raw.height - 1)
    if not same.any():
        return pl.repeat(False, raw.height, eager=True).alias("dup")
    repeated = ordered.slice(1).filter(same).unique()
    del ordered
    shared = raw.hash_rows(ORDER_HASH_SEED).is_in(repeated.implode())  # hashed again: rarely needed
    idx = pl.arg_where(shared, eager=True)
    # Filtering keeps row order, and every copy of a row shares its hash, so "first of its kind"
    # within the subset is "first of its kind" in the file.
    repeated = ~raw.filter(shared).select(pl.struct(pl.all()).is_first_distinct()).to_series()
    return pl.repeat(False, raw.height, eager=True).scatter(idx, repeated).alias("dup")


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
    if calc["reason"].null_count() == calc.height:  # nothing dropped (known without a pass)
        return {}, {}
    counts = calc.group_by("reason").len().drop_nulls("reason")
    by_reason = dict(counts.iter_rows())
    dropped = {r: int(by_reason[r]) for r in REASONS if by_reason.get(r)}
    shown = [h for f, h in used.items() if f in (C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT, C.QUANTITY, C.UNIT_PRICE, C.ORDER_ID)]
    examples: dict[str, tuple[dict[str, Any], ...]] = {}
    if not dropped:
        return dropped, examples
    lead = ["table", "row", "reason"] if "table" in calc.columns else ["row", "reason"]
    with_reason = pl.concat([calc.select(lead), raw.select(pl.col(shown).cast(pl.String))], how="horizontal")
    sample = with_reason.filter(pl.col("reason").is_not_null()).group_by("reason", maintain_order=True).head(
        _EXAMPLES_PER_REASON
    )
    for reason in dropped:
        rows = sample.filter(pl.col("reason") == reason).drop("reason")
        if reason == "empty_row":
            rows = rows.select(lead[:-1])
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
        "the file holds transactions.",
        code="no_usable_rows", params={"name": name, "rows": n, "reason": main, "where": column or ""},
    )


_C_INVOICE = r"^[Cc]\d+$"


def _scan_columns(raw: pl.DataFrame, used: dict[str, str], to_tidy: Sequence[str]) -> dict[str, Any]:
    """The load's questions about whole text columns, asked of the values as read.

    Each is a rare event (:func:`rare_matches`), and the patterns allow spaces around a value,
    so the answers hold for the tidied values too. Keys: ``untidy`` (column -> whether tidying
    ``to_tidy``'s text columns changes anything), ``id_marker`` (any customer id is a null
    marker) and, with an order id, ``c_invoices`` ("C" + number) and ``order_absent`` (rows
    without an order id).
    """
    cust, order = used[C.CUSTOMER_ID], used.get(C.ORDER_ID)
    checks: dict[str, dict[str, str]] = {c: {"untidy": UNTIDY} for c in text_columns(raw, to_tidy)}
    checks.setdefault(cust, {})["marker"] = NULL_MARKER
    if order is not None:
        checks.setdefault(order, {}).update(marker=NULL_MARKER, c=r"^\s*[Cc]\d+\s*$")
    found = rare_matches(raw, checks)
    scans: dict[str, Any] = {
        "untidy": {c: bool(found[c]["untidy"]) for c in text_columns(raw, to_tidy)},
        "id_marker": bool(found[cust]["marker"]),
    }
    if order is not None:
        scans["c_invoices"] = found[order]["c"]
        scans["order_absent"] = raw[order].null_count() + found[order]["marker"]
    return scans


def _cancellations(
    raw: pl.DataFrame, used: dict[str, str], n_c: int
) -> tuple[pl.Series | None, list[tuple[str, str]]]:
    """Online-Retail style cancellations: invoice numbers written as "C" + number (``n_c`` of them).

    The rule needs plain numeric invoices next to the C ones, so ids like "CN2024..." on every
    row are never mistaken for cancellations.
    """
    if C.ORDER_ID not in used:
        return None, []
    raw_ids = raw[used[C.ORDER_ID]].cast(pl.String)
    # The plain numbers are looked for, and the mask built, only when there are "C" invoices.
    if n_c and n_c * 2 < len(raw_ids) and raw_ids.str.contains(r"^\d+$").any():
        is_c = raw_ids.str.contains(_C_INVOICE).fill_null(False)
        return is_c, [(
            f"{_rows(n_c)} {'has an invoice number' if n_c == 1 else 'have invoice numbers'} starting "
            "with “C” (cancellations); their amounts count as negative.",
            f"{n_c:,} 行的单号以“C”开头（取消的订单），金额按负数计。",
        )]
    return None, []


def _order_ids(
    kept: pl.DataFrame, kept_raw: pl.DataFrame, used: dict[str, str], n_absent: int | None
) -> tuple[pl.Series, list[tuple[str, str]]]:
    """The order ids of the kept rows; ``n_absent``, rows without one, when known."""
    # An expression, so the row-number text (~0.3 s on 10M rows) is only built where it is used.
    synthetic = pl.lit("row-") + pl.lit(kept["row"]).cast(pl.String)
    if "table" in kept.columns:
        # Row numbers restart in every sheet or file, so the table keeps synthetic ids apart.
        synthetic = pl.lit("row-") + pl.lit(kept["table"]) + pl.lit("-") + pl.lit(kept["row"]).cast(pl.String)
    notes: list[tuple[str, str]] = []
    if C.ORDER_ID not in used:
        ids = pl.select(synthetic).to_series()
        notes.append((
            "The file has no order number column, so each row counts as one order.",
            "文件中没有订单号列，每一行视为一笔订单。",
        ))
        return ids.alias(C.ORDER_ID), notes
    raw_ids = kept_raw[used[C.ORDER_ID]].cast(pl.String)
    if n_absent == 0:
        return raw_ids.alias(C.ORDER_ID), notes
    absent = pl.select(is_missing(pl.lit(raw_ids))).to_series()
    n_absent = int(absent.sum())
    if not n_absent:
        return raw_ids.alias(C.ORDER_ID), notes  # the synthetic ids are built only when needed
    ids = pl.select(pl.when(absent).then(synthetic).otherwise(pl.lit(raw_ids))).to_series()
    if n_absent:
        notes.append((
            f"{_rows(n_absent)} {'has' if n_absent == 1 else 'have'} no order number; each counts as its own order.",
            f"{n_absent:,} 行没有订单号，每行各算一笔订单。",
        ))
    return ids.alias(C.ORDER_ID), notes


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


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
