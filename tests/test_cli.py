"""The command line: tiers, customers, refresh/datasets/restore, bad input, a real subprocess."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation import cli
from segmentation.store import Store

ROOT = Path(__file__).resolve().parent.parent

# Hand-worked example, as of 2024-06-30 (the July order and D's lone return do not count):
#   A: last purchase 06-25 -> R 5,   2 orders, 150.0      B: R 121, 1 order, 80.0
#   C: R 1, 1 order, 20.0 (its 999 order is after the as-of date)
# Quantile scores with 3 bins and n = 3: 1 + floor(3 x customers strictly worse / 3), so
#   R: B 1, A 2, C 3    F: B and C tie, nobody worse -> 1, A 3    M: C 1, B 2, A 3
TX_CSV = """customer_id,order_date,amount,order_id
A,2024-06-25,100,1
A,2024-06-01,50,2
B,2024-03-01,80,3
C,2024-06-29,20,4
C,2024-07-05,999,5
D,2024-05-01,-10,6
"""
RULES = "# hand-worked\nChampions: r_score >= 2 and f_score == 3\nRecent: R <= 30\nOthers: else\n"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "tx.csv").write_text(TX_CSV, encoding="utf-8")
    (tmp_path / "tiers.rules").write_text(RULES, encoding="utf-8")
    return tmp_path


# ---- tiers


def test_tiers_writes_one_row_per_customer_with_scores_and_tier(files: Path) -> None:
    code, out, err = run(
        "tiers", str(files / "tx.csv"), "--as-of", "2024-06-30", "--rules", str(files / "tiers.rules"),
        "--bins", "3", "--lang", "en", "--out", str(files / "tiers.csv"),
    )
    assert (code, err.count("Traceback")) == (0, 0)
    table = pl.read_csv(files / "tiers.csv")
    assert table.select(
        "customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "tier"
    ).rows() == [
        ("A", 5, 2, 150.0, 2, 3, 3, "Champions"),
        ("B", 121, 1, 80.0, 1, 1, 2, "Others"),
        ("C", 1, 1, 20.0, 3, 1, 1, "Recent"),
    ]
    assert "Read 6 rows from “tx.csv”" in out
    assert "Tiered 3 customers as of 2024-06-30" in out
    assert out.splitlines()[-3:] == ["  Champions: 1", "  Recent: 1", "  Others: 1"]
    assert "Computing the customer table ..." in err  # progress goes to stderr


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_tiers_parquet_and_excel_hold_the_same_rows(files: Path, suffix: str) -> None:
    args = ["tiers", str(files / "tx.csv"), "--as-of", "2024-06-30", "--rules", str(files / "tiers.rules"),
            "--bins", "3", "-q"]
    assert run(*args, "--out", str(files / "t.csv"))[0] == 0
    assert run(*args, "--out", str(files / f"t{suffix}"))[0] == 0
    expected = pl.read_csv(files / "t.csv")
    got = pl.read_parquet(files / "t.parquet") if suffix == ".parquet" else pl.read_excel(files / "t.xlsx")
    assert got["customer_id"].to_list() == expected["customer_id"].to_list()
    assert got["tier"].cast(pl.String).to_list() == ["Champions", "Others", "Recent"]
    assert got["monetary"].to_list() == expected["monetary"].to_list()


def test_tiers_with_a_preset_uses_its_tier_names_in_the_chosen_language(files: Path) -> None:
    for lang, names in (("en", {"High value", "Medium value", "Low value"}), ("zh", {"高价值客户", "中价值客户", "低价值客户"})):
        code, _, _ = run("tiers", str(files / "tx.csv"), "--as-of", "2024-06-30", "--preset", "value3",
                         "--lang", lang, "--out", str(files / f"{lang}.csv"), "-q")
        assert code == 0
        assert set(pl.read_csv(files / f"{lang}.csv")["tier"].to_list()) <= names


def test_tiers_window_and_thresholds(files: Path) -> None:
    code, _, _ = run(
        "tiers", str(files / "tx.csv"), "--as-of", "2024-06-30", "--rules", str(files / "tiers.rules"),
        "--method", "thresholds", "--bins", "2", "--thresholds", "R:30;F:2;M:100", "--window", "60",
        "--out", str(files / "w.csv"), "-q",
    )
    assert code == 0
    # B's only purchase (March) is outside the 60-day window. Scores: above a cut point scores 2.
    assert pl.read_csv(files / "w.csv").select("customer_id", "r_score", "f_score", "m_score").rows() == [
        ("A", 2, 2, 2),
        ("C", 2, 1, 1),
    ]


# ---- bad input: exit 2 and one sentence, never a traceback

BAD = [
    (["tiers", "{d}/nope.csv", "--as-of", "2024-06-30", "--preset", "value3", "--out", "{d}/o.csv"],
     "The input file {d}/nope.csv does not exist. Check the path and try again."),
    (["tiers", "{d}/tx.csv", "--as-of", "2024-02-30", "--preset", "value3", "--out", "{d}/o.csv"],
     "argument --as-of: '2024-02-30' is not a date; write it as YYYY-MM-DD, for example 2024-06-30."),
    (["tiers", "{d}/tx.csv", "--as-of", "2024-06-30", "--rules", "{d}/bad.rules", "--out", "{d}/o.csv"],
     "In the rules file {d}/bad.rules: Line 1, column"),
    (["tiers", "{d}/tx.csv", "--as-of", "2024-06-30", "--rules", "{d}/none.rules", "--out", "{d}/o.csv"],
     "The rules file {d}/none.rules does not exist."),
    (["tiers", "{d}/tx.csv", "--as-of", "2024-06-30", "--preset", "gold", "--out", "{d}/o.csv"],
     "Unknown preset 'gold'; choose one of: cn8, segments11, groups6, membership, value3."),
    (["tiers", "{d}/tx.csv", "--as-of", "2024-06-30", "--preset", "value3", "--out", "{d}/o.json"],
     "Tierlens cannot write 'o.json': name the output file .csv, .parquet or .xlsx."),
    (["tiers", "{d}/tx.csv", "--as-of", "2024-06-30", "--preset", "value3", "--method", "thresholds",
      "--out", "{d}/o.csv"], "Scoring by thresholds needs cut points"),
    (["tiers", "{d}/tx.csv", "--as-of", "2020-01-01", "--preset", "value3", "--out", "{d}/o.csv"],
     "No customer bought anything on or before 2020-01-01; choose a later --as-of date"),
    (["tiers", "{d}/junk.csv", "--as-of", "2024-06-30", "--preset", "value3", "--out", "{d}/o.csv"], ""),
    (["tiers", "{d}/tx.csv", "--preset", "value3", "--out", "{d}/o.csv"],
     "the following arguments are required: --as-of."),
    (["customers", "{d}/tx.csv", "--dates", "2024-01-01,June", "--out", "{d}/c"],
     "argument --dates: 'June' is not a date"),
    (["customers", "{d}/tx.csv", "--as-of", "2024-06-30", "--window", "-3", "--out", "{d}/c"],
     "argument --window: '-3' is not a positive whole number."),
    (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[" ".join(a[:1] + a[-4:-2]) for a, _ in BAD])
def test_bad_input_is_exit_2_and_a_sentence(files: Path, argv: list[str], message: str) -> None:
    (files / "bad.rules").write_text("Best: R <= 30 and\nRest: else\n", encoding="utf-8")
    (files / "junk.csv").write_bytes(b"\x00\x01\x02 not a table \xff" * 10)
    d = str(files)
    code, out, err = run(*(a.format(d=d) for a in argv))
    assert code == 2
    assert "Traceback" not in err + out
    last = err.strip().splitlines()[-1]
    assert last.startswith("tierlens")
    assert ": error: " in last
    assert message.format(d=d) in last
    assert not (files / "o.csv").exists()


# The same customers as TX_CSV, as a CRM export of one row per customer would give them at
# 2024-06-30 (C's July order not yet placed): the tiers must be those of the transactions.
CRM_CSV = """Customer ID,Last Order Date,Orders,Total Spend
A,2024-06-25,2,150
B,2024-03-01,1,80
C,2024-06-29,1,20
"""


def test_tiers_of_a_customer_level_export_equal_those_of_its_transactions(files: Path) -> None:
    (files / "crm.csv").write_text(CRM_CSV, encoding="utf-8")
    common = ["--as-of", "2024-06-30", "--rules", str(files / "tiers.rules"), "--bins", "3", "--lang", "en"]
    code, out, err = run("tiers", str(files / "crm.csv"), *common, "--out", str(files / "crm_tiers.csv"))
    assert (code, err.count("Traceback")) == (0, 0)
    assert "holds one row per customer" in out and "Tiered 3 customers as of 2024-06-30" in out
    assert run("tiers", str(files / "tx.csv"), *common, "--out", str(files / "tx_tiers.csv"))[0] == 0
    columns = ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "tier"]
    crm = pl.read_csv(files / "crm_tiers.csv").select(columns)
    assert crm.rows() == pl.read_csv(files / "tx_tiers.csv").select(columns).rows()
    assert crm.row(0) == ("A", 5, 2, 150.0, 2, 3, 3, "Champions")


@pytest.mark.parametrize(("extra", "message"), [
    (["--window", "30"], "leave --window out"),
    (["--rules", "{d}/alive.rules"], "use P_ALIVE or CLV, which are fitted on each customer's orders"),
    (["--preset", "value3", "--bins", "3"], None),
])
def test_customer_level_tiers_refuse_what_needs_orders_in_a_sentence(
    files: Path, extra: list[str], message: str | None
) -> None:
    (files / "crm.csv").write_text(CRM_CSV, encoding="utf-8")
    (files / "alive.rules").write_text("Likely: P_ALIVE > 0.5\nRest: else\n", encoding="utf-8")
    extra = [e.format(d=files) for e in extra]
    which = [] if "--preset" in extra or "--rules" in extra else ["--rules", str(files / "tiers.rules")]
    code, out, err = run("tiers", str(files / "crm.csv"), "--as-of", "2024-06-30", *which, *extra,
                         "--out", str(files / "o.csv"))
    assert "Traceback" not in err + out
    if message is None:
        assert code == 0 and (files / "o.csv").exists()
    else:
        assert code == 2 and message in err.strip().splitlines()[-1]
        assert not (files / "o.csv").exists()


def test_every_option_has_help_text() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) >= {"tiers", "customers", "refresh", "datasets", "restore"}
    for name, p in sub.choices.items():
        for action in p._actions:
            assert action.help, f"{name} {action.dest} has no help"
    assert run("--help")[0] == 0


# ---- customers


def test_customers_writes_one_parquet_per_date(files: Path) -> None:
    code, out, err = run("customers", str(files / "tx.csv"), "--dates", "2024-06-30,2024-03-31",
                         "--out", str(files / "tables"))
    assert code == 0
    assert sorted(p.name for p in (files / "tables").iterdir()) == [
        "customers_2024-03-31.parquet",
        "customers_2024-06-30.parquet",
    ]
    march = pl.read_parquet(files / "tables" / "customers_2024-03-31.parquet")
    assert march.select("customer_id", "recency_days", "frequency", "monetary").rows() == [("B", 30, 1, 80.0)]
    june = pl.read_parquet(files / "tables" / "customers_2024-06-30.parquet").sort("customer_id")
    assert june["recency_days"].to_list() == [5, 121, 1]
    assert "[1/2] Customer table as of 2024-03-31 (polars)" in err
    assert "2024-06-30: 3 customers" in out


def test_an_engine_whose_package_is_missing_is_named(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    code, out, err = run("customers", str(files / "tx.csv"), "--engine", "spark", "--as-of", "2024-06-30",
                         "--out", str(files / "c"))
    assert code == 2
    assert "The spark engine needs the package 'pyspark', which is not installed" in err
    assert out == "" and not (files / "c").exists()  # refused before reading the file


def test_the_duckdb_engine_gives_the_polars_table(files: Path) -> None:
    tables = {}
    for engine in ("polars", "duckdb"):
        code, _, err = run("customers", str(files / "tx.csv"), "--engine", engine, "--as-of", "2024-06-30",
                           "--out", str(files / engine))
        assert code == 0, err
        tables[engine] = pl.read_parquet(files / engine / "customers_2024-06-30.parquet")
    assert tables["duckdb"].equals(tables["polars"])


# ---- refresh, datasets, restore


def test_refresh_versions_and_restore(files: Path) -> None:
    store_dir = files / "store"
    (files / "v2.csv").write_text(TX_CSV + "B,2024-06-20,40,7\n", encoding="utf-8")
    code, out, _ = run("refresh", str(files / "tx.csv"), "--dataset", "sales", "--store", str(store_dir), "-q")
    assert code == 0
    with Store.open(store_dir) as store:
        v1 = store.resolve("name:sales")
        assert f"'sales' now shows {v1} (version 1); links with dataset=name:sales open it." in out
        assert store.report(v1)["rows_read"] == 6
        assert (store.raw_dir / f"{v1}.upload").read_text(encoding="utf-8") == TX_CSV
    code, out, _ = run("refresh", str(files / "v2.csv"), "--dataset", "sales", "--store", str(store_dir), "-q")
    assert code == 0
    code, out, _ = run("refresh", str(files / "v2.csv"), "--dataset", "sales", "--store", str(store_dir), "-q")
    assert code == 0 and "'sales' is unchanged" in out
    with Store.open(store_dir) as store:
        v2 = store.resolve("name:sales")
        assert store.versions("sales")["id"].to_list() == [v2, v1]
        assert store.load(v2).height == 7
    code, out, _ = run("datasets", "--store", str(store_dir))
    assert code == 0 and out.startswith(f"sales\t{v2}\t2 version(s)")
    code, out, _ = run("datasets", "sales", "--store", str(store_dir))
    assert [line.split("\t")[:2] for line in out.splitlines()] == [["* v2", v2], ["  v1", v1]]
    assert run("restore", "sales", v1, "--store", str(store_dir))[0] == 0
    with Store.open(store_dir) as store:
        assert store.resolve("name:sales") == v1
    code, _, err = run("restore", "sales", "f" * 32, "--store", str(store_dir))
    assert code == 2 and f"'{'f' * 32}' is not a stored version of 'sales'." in err
    code, _, err = run("datasets", "nobody", "--store", str(store_dir))
    assert code == 2 and "No data set is called 'nobody'." in err


def test_refresh_of_a_customer_level_export_stores_a_customer_data_set(files: Path) -> None:
    store_dir = files / "store"
    (files / "crm.csv").write_text(CRM_CSV, encoding="utf-8")
    code, out, err = run("refresh", str(files / "crm.csv"), "--dataset", "crm", "--as-of", "2024-06-30",
                         "--store", str(store_dir), "--lang", "en")
    assert (code, err.count("Traceback")) == (0, 0), err
    assert "holds one row per customer" in out
    with Store.open(store_dir) as store:
        dataset_id = store.resolve("name:crm")
        assert store.kind(dataset_id) == "customers"
        assert store.as_of_dates(dataset_id) == (dt.date(2024, 6, 30),)
        assert store.report(dataset_id)["kind"] == "customers"
        table = store.load(dataset_id).sort("customer_id")
        # Recency counted from the file's last order dates at the date it describes.
        assert table.select("customer_id", "recency_days", "frequency", "monetary").rows() == [
            ("A", 5, 2, 150.0), ("B", 121, 1, 80.0), ("C", 1, 1, 20.0),
        ]


def test_refresh_uses_tierlens_db_by_default(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERLENS_DB", str(files / "env-store"))
    assert run("refresh", str(files / "tx.csv"), "--dataset", "北区", "-q")[0] == 0
    with Store.open(files / "env-store") as store:
        assert store.datasets()["dataset"].to_list() == ["北区"]


# ---- real processes


def subprocess_env(store_dir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TIERLENS_DB": str(store_dir)}


def test_refresh_in_a_real_process_while_this_one_serves(files: Path) -> None:
    store_dir = files / "store"
    app = Store.open(store_dir)  # stands in for the running app
    before = app.save(pl.read_csv(files / "tx.csv", try_parse_dates=True).cast({"order_id": pl.String}),
                      name="uploaded in the app")
    done = subprocess.run(
        [sys.executable, "-m", "segmentation", "refresh", str(files / "tx.csv"), "--dataset", "sales"],
        cwd=files, env=subprocess_env(store_dir), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Reading tx.csv ..." in done.stderr
    current = app.resolve("name:sales")
    assert f"'sales' now shows {current} (version 1)" in done.stdout
    assert app.load(before).height == 6 and app.load(current).height == 6
    assert set(app.list()["id"].to_list()) == {before, current}


def test_bad_input_in_a_real_process_is_one_sentence(files: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "segmentation", "tiers", "missing.csv", "--as-of", "2024-06-30",
         "--preset", "cn8", "--out", "x.csv"],
        cwd=files, env=subprocess_env(files / "store"), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "tierlens tiers: error: The input file missing.csv does not exist. Check the path and try again.\n"
    )


# ---- property: the written table matches the definition, computed here in plain Python

rows = st.lists(
    st.tuples(
        st.sampled_from(["001", "002", "x", "客户"]),
        st.dates(dt.date(2024, 1, 1), dt.date(2024, 3, 31)),
        st.integers(-500, 5000),  # cents; negative = return, zero = no purchase
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=rows, as_of=st.dates(dt.date(2024, 1, 1), dt.date(2024, 4, 15)))
def test_customer_columns_follow_the_definition(tmp_path: Path, log: list[tuple[str, dt.date, int]], as_of: dt.date) -> None:
    source = tmp_path / "log.csv"
    lines = ["customer_id,order_date,amount,order_id"]
    lines += [f"{c},{d.isoformat()},{cents / 100:.2f},o{k}" for k, (c, d, cents) in enumerate(log)]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected: dict[str, tuple[int, int, int]] = {}
    for customer in {c for c, _, _ in log}:
        mine = [(d, cents) for c, d, cents in log if c == customer and d <= as_of]
        bought = [d for d, cents in mine if cents > 0]
        if bought:
            expected[customer] = ((as_of - max(bought)).days, len(bought), sum(cents for _, cents in mine))
    out = tmp_path / "t.parquet"
    code, _, err = run("tiers", str(source), "--as-of", as_of.isoformat(), "--preset", "value3", "--out", str(out), "-q")
    if not expected:
        assert code == 2 and "No customer bought anything" in err
        return
    assert code == 0, err
    table = pl.read_parquet(out)
    got = {
        r["customer_id"]: (r["recency_days"], r["frequency"], round(r["monetary"] * 100))
        for r in table.iter_rows(named=True)
    }
    assert got == expected
    assert table["tier"].null_count() == 0
    assert table["customer_id"].to_list() == sorted(expected)


# ---- rules on lifetime value


def test_rules_on_p_alive_fit_the_apps_model_first(tmp_path: Path) -> None:
    from segmentation.demo import demo_transactions

    demo_transactions().write_parquet(tmp_path / "demo.parquet")
    (tmp_path / "alive.rules").write_text("Likely: P_ALIVE > 0.5\nRest: else\n", encoding="utf-8")
    code, _, err = run("tiers", str(tmp_path / "demo.parquet"), "--as-of", "2024-06-30",
                       "--rules", str(tmp_path / "alive.rules"), "--out", str(tmp_path / "t.parquet"))
    assert code == 0, err
    assert "Fitting the lifetime-value model" in err
    table = pl.read_parquet(tmp_path / "t.parquet")
    assert table["p_alive"].null_count() < table.height
    # The rule, read by hand: a customer is 'Likely' exactly when their P_ALIVE exceeds 0.5.
    for row in table.iter_rows(named=True):
        likely = row["p_alive"] is not None and row["p_alive"] > 0.5
        assert row["tier"] == ("Likely" if likely else "Rest")
    assert set(table["tier"].to_list()) == {"Likely", "Rest"}


def test_rules_on_clv_with_too_little_history_are_a_sentence(files: Path) -> None:
    (files / "clv.rules").write_text("Top: CLV > 100\nRest: else\n", encoding="utf-8")
    code, _, err = run("tiers", str(files / "tx.csv"), "--as-of", "2024-06-30",
                       "--rules", str(files / "clv.rules"), "--out", str(files / "t.csv"), "-q")
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith("tierlens tiers: error: ")


# ---- backtest
# Hand-worked: tiered on 2024-06-30 as above (Champions A, Recent C, Others B); the window
# (06-30, 07-05] holds only C's 999 order. Ranked by tier: A, C, B, so the top 10% and 20% (a
# share of A) hold 0 of the window's revenue; perfect hindsight puts C first: 0.1 / (1/3) = 30%
# and 60%. The ranking's gains curve (0,0) (1/3,0) (2/3,1) (1,1) has area 1/2, the diagonal's,
# so the gap closed is 0; one of the three tier pairs is inverted (Recent out-earned Champions).


def test_backtest_writes_the_tier_table_and_the_quality_numbers(files: Path) -> None:
    code, out, err = run(
        "backtest", str(files / "tx.csv"), "--as-of", "2024-06-30", "--horizon", "5", "--rules",
        str(files / "tiers.rules"), "--bins", "3", "--lang", "en", "--out", str(files / "bt"),
    )
    assert (code, err.count("Traceback")) == (0, 0), err
    tiers = pl.read_csv(files / "bt" / "tiers.csv")
    assert tiers.select("row", "customers", "buyers", "orders", "revenue").rows() == [
        ("Champions", 1, 0, 0, 0.0), ("Recent", 1, 1, 1, 999.0), ("Others", 1, 0, 0, 0.0),
        ("__new__", 0, 0, 0, 0.0), ("__untiered__", 0, 0, 0, 0.0),
    ]
    doc = json.loads((files / "bt" / "backtest.json").read_text(encoding="utf-8"))
    assert (doc["as_of"], doc["window_end"], doc["horizon_days"]) == ("2024-06-30", "2024-07-05", 5)
    quality = {r["metric"]: r["value"] for r in doc["quality"]}
    assert quality["inversions"] == 1 and quality["tier_pairs"] == 3
    assert quality["captured_10"] == pytest.approx(0.0) and quality["captured_20"] == pytest.approx(0.0)
    assert quality["perfect_10"] == pytest.approx(0.3) and quality["perfect_20"] == pytest.approx(0.6)
    assert quality["gap_closed"] == pytest.approx(0.0)
    assert {r["ranking"] for r in doc["comparison"]} == {"current", "recency", "clv"}
    assert "gap closed: 0.000; inversions: 1 of 3 tier pairs" in out
    assert (files / "bt" / "quality.csv").read_text(encoding="utf-8-sig").startswith("metric,value,definition_en")


def test_backtest_json_alone_and_the_default_date(files: Path) -> None:
    code, _out, err = run("backtest", str(files / "tx.csv"), "--horizon", "5", "--preset", "value3", "-q",
                          "--out", str(files / "bt.json"))
    assert code == 0, err
    doc = json.loads((files / "bt.json").read_text(encoding="utf-8"))
    # The data ends on 2024-07-05, so the latest T with a full 5-day window is 06-30.
    assert doc["as_of"] == "2024-06-30"
    assert sum(r["revenue"] for r in doc["tiers"]) == pytest.approx(999.0)


def test_backtest_of_a_preset_ranks_its_tiers_in_the_presets_value_order(files: Path) -> None:
    from segmentation.presets import get_preset
    from segmentation.rules import parse_rules

    code, _out, err = run("backtest", str(files / "tx.csv"), "--horizon", "5", "--preset", "cn8", "--lang", "en",
                          "-q", "--out", str(files / "cn8.json"))
    assert code == 0, err
    doc = json.loads((files / "cn8.json").read_text(encoding="utf-8"))
    tiers = [r["row"] for r in doc["tiers"] if r["kind"] == "tier"]
    order = list(get_preset("cn8").value_order("en"))
    assert order[:-1] != list(parse_rules(get_preset("cn8").rules_text("en")).names)[:-1]  # the two orders differ
    assert tiers == [n for n in order if n in tiers]
    # As in the app, the settings given are the preset's defaults, so both rows agree.
    rows = {r["ranking"]: r for r in doc["comparison"]}
    for key in ("inversions", "spearman", "captured_10", "captured_20", "gap_closed"):
        assert rows["current"][key] == rows["preset"][key], key


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--as-of", "2024-07-01"], "the latest as-of date with a full 5-day window is 2024-06-30"),
        (["--out", "bt.csv"], "give a folder, or a file named .json"),
        (["--horizon", "0"], "'0' is not a positive whole number"),
    ],
)
def test_backtest_bad_input_is_exit_2_and_a_sentence(files: Path, extra: list[str], message: str) -> None:
    argv = ["backtest", str(files / "tx.csv"), "--preset", "value3", "--horizon", "5", "-q",
            "--out", str(files / "bt")]
    for i in range(0, len(extra), 2):
        if extra[i] in argv:
            argv[argv.index(extra[i]) + 1] = extra[i + 1] if extra[i] != "--out" else str(files / extra[i + 1])
        else:
            argv += extra[i:i + 2]
    code, _out, err = run(*argv)
    assert code == 2
    assert message in err and "Traceback" not in err
