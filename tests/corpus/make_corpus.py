"""Write the messy-file corpus used by tests/test_ingest.py.

The generated files are committed next to this script, so the tests never need to run it;
rerun it only to change the corpus (``python tests/corpus/make_corpus.py``), then update
EXPECTED.toml by hand. Text files are spelled out literally below; encodings, workbooks, Parquet
and binary files are produced from code because they cannot be written as plain text.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from pathlib import Path

import polars as pl
import xlsxwriter

HERE = Path(__file__).parent
FIXED_TIME = dt.datetime(2024, 1, 1, 0, 0, 0)


def text(name: str, content: str, encoding: str = "utf-8", newline: str = "\n") -> None:
    body = content.lstrip("\n").replace("\n", newline)
    (HERE / name).write_bytes(body.encode(encoding))


def raw(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def workbook(name: str, sheets: dict[str, list[list[object]]], *, date_1904: bool = False) -> None:
    """Write an .xlsx; datetime cells become native Excel dates, everything else as given."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"date_1904": date_1904, "in_memory": True})
    wb.set_properties({"created": FIXED_TIME})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    datetime_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for sheet_name, rows in sheets.items():
        ws = wb.add_worksheet(sheet_name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, dt.datetime):
                    fmt = datetime_fmt if value.time() != dt.time(0) else date_fmt
                    ws.write_datetime(r, c, value, fmt)
                elif isinstance(value, str):
                    ws.write_string(r, c, value)
                else:
                    ws.write_number(r, c, value)
    wb.close()
    raw(name, buf.getvalue())


def main() -> None:
    # --- plain text, encodings -------------------------------------------------------------
    text("utf8_basic.csv", """
customer_id,order_date,amount,order_id,channel
000123,2024-01-31,12.50,A1,web
000123,2024-02-15,7.5,A2,store
0042,2024-03-01,100,A3,web
,2024-03-02,5,A4,web
A-17,2024-03-03,0,A5,app
""")
    text("utf8_bom_chinese.csv", """
客户ID,订单日期,金额,订单号
C001,2024-01-05,199.00,D1001
C002,2024-01-06,88.5,D1002
C001,2024-02-10,-20,D1003
""", encoding="utf-8-sig", newline="\r\n")
    text("gbk_chinese.csv", """
客户编号,下单时间,实付金额,渠道,城市
会员0001,2024-01-05 10:30:00,￥199.00,天猫,北京
会员0002,2024-01-06 21:05:00,￥88.50,京东,上海
会员0001,2024-02-10 09:00:00,"￥1,288.00",天猫,广州
""", encoding="gbk")
    text("gb18030_rare_chars.csv", """
客户,日期,金额,门店
张𠮷,2024/1/5,30,𠮷野家·一号店
李䶮,2024/1/6,45,㐂福店
张𠮷,2024/2/7,12.5,𠮷野家·一号店
""", encoding="gb18030")
    text("utf16_bom_tab.txt", """
Customer ID\tInvoiceDate\tRevenue
u1\t2024-01-05\t10
u2\t2024-01-06\t20.25
""", encoding="utf-16")
    text("utf16le_nobom.csv", """
user_id,date,total
n1,2024-05-01,3
n2,2024-05-02,4
""", encoding="utf-16-le")
    text("cp1252_european.csv", """
customer_id;order_date;amount;city
müller;31.01.2024;€1.234,50;Köln
dupré;15.02.2024;12,5;Besançon
""", encoding="cp1252")
    # Every byte pair here is also valid GBK ("Müller" would read as "M黮ler"): the file is
    # decodable both ways and the detector must pick the Western reading.
    text("cp1252_also_valid_gbk.csv", """
customer_id;order_date;amount;city
Müller;2024-01-01;5;München
Gößl;2024-01-02;6;Düsseldorf
""", encoding="cp1252")
    (HERE / "undecodable.csv").write_bytes(b"id,date,amount\n\x81\x20\x81,2024-01-01,5\n\x8d\x8f,2024-01-02,6\n")

    # --- delimiters ---------------------------------------------------------------------------
    text("tab_separated.tsv", """
member_id\torder_time\tSales\tregion
m1\t2024-01-01 08:00\t10.5\tnorth
m2\t2024-01-02 09:15\t20\tsouth
m1\t2024-01-03 18:40\t30\tnorth
""")
    text("semicolon_decimal_comma.csv", """
customer_id;order_date;amount
k1;31.01.2024;1.234,50
k2;01.02.2024;12,5
k1;15.02.2024;7
""")
    text("pipe_separated.txt", """
client_id|order_date|total|order_id
p1|2024-04-01|5.00|X1
p2|2024-04-02|6.00|X2
""")
    text("quoted_fields.csv", '''
customer_id,order_date,amount,address
q1,2024-01-01,10,"Beijing, Chaoyang"
q2,2024-01-02,20,"line one
line two"
q3,2024-01-03,"1,500.00","say ""hi"""
''')

    # --- dates ----------------------------------------------------------------------------------
    text("ambiguous_dates.csv", """
customer_id,order_date,amount
a1,03/04/2024,10
a2,05/06/2024,20
a1,01/02/2024,30
""")
    text("dmy_evident.csv", """
customer_id,order_date,amount
d1,03/04/2024,10
d2,25/12/2023,20
d1,01/02/2024,30
""")
    text("mdy_evident.csv", """
customer_id,order_date,amount
m1,03/04/2024,10
m2,12/25/2023,20
m1,01/02/2024,30
""")
    text("conflicting_dates.csv", """
customer_id,order_date,amount
x1,13/01/2024,10
x2,01/13/2024,20
""")
    text("compact_dates.csv", """
customer_id,order_date,amount
c1,20240131,10
c2,20240229,20
c3,20240230,30
""")
    text("chinese_dates.csv", """
客户,日期,金额
王一,2024年1月31日,100
王二,2024年2月5日,50
王一,2024年3月1日,20
""")
    text("chinese_datetime.csv", """
会员编号,支付时间,订单金额,订单编号
v1,2024年1月31日 13:45,100,S1
v2,2024年2月5日 08:00,50,S2
""")
    text("iso_datetimes.csv", """
customer_id,order_date,amount
t1,2024-01-31 13:45:00,10
t2,2024-01-31T08:05,20
t3,2024-02-01T23:59:59Z,30
""")
    text("mixed_formats.csv", """
customer_id,order_date,amount
f1,2024-01-31,1
f2,2024/2/1,2
f3,20240202,3
f4,2024年2月3日,4
f5,2024.02.04,5
""")
    text("us_ampm.csv", """
customer_id,order_date,amount
p1,1/31/2024 1:45 PM,10
p2,2/1/2024 12:10 AM,20
p3,2/2/2024 11:00 am,30
""")
    text("month_names.csv", """
customer_id,order_date,amount
n1,31 Jan 2024,10
n2,"Feb 5, 2024",20
n3,7-Mar-2024,30
""")
    text("all_dates_bad.csv", """
customer_id,order_date,amount
b1,yesterday,10
b2,soon,20
b3,2024-13-45,30
""")
    text("serial_dates.csv", """
customer_id,order_date,amount
s1,45322,10
s2,45323.5,20
""")

    # --- online-retail style ------------------------------------------------------------------
    text("online_retail_sample.csv", """
InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850.0,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047.0,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047.0,United Kingdom
C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527.0,United Kingdom
C536383,35004C,SET OF 3 COLOURED  FLYING DUCKS,1,12/1/2010 9:49,4.65,15311.0,United Kingdom
536414,22139,,56,12/1/2010 11:52,0,,United Kingdom
536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,12/13/2010 14:32,2.51,,United Kingdom
""")

    # --- amounts and currencies -------------------------------------------------------------------
    text("currency_cny.csv", """
客户ID,交易日期,交易金额
y1,2024-01-01,"¥1,234.50"
y2,2024-01-02,￥66
y3,2024-01-03,88元
y4,2024-01-04,RMB 100
y5,2024-01-05,CNY5.5
""")
    text("currency_eur.csv", """
customer_id;order_date;amount
e1;2024-01-01;€1.234,50
e2;2024-01-02;1 234,50 €
e3;2024-01-03;EUR 3,00
""")
    text("currency_usd_negatives.csv", """
customer_id,order_date,amount
u1,2024-01-01,"$2,000"
u2,2024-01-02,(12.00)
u3,2024-01-03,-$5.00
u4,2024-01-04,$0.00
u5,2024-01-05,USD 7.25
""")
    text("mixed_currencies.csv", """
customer_id,order_date,amount
m1,2024-01-01,$10
m2,2024-01-02,¥20
m3,2024-01-03,30
""")
    text("bad_numbers.csv", """
customer_id,order_date,amount
g1,2024-01-01,10
g2,2024-01-02,abc
g3,2024-01-03,12..5
g4,2024-01-04,
g5,2024-01-05,nan
g6,2024-01-06,inf
g7,2024-01-07,-0.5
""")
    text("nan_inf_only.csv", """
customer_id,order_date,amount
h1,2024-01-01,nan
h2,2024-01-02,inf
h3,2024-01-03,-inf
""")
    text("returns_and_zero.csv", """
customer_id,order_date,amount,order_id
r1,2024-01-01,100,O1
r1,2024-01-05,-30,O2
r2,2024-01-02,0,O3
r2,2024-01-03,50,O4
r3,2024-01-04,0.0,O5
""")
    text("qty_price_only.csv", """
客户编号,订单日期,数量,单价,商品
q1,2024-01-01,2,9.9,笔记本
q2,2024-01-02,1,"1,299",手机
q1,2024-01-03,3,,笔
""")
    text("no_amount.csv", """
customer_id,order_date,channel
n1,2024-01-01,web
n2,2024-01-02,app
""")

    # --- ids, duplicates, missing -----------------------------------------------------------------
    text("float_ids.csv", """
CustomerID,InvoiceDate,Revenue
12346.0,2024-01-01,10
12347.0,2024-01-02,20
12346.0,2024-01-03,30
""")
    text("mixed_ids_keep_suffix.csv", """
customer_id,order_date,amount
12346.0,2024-01-01,10
AB-1,2024-01-02,20
""")
    text("duplicates.csv", """
customer_id,order_date,amount,order_id
d1,2024-01-01,10,O1
d1,2024-01-01,10,O1
d2,2024-01-02,20,O2
d1,2024-01-01,10,O1
d2,2024-01-02,20,O3
""")
    text("missing_ids.csv", """
customer_id,order_date,amount
,2024-01-01,1
nan,2024-01-02,2
NULL,2024-01-03,3
NA,2024-01-04,4
  ,2024-01-05,5
ok1,2024-01-06,6
none,2024-01-07,7
""")
    text("odd_headers.csv", """
  CUSTOMER_ID ,Order  Date,AMOUNT (USD), order-id ,Region
o1,2024-01-01,10,X1,east
o2,2024-01-02,20,X2,west
""")
    text("mapping_override.csv", """
cust,when,paid,note
w1,2024-01-01,10,first
w2,2024-01-02,20,second
""")
    text("extras_collision.csv", """
Customer,Date,Revenue,amount,channel
z1,2024-01-01,10,999,web
z2,2024-01-02,20,998,app
""")
    text("title_preamble.csv", """
Sales export 2024,,,
Generated by the shop system,,,

customer_id,order_date,amount,order_id
t1,2024-01-01,10,O1
t2,2024-01-02,20,O2
""")
    text("blank_lines_trailing_commas.csv", """
customer_id,order_date,amount,,

b1,2024-01-01,10,,
,,,,
b2,2024-01-02,20,,

""")

    # --- refusals: not tables ---------------------------------------------------------------------
    raw("empty.csv", b"")
    raw("whitespace_only.csv", b"  \n\n \r\n")
    text("header_only.csv", "customer_id,order_date,amount\n")
    text("one_column.csv", """
customer_id
c1
c2
c3
""")
    text("prose.csv", """
Dear team, please find attached the numbers for last quarter.
We saw growth in the north, the east and, surprisingly, the west.
Thanks!
Best regards, Li
""")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    raw("image_renamed.csv", png + bytes(range(256)))
    raw("photo_renamed.csv", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(200))
    raw("document_renamed.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    raw("fake.xlsx", b"This is not a spreadsheet, just a note someone renamed.")
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("readme.txt", date_time=(2024, 1, 1, 0, 0, 0)), "hello")
    raw("zip_not_workbook.xlsx", zbuf.getvalue())
    raw("html_saved_as.xls", b"<html><body><table><tr><td>id</td><td>amount</td></tr></table></body></html>")
    rng = random.Random(20240131)
    raw("binary_junk.bin", bytes(rng.randrange(256) for _ in range(4096)))

    # --- Parquet ------------------------------------------------------------------------------------
    typed = pl.DataFrame({
        "customer_id": ["000123", "000124", "000123"],
        "order_date": [dt.date(2024, 1, 31), dt.date(2024, 2, 1), dt.date(2024, 2, 2)],
        "amount": [12.5, 20.0, -2.5],
        "store": ["s1", "s2", "s1"],
    })
    buf = io.BytesIO()
    typed.write_parquet(buf)
    raw("typed.parquet", buf.getvalue())
    raw("truncated.parquet", buf.getvalue()[: len(buf.getvalue()) // 2])
    numeric = pl.DataFrame({
        "member_id": [1001, 1002],
        "order_time": [dt.datetime(2024, 3, 1, 10, 30), dt.datetime(2024, 3, 2, 0, 0)],
        "total": [5, 7],
    })
    buf = io.BytesIO()
    numeric.write_parquet(buf)
    raw("numeric_ids.parquet", buf.getvalue())

    # --- Excel ----------------------------------------------------------------------------------------
    workbook("excel_native_dates.xlsx", {"Orders": [
        ["客户编号", "下单时间", "实付金额", "订单号"],
        ["000123", dt.datetime(2024, 1, 31), 199.0, "D1"],
        ["000124", dt.datetime(2024, 2, 1), 88.5, "D2"],
        ["000123", dt.datetime(2024, 2, 29), 10, "D3"],
    ]})
    workbook("excel_datetimes.xlsx", {"Orders": [
        ["Customer ID", "Order Date", "Amount"],
        ["a", dt.datetime(2024, 1, 31, 13, 45), 10],
        ["b", dt.datetime(2024, 2, 1, 9, 0), 20],
    ]})
    workbook("excel_serial_numbers.xlsx", {"Sheet1": [
        ["customer_id", "order_date", "amount"],
        ["s1", 45322, 10],
        ["s2", 45323, 20],
    ]})
    workbook("excel_1904.xlsx", {"Sheet1": [
        ["customer_id", "order_date", "amount"],
        ["s1", dt.datetime(2024, 1, 31), 10],
        ["s2", 43861, 20],
    ]}, date_1904=True)
    workbook("excel_numeric_ids.xlsx", {"Sheet1": [
        ["CustomerID", "InvoiceDate", "Revenue"],
        [12346, dt.datetime(2024, 1, 1), 10],
        [12347, dt.datetime(2024, 1, 2), 20.5],
    ]})
    workbook("excel_title_rows.xlsx", {
        "说明": [["这个工作表只有说明文字"]],
        "数据": [
            ["2024 年销售明细"],
            [],
            ["会员ID", "交易日期", "销售额", "门店"],
            ["v1", "2024-01-01", 10, "一店"],
            ["v2", "2024-01-02", 20, "二店"],
        ],
    })
    workbook("excel_header_only.xlsx", {"Sheet1": [["customer_id", "order_date", "amount"]]})


def zipped(name: str, members: dict[str, bytes]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=zipfile.ZIP_DEFLATED)
    raw(name, buf.getvalue())


# Shaped like real public exports (column names, value formats, quirks), values made up and small
# enough to check by hand: Olist (Kaggle, CC BY-NC-SA), UCI Online Retail II, a Tmall seller
# export, CDNOW_master.txt, a Shopify-style orders export.
OLIST_CUSTOMERS = """
"customer_id","customer_unique_id","customer_zip_code_prefix","customer_city","customer_state"
"c1","u1","14409","franca","SP"
"c2","u1","14409","franca","SP"
"c3","u2","01151","sao paulo","SP"
"c4","u3","08775","mogi das cruzes","SP"
"c5","u3","08775","mogi das cruzes","SP"
"c6","u4","13056","campinas","SP"
"""
OLIST_ORDERS = """
"order_id","customer_id","order_status","order_purchase_timestamp","order_delivered_customer_date"
"o1","c1","delivered","2017-10-02 10:56:33","2017-10-10 21:25:13"
"o2","c2","delivered","2018-01-15 09:00:00","2018-01-25 10:00:00"
"o3","c3","delivered","2018-03-01 12:00:00","2018-03-09 15:00:00"
"o4","c4","canceled","2018-04-10 08:00:00",""
"o5","c5","delivered","2018-05-20 18:30:00","2018-05-28 12:00:00"
"o6","c6","unavailable","2018-06-01 11:00:00",""
"""
OLIST_PAYMENTS = """
"order_id","payment_sequential","payment_type","payment_installments","payment_value"
"o1",1,"credit_card",1,18.12
"o1",2,"voucher",1,2.00
"o2",1,"boleto",1,141.46
"o3",1,"credit_card",8,179.12
"o4",1,"credit_card",1,72.20
"o5",1,"credit_card",2,28.62
"o5",2,"voucher",1,28.62
"o6",1,"boleto",1,65.00
"o7",1,"voucher",1,10.00
"""


def real_exports() -> None:
    text("olist_customers.csv", OLIST_CUSTOMERS)
    text("olist_orders.csv", OLIST_ORDERS)
    text("olist_order_payments.csv", OLIST_PAYMENTS)
    zipped("olist.zip", {
        "olist_customers_dataset.csv": OLIST_CUSTOMERS.lstrip("\n").encode(),
        "olist_orders_dataset.csv": OLIST_ORDERS.lstrip("\n").encode(),
        "olist_order_payments_dataset.csv": OLIST_PAYMENTS.lstrip("\n").encode(),
    })
    # Tmall: 总金额 is the list price, 买家实际支付金额 what was paid; three orders were never paid.
    text("tmall_orders.csv", """
订单编号,买家会员名,买家应付货款,总金额,买家实际支付金额,订单状态,订单创建时间,订单付款时间,宝贝标题
T1001,tb_小明,199.00,199.00,179.00,交易成功,2024-03-01 10:00:00,2024-03-01 10:05:00,连衣裙
T1002,tb_小红,88.00,88.00,88.00,交易成功,2024-03-02 11:00:00,2024-03-02 11:01:00,T恤
T1003,tb_小明,299.00,299.00,0.00,交易关闭,2024-03-03 12:00:00,,外套
T1004,tb_阿强,59.00,59.00,0.00,交易关闭,2024-03-04 09:00:00,,袜子
T1005,tb_阿强,120.00,120.00,0.00,等待买家付款,2024-03-05 20:00:00,,帽子
T1006,tb_小红,450.00,450.00,400.00,交易成功,2024-03-06 08:00:00,2024-03-06 08:30:00,大衣
""", encoding="utf-8-sig")
    # CDNOW_master.txt: no header, no order id, columns aligned with spaces; two identical
    # same-day lines (customers 00002 and 00004) that are real repeat purchases.
    text("cdnow_master.txt", """
00001 19970101  1  11.77
00002 19970112  1  12.00
00002 19970112  1  12.00
00002 19970112  5  77.00
00003 19970102  2  20.76
00003 19970330  2  20.76
00003 19970402  2  19.54
00003 19971115  5  57.45
00003 19971125  4  20.96
00003 19980528  1  16.99
00004 19970101  2  29.33
00004 19970118  2  29.73
00004 19970118  2  29.73
00004 19970802  1  14.96
00004 19971212  2  26.48
00005 19970101  2  29.33
""")
    header = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
    t = dt.datetime
    workbook("online_retail_two_years.xlsx", {
        "Year 2009-2010": [
            header,
            ["489434", "85048", "15CM CHRISTMAS GLASS BALL 20 LIGHTS", 12, t(2009, 12, 1, 7, 45), 6.95, 13085, "United Kingdom"],
            ["489434", "79323P", "PINK CHERRY LIGHTS", 12, t(2009, 12, 1, 7, 45), 6.75, 13085, "United Kingdom"],
            ["489435", "POST", "POSTAGE", 1, t(2009, 12, 1, 7, 46), 18.0, 12682, "France"],
            ["C489449", "22087", "PAPER BUNTING WHITE LACE", -12, t(2009, 12, 1, 10, 33), 2.95, 16321, "Australia"],
            ["489436", "22111", "SCOTTIE DOG HOT WATER BOTTLE", 4, t(2009, 12, 1, 9, 6), 4.95, None, "United Kingdom"],
        ],
        "Year 2010-2011": [
            header,
            ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, t(2010, 12, 1, 8, 26), 2.55, 17850, "United Kingdom"],
            ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, t(2010, 12, 1, 8, 26), 2.55, 17850, "United Kingdom"],
            ["536366", "22633", "HAND WARMER UNION JACK", 6, t(2010, 12, 1, 8, 28), 1.85, 13085, "United Kingdom"],
            ["C536379", "D", "Discount", -1, t(2010, 12, 1, 9, 41), 27.5, 14527, "United Kingdom"],
            ["536380", "22961", "JAM MAKING SET PRINTED", 24, t(2010, 12, 1, 9, 45), 1.45, 14527, "United Kingdom"],
            ["536381", "M", "Manual", 1, t(2010, 12, 1, 10, 0), 0.85, 12682, "France"],
        ],
    })
    workbook("two_shops.xlsx", {
        "Shop A": [["customer_id", "order_date", "amount"], ["a1", t(2024, 1, 2), 10], ["a2", t(2024, 1, 3), 20]],
        "Shop B": [["member_id", "date", "total", "channel"], ["b1", t(2024, 2, 1), 5, "app"], ["b1", t(2024, 2, 9), 7, "web"]],
    })
    orders_csv = b"customer_id,order_date,amount,order_id\nz1,2024-05-01,30,Z1\nz2,2024-05-02,45.5,Z2\n"
    zipped("orders_in_zip.zip", {
        "export/orders.csv": orders_csv,
        "__MACOSX/export/._orders.csv": b"\x00\x05\x16\x07",
        "export/readme.txt": b"Exported from the shop.",
    })
    zipped("zip_bomb.zip", {"orders.csv": b"customer_id,order_date,amount\n" + b"0" * (3 * 1024 * 1024)})
    # Monthly exports with the same columns in another order; one line appears in both files.
    text("monthly_2024_01.csv", """
order_id,customer_id,order_date,amount
M1,k1,2024-01-05,100
M2,k2,2024-01-20,50
M3,k1,2024-01-31,25
""")
    text("monthly_2024_02.csv", """
customer_id,order_id,amount,order_date
k1,M3,25,2024-01-31
k2,M4,70,2024-02-14
k3,M5,15,2024-02-28
""")
    # Joining items onto orders would repeat each order's amount once per item line.
    text("fanout_orders.csv", """
order_id,customer_id,order_date,amount
F1,p1,2024-04-01,90
F2,p2,2024-04-02,40
""")
    text("fanout_items.csv", """
order_id,sku,qty
F1,S-1,1
F1,S-2,2
F2,S-3,1
""")
    text("shopify_orders.csv", """
Order Number,Customer ID,Financial Status,Paid at,Total
1001,8001,paid,2024-06-01 10:00:00 +0800,35.00
1002,8002,refunded,2024-06-02 11:00:00 +0800,80.00
1003,8001,paid,2024-06-05 09:30:00 +0800,42.50
1004,8003,voided,2024-06-06 16:00:00 +0800,12.00
1005,8003,partially_refunded,2024-06-07 12:00:00 +0800,60.00
""")


if __name__ == "__main__":
    main()
    real_exports()
