"""Errors a user causes are explained in the page's language: a Chinese page shows the Chinese
sentence, never the core's English wording or an internal column name (AppTest)."""

from __future__ import annotations

import re

import pytest
from apptest import run_app
from streamlit.testing.v1 import AppTest

PAGE = "pages/data.py"
# English words of the core's own messages that must not reach a Chinese page.
ENGLISH = re.compile(r"Tierlens|\b(?:the|file|column|not|rule|cost)\b", re.IGNORECASE)


@pytest.fixture(autouse=True)
def own_store(tmp_path, monkeypatch):
    """Loads are saved; keep them in a store of this test's own."""
    import streamlit as st

    monkeypatch.setenv("TIERLENS_DB", str(tmp_path / "store"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def plain(elements) -> list[str]:
    """Shown text without the backslashes that keep user text from being read as Markdown."""
    return [e.value.replace("\\", "") for e in elements]


def upload(lang: str, name: str, data: bytes) -> AppTest:
    at = run_app({"lang": lang}, page=PAGE)
    at.file_uploader[0].upload(name, data)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("name,data,zh,en", [
    # A picture saved under a table's name (the uploader only checks the name).
    ("photo.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "文件“photo.csv”是PNG 图片，不是数据表",
     "The file “photo.csv” is a PNG image, not a table of transactions"),
    ("report.csv", b"%PDF-1.7\n" + b"\x00" * 64, "文件“report.csv”是PDF 文档，不是数据表",
     "The file “report.csv” is a PDF document, not a table of transactions"),
    ("blank.csv", b"   \n\n", "文件“blank.csv”是空的。", "The file “blank.csv” is empty."),
    ("header_only.csv", b"customer_id,order_date,amount\n", "文件“header_only.csv”只有表头，没有数据行。",
     "The file “header_only.csv” has column headers but no rows of data."),
])
def test_an_unreadable_upload_is_explained_in_the_pages_language(name, data, zh, en):
    errors = " ".join(plain(upload("zh", name, data).error))
    assert zh in errors
    assert not ENGLISH.search(errors), errors
    assert en in " ".join(plain(upload("en", name, data).error))


def test_missing_columns_name_the_fields_in_chinese_not_their_internal_names():
    at = upload("zh", "shop.csv", "会员,日期\nA1,2024-01-02\nA2,2024-01-03\n".encode())
    errors = " ".join(plain(at.error))
    assert "在“shop.csv”里找不到这些列：金额。文件的列有：" in errors
    assert "amount" not in errors and not ENGLISH.search(errors), errors


@pytest.mark.parametrize("rules,zh", [
    ("好: max(R) > 3\n其他: else", "“max(...)”看起来像函数调用"),
    ("好: R / 0 > 1\n其他: else", "这里除以了 0。"),
    ("好: R <= 30\n其他: else\n晚: F > 2", "这条规则写在第 2 行的 else 之后，永远不会被匹配"),
])
def test_a_rule_error_is_explained_in_chinese_with_its_position(rules, zh):
    at = run_app({"lang": "zh"})
    at.text_area(key="_w_rules").set_value(rules).run()
    assert not at.exception
    errors = " ".join(plain(at.sidebar.error))
    assert zh in errors and "行第" in errors
    assert not ENGLISH.search(errors), errors


def test_a_budget_without_any_channel_cost_is_explained_in_chinese():
    at = run_app({"lang": "zh", "tab": "budget", "costs": "phone:0;sms:0;app:0;email:0"}, "pages/strategy.py")
    errors = " ".join(plain(at.main.error))
    assert "请至少为一个渠道填写单次触达成本（大于 0）。" in errors
    assert not ENGLISH.search(errors), errors
