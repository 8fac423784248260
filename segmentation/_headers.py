"""Header names: the known names of each field and how headers are compared (private helper
shared by the transaction loader, ``ingest``, and the customer-table loader, ``customers``)."""

from __future__ import annotations

import re
import unicodedata

from . import columns as C

# Known headers per field, compared after norm(); earlier entries win when several match.
SYNONYMS: dict[str, tuple[str, ...]] = {
    C.CUSTOMER_ID: (
        "customerid", "customerno", "customernumber", "customercode", "custid", "clientid",
        "memberid", "userid", "buyerid", "accountid", "customer", "client", "member", "user",
        "客户id", "客户编号", "客户号", "客户代码", "会员id", "会员编号", "会员号", "会员卡号",
        "用户id", "用户编号", "买家id", "顾客id", "顾客编号", "买家会员名", "会员名", "买家昵称",
        "客户", "会员", "用户", "买家", "顾客",
    ),
    C.ORDER_ID: (
        "orderid", "orderno", "ordernumber", "invoiceno", "invoicenumber", "invoiceid", "invoice",
        "transactionid", "transactionno", "receiptno", "receiptid", "order",
        "订单号", "订单编号", "订单id", "交易单号", "交易号", "交易编号", "流水号", "小票号", "单号", "订单",
    ),
    # Payment time before creation time: an order created and never paid is not a purchase date.
    C.ORDER_DATE: (
        "orderdate", "invoicedate", "ordertime", "orderdatetime", "purchasedate", "purchasetime",
        "orderpurchasetimestamp", "transactiondate", "transactiontime", "paymentdate", "paymenttime",
        "paidat", "createdat", "date", "datetime", "timestamp", "time",
        "订单日期", "订单付款时间", "付款时间", "支付时间", "下单时间", "下单日期", "交易日期", "交易时间",
        "支付日期", "购买日期", "购买时间", "消费日期", "消费时间", "订单时间", "成交时间", "订单创建时间",
        "创建时间", "日期", "时间",
    ),
    # What was paid before list prices: 实付金额 / 买家实际支付金额 over 总金额 / 应付金额.
    C.AMOUNT: (
        "amount", "revenue", "sales", "paidamount", "amountpaid", "totalpaid", "paymentvalue",
        "netamount", "salesamount", "total", "totalamount", "ordertotal", "orderamount",
        "ordervalue", "paymentamount", "payment", "gmv", "dollarvalue", "value",
        "金额", "实付金额", "买家实际支付金额", "实际支付金额", "实付款", "实收金额", "支付金额", "付款金额",
        "成交金额", "订单金额", "消费金额", "销售额", "交易金额", "销售金额",
        "总金额", "合计金额", "应付金额", "买家应付货款",
    ),
    C.QUANTITY: ("quantity", "qty", "units", "数量", "购买数量", "商品数量", "件数", "销量"),
    C.UNIT_PRICE: ("unitprice", "price", "itemprice", "单价", "商品单价", "成交单价", "价格", "售价"),
}


def norm(header: str) -> str:
    text = unicodedata.normalize("NFKC", str(header)).lower()
    text = re.sub(r"[(\[【].*?[)\]】]", "", text)  # "Amount (USD)", "金额（元）" after NFKC
    return re.sub(r"[\s_\-./#:·]+", "", text)


def match_header(wanted: str, headers: list[str]) -> str | None:
    if wanted in headers:
        return wanted
    stripped = [h for h in headers if h.strip() == wanted.strip()]
    if len(stripped) == 1:
        return stripped[0]
    loose = [h for h in headers if norm(h) == norm(wanted)]
    return loose[0] if len(loose) == 1 else None


def clip(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header_list(headers: list[str], limit: int = 30) -> str:
    shown = ", ".join(f"“{clip(h, 60)}”" for h in headers[:limit]) or "none"
    return shown if len(headers) <= limit else f"{shown} and {len(headers) - limit:,} more"


def rows_text(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"
