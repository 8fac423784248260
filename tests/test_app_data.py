"""The Data page through AppTest: several files, workbooks, column choices, the switches that
decide what counts, the report of rows and money, named data sets and the server folder.

Expected numbers are the corpus's own (tests/corpus/EXPECTED.toml), worked out by hand from the
files; the page must show them as the loader reports them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from apptest import run_app
from streamlit.testing.v1 import AppTest

from segmentation.errors import DataError
from ui import cache, datasets

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
PAGE = "pages/data.py"


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def plain(elements) -> list[str]:
    """Texts without the backslashes that keep data from being read as Markdown."""
    return [e.value.replace("\\", "") for e in elements]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture(autouse=True)
def fresh_caches():
    """These tests point TIERLENS_DB at their own store; the cached store and frames of one
    test must not leak into the next (or into other test modules)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def upload(at: AppTest, *files: str) -> AppTest:
    for name in files:
        at.file_uploader[0].upload(name, (CORPUS / name).read_bytes())
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


FRAMES = {  # the columns that tell the page's tables apart (headers are translated on screen)
    "tables": {"table", "rows", "columns", "names", "transactions", "header"},
    "choices": {"role", "column", "why", "runner_up"},
    "dropped": {"reason", "rows", "money", "examples"},
    "parts": {"table", "rows"},
    "joins": {"table", "on", "rows_before", "rows_after", "rows_matched"},
}


STATIC_TITLES = {  # static tables (their text wraps) show translated headers and Markdown
    "choices": {"Role": "role", "Column used": "column", "Why": "why", "Runner-up": "runner_up",
                "角色": "role", "选用的列": "column", "原因": "why", "第二候选": "runner_up"},
    "dropped": {"Reason": "reason", "Rows": "rows", "Money": "money", "Examples": "examples",
                "剔除原因": "reason", "行数": "rows", "金额": "money", "示例": "examples"},
}


def frame_of(at: AppTest, name: str):
    """One of the page's tables by its columns; a static one with its headers and cells as read."""
    wanted = FRAMES[name]
    if name in STATIC_TITLES:
        titles = STATIC_TITLES[name]
        table = next(d.value for d in at.table if set(d.value.columns) <= set(titles))
        return table.rename(columns=titles).map(lambda v: v.replace("\\", ""))
    return next(d.value for d in at.dataframe if set(d.value.columns) == wanted)


def widget(at: AppTest, kind: str, prefix: str):
    return next(w for w in at.get(kind) if getattr(w, "key", None) and w.key.startswith(prefix))


def test_three_olist_files_are_listed_and_joined_with_counts_before_and_after():
    at = upload(run_app({"lang": "en"}, page=PAGE), "olist_orders.csv", "olist_order_payments.csv",
                "olist_customers.csv")
    tables = frame_of(at, "tables")
    assert tables[["table", "rows"]].values.tolist() == [
        ["olist_orders.csv", 6], ["olist_order_payments.csv", 9], ["olist_customers.csv", 6]]
    # Different columns with shared ids: joining is offered first.
    assert widget(at, "radio", "combine_").value == "join"
    assert metrics(at) == {"Rows read": "9", "Rows kept": "6", "Rows dropped": "3",
                           "Money read": "545.14", "Money kept": "397.94", "Money dropped": "147.20"}
    joins = frame_of(at, "joins")
    assert joins.values.tolist() == [
        ["olist_orders.csv", "order_id", 9, 9, 8], ["olist_customers.csv", "customer_id", 9, 9, 8]]
    # The person is customer_unique_id (customer_id is one per order), and the page says why.
    choices = frame_of(at, "choices")
    row = choices[choices["role"] == "Customer ID"].iloc[0]
    assert row["column"] == "customer_unique_id" and row["runner_up"] == "customer_id"
    assert "one-to-one" in row["why"]
    dropped = frame_of(at, "dropped")
    assert dict(zip(dropped["rows"], dropped["money"], strict=True)) == {"2": "137.20", "1": "10.00"}
    # One click from a checked load to its tiers.
    go = next(b for b in at.button if b.key == "go_overview")
    assert go.label == "See the tiers"
    # Reading one table instead starts from the one with the money, and says what it lacks.
    widget(at, "radio", "combine_").set_value("pick").run()
    assert widget(at, "selectbox", "pick_").value == 1
    assert any("olist_order_payments.csv”" in e and "column pickers" in e for e in plain(at.error))


def test_a_join_that_would_repeat_amounts_is_refused_with_the_reason():
    at = upload(run_app({"lang": "en"}, page=PAGE), "fanout_orders.csv", "fanout_items.csv")
    assert widget(at, "radio", "combine_").value == "join"
    assert any("count its amount 2 times" in e for e in texts(at.error))
    assert not at.metric
    # Reading one table instead works.
    widget(at, "radio", "combine_").set_value("pick").run()
    assert not at.error
    assert metrics(at)["Rows kept"] == "2"


def test_a_two_sheet_workbook_is_appended_and_the_report_balances():
    at = upload(run_app({"lang": "en"}, page=PAGE), "online_retail_two_years.xlsx")
    assert any("same columns" in c for c in texts(at.caption))
    assert metrics(at) == {"Rows read": "11", "Rows kept": "9", "Rows dropped": "2",
                           "Money read": "216.65", "Money kept": "181.55", "Money dropped": "35.10"}
    assert frame_of(at, "parts").values.tolist() == [["Year 2009-2010", 5], ["Year 2010-2011", 6]]
    # No status column, but the "C" invoices are there and the page says where they went.
    assert any("2 rows with negative amounts (returns or cancellations) are netted" in c for c in texts(at.caption))
    # Example rows name their sheet: row 3 of which year?
    assert sorted(frame_of(at, "dropped")["examples"]) == ["“Year 2009-2010” row 6", "“Year 2010-2011” row 3"]
    # No amount column: the product of quantity and price has its row among the choices.
    choices = frame_of(at, "choices")
    row = choices[choices["role"] == "Amount"].iloc[0]
    assert row["column"] == "Quantity × Price" and "no amount column" in row["why"]
    assert any("1 customer only returned goods" in i and "-35.40" in i for i in texts(at.info))
    # Fee lines are listed and can be left out.
    assert any("D (1), M (1), POST (1)" in c and "-8.65" in c for c in plain(at.caption))
    widget(at, "radio", "fees_").set_value("drop").run()
    assert metrics(at)["Rows kept"] == "6" and metrics(at)["Money kept"] == "190.20"
    assert any("Rows read 11 = kept 6 + dropped 5" in c for c in texts(at.caption))


def test_sheets_with_different_columns_let_the_user_pick_one():
    at = upload(run_app({"lang": "en"}, page=PAGE), "two_shops.xlsx")
    assert widget(at, "radio", "combine_").value == "pick"
    assert metrics(at)["Rows kept"] == "2"
    assert widget(at, "selectbox", "map_customer_id_").value == "customer_id"
    # The sheet left aside is named, with its rows: never a silent partial read.
    assert any("Not read: “Shop B” (2 rows)" in w for w in plain(at.warning))
    widget(at, "selectbox", "pick_").set_value(1).run()
    assert any("Not read: “Shop A” (2 rows)" in w for w in plain(at.warning))
    assert widget(at, "selectbox", "map_customer_id_").value == "member_id"
    assert metrics(at)["Rows kept"] == "2"


def test_identical_rows_follow_the_order_id_rule_and_can_be_flipped():
    at = upload(run_app({"lang": "en"}, page=PAGE), "cdnow_master.txt")
    # No header: the preview is open and the columns are mapped by position.
    assert any("no header row" in w for w in texts(at.warning))
    assert widget(at, "selectbox", "map_customer_id_").value == "column_1"
    assert widget(at, "radio", "dup_").value == "keep"
    assert any("no order id" in c and "found: 2, worth 41.73" in c for c in texts(at.caption))
    assert metrics(at)["Rows kept"] == "16"
    widget(at, "radio", "dup_").set_value("drop").run()
    assert metrics(at)["Rows kept"] == "14" and metrics(at)["Money dropped"] == "41.73"
    # Mapping by position: column_3 is the quantity.
    widget(at, "selectbox", "map_quantity_").set_value("column_3").run()
    assert not at.error and metrics(at)["Rows kept"] == "14"


def test_unpaid_orders_are_left_out_by_default_and_can_be_included():
    at = upload(run_app({"lang": "zh"}, page=PAGE), "tmall_orders.csv")
    assert metrics(at)["保留行数"] == "3"
    assert widget(at, "radio", "cancel_").value == "drop"
    assert widget(at, "selectbox", "map_amount_").value == "买家实际支付金额"
    choices = frame_of(at, "choices")
    assert choices[choices["role"] == "金额"]["runner_up"].iloc[0] == "总金额"
    # The title column names no fee line: the switch says so and cannot be flipped.
    assert widget(at, "radio", "fees_").disabled
    assert any("“宝贝标题”列中没有运费" in c for c in plain(at.caption))
    widget(at, "radio", "cancel_").set_value("keep").run()
    # Kept, the unpaid orders have no payment time: their creation time dates them.
    assert metrics(at)["保留行数"] == "6" and metrics(at)["剔除行数"] == "0"
    assert any("改用“订单创建时间”" in m for m in plain(at.markdown))


def test_saving_under_a_name_lists_versions_restores_and_links_to_the_newest(tmp_path, monkeypatch):
    monkeypatch.setenv("TIERLENS_DB", str(tmp_path / "store"))
    at = upload(run_app({"lang": "en"}, page=PAGE), "monthly_2024_01.csv")
    widget(at, "text_input", "dataset_").set_value("monthly sales").run()
    at.button(key="save_named").click().run()
    first = at.query_params["dataset"]
    at = upload(run_app({"lang": "en"}, page=PAGE), "monthly_2024_02.csv")
    widget(at, "text_input", "dataset_").set_value("monthly sales").run()
    at.button(key="save_named").click().run()
    second = at.query_params["dataset"]
    assert first != second
    assert any("Version 2" in m for m in texts(at.markdown)) and any("Version 1" in m for m in texts(at.markdown))
    assert "?dataset=name:monthly%20sales" in texts(at.code)
    # A link to the name shows the newest version ...
    linked = run_app({"lang": "en", "dataset": "name:monthly sales"}, page=PAGE)
    assert not linked.error
    assert any("Following the newest" in m for m in texts(linked.markdown))
    assert linked.selectbox(key="_w_dataset_en").value == "name:monthly sales"
    assert "monthly sales (newest version)" in linked.selectbox(key="_w_dataset_en").options
    # ... and after a restore, the restored one.
    restore = next(b for b in linked.button if b.key and b.key.startswith("restore_monthly sales_1"))
    restore.click().run()
    assert not linked.exception
    assert cache.store().resolve("name:monthly sales") == first
    assert cache.store().versions("monthly sales")["version"].to_list() == [3, 2, 1]


def test_the_server_folder_lists_its_files_and_loads_one(tmp_path, monkeypatch):
    folder = tmp_path / "exports"
    (folder / "parts").mkdir(parents=True)
    (folder / "orders.csv").write_bytes((CORPUS / "utf8_basic.csv").read_bytes())
    (folder / "parts" / "a.parquet").write_bytes((CORPUS / "typed.parquet").read_bytes())
    outside = tmp_path / "secret.csv"
    outside.write_bytes((CORPUS / "utf8_basic.csv").read_bytes())
    (folder / "link.csv").symlink_to(outside)
    monkeypatch.setenv("TIERLENS_DATA_DIR", str(folder))
    monkeypatch.setenv("TIERLENS_DB", str(tmp_path / "store"))  # loads are saved: keep them out of other tests
    at = run_app({"lang": "en"}, page=PAGE)
    at.get("button_group")[0].set_value("server").run()
    box = at.selectbox(key="server_file")
    assert box.options == ["orders.csv (file, 0.0 MB)", "parts (Parquet folder, 0.0 MB)"]
    box.select_index(0).run()
    assert not at.exception and not at.error
    assert metrics(at)["Rows read"] == "5"
    assert metrics(at)["Rows kept"] == "4"
    # A Parquet folder (as Spark or DuckDB write one) is read as one table.
    at.selectbox(key="server_file").select_index(1).run()
    assert not at.error
    assert metrics(at)["Rows read"] == str(pl.read_parquet(CORPUS / "typed.parquet").height)


def test_nothing_outside_the_server_folder_is_reachable(tmp_path):
    folder = tmp_path / "exports"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "ok.csv").write_text("customer_id,order_date,amount\nA,2024-01-01,5\n")
    secret = tmp_path / "secret.csv"
    secret.write_text("customer_id,order_date,amount\nB,2024-01-01,7\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.parquet").write_bytes((CORPUS / "typed.parquet").read_bytes())
    (folder / "link.csv").symlink_to(secret)
    (folder / "linked_dir").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (folder / "sub" / "inner_link.csv").symlink_to(folder / "sub" / "ok.csv")
    root = folder.resolve()
    listed = [f["name"] for f in datasets.server_files(root)]
    assert listed == ["sub/inner_link.csv", "sub/ok.csv"]
    assert datasets.server_source(root, "sub/ok.csv") == [(folder / "sub" / "ok.csv").resolve()]
    assert datasets.server_source(root, "sub/../sub/ok.csv") == [(folder / "sub" / "ok.csv").resolve()]
    for name in ("../secret.csv", "sub/../../secret.csv", str(secret), "link.csv", "linked_dir",
                 "linked_dir/x.parquet", "/etc/passwd"):
        with pytest.raises(DataError, match="outside the server's data folder"):
            datasets.server_source(root, name)
    with pytest.raises(DataError, match="no readable file"):
        datasets.server_source(root, "missing.csv")


DOLLARS = (
    "customer_id,order_date,amount\n"
    "c1,2024-01-01,$60.00\n"
    "c2,2024-01-02,\"$1,025.50\"\n"
    ",2024-01-03,$10.00\n"
)


def test_the_load_report_writes_money_in_the_data_sets_currency():
    at = run_app({"lang": "zh"}, page=PAGE)
    at.file_uploader[0].upload("dollars.csv", DOLLARS.encode())
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # By hand from the three lines above: 1,095.50 read, the row without a customer (10.00) dropped.
    shown = metrics(at)
    assert (shown["读取金额"], shown["保留金额"], shown["剔除金额"]) == ("$1,095.50", "$1,085.50", "$10.00")
    lines = "\n".join(plain(at.markdown) + plain(at.caption))
    assert "$1,095.50 = $1,085.50 + $10.00" in lines
    assert "删除的行合计金额 $10.00" in lines
    # Escaped in the static table too, so two dollar signs never open a formula.
    assert frame_of(at, "dropped")["money"].tolist() == ["$10.00"]
    # The picker re-labels the data set, and the report follows it.
    next(s for s in at.selectbox if s.label == "这个数据集的货币").set_value("EUR").run()
    assert metrics(at)["保留金额"] == "€1,085.50"


def test_a_customer_files_report_gives_the_newest_tables_spend_in_its_currency():
    data = (
        "as_of,id,last_purchase,orders,spend\n"
        "2024-03-31,a,2024-03-01,1,¥10.00\n"
        "2024-06-30,a,2024-06-01,2,\"¥1,030.25\"\n"
        "2024-06-30,b,2024-06-20,1,¥5.00\n"
    )
    at = run_app({"lang": "en"}, page=PAGE)
    at.file_uploader[0].upload("crm.csv", data.encode())
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # The 30 June table only (1,030.25 + 5.00); March's 10.00 is already inside a's 1,030.25.
    assert metrics(at)["Total spend"] == "¥1,035.25"
