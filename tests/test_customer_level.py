"""Customer-level data sets (one row per customer and date): the store's round trip, reading
several dated tables, snapshots over them, and every page on a saved one.

Expected numbers come from DuckDB reading the CSV files in tests/data/customers directly (SQL
over the file, not the loader, the store or the view); tiers are checked against the core run on
DuckDB's rows.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from apptest import run_app
from streamlit.testing.v1 import AppTest

import segmentation as seg
from segmentation.customers import detect_kind, load_customer_tables
from segmentation.errors import DataError
from segmentation.snapshots import customer_snapshots, snapshots
from segmentation.store import Store, customers_content_id

DATA = Path(__file__).resolve().parent / "data" / "customers"
MONTHLY = DATA / "crm_monthly.csv"
ONE_DAY = DATA / "crm_2025-11-30.csv"
DATES = (dt.date(2025, 9, 30), dt.date(2025, 10, 31), dt.date(2025, 11, 30))


def sql(query: str, *params) -> list[tuple]:
    with duckdb.connect(":memory:") as con:
        return con.execute(query, list(params)).fetchall()


def file_table(path: Path, day: dt.date | None = None) -> pl.DataFrame:
    """The customer table of one date, read by DuckDB from the CSV (independent of the loader)."""
    where = "WHERE CAST(as_of AS DATE) = ?" if day else ""
    rows = sql(f"""
        SELECT CAST("Customer ID" AS VARCHAR), CAST("Orders" AS BIGINT), CAST("Total Spend" AS DOUBLE),
               CAST("Last Order Date" AS DATE), CAST("First Order Date" AS DATE)
        FROM read_csv(?, header = true, all_varchar = true) {where} ORDER BY 1""",
               str(path), *([day] if day else []))
    return pl.DataFrame(rows, schema=["customer_id", "frequency", "monetary", "last_purchase", "first_purchase"],
                        orient="row")


# ---------------------------------------------------------------------------------- the core


def test_columns_decide_the_kind_and_say_why():
    kind, why, why_zh = detect_kind(["as_of", "Customer ID", "Last Order Date", "Orders", "Total Spend"])
    assert kind == "customers" and "“Orders”" in why and "“Last Order Date”" in why and "订单数" in why_zh
    kind, why, _ = detect_kind(["Invoice", "Customer ID", "InvoiceDate", "Price", "Quantity"])
    assert kind == "transactions" and "“InvoiceDate”" in why
    assert detect_kind(["会员ID", "距今天数", "购买次数", "累计消费"])[0] == "customers"


def test_no_transaction_file_of_the_corpus_is_taken_for_a_customer_file():
    from segmentation.ingest import list_tables

    checked = 0
    for path in sorted((Path(__file__).resolve().parent / "corpus").iterdir()):
        try:
            tables = list_tables(path)
        except DataError:
            continue  # unreadable on purpose (images, empty files, bombs)
        headers = [c for table in tables for c in table["columns"]]
        assert detect_kind(headers)[0] == "transactions", path.name
        checked += 1
    assert checked > 40


def test_an_as_of_column_splits_the_file_into_one_table_per_date():
    tables, reports = load_customer_tables(MONTHLY)
    assert tuple(r.as_of for r in reports) == tuple(d.isoformat() for d in DATES)
    counts = dict(sql("SELECT CAST(as_of AS DATE), count(*) FROM read_csv(?, header=true) GROUP BY 1", str(MONTHLY)))
    assert dict(tables.group_by("as_of").len().iter_rows()) == counts
    for day in DATES:
        mine = tables.filter(pl.col("as_of") == day).select("customer_id", "frequency", "monetary", "last_purchase")
        theirs = file_table(MONTHLY, day).drop("first_purchase")
        assert mine.sort("customer_id").equals(theirs)
    # Recency counts from each table's own date.
    row = tables.filter(pl.col("as_of") == DATES[0]).row(0, named=True)
    assert row["recency_days"] == (DATES[0] - row["last_purchase"]).days


def test_several_files_are_one_table_each_and_a_date_twice_is_refused(tmp_path):
    older = tmp_path / "older.csv"
    older.write_text("id,last_purchase,orders,spend\na,2025-01-10,2,30\n")
    tables, reports = load_customer_tables([ONE_DAY, older])
    assert [r.as_of for r in reports] == ["2025-01-11", reports[1].as_of]
    assert tables["as_of"].unique().len() == 2
    with pytest.raises(DataError, match="both describe"):
        load_customer_tables([older, older])
    with pytest.raises(DataError, match="one file"):
        load_customer_tables([older, ONE_DAY], as_of="2025-12-01")


def test_customer_tables_written_as_parquet_by_the_engines_load_as_they_are(tmp_path):
    """rfm_table's columns with a snapshot_date, as the Spark and DuckDB engines write them."""
    import io

    from segmentation.demo import demo_transactions

    tx = demo_transactions().head(3000)
    days = [dt.date(2023, 3, 31), dt.date(2023, 6, 30)]
    parts = [seg.rfm_table(tx, as_of=d).with_columns(pl.lit(d).alias("snapshot_date")) for d in days]
    buffer = io.BytesIO()
    pl.concat(parts).write_parquet(buffer)
    assert detect_kind(parts[0].columns)[0] == "customers"
    tables, reports = load_customer_tables(buffer.getvalue())
    assert [r.as_of for r in reports] == [d.isoformat() for d in days]
    # The same tables as a folder of part files, the way Spark writes them.
    folder = tmp_path / "customers.parquet"
    folder.mkdir()
    whole = pl.concat(parts)
    for i, chunk in enumerate(whole.iter_slices(whole.height // 3 + 1)):
        chunk.write_parquet(folder / f"part-{i:05d}.parquet")
    again, _ = load_customer_tables([sorted(folder.glob("*.parquet"))])
    assert again.sort("as_of", "customer_id").equals(tables.sort("as_of", "customer_id"))
    for day, part in zip(days, parts, strict=True):
        expected = part.drop("snapshot_date").sort("customer_id")
        assert tables.filter(pl.col("as_of") == day).select(expected.columns).sort("customer_id").equals(expected)


def test_sheets_and_file_names_date_their_tables(tmp_path):
    book = tmp_path / "crm.xlsx"
    monthly = pl.read_csv(MONTHLY, infer_schema=False)
    sheets = {d.isoformat(): monthly.filter(pl.col("as_of") == d.isoformat()).drop("as_of") for d in DATES[1:]}
    import xlsxwriter

    with xlsxwriter.Workbook(book) as workbook:
        for name, frame in sheets.items():
            frame.write_excel(workbook, worksheet=name)
    tables, reports = load_customer_tables(book)
    assert [r.as_of for r in reports] == list(sheets)
    for name, frame in sheets.items():
        assert tables.filter(pl.col("as_of") == dt.date.fromisoformat(name)).height == frame.height
    # A file named after its date takes that date, not the day after its latest purchase; an
    # explicit date still wins.
    named = tmp_path / "crm_2025-12-15.csv"
    named.write_bytes(ONE_DAY.read_bytes())
    assert load_customer_tables(named)[1][0].as_of == "2025-12-15"
    assert load_customer_tables(named, as_of="2025-12-01")[1][0].as_of == "2025-12-01"
    days_only = tmp_path / "crm_20240630.csv"
    days_only.write_text("id,recency,orders,spend\na,3,2,10\n")
    assert load_customer_tables(days_only)[0]["last_purchase"].to_list() == [dt.date(2024, 6, 27)]


BAD = (
    "as_of,id,last_purchase,recency,orders,spend\n"
    "2024-06-30,,2024-06-01,,2,10\n"          # no id
    "2024-06-30,b,2024-06-01,,-1,10\n"        # negative number of orders
    "2024-06-30,c,,,3,10\n"                   # neither date nor recency
    "2024-06-30,d,2024-07-15,,1,10\n"         # after the file's date
    "2024-06-30,e,2024-06-20,,4,99.5\n"
)


def test_bad_rows_are_counted_by_reason_and_a_repeated_id_is_refused():
    tables, (report,) = load_customer_tables(BAD.encode())
    assert tables["customer_id"].to_list() == ["e"]
    assert report.rows_read == 5 and report.rows_kept == 1
    assert report.dropped == {"missing_customer_id": 1, "bad_frequency": 1, "missing_last_purchase": 1,
                              "after_as_of": 1}
    zh = "\n".join(report.summary_lines("zh"))
    assert "缺少客户编号" in zh and "晚于参考日期" in zh
    with pytest.raises(DataError, match="appears on rows"):
        load_customer_tables((BAD + "2024-06-30,e,2024-06-21,,5,1\n").encode())


def test_snapshots_of_customer_tables_tier_like_snapshots_of_the_transactions():
    from segmentation.demo import demo_transactions

    tx = demo_transactions()
    ids = tx["customer_id"].unique().sort().gather_every(40)
    tx = tx.filter(pl.col("customer_id").is_in(ids.implode()))
    days = ["2025-06-30", "2025-09-30", "2025-12-31"]
    tables = pl.concat([seg.rfm_table(tx, as_of=d).with_columns(pl.lit(dt.date.fromisoformat(d)).alias("as_of"))
                        for d in days])
    rules = "Top: r_score >= 4 and f_score >= 4\nSpend: m_score >= 3\nLapsed: R > 120\nOthers: else"
    for mode in ("fixed", "recomputed"):
        mine = customer_snapshots(tables, days, rules=rules, cut_mode=mode, reference_date=days[1])
        theirs = snapshots(tx, days, rules=rules, cut_mode=mode, reference_date=days[1])
        cols = ["snapshot_date", "customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score",
                "m_score"]
        assert mine.select(cols).equals(theirs.select(cols))
        assert mine["tier"].cast(pl.String).to_list() == theirs["tier"].cast(pl.String).to_list()


# ---------------------------------------------------------------------------------- the store


def test_store_round_trip_keeps_kind_dates_and_rows(tmp_path):
    store = Store.open(tmp_path / "store")
    tables, reports = load_customer_tables(MONTHLY)
    dataset_id = store.save_customers(tables, name="CRM", report=reports[-1].to_dict(), dataset="crm")
    assert dataset_id == customers_content_id(tables)
    assert store.save_customers(tables.sample(fraction=1.0, shuffle=True, seed=1), name="again") == dataset_id
    assert store.kind(dataset_id) == "customers"
    assert store.as_of_dates(dataset_id) == DATES
    loaded = store.load(dataset_id)
    assert loaded.columns[:2] == ["as_of", "customer_id"] and "Region" in loaded.columns
    assert loaded.sort("as_of", "customer_id").equals(tables.select(loaded.columns).sort("as_of", "customer_id"))
    row = store.list().row(0, named=True)
    assert (row["kind"], row["rows"], row["first_date"], row["last_date"]) == ("customers", 865, DATES[0], DATES[-1])
    assert row["customers"] == sql("SELECT count(DISTINCT \"Customer ID\") FROM read_csv(?, header=true)",
                                   str(MONTHLY))[0][0]
    assert store.versions("crm")["kind"].to_list() == ["customers"]
    with pytest.raises(DataError, match="no coded form"):
        store.load_coded(dataset_id)
    with pytest.raises(DataError, match="appears twice"):
        store.save_customers(pl.concat([tables.head(1), tables.head(1)]), name="twice")
    # A catalog lost after the Parquet file was written: the rebuild brings the set back, kind and all.
    (store.catalog_dir / f"{dataset_id}.json").unlink()
    assert store.rebuild_from_raw()[dataset_id] == "restored"
    assert store.kind(dataset_id) == "customers" and store.as_of_dates(dataset_id) == DATES


def test_entries_written_before_kinds_existed_read_as_transactions(tmp_path):
    store = Store.open(tmp_path / "store")
    tx = pl.DataFrame({"customer_id": ["a"], "order_date": [dt.date(2024, 1, 2)], "amount": [9.5], "order_id": ["1"]})
    dataset_id = store.save(tx, name="old")
    path = store.catalog_dir / f"{dataset_id}.json"
    entry = json.loads(path.read_text())
    assert "kind" not in entry  # transactions are written as before
    assert store.kind(dataset_id) == "transactions" and store.list()["kind"].to_list() == ["transactions"]
    assert store.as_of_dates(dataset_id) == ()


# ---------------------------------------------------------------------------------- the pages


@pytest.fixture
def saved(monkeypatch, tmp_path):
    """A store of its own holding the monthly CRM file and the one-day file; returns their ids."""
    import streamlit as st

    monkeypatch.setenv("TIERLENS_DB", str(tmp_path / "store"))
    st.cache_data.clear()
    st.cache_resource.clear()
    store = seg.store.get_store()
    ids = {}
    for key, path in (("monthly", MONTHLY), ("one", ONE_DAY)):
        tables, reports = load_customer_tables(path, as_of="2025-11-30" if key == "one" else None)
        ids[key] = store.save_customers(tables, name=path.stem, report=reports[-1].to_dict())
    yield ids
    st.cache_data.clear()
    st.cache_resource.clear()


def page(dataset_id: str, name: str, **query: str) -> AppTest:
    return run_app({"lang": "en", "dataset": dataset_id, **query}, f"pages/{name}.py")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("info", "caption", "markdown", "warning") for e in at.get(kind))


LAST = DATES[-1]


def test_overview_shows_the_file_numbers_at_its_latest_date(saved):
    at = page(saved["monthly"], "overview")
    customers, orders = sql("""SELECT count(*), sum(CAST("Orders" AS BIGINT)) FROM read_csv(?, header=true)
                               WHERE CAST(as_of AS DATE) = ?""", str(MONTHLY), LAST)[0]
    shown = metrics(at)
    assert shown["Customers"] == f"{customers:,}"
    assert shown["Orders"] == f"{orders:,}"
    assert not at.error
    # The sidebar says why no lookback window applies, and the header shows the file's date.
    assert any("already summed up per customer" in c.value for c in at.sidebar.caption)
    assert at.sidebar.selectbox(key="_w_window_days_en").disabled
    assert "2025-11-30" in str(at.sidebar.date_input[0].value)



def test_an_earlier_as_of_date_shows_that_dates_table(saved):
    at = page(saved["monthly"], "overview", as_of="2025-10-31")
    customers = sql("SELECT count(*) FROM read_csv(?, header=true) WHERE CAST(as_of AS DATE) = ?",
                    str(MONTHLY), DATES[1])[0][0]
    assert metrics(at)["Customers"] == f"{customers:,}"


def test_migration_compares_the_tables_and_counts_newcomers(saved):
    at = page(saved["monthly"], "migration", compare="2025-10-31,2025-11-30")
    assert not at.error, [e.value for e in at.error]
    new = sql("""SELECT count(*) FROM read_csv(?, header=true) b
                 WHERE CAST(b.as_of AS DATE) = ? AND "Customer ID" NOT IN (
                     SELECT "Customer ID" FROM read_csv(?, header=true) WHERE CAST(as_of AS DATE) = ?)""",
              str(MONTHLY), DATES[2], str(MONTHLY), DATES[1])[0][0]
    assert metrics(at)["Newcomers"] == f"{new:,}"
    assert len(at.get("plotly_chart")) >= 3


def _switches(at: AppTest) -> list[str]:
    return [str(getattr(w, "label", "")) for w in at.get("button_group")]


def test_migration_has_no_period_switch_for_customer_tables_and_says_why(saved):
    at = page(saved["monthly"], "migration")
    assert "Period" not in _switches(at) and "Score cut points" in _switches(at)
    assert "compared at their own dates" in texts(at)
    zh = run_app({"lang": "zh", "dataset": saved["monthly"]}, "pages/migration.py")
    assert "周期" not in _switches(zh) and "不按周、月或季度" in texts(zh)
    # Transactions keep the switch, and no such sentence.
    demo = run_app({"lang": "en"}, "pages/migration.py")
    assert "Period" in _switches(demo) and "compared at their own dates" not in texts(demo)


def test_trends_draw_tier_sizes_between_the_tables(saved):
    at = page(saved["monthly"], "trends")
    assert not at.error
    assert "Churn, repurchase and cohort retention need the purchase history" in texts(at)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    totals: dict[str, float] = {}
    for trace in chart["data"]:
        for x, y in zip(trace["x"], trace["y"], strict=True):
            totals[x[:10]] = totals.get(x[:10], 0) + y
    expected = dict(sql("SELECT CAST(CAST(as_of AS DATE) AS VARCHAR), count(*) FROM read_csv(?, header=true) GROUP BY 1",
                        str(MONTHLY)))
    assert totals == {k: float(v) for k, v in expected.items()}
    # The header explains what customer tables give, not the weekly/monthly view of orders,
    # and the dates are named as the tables' own.
    assert "week by week" not in texts(at)
    assert chart["layout"]["xaxis"]["title"]["text"] == "Table date"
    assert chart["layout"]["title"]["text"].startswith("Customers per tier, by table date")


@pytest.mark.parametrize("name", ["migration", "trends"])
def test_one_table_says_what_is_missing_instead_of_an_empty_chart(saved, name):
    at = page(saved["one"], name)
    assert "describes one date (2025-11-30)" in texts(at) or "describes one date (30 Nov 2025)" in texts(at)
    assert "as_of column" in texts(at)
    assert not at.get("plotly_chart") and not at.error


def test_strategy_works_on_the_tables(saved):
    at = page(saved["monthly"], "strategy")
    assert not at.error, [e.value for e in at.error]
    # Compared with the table one period earlier; churn needs transactions and is left blank.
    assert "2025-10-31" in texts(at) or "31 Oct 2025" in texts(at)
    assert metrics(at)["Churn"] == "—"


def test_customer_lookup_shows_the_files_numbers_and_no_history(saved):
    cid, orders, spend = sql("""SELECT "Customer ID", CAST("Orders" AS BIGINT), CAST("Total Spend" AS DOUBLE)
                                FROM read_csv(?, header=true) WHERE CAST(as_of AS DATE) = ?
                                ORDER BY CAST("Orders" AS BIGINT) DESC, 1 LIMIT 1""", str(MONTHLY), LAST)[0]
    at = page(saved["monthly"], "customer", customer=cid.lower())
    shown = metrics(at)
    assert shown["Purchases (F)"] == f"{orders:,}"
    assert shown["Amount spent (M)"] == f"{round(spend):,}"  # whole units, no currency in a CRM file
    assert "no purchase history" in texts(at)
    assert not at.error


def test_export_lists_every_customer_of_the_latest_table(saved):
    at = page(saved["monthly"], "export")
    customers = sql("SELECT count(*) FROM read_csv(?, header=true) WHERE CAST(as_of AS DATE) = ?",
                    str(MONTHLY), LAST)[0][0]
    assert f"{customers:,}" in texts(at)
    assert not at.error


@pytest.mark.parametrize(("name", "phrase"), [("clv", "counts purchase days"), ("backtest", "cannot be backtested")])
def test_clv_and_backtest_say_why_they_need_transactions(saved, name, phrase):
    at = page(saved["monthly"], name)
    assert phrase in texts(at)
    assert not at.error and not at.get("plotly_chart")


def test_the_data_page_detects_a_customer_file_checks_and_saves_it(saved):
    at = run_app({"lang": "en"}, "pages/data.py")
    at.file_uploader[0].upload(MONTHLY.name, MONTHLY.read_bytes())
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "Detected:" in shown and "each row is one customer" in shown
    assert "3 customer tables" in shown
    read = sql("SELECT count(*) FROM read_csv(?, header=true)", str(MONTHLY))[0][0]
    assert metrics(at)["Rows read"] == f"{read:,}" and metrics(at)["Customers kept"] == f"{read:,}"
    listed = seg.store.get_store().list()
    assert "customers" in listed["kind"].to_list()
    assert any("Customer-level" in m.value for m in at.markdown)


def test_the_data_page_explains_a_customer_file_it_cannot_use(saved):
    at = run_app({"lang": "zh"}, "pages/data.py")
    at.file_uploader[0].upload("dup.csv", (BAD + "2024-06-30,e,2024-06-21,,5,1\n").encode())
    at.run()
    assert not at.exception
    assert any("出现了多次" in e.value for e in at.error)


def _summary_script():
    import streamlit as st

    from ui import report
    from ui.settings import Settings
    from ui.view import View

    view = View(Settings().replace(dataset=st.query_params["dataset"], lang="en"))
    html = report.summary_html(view)
    st.text(f"{html.count('<section')} {'one row per customer and no transactions' in html} "
            f"{'it cannot be backtested' in html}")


def test_the_executive_summary_is_written_for_a_customer_level_data_set(saved):
    at = AppTest.from_function(_summary_script, default_timeout=120)
    at.query_params["dataset"] = saved["monthly"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    sections, says_why, no_backtest = at.text[0].value.split()
    assert int(sections) >= 1 and says_why == "True" and no_backtest == "True"


def test_a_link_with_a_window_shows_no_window_for_customer_tables(saved):
    at = page(saved["monthly"], "overview", window_days="90")
    assert at.sidebar.selectbox(key="_w_window_days_en").value == 90  # kept in the link, not applied
    assert any("All history" in c.value for c in at.caption)
    assert metrics(at)["Customers"] == page(saved["monthly"], "overview").metric[0].value


@pytest.mark.parametrize(("name", "phrase"), [("strategy", "没有更早日期的客户表"), ("trends", "只描述 2025年11月30日 一天"),
                                              ("clv", "客户文件只有每位客户的汇总")])
def test_one_table_explains_itself_in_chinese(saved, name, phrase):
    at = run_app({"lang": "zh", "dataset": saved["one"]}, f"pages/{name}.py")
    assert phrase in "\n".join(e.value for kind in ("info", "warning") for e in at.get(kind))
    assert not at.error


def test_rules_on_lifetime_value_say_in_chinese_that_they_need_transactions(saved):
    at = run_app({"lang": "zh", "dataset": saved["monthly"], "rules": "Alive: P_ALIVE > 0.5\nOthers: else"},
                 "pages/overview.py")
    shown = "\n".join(e.value for e in (*at.error, *at.sidebar.error, *at.warning, *at.sidebar.warning))
    assert "逐笔购买记录" in shown


def test_a_customer_file_without_spend_names_the_missing_column_in_chinese(saved):
    at = run_app({"lang": "zh"}, "pages/data.py")
    at.file_uploader[0].upload("no_spend.csv", b"id,last_purchase,orders\na,2024-06-01,2\n")
    at.run()
    assert not at.exception
    shown = "\n".join(e.value for e in at.error)
    assert "没有找到这些列：消费金额 (M)" in shown and "“一笔订单”" in shown


def test_days_since_the_last_purchase_need_the_files_date_which_the_page_asks_for(saved):
    at = run_app({"lang": "en"}, "pages/data.py")
    at.file_uploader[0].upload("crm.csv", b"Customer ID,Recency,Orders,Total Spend\nA,3,2,10\nB,40,1,5\n")
    at.run()
    assert any("Enter the date the file describes" in e.value for e in at.error)
    date_box = next(d for d in at.date_input if d.key.startswith("cas_of_"))
    date_box.set_value(dt.date(2024, 6, 30)).run()
    assert not at.exception and not at.error
    assert metrics(at)["Customers kept"] == "2"
    stored = seg.store.get_store()
    newest = stored.list().row(0, named=True)
    assert newest["kind"] == "customers" and newest["last_date"] == dt.date(2024, 6, 30)
    assert stored.load(newest["id"])["last_purchase"].to_list() == [dt.date(2024, 6, 27), dt.date(2024, 5, 21)]


USD_FILE = (
    "Customer ID,Last Order Date,Orders,Total Spend,Points\n"
    'u1,2025-11-20,4,"$1,250.00",300\n'
    "u2,2025-10-02,1,$60.00,20\n"
    "u3,2025-11-28,2,$500.00,120\n"
)


def test_a_dollar_customer_file_shows_dollars_in_chinese_and_the_picker_can_change_it(saved):
    at = run_app({"lang": "zh"}, "pages/data.py")
    at.file_uploader[0].upload("usd_customers.csv", USD_FILE.encode())
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    picker = next(s for s in at.selectbox if s.label == "这个数据集的货币")
    assert picker.value == "USD"
    at.switch_page("pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]
    revenue = next(m.value for m in at.metric if m.label == "净消费金额")
    assert revenue.startswith("$") and "¥" not in revenue
    # The same picker that serves transactions re-labels the spend of a customer file.
    at.switch_page("pages/data.py").run()
    next(s for s in at.selectbox if s.label == "这个数据集的货币").set_value("EUR").run()
    at.switch_page("pages/overview.py").run()
    assert next(m.value for m in at.metric if m.label == "净消费金额").startswith("€")


def test_a_rule_on_a_numeric_extra_column_tiers_a_saved_customer_file(saved):
    at = run_app({"lang": "en"}, "pages/data.py")
    at.file_uploader[0].upload("usd_customers.csv", USD_FILE.encode())
    at.run()
    at.switch_page("pages/overview.py").run()
    at.text_area(key="_w_rules").set_value("Loyal: Points >= 100\nOthers: else").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    # Points of 100 or more: u1 and u3 (read off the file above); u2 is left for the second tier.
    table = at.dataframe[0].value
    assert table.iloc[:, 0].tolist() == ["Loyal", "Others"]
    assert table.iloc[:, 1].tolist() == ["2 (66.7%)", "1 (33.3%)"]
