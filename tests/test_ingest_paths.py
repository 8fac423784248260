"""Large files given as a path are read in place (no copy in memory) and must read exactly as
the same bytes do: the encoding checks, the dialect, skipped lines and every error included.

Each file here is larger than the 1 MB sniffing sample, which is what sends a path down the
in-place route; the bytes of the same file always take the general route.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentation._ingest_read import direct_path
from segmentation.errors import DataError
from segmentation.ingest import load_transactions

SAMPLE = 1024 * 1024


def _rows(n: int, sep: str = ",") -> str:
    return "".join(f"C{i % 997:04d}{sep}2024-0{1 + i % 9}-1{i % 10}{sep}{10 + i % 50}.25{sep}O{i:07d}\n" for i in range(n))


def _big(tmp_path: Path, body: bytes, name: str = "export.csv") -> Path:
    assert len(body) > SAMPLE + 1000, "the file must be larger than the sniffing sample"
    path = tmp_path / name
    path.write_bytes(body)
    return path


def _same(path: Path) -> tuple:
    """Load from the path and from the bytes; both must agree on every row and report field."""
    tx_path, rep_path = load_transactions(path)
    tx_bytes, rep_bytes = load_transactions(path.read_bytes())
    assert tx_path.equals(tx_bytes)
    by_path, by_bytes = rep_path.to_dict(), rep_bytes.to_dict()
    by_path.pop("source_name")
    by_bytes.pop("source_name")
    assert by_path == by_bytes
    return tx_path, rep_path


def test_plain_utf8_file_reads_the_same_from_path_and_bytes(tmp_path):
    header = "customer,date,amount,invoice\n"
    path = _big(tmp_path, (header + _rows(40_000)).encode())
    assert direct_path(path, 2**31) == path  # the in-place route is the one under test
    small = tmp_path / "small.csv"
    small.write_bytes((header + _rows(10)).encode())
    assert direct_path(small, 2**31) is None
    tx, report = _same(path)
    assert report.rows_read == 40_000
    assert report.encoding == "UTF-8"
    assert tx["amount"].sum() == pytest.approx(sum(10 + i % 50 + 0.25 for i in range(40_000)))


def test_gbk_text_after_the_sample_is_decoded_whole_not_lossily(tmp_path):
    # The first megabyte is plain ASCII, so only the strict check further in can notice GBK.
    body = "客户,日期,金额,单号\n".encode("gbk") + _rows(40_000).encode() + "张三,2024-05-01,99.5,O9999999\n".encode("gbk")
    path = _big(tmp_path, body)
    tx, report = _same(path)
    assert report.encoding in ("GBK", "GB18030")
    assert tx.filter(tx["order_id"] == "O9999999")["customer_id"].to_list() == ["张三"]
    assert "\ufffd" not in "".join(tx["customer_id"].unique().to_list())


def test_windows_1252_after_the_sample_is_decoded_whole(tmp_path):
    body = b"customer;date;amount;invoice\n" + _rows(40_000, ";").encode() + "Zoë;2024-05-01;9.5;O9999999\n".encode("cp1252")
    path = _big(tmp_path, body)
    tx, report = _same(path)
    assert report.encoding == "Windows-1252"
    assert tx.filter(tx["order_id"] == "O9999999")["customer_id"].to_list() == ["Zoë"]


def test_byte_order_mark_title_lines_and_tabs(tmp_path):
    body = "\ufeffSales export\nGenerated 2024-06-01\n\ncustomer\tdate\tamount\tinvoice\n".encode() + _rows(40_000, "\t").encode()
    path = _big(tmp_path, body)
    tx, report = _same(path)
    assert report.encoding == "UTF-8 (with BOM)"
    assert report.delimiter == "\t"
    assert report.header_row == 4
    assert tx.height == 40_000


def test_space_aligned_file_takes_the_general_route(tmp_path):
    lines = "".join(f"{i % 997:05d} 2024010{1 + i % 9}  {1 + i % 4}  {10 + i % 50}.25\n" for i in range(60_000))
    path = _big(tmp_path, lines.encode(), "cdnow.txt")
    _, report = _same(path)
    assert report.rows_read == 60_000
    assert any("aligned with spaces" in n for n in report.notes)


def test_unclosed_quote_far_into_the_file_gives_the_same_message(tmp_path):
    body = b"customer,date,amount,invoice\n" + _rows(40_000).encode() + b'"C0001,2024-01-02,5,O1\n' + _rows(10).encode()
    path = _big(tmp_path, body)
    outcomes = []
    for source in (path, path.read_bytes()):
        try:
            tx, _ = load_transactions(source)
            outcomes.append(("ok", tx.height))
        except DataError as exc:
            outcomes.append(("error", exc.code))
    assert outcomes[0] == outcomes[1]
