"""The currency belongs to the data set: saved with it in the store, picked on the Data page, and
shown by every reader of it in either language, the executive summary included."""

from __future__ import annotations

import datetime as dt
import html
import re

import polars as pl
import pytest
from apptest import run_app
from streamlit.testing.v1 import AppTest

from segmentation.demo import demo_transactions
from segmentation.errors import DataError
from segmentation.store import Store
from ui import cache, report
from ui.settings import Settings
from ui.view import View

PAGE = "pages/data.py"


@pytest.fixture
def own_store(tmp_path, monkeypatch):
    """A store of this test's own; cached stores and frames of other tests stay out."""
    import streamlit as st

    monkeypatch.setenv("TIERLENS_DB", str(tmp_path / "store"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield cache.store()
    st.cache_data.clear()
    st.cache_resource.clear()


def small_tx() -> pl.DataFrame:
    return pl.DataFrame({
        "customer_id": ["a", "b", "a"],
        "order_date": [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 2, 1)],
        "amount": [10.0, 20.0, 30.0],
        "order_id": ["1", "2", "3"],
    })


def test_the_store_keeps_the_currency_found_or_chosen_for_a_data_set(tmp_path):
    store = Store.open(tmp_path / "s")
    found = store.save(small_tx(), name="found", report={"currency": "CNY (¥)"})
    assert store.currency(found) == "CNY"
    store.set_currency(found, "usd")
    assert store.currency(found) == "USD"
    # Saving the same data again with a currency replaces it; the id stays.
    assert store.save(small_tx(), name="again", currency="EUR") == found
    assert store.currency(found) == "EUR"
    store.set_currency(found, "")
    assert store.currency(found) == "CNY"  # back to what the file said
    plain = store.save(small_tx().with_columns(pl.col("amount") * 2), name="plain")
    assert store.currency(plain) == ""
    with pytest.raises(DataError) as bad:
        store.set_currency(plain, "dollars")
    assert (bad.value.code, bad.value.params) == ("store_bad_currency", {"currency": "dollars"})
    # The choice outlives the process: a store opened afresh reads it from the catalog.
    assert Store.open(tmp_path / "s").currency(found) == "CNY"


def test_a_refresh_of_a_named_data_set_keeps_the_currency_chosen_for_it(tmp_path):
    store = Store.open(tmp_path / "s")
    first = store.refresh(small_tx(), dataset="sales")
    assert store.currency(first) == ""
    store.set_currency(first, "USD")
    second = store.refresh(small_tx().with_columns(pl.col("amount") + 1), dataset="sales")
    assert second != first
    assert store.currency(store.resolve("name:sales")) == "USD"
    # A currency found in the new file does not override the one chosen by hand.
    third = store.refresh(small_tx().with_columns(pl.col("amount") + 2), dataset="sales",
                          report={"currency": "CNY (¥)"})
    assert store.currency(third) == "USD"


def test_customer_tables_keep_the_spends_currency_and_a_named_versions_choice(tmp_path):
    store = Store.open(tmp_path / "s")
    table = pl.DataFrame({"customer_id": ["a", "b"], "recency_days": [3, 40], "frequency": [2, 1],
                          "monetary": [120.0, 30.0]})
    found = store.save_customers(table, name="crm", as_of=dt.date(2025, 1, 31), report={"currency": "USD ($)"})
    assert store.currency(found) == "USD"
    first = store.save_customers(table, name="crm", as_of=dt.date(2025, 2, 28), dataset="crm")
    store.set_currency(first, "EUR")
    second = store.save_customers(table, name="crm", as_of=dt.date(2025, 3, 31), dataset="crm",
                                  report={"currency": "CNY (¥)"})
    assert second != first and store.currency(second) == "EUR"
    assert store.currency(store.save_customers(table, name="crm", as_of=dt.date(2025, 4, 30), currency="gbp")) == "GBP"


PAGES = ["pages/overview.py", "pages/migration.py", "pages/trends.py", "pages/strategy.py", "pages/clv.py",
         "pages/customer.py", "pages/export.py", "pages/backtest.py"]


def shown_text(at: AppTest) -> str:
    """Every number and sentence a reader sees: metrics, text, tables, chart data (main and sidebar)."""
    parts = [f"{m.label} {m.value}" for m in at.metric]
    parts += [e.value for kind in ("markdown", "caption", "info", "warning", "success") for e in at.get(kind)]
    parts += [d.value.to_string() for d in at.dataframe]
    parts += [t.value.to_string() for t in at.table]
    parts += [c.proto.spec for c in at.get("plotly_chart")]
    return "\n".join(str(p) for p in parts)


def summary_text(view: View) -> str:
    page = report.summary_html(view)
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


@pytest.mark.parametrize("lang,revenue", [("zh", "净消费金额"), ("en", "Net revenue")])
def test_a_usd_data_set_shows_dollars_in_both_languages_and_in_the_summary(own_store, lang, revenue):
    # A quarter of the demo's customers, saved as a US shop's data.
    tx = demo_transactions().filter(pl.col("customer_id").str.slice(-1).is_in(["1", "5"]))
    dataset_id = own_store.save(tx, name="us_shop", currency="USD")
    expected = tx.filter(pl.col("amount").is_not_null())["amount"].sum()

    at = run_app({"lang": lang, "dataset": dataset_id})
    shown = {m.label: m.value for m in at.metric}
    assert shown[revenue].startswith("$")
    dollars = 0
    for page in PAGES:
        seen = shown_text(run_app({"lang": lang, "dataset": dataset_id}, page))
        assert "¥" not in seen, page
        dollars += seen.count("$")
    assert dollars > 20

    text = summary_text(View(Settings(lang=lang, dataset=dataset_id)))
    assert "$" in text and "¥" not in text
    if lang == "en":
        assert f"${expected / 1e3:,.1f}K" in text or f"${expected / 1e6:.2f}M" in text, expected


def test_the_currency_picked_on_the_data_page_is_saved_with_the_data_set(own_store):
    at = run_app({"lang": "zh"}, page=PAGE)
    at.file_uploader[0].upload("north_shop.csv", b"customer_id,order_date,amount,order_id\n"
                                                 b"N1,2024-01-02,10,o1\nN2,2024-01-03,20,o2\nN1,2024-02-01,30,o3\n")
    at.run()
    assert not at.exception
    dataset_id = at.query_params["dataset"]
    picker = next(s for s in at.selectbox if s.key and s.key.startswith("da_currency_"))
    assert picker.label == "这个数据集的货币" and picker.value == "NONE"
    picker.set_value("USD").run()
    assert not at.exception
    assert own_store.currency(dataset_id) == "USD"
    assert "currency" not in at.query_params  # the data set carries it, not the link
    # A fresh session in the other language shows dollars.
    reader = run_app({"lang": "en", "dataset": dataset_id})
    assert {m.label: m.value for m in reader.metric}["Net revenue"] == "$60"


def test_money_headers_carry_the_symbol_and_no_empty_bracket_without_one():
    from ui.tables import money_header

    assert money_header("消费金额", "CNY") == "消费金额 (¥)"
    assert money_header("Spend (M)", "GBP") == "Spend (M, £)"
    assert money_header("Spend (M)", "CHF") == "Spend (M, CHF)"
    # A data set whose currency is not known: the plain label, not "(#)" or "()".
    assert money_header("消费金额", "") == "消费金额"
    assert money_header("Spend (M)", "") == "Spend (M)"
