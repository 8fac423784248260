"""Exports: formula-safe customer lists (CSV, Excel) and the offline executive summary."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import plotly.graph_objects as go
import polars as pl

from ui.exports import (
    Section,
    executive_summary_html,
    file_name,
    neutralize,
    neutralize_frame,
    to_csv_bytes,
    to_xlsx_bytes,
)


def test_neutralize_prefixes_formula_like_text():
    assert [neutralize(v) for v in ["=1+1", "+86 139", "-5", "@SUM(A1)", "\tx", "\rx", "ok", "", None]] == [
        "'=1+1", "'+86 139", "'-5", "'@SUM(A1)", "'\tx", "'\rx", "ok", "", None,
    ]


def test_neutralize_frame_touches_text_only():
    frame = pl.DataFrame({
        "customer_id": ["=HYPERLINK(\"http://x\")", "C1"],
        "tier": pl.Series(["-VIP", "Gold"], dtype=pl.Enum(["-VIP", "Gold"])),
        "monetary": [-5.0, 10.0],
    })
    assert neutralize_frame(frame).rows() == [("'=HYPERLINK(\"http://x\")", "'-VIP", -5.0), ("C1", "Gold", 10.0)]


def test_csv_has_a_bom_and_safe_cells():
    frame = pl.DataFrame({"客户编号": ["=cmd|' /C calc'!A0", "007"], "金额": [1.5, -2.0]})
    data = to_csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["客户编号", "金额"], ["'=cmd|' /C calc'!A0", "1.5"], ["007", "-2.0"]]


def test_xlsx_has_an_all_sheet_and_one_per_tier_without_formulas():
    frame = pl.DataFrame({
        "id": ["=1+1", "007", "c"],
        "tier": ["VIP: top/1", "Gold", "VIP: top/1"],
        "m": [10.0, 5.0, 1.0],
        "last": [dt.date(2024, 1, 2), None, dt.date(2024, 3, 4)],
    })
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame, split_by="tier", all_sheet="全部")))
    assert book.sheetnames == ["全部", "VIP_ top_1", "Gold"]
    sheet = book["全部"]
    assert [c.value for c in sheet[1]] == ["id", "tier", "m", "last"]
    assert sheet["A2"].value == "'=1+1" and sheet["A2"].data_type == "s"
    assert sheet["A3"].value == "007"
    assert sheet["C2"].value == 10.0
    assert sheet["D2"].value == dt.datetime(2024, 1, 2)
    assert sheet["D3"].value is None
    assert [r[0].value for r in book["VIP_ top_1"].iter_rows(min_row=2)] == ["'=1+1", "c"]
    assert not any(c.data_type == "f" for ws in book for row in ws.iter_rows() for c in row)


def test_long_and_duplicate_tier_names_make_valid_sheet_names():
    frame = pl.DataFrame({"tier": ["x" * 40, "x" * 40 + "?", "all"]})
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame, split_by="tier", all_sheet="All")))
    assert book.sheetnames == ["All", "x" * 31, "x" * 27 + " (2)", "all (2)"]


def test_summary_html_is_offline_and_escapes_text():
    figs = [go.Figure(go.Bar(x=[1], y=["a"])), go.Figure(go.Bar(x=[2], y=["b"]))]
    page = executive_summary_html(
        title="Tiers <script>alert(1)</script>", meta="as of 2024-06-30",
        sections=[
            Section(title="Headline", headline=[("<img src=x onerror=alert(1)>", "1,234")], figures=figs[:1],
                    notes=["Top 20% → 60%"]),
            Section(title="Tiers", paragraphs=["messy_orders_gbk *is* [fine]"], bullets=["a < b"], figures=figs[1:],
                    tables=[("Tiers", pl.DataFrame({"tier": ["<b>VIP</b>"], "customers": [3]}))]),
        ],
        footer="Made with Tierlens", lang="en",
    )
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;b&gt;VIP&lt;/b&gt;" in page
    # Data set names are plain text: no markdown escapes.
    assert "<p>messy_orders_gbk *is* [fine]</p>" in page and "a &lt; b" in page
    # plotly.js is inlined exactly once and nothing is loaded from the network.
    assert page.count("plotly.js v") == 1
    assert "<script src=" not in page
    assert page.count('class="card"><div') == 2
    assert page.count('<section class="part">') == 2
    # No toolbar over chart titles; print on A4, each section on a new page.
    assert '"displayModeBar": false' in page
    assert "size:A4" in page and ".part + .part{break-before:page}" in page
    # A phone reads table rows as labelled lines instead of scrolling sideways.
    assert '<td data-label="tier">&lt;b&gt;VIP&lt;/b&gt;</td><td data-label="customers">3</td>' in page


def test_file_names_carry_the_data_set_and_date_and_nothing_a_file_system_rejects():
    assert file_name("tierlens-summary", "messy_orders_gbk", "2024-07-01", ext="html") == (
        "tierlens-summary-messy_orders_gbk-2024-07-01.html")
    assert file_name("tierlens", "会员 订单", "2024-07-01", ext="csv") == "tierlens-会员-订单-2024-07-01.csv"
    assert file_name("t", 'a/b\\c:d*e?"f<g>h|i', "", ext="xlsx") == "t-a_b_c_d_e_f_g_h_i.xlsx"
    assert file_name("t", "..", "x", ext="") == "t-x"
