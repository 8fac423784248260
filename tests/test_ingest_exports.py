"""Real exports (issue #12): several tables, archives, identical rows, statuses, column choice.

Numbers are checked against computations written from the definitions, straight from the
corpus files: DuckDB SQL for the Olist join, plain Python for CDNOW and Tmall.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import zipfile
from collections import defaultdict
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation import columns as C
from segmentation import rfm_table
from segmentation.combine import join_tables, stack_tables, suggest_join_keys
from segmentation.errors import DataError
from segmentation.ingest import detect_columns, list_tables, load_transactions, read_table

CORPUS = Path(__file__).parent / "corpus"
OLIST = [CORPUS / "olist_orders.csv", CORPUS / "olist_order_payments.csv", CORPUS / "olist_customers.csv"]


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Olist: three files joined, the person is customer_unique_id


def test_olist_per_person_rfm_matches_sql_on_the_three_files() -> None:
    tx, report = load_transactions(OLIST)
    as_of = dt.date(2018, 6, 1)
    rfm = rfm_table(tx, as_of=as_of).sort(C.CUSTOMER_ID)
    sql = f"""
        SELECT c.customer_unique_id AS customer_id,
               date_diff('day', max(CAST(o.order_purchase_timestamp AS DATE)), DATE '{as_of}') AS recency_days,
               count(DISTINCT p.order_id) FILTER (WHERE p.payment_value > 0) AS frequency,
               sum(p.payment_value) AS monetary
        FROM read_csv('{OLIST[1]}') p
        JOIN read_csv('{OLIST[0]}', all_varchar = true) o USING (order_id)
        JOIN read_csv('{OLIST[2]}', all_varchar = true) c USING (customer_id)
        WHERE o.order_status NOT IN ('canceled', 'unavailable')
        GROUP BY 1 ORDER BY 1
    """
    expected = duckdb.sql(sql).fetchall()
    got = rfm.select(C.CUSTOMER_ID, "recency_days", "frequency", "monetary").rows()
    assert [(c, int(r), int(f)) for c, r, f, _ in got] == [(c, int(r), int(f)) for c, r, f, _ in expected]
    assert [m for *_, m in got] == pytest.approx([m for *_, m in expected])
    # The repeat buyer u1 (two orders under two per-order customer_ids) is one person with two purchases.
    assert rfm.filter(pl.col(C.CUSTOMER_ID) == "u1")["frequency"].item() == 2
    choice = report.column_choices[C.CUSTOMER_ID]
    assert (choice["column"], choice["how"], choice["runner_up"]) == ("customer_unique_id", "repeats", "customer_id")
    assert "one-to-one" in choice["why"] and "一一对应" in choice["why_zh"]
    assert [j["rows_matched"] for j in report.joins] == [8, 8]
    assert all(j["rows_before"] == j["rows_after"] == 9 for j in report.joins)


def test_olist_tables_listed_and_keys_suggested() -> None:
    tables = list_tables(CORPUS / "olist.zip")
    assert [(t["table"], t["rows"], t["transactions"]) for t in tables] == [
        ("olist_customers_dataset.csv", 6, False),
        ("olist_orders_dataset.csv", 6, False),
        ("olist_order_payments_dataset.csv", 9, False),
    ]
    frames = {p.name: read_table(p)[0] for p in OLIST}
    assert suggest_join_keys(frames) == {
        ("olist_orders.csv", "olist_order_payments.csv"): ["order_id"],
        ("olist_orders.csv", "olist_customers.csv"): ["customer_id"],
    }


def test_join_keys_by_hand_and_their_errors() -> None:
    keys = {"olist_orders.csv": ["order_id"], "olist_customers.csv": ["customer_id"]}
    _, report = load_transactions(OLIST, join_keys=keys)
    assert report.rows_kept == 6
    with pytest.raises(DataError, match=re.escape("“payment_type” chosen to join “olist_orders.csv” is not in both")):
        load_transactions(OLIST, join_keys={"olist_orders.csv": ["payment_type"]})
    with pytest.raises(DataError, match="cannot be appended because their columns differ"):
        load_transactions(OLIST, combine="append")


def test_payments_without_sequence_number_lose_real_payments_only_by_the_order_id_rule() -> None:
    # An order paid twice with the same voucher value, exported without payment_sequential.
    pay = b"order_id,payment_type,payment_value\no5,voucher,28.62\no5,voucher,28.62\no1,card,18.12\n"
    orders = (CORPUS / "olist_orders.csv").read_bytes()
    customers = (CORPUS / "olist_customers.csv").read_bytes()

    class Named(io.BytesIO):
        def __init__(self, name: str, data: bytes) -> None:
            super().__init__(data)
            self.name = name

    def sources() -> list[Named]:
        return [Named("pay.csv", pay), Named("orders.csv", orders), Named("customers.csv", customers)]

    _, dropped = load_transactions(sources())
    assert dropped.dropped == {"duplicate_row": 1}
    assert dropped.identical_rows == {"policy": "drop", "rows": 1, "money": 28.62, "reason": "order_id"}
    tx, kept = load_transactions(sources(), duplicates="keep")
    assert kept.dropped == {} and tx[C.AMOUNT].sum() == pytest.approx(75.36)


def test_a_join_that_would_repeat_amounts_is_refused_with_the_numbers() -> None:
    orders = pl.DataFrame({"order_id": ["F1", "F2"], "amount": ["90", "40"]})
    items = pl.DataFrame({"order_id": ["F1", "F1", "F1", "F2"], "sku": ["a", "b", "c", "d"]})
    with pytest.raises(DataError) as info:
        join_tables({"orders": orders, "items": items}, base="orders")
    assert "“F1” appears 3 times" in str(info.value)
    assert "count its amount 3 times" in str(info.value)


key_values = st.lists(st.sampled_from(["k1", "k2", "k3", "k4"]), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(base_keys=key_values, amounts=st.lists(st.integers(-500, 500), min_size=30, max_size=30), n_right=st.integers(0, 4))
def test_join_never_changes_the_base_rows_or_their_money(base_keys: list[str], amounts: list[int], n_right: int) -> None:
    base = pl.DataFrame({"order_id": base_keys, "amount": amounts[: len(base_keys)]})
    right = pl.DataFrame(
        {"order_id": ["k1", "k2", "k3", "k4"][:n_right], "who": ["a", "b", "c", "d"][:n_right]},
        schema={"order_id": pl.String, "who": pl.String},
    )
    out, steps = join_tables({"base": base, "right": right}, base="base")
    assert out.height == base.height == steps[0].rows_after
    assert out["amount"].sum() == base["amount"].sum()
    assert steps[0].rows_matched == sum(1 for k in base_keys if k in right["order_id"].to_list())


def test_join_marks_the_first_table_a_row_found_no_match_in() -> None:
    pay = pl.DataFrame({"order_id": ["o1", "o2", "o9"], "value": ["5", "6", "7"]})
    orders = pl.DataFrame({"order_id": ["o1", "o2"], "customer_id": ["c1", "c2"]})
    people = pl.DataFrame({"customer_id": ["c1"], "person": ["p1"]})
    out, _ = join_tables({"pay": pay, "orders": orders, "people": people}, base="pay", mark_unmatched="miss")
    assert out["miss"].to_list() == [None, "people", "orders"]


# ---------------------------------------------------------------------------------------------
# Identical rows: kept without an order id, dropped with one, counted either way


def _cdnow_lines() -> list[tuple[str, str, int, float]]:
    out = []
    for line in (CORPUS / "cdnow_master.txt").read_text().splitlines():
        cid, day, qty, amount = line.split()
        out.append((cid, day, int(qty), float(amount)))
    return out


@pytest.mark.parametrize("duplicates", [None, "drop"])
def test_cdnow_frequency_and_spend_match_plain_python(duplicates: str | None) -> None:
    tx, report = load_transactions(CORPUS / "cdnow_master.txt", duplicates=duplicates)
    lines = _cdnow_lines()
    if duplicates == "drop":
        lines = list(dict.fromkeys(lines))
    freq: dict[str, int] = defaultdict(int)
    spend: dict[str, float] = defaultdict(float)
    for cid, _day, _qty, amount in lines:
        freq[cid] += 1  # no order id: every line is a purchase
        spend[cid] += amount
    rfm = rfm_table(tx, as_of=dt.date(1998, 7, 1)).sort(C.CUSTOMER_ID)
    assert dict(zip(rfm[C.CUSTOMER_ID], rfm["frequency"], strict=True)) == dict(freq)
    assert dict(zip(rfm[C.CUSTOMER_ID], rfm["monetary"], strict=True)) == pytest.approx(dict(spend))
    assert report.identical_rows["rows"] == 2
    assert report.identical_rows["money"] == pytest.approx(12.00 + 29.73)


def test_cdnow_mapped_by_position_and_out_of_range_position() -> None:
    tx, report = load_transactions(CORPUS / "cdnow_master.txt", mapping={"customer_id": 0, "order_date": 1, "amount": 3})
    assert report.column_choices[C.CUSTOMER_ID]["how"] == "position"
    assert tx[C.CUSTOMER_ID][0] == "00001" and tx[C.ORDER_DATE][0] == dt.date(1997, 1, 1)
    with pytest.raises(DataError, match="Column position 7 chosen for amount does not exist: the file has 4 columns"):
        load_transactions(CORPUS / "cdnow_master.txt", mapping={"amount": 7})


def test_space_aligned_text_with_a_header_row() -> None:
    text = b"customer   date        amount\nA01        2024-01-02   10.50\nA02        2024-01-03    7.25\n"
    tx, report = load_transactions(text)
    assert report.has_header and report.delimiter == " "
    assert tx[C.AMOUNT].to_list() == [10.5, 7.25]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["c1", "c2", "c3"]), st.integers(1, 5), st.sampled_from(["5", "7.5", "-2", "x", ""])),
        min_size=1,
        max_size=25,
    ),
    with_order=st.booleans(),
    flip=st.booleans(),
)
def test_rows_and_money_always_add_up(rows: list[tuple[str, int, str]], with_order: bool, flip: bool) -> None:
    head = "customer_id,order_date,amount" + (",order_id" if with_order else "")
    body = [f"{c},2024-01-0{d},{a}" + (f",O{d}{c}" if with_order else "") for c, d, a in rows]
    data = ("\n".join([head, *body]) + "\n").encode()
    policy = None if not flip else ("keep" if with_order else "drop")
    try:
        _, report = load_transactions(data, duplicates=policy)
    except DataError:
        return
    assert report.rows_read == len(rows) == report.rows_kept + sum(report.dropped.values())
    readable = sum(float(a) for _, _, a in rows if a not in ("x", ""))
    assert report.money_read == pytest.approx(readable)
    assert report.money_read == pytest.approx(report.money_kept + sum(report.dropped_money.values()))
    lines = [(c, d, a) for c, d, a in rows]
    copies = len(lines) - len(set(lines))
    assert report.identical_rows["rows"] == copies
    drops = (with_order and not flip) or (not with_order and flip)
    assert report.dropped.get("duplicate_row", 0) == (copies if drops else 0)


# ---------------------------------------------------------------------------------------------
# Sheets, archives, several files


def test_sheets_with_the_same_columns_read_together_and_one_by_one() -> None:
    path = CORPUS / "online_retail_two_years.xlsx"
    both, report = load_transactions(path)
    first, r1 = load_transactions(path, sheet="Year 2009-2010")
    second, r2 = load_transactions(path, sheet=1)
    listed, _ = load_transactions(path, sheet=["Year 2009-2010", "Year 2010-2011"])
    assert report.parts == (("Year 2009-2010", 5), ("Year 2010-2011", 6))
    assert r1.rows_read + r2.rows_read == report.rows_read
    assert both.height == first.height + second.height == listed.height
    # Row numbers restart in each sheet, so examples name the sheet.
    assert report.examples["missing_customer_id"][0]["table"] == "Year 2009-2010"
    assert report.examples["duplicate_row"][0] == {**report.examples["duplicate_row"][0], "table": "Year 2010-2011", "row": 3}
    assert [t["table"] for t in list_tables(path)] == ["Year 2009-2010", "Year 2010-2011"]


def test_synthetic_order_ids_stay_distinct_across_sheets() -> None:
    tx, _ = load_transactions([CORPUS / "cdnow_master.txt", CORPUS / "cdnow_master.txt"])
    assert tx[C.ORDER_ID].n_unique() == tx.height == 32


def test_zip_limits_on_unpacked_size_and_compression_ratio() -> None:
    rnd = random.Random(7)
    body = "customer_id,order_date,amount\n" + "".join(
        f"c{rnd.randrange(10**6)},2024-01-{rnd.randrange(1, 29):02d},{rnd.randrange(10**5) / 100}\n" for _ in range(3000)
    )
    archive = _zip({"orders.csv": body.encode()})
    assert len(archive) < 60_000 < len(body)
    with pytest.raises(DataError, match=r"would unpack to .* above the 58\.6 KB limit"):
        load_transactions(archive, max_bytes=60_000)
    tx, _ = load_transactions(archive)
    assert tx.height == 3000
    bomb = _zip({"a.csv": b"customer_id,order_date,amount\n" + b"1" * (2 * 1024 * 1024)})
    with pytest.raises(DataError, match=r"compressed .* times.*zip bomb"):
        load_transactions(bomb)


def test_zip_with_tables_of_different_columns_asks_or_takes_sheet() -> None:
    archive = _zip({
        "a.csv": b"customer_id,order_date,amount\nx,2024-01-01,5\n",
        "b.csv": b"member_id,date,total\ny,2024-01-02,6\n",
    })
    with pytest.raises(DataError, match=re.escape("“a.csv” (customer_id, order_date, amount); “b.csv”")):
        load_transactions(archive)
    tx, report = load_transactions(archive, sheet="b.csv")
    assert tx[C.CUSTOMER_ID].to_list() == ["y"] and report.sheet == "b.csv"
    nothing = _zip({"notes/readme.md": b"# hello"})
    with pytest.raises(DataError, match=re.escape("holds no table Tierlens can read (it contains “notes/readme.md”)")):
        load_transactions(nothing)


def test_stack_tables_keeps_rows_in_order_whatever_the_column_order() -> None:
    a = pl.DataFrame({"x": ["1", "2"], "y": ["a", "b"]})
    b = pl.DataFrame({"y": ["c"], "x": ["3"]})
    assert stack_tables([a, b]).to_dict(as_series=False) == {"x": ["1", "2", "3"], "y": ["a", "b", "c"]}
    with pytest.raises(DataError, match="“z”"):
        stack_tables([a, pl.DataFrame({"x": ["1"], "z": ["q"]})])


# ---------------------------------------------------------------------------------------------
# Column choice, statuses, fee lines


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("payment_value", C.AMOUNT), ("dollar_value", C.AMOUNT), ("value", C.AMOUNT), ("total_paid", C.AMOUNT),
        ("gmv", C.AMOUNT), ("成交金额", C.AMOUNT), ("销售额", C.AMOUNT), ("买家实际支付金额", C.AMOUNT),
        ("买家会员名", C.CUSTOMER_ID), ("会员名", C.CUSTOMER_ID), ("买家昵称", C.CUSTOMER_ID),
        ("order_purchase_timestamp", C.ORDER_DATE), ("订单付款时间", C.ORDER_DATE),
    ],
)
def test_more_export_headers_are_recognised(header: str, field: str) -> None:
    assert detect_columns([header]) == {field: header}


def test_paid_beats_listed_and_payment_time_beats_creation_time_in_any_column_order() -> None:
    found = detect_columns(["总金额", "订单创建时间", "买家实际支付金额", "订单付款时间", "买家会员名"])
    assert found == {"customer_id": "买家会员名", "order_date": "订单付款时间", "amount": "买家实际支付金额"}


def test_tmall_paid_amounts_match_plain_python() -> None:
    tx, report = load_transactions(CORPUS / "tmall_orders.csv")
    with open(CORPUS / "tmall_orders.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    paid: dict[str, float] = defaultdict(float)
    for r in rows:
        if r["订单状态"] not in ("交易关闭", "未付款", "等待买家付款"):
            paid[r["买家会员名"]] += float(r["买家实际支付金额"])
    got = tx.group_by(C.CUSTOMER_ID).agg(pl.col(C.AMOUNT).sum())
    assert dict(got.iter_rows()) == pytest.approx(dict(paid))
    assert sum(float(r["总金额"]) for r in rows) == 1215.0  # what picking the list price would have said
    amount = report.column_choices[C.AMOUNT]
    assert (amount["column"], amount["runner_up"]) == ("买家实际支付金额", "总金额")
    assert "实际支付" in amount["why_zh"] and "what customers paid" in amount["why"]
    assert report.statuses["values"] == {"交易关闭": 2, "等待买家付款": 1}


def test_amount_inferred_from_content_is_said() -> None:
    text = b"customer_id,order_date,qty,figure\nc1,2024-01-01,2,10.50\nc2,2024-01-02,1,3.25\n"
    tx, report = load_transactions(text)
    choice = report.column_choices[C.AMOUNT]
    assert (choice["column"], choice["how"]) == ("figure", "content")
    assert any("No header names the amount" in n for n in report.notes)
    assert any("没有列名表示金额" in n for n in report.notes_zh)
    assert tx[C.AMOUNT].to_list() == [10.5, 3.25]


def test_statuses_can_be_kept() -> None:
    _, dropped = load_transactions(CORPUS / "shopify_orders.csv")
    tx, kept = load_transactions(CORPUS / "shopify_orders.csv", cancelled="keep")
    assert dropped.dropped == {"cancelled_order": 2} and kept.dropped == {}
    assert kept.statuses["policy"] == "keep" and kept.statuses["rows"] == 2
    assert tx.height == 5


def test_kept_unpaid_orders_are_dated_by_their_creation_time() -> None:
    tx, report = load_transactions(CORPUS / "tmall_orders.csv", cancelled="keep")
    with open(CORPUS / "tmall_orders.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = [r["订单付款时间"] or r["订单创建时间"] for r in rows]
    assert report.dropped == {} and tx.height == len(rows) == 6
    assert [d.strftime("%Y-%m-%d %H:%M:%S") for d in tx[C.ORDER_DATE]] == expected
    assert any("3 rows had no payment time" in n and "订单创建时间" in n for n in report.notes)
    # Dropping them (the default) never reaches for the creation time.
    _, dropped = load_transactions(CORPUS / "tmall_orders.csv")
    assert dropped.dropped == {"cancelled_order": 3}
    assert not any("no payment time" in n for n in dropped.notes)


def test_fee_lines_listed_and_left_out_on_request() -> None:
    _, kept = load_transactions(CORPUS / "online_retail_two_years.xlsx")
    tx, dropped = load_transactions(CORPUS / "online_retail_two_years.xlsx", non_product="drop")
    assert kept.non_product_lines["codes"] == {"M": 1, "D": 1, "POST": 1}
    assert not set(tx["StockCode"].to_list()) & {"M", "D", "POST"}
    assert dropped.dropped_money["non_product"] == pytest.approx(18.0 - 27.5 + 0.85)


def test_customers_who_only_returned_goods_are_counted_and_explained() -> None:
    tx, report = load_transactions(CORPUS / "online_retail_two_years.xlsx")
    assert (report.returns_only_customers, report.returns_only_money) == (1, -35.4)
    assert "16321" in tx[C.CUSTOMER_ID].to_list()
    assert "16321" not in rfm_table(tx)[C.CUSTOMER_ID].to_list()
    assert any("only returned goods" in n for n in report.notes)
    assert any("只有退货" in n for n in report.notes_zh)


def test_bad_option_values_are_data_errors() -> None:
    for kwargs in ({"duplicates": "maybe"}, {"cancelled": "yes"}, {"non_product": 1}, {"combine": "merge"}):
        with pytest.raises(DataError, match="must be one of"):
            load_transactions(CORPUS / "utf8_basic.csv", **kwargs)


def test_the_only_transaction_sheet_is_read_and_the_others_named(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "report.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    notes = wb.add_worksheet("Notes")
    for r, row in enumerate([["topic", "text"], ["source", "shop export"], ["period", "Q1"]]):
        notes.write_row(r, 0, row)
    orders = wb.add_worksheet("Orders")
    for r, row in enumerate([["customer_id", "order_date", "amount"], ["a", "2024-01-02", 5], ["b", "2024-01-03", 6]]):
        orders.write_row(r, 0, row)
    wb.close()
    tx, report = load_transactions(path)
    assert tx[C.CUSTOMER_ID].to_list() == ["a", "b"] and report.sheet == "Orders"
    assert "Left out tables without transaction columns: “Notes”." in report.notes


def test_two_transaction_sheets_with_different_columns_are_never_joined(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "years.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    rows = {
        "2023": [["Invoice", "Customer ID", "InvoiceDate", "Amount"], ["1", "c1", "2023-05-01", 10], ["2", "c1", "2023-06-01", 5]],
        "2024": [["Invoice", "Customer ID", "InvoiceDate", "Amount", "Channel"], ["3", "c1", "2024-05-01", 7, "web"]],
    }
    for name, sheet_rows in rows.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(sheet_rows):
            ws.write_row(r, 0, row)
    wb.close()
    with pytest.raises(DataError, match="holds tables with different columns"):
        load_transactions(path)
    tx, _ = load_transactions(path, sheet="2024")
    assert tx.height == 1


def test_one_letter_codes_are_fees_only_in_a_stock_code_column() -> None:
    sku = b"customer_id,order_date,amount,sku\nc1,2024-01-01,20,M\nc2,2024-01-02,8,POST\n"
    _, report = load_transactions(sku)
    assert report.non_product_lines["codes"] == {"POST": 1}
    stock = sku.replace(b",sku", b",StockCode")
    _, report = load_transactions(stock)
    assert report.non_product_lines["codes"] == {"M": 1, "POST": 1}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["c1", "c2", "c3"]), st.integers(1, 9), st.integers(-20, 90)), min_size=2, max_size=30
    ),
    cut=st.integers(1, 29),
)
def test_files_split_in_two_load_like_the_whole(rows: list[tuple[str, int, int]], cut: int) -> None:
    def csv_bytes(part: list[tuple[str, int, int]]) -> bytes:
        return ("customer_id,order_date,amount\n" + "".join(f"{c},2024-02-0{d},{a}\n" for c, d, a in part)).encode()

    cut = min(cut, len(rows) - 1)
    whole, rw = load_transactions(csv_bytes(rows))
    parts, rp = load_transactions([csv_bytes(rows[:cut]), csv_bytes(rows[cut:])])
    assert rp.parts == (("upload", cut), ("upload (2)", len(rows) - cut))
    assert (rp.rows_read, rp.rows_kept, rp.money_kept) == (rw.rows_read, rw.rows_kept, rw.money_kept)
    cols = [C.CUSTOMER_ID, C.ORDER_DATE, C.AMOUNT]
    assert parts.select(cols).rows() == whole.select(cols).rows()
    assert parts[C.ORDER_ID].n_unique() == parts.height


def test_join_keys_given_by_hand_are_used_even_when_names_differ_from_the_suggestions() -> None:
    orders = b"order_ref,customer_id,order_date,amount\nR1,c1,2024-01-01,10\nR2,c2,2024-01-02,20\n"
    channels = b"order_ref,channel\nR1,web\nR2,app\n"

    class Named(io.BytesIO):
        def __init__(self, name: str, data: bytes) -> None:
            super().__init__(data)
            self.name = name

    tx, report = load_transactions(
        [Named("orders.csv", orders), Named("channels.csv", channels)], join_keys={"channels.csv": ["order_ref"]}
    )
    assert tx["channel"].to_list() == ["web", "app"]
    assert report.joins == ({"table": "channels.csv", "on": ["order_ref"], "rows_before": 2, "rows_after": 2, "rows_matched": 2},)
    assert any("row numbers in this report refer to it" in n for n in report.notes)


# ---------------------------------------------------------------------------------------------
# Typed Parquet: used as typed, same results as through text


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def test_typed_parquet_columns_give_the_same_frame_as_the_same_data_as_text() -> None:
    typed = pl.DataFrame({
        "customer_id": [12346.0, 12347.0, 12346.0, 12348.0, 12349.0],
        "order_date": [dt.datetime(2024, 1, 2, 10, 30), dt.datetime(2024, 1, 3), None, dt.datetime(1, 1, 1), dt.datetime(2024, 2, 1)],
        "amount": [10.5, float("nan"), 3.0, 4.0, -2.0],
        "order_id": [1, 2, 3, 4, 5],
        "store": ["s1", "s2", "s1", "s2", None],
    })
    tx, report = load_transactions(_parquet(typed))
    text = typed.with_columns(pl.all().cast(pl.String)).with_columns(
        pl.col("order_date").str.replace(r"\.000000$", "")
    ).write_csv().encode()
    tx_text, report_text = load_transactions(text)
    assert report.dropped == report_text.dropped == {"missing_date": 1, "bad_date": 1, "missing_amount": 1}
    assert report.dropped_money == {"missing_date": 3.0, "bad_date": 4.0, "missing_amount": 0.0}
    assert tx.rows() == tx_text.rows()
    assert tx[C.CUSTOMER_ID].to_list() == ["12346", "12349"] and tx["store"].dtype == pl.String
    assert report.date_format == "typed date and time column"
    json.dumps(report.to_dict(), ensure_ascii=False)


def test_typed_parquet_time_zones_keep_the_wall_clock_and_dates_stay_dates() -> None:
    zoned = pl.DataFrame({
        "customer_id": ["a", "b"],
        "order_date": pl.Series([dt.datetime(2024, 3, 1, 23, 30), dt.datetime(2024, 3, 2, 1, 0)]).dt.replace_time_zone("Asia/Shanghai"),
        "amount": [1, 2],
    })
    tx, _ = load_transactions(_parquet(zoned))
    assert tx[C.ORDER_DATE].to_list() == [dt.datetime(2024, 3, 1, 23, 30), dt.datetime(2024, 3, 2, 1, 0)]
    dated = zoned.with_columns(pl.col("order_date").dt.date())
    tx, report = load_transactions(_parquet(dated))
    assert tx.schema[C.ORDER_DATE] == pl.Date and not report.has_time


def test_typed_parquet_appended_to_text_with_the_same_columns() -> None:
    typed = pl.DataFrame({"customer_id": ["a"], "order_date": [dt.date(2024, 1, 1)], "amount": [5.0]})
    text = b"customer_id,order_date,amount\nb,2024-01-02,6\n"
    tx, report = load_transactions([_parquet(typed), text])
    assert tx[C.CUSTOMER_ID].to_list() == ["a", "b"] and tx[C.AMOUNT].to_list() == [5.0, 6.0]
    assert report.rows_read == 2


def test_a_workbook_inside_a_zip_gives_its_sheets() -> None:
    book = (CORPUS / "online_retail_two_years.xlsx").read_bytes()
    archive = _zip({"uci/online_retail_II.xlsx": book})
    _, report = load_transactions(archive)
    assert report.parts == (
        ("uci/online_retail_II.xlsx › Year 2009-2010", 5),
        ("uci/online_retail_II.xlsx › Year 2010-2011", 6),
    )
    assert report.rows_kept == 9
    _, r = load_transactions(archive, sheet="Year 2010-2011")
    assert r.rows_read == 6 and r.sheet == "uci/online_retail_II.xlsx › Year 2010-2011"
