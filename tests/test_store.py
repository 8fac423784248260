"""The DuckDB store: round trips, identity, listing, deletion, rebuild, lockdown, locking, threads."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation import store as store_mod
from segmentation.errors import DataError
from segmentation.store import Store, content_id, default_db_path, get_store

ROOT = Path(__file__).resolve().parent.parent


def tx_small() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["007", "007", "B12"],
            "order_date": [dt.date(2024, 1, 5), dt.date(2024, 3, 1), dt.date(2024, 2, 10)],
            "amount": [120.5, -20.0, 80.0],
            "order_id": ["o1", "o2", "o3"],
            "channel": ["web", None, "store"],
            "quantity": [2, 1, None],
            "渠道": ["线上", "线下", ""],
        }
    )


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "db" / "tierlens.duckdb"
    monkeypatch.setenv("TIERLENS_DB", str(path))
    return path


@pytest.fixture
def store(db_path: Path):
    with Store.open() as opened:
        yield opened


# ---- round trips


def test_round_trip_keeps_values_types_and_order(store: Store) -> None:
    dataset_id = store.save(tx_small(), name="spring orders")
    out = store.load(dataset_id)
    assert out.to_dict(as_series=False) == {
        "customer_id": ["007", "007", "B12"],
        "order_date": [dt.date(2024, 1, 5), dt.date(2024, 3, 1), dt.date(2024, 2, 10)],
        "amount": [120.5, -20.0, 80.0],
        "order_id": ["o1", "o2", "o3"],
        "channel": ["web", None, "store"],
        "quantity": [2, 1, None],
        "渠道": ["线上", "线下", ""],
    }
    assert dict(out.schema) == {
        "customer_id": pl.String,
        "order_date": pl.Date,
        "amount": pl.Float64,
        "order_id": pl.String,
        "channel": pl.String,
        "quantity": pl.Int64,
        "渠道": pl.String,
    }


def test_datetime_order_dates_and_typed_extras_round_trip(store: Store) -> None:
    tx = pl.DataFrame(
        {
            "customer_id": ["A", "B"],
            "order_date": [dt.datetime(2024, 1, 5, 9, 30, 1, 250), dt.datetime(2024, 1, 6)],
            "amount": [1.0, 2.0],
            "order_id": ["1", "2"],
            "paid": [True, None],
            "ratio": [float("nan"), 1 / 3],
            "shipped": [dt.date(2024, 1, 7), None],
            "seen_at": [dt.datetime(2024, 1, 5, 1, 0, tzinfo=dt.UTC), None],
            "tier_hint": pl.Series(["gold", "silver"], dtype=pl.Categorical),
            "price": pl.Series(["1.10", "2.25"]).cast(pl.Decimal(10, 2)),
        }
    ).with_columns(pl.col("seen_at").dt.convert_time_zone("Asia/Shanghai"))
    out = store.load(store.save(tx, name="typed"))
    assert out.schema == tx.schema
    assert out.equals(tx)
    assert out["seen_at"].to_list() == [
        dt.datetime(2024, 1, 5, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        None,
    ]


def test_unsupported_extra_types_come_back_as_text(store: Store) -> None:
    tx = (
        tx_small()
        .select("customer_id", "order_date", "amount", "order_id")
        .with_columns(
            items=pl.Series([[1, 2], None, [3]]),
            wait=pl.Series([dt.timedelta(days=2), None, None]),
        )
    )
    out = store.load(store.save(tx, name="odd types"))
    assert out["items"].to_list() == ["[1,2]", None, "[3]"]
    assert out["wait"].to_list() == ["P2D", None, None]


def test_lazy_input_and_column_order_are_canonical(store: Store) -> None:
    shuffled = tx_small().select("channel", "amount", "order_id", "customer_id", "order_date")
    out = store.load(store.save(shuffled.lazy(), name="lazy"))
    assert out.columns == ["customer_id", "order_date", "amount", "order_id", "channel"]


# ---- identity


def test_id_is_128_bit_hex_and_same_data_saves_once(store: Store) -> None:
    first = store.save(tx_small(), name="first name")
    again = store.save(tx_small(), name="second name", report={"x": 1})
    assert first == again == content_id(tx_small())
    assert len(first) == 32 and int(first, 16) >= 0
    listed = store.list()
    assert listed["id"].to_list() == [first]
    assert listed["name"].to_list() == ["first name"]
    assert store.report(first) == {}


def test_id_changes_with_content_not_with_name() -> None:
    base = content_id(tx_small())
    assert content_id(tx_small().with_columns(pl.col("amount") + 0.01)) != base
    assert content_id(tx_small().reverse()) != base  # row order is content
    assert content_id(tx_small().rename({"channel": "source"})) != base
    # An empty text and a missing value are different content.
    assert content_id(tx_small().with_columns(pl.col("渠道").replace("", None))) != base
    assert content_id(tx_small()) == base


def test_content_survives_the_round_trip(store: Store) -> None:
    dataset_id = store.save(tx_small(), name="x")
    assert content_id(store.load(dataset_id)) == dataset_id


# ---- listing, report, deletion


def test_list_describes_each_data_set(store: Store) -> None:
    assert store.list().to_dict(as_series=False) == {
        "id": [],
        "name": [],
        "created_at": [],
        "rows": [],
        "customers": [],
        "first_date": [],
        "last_date": [],
    }
    before = dt.datetime.now(dt.UTC)
    dataset_id = store.save(tx_small(), name="春季订单", report={"rows_read": 3, "dropped": {}})
    listed = store.list()
    assert listed.schema == pl.Schema(store_mod._LIST_SCHEMA)
    row = listed.row(0, named=True)
    created = row.pop("created_at")
    assert row == {
        "id": dataset_id,
        "name": "春季订单",
        "rows": 3,
        "customers": 2,
        "first_date": dt.date(2024, 1, 5),
        "last_date": dt.date(2024, 3, 1),
    }
    assert before - dt.timedelta(seconds=1) <= created <= dt.datetime.now(dt.UTC)
    assert store.report(dataset_id) == {"rows_read": 3, "dropped": {}}


def test_list_is_newest_first(store: Store) -> None:
    old = store.save(tx_small(), name="old")
    time.sleep(0.01)
    new = store.save(tx_small().head(2), name="new")
    assert store.list()["id"].to_list() == [new, old]


def test_delete_removes_rows_metadata_and_raw_files(store: Store) -> None:
    keep = store.save(tx_small(), name="keep")
    gone = store.save(tx_small().head(1), name="gone", raw=b"customer_id,amount\n007,1\n")
    assert (store.raw_dir / f"{gone}.upload").read_bytes() == b"customer_id,amount\n007,1\n"
    store.delete(gone)
    assert not store.exists(gone)
    assert store.exists(keep)
    assert sorted(p.name for p in store.raw_dir.iterdir()) == [f"{keep}.parquet"]
    rows = store._con.execute("SELECT dataset_id, count(*) FROM transactions GROUP BY dataset_id").fetchall()
    assert rows == [(keep, 3)]
    assert store.load(keep).height == 3


@pytest.mark.parametrize("call", ["load", "report", "delete"])
@pytest.mark.parametrize("bad_id", ["0" * 32, "x'; DROP TABLE datasets; --", ""])
def test_unknown_id_is_a_data_error(store: Store, call: str, bad_id: str) -> None:
    store.save(tx_small(), name="x")
    with pytest.raises(DataError, match="That data set is not in the store"):
        getattr(store, call)(bad_id)
    assert store.exists(bad_id) is False
    assert store.list().height == 1


def test_user_text_is_data_never_sql(store: Store) -> None:
    evil = "x'); DROP TABLE transactions; --"
    tx = tx_small().rename({"channel": evil}).with_columns(pl.lit(evil).alias("order_id"))
    dataset_id = store.save(tx, name=evil)
    assert store.list()["name"].to_list() == [evil]
    out = store.load(dataset_id)
    assert out.columns[4] == evil
    assert out["order_id"].to_list() == [evil] * 3


@pytest.mark.parametrize(
    ("frame", "name", "message"),
    [
        (tx_small().drop("amount"), "x", "lacks the column"),
        (tx_small().with_columns(pl.col("order_date").cast(pl.String)), "x", "must hold dates"),
        (tx_small().head(0), "x", "no rows"),
        (tx_small(), "  ", "Give the data set a name"),
    ],
)
def test_unusable_input_is_refused(store: Store, frame: pl.DataFrame, name: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        store.save(frame, name=name)
    assert store.list().height == 0


# ---- raw files and rebuild


def test_raw_parquet_and_rebuild_after_losing_the_database(db_path: Path) -> None:
    with Store.open() as store:
        first = store.save(tx_small(), name="one", report={"kept": 3}, raw=b"raw bytes")
        second = store.save(tx_small().head(1), name="two")
        created = dict(store.list().select("id", "created_at").iter_rows())
    assert sorted(p.name for p in (db_path.parent / "raw").iterdir()) == sorted(
        [f"{first}.parquet", f"{first}.upload", f"{second}.parquet"]
    )
    db_path.unlink()
    db_path.with_name(db_path.name + ".wal").unlink(missing_ok=True)
    with Store.open() as store:
        assert store.list().height == 0
        assert store.rebuild_from_raw() == {first: "restored", second: "restored"}
        assert store.rebuild_from_raw() == {first: "present", second: "present"}
        assert store.load(first).equals(tx_small())
        assert store.report(first) == {"kept": 3}
        listed = store.list()
        assert dict(listed.select("id", "name").iter_rows()) == {first: "one", second: "two"}
        assert dict(listed.select("id", "created_at").iter_rows()) == created


def test_rebuild_skips_a_raw_file_that_does_not_match_its_id(store: Store) -> None:
    dataset_id = store.save(tx_small(), name="x")
    store.delete(dataset_id)
    forged = store.raw_dir / f"{dataset_id}.parquet"
    tx_small().head(1).write_parquet(forged)
    (store.raw_dir / f"{'f' * 32}.parquet").write_bytes(b"not parquet")
    outcome = store.rebuild_from_raw()
    assert outcome[dataset_id] == "skipped: content does not match its id"
    assert outcome["f" * 32].startswith("skipped: unreadable")
    assert store.list().height == 0


def test_save_restores_a_missing_raw_file(store: Store) -> None:
    dataset_id = store.save(tx_small(), name="x")
    (store.raw_dir / f"{dataset_id}.parquet").unlink()
    assert store.save(tx_small(), name="x") == dataset_id
    assert pl.read_parquet(store.raw_dir / f"{dataset_id}.parquet").equals(tx_small())


# ---- location


def test_location_comes_from_env_or_project_root(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_db_path() == db_path
    with Store.open() as store:
        assert store.path == db_path
        assert store.raw_dir == db_path.parent / "raw"
        assert db_path.exists()
    monkeypatch.delenv("TIERLENS_DB")
    assert default_db_path() == ROOT / "data" / "tierlens.duckdb"


def test_get_store_is_one_instance_per_database(db_path: Path, tmp_path: Path) -> None:
    try:
        first = get_store()
        assert get_store() is first
        assert get_store(db_path) is first
        other = get_store(tmp_path / "other.duckdb")
        assert other is not first
    finally:
        for path in (db_path, (tmp_path / "other.duckdb").resolve()):
            opened = store_mod._instances.pop(path, None)
            if opened is not None:
                opened.close()


# ---- lockdown


PROBES = [
    ("SELECT * FROM read_text('/etc/passwd')", duckdb.PermissionException),
    ("SELECT * FROM read_csv('/etc/passwd')", duckdb.PermissionException),
    ("SELECT * FROM glob('/etc/*')", duckdb.PermissionException),
    ("COPY (SELECT 1) TO '{tmp}/x.csv'", duckdb.PermissionException),
    ("COPY datasets TO '{tmp}/datasets.parquet'", duckdb.PermissionException),
    ("EXPORT DATABASE '{tmp}/export'", duckdb.PermissionException),
    ("ATTACH '{tmp}/other.db' AS other", duckdb.PermissionException),
    ("INSTALL httpfs", duckdb.PermissionException),
    ("LOAD httpfs", duckdb.PermissionException),
    ("SET enable_external_access = true", duckdb.InvalidInputException),
    ("SET GLOBAL enable_external_access = true", duckdb.InvalidInputException),
    ("RESET enable_external_access", duckdb.InvalidInputException),
    ("SET lock_configuration = false", duckdb.InvalidInputException),
    ("SET autoload_known_extensions = true", duckdb.InvalidInputException),
    ("SET allowed_directories = ['/']", duckdb.InvalidInputException),
]


@pytest.mark.parametrize(("sql", "error"), PROBES, ids=[p[0].split("'")[0].strip() for p in PROBES])
def test_connection_refuses_file_extension_and_config_access(
    store: Store, tmp_path: Path, sql: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        store._con.execute(sql.format(tmp=tmp_path))
    # A thread's cursor shares the locked configuration.
    with pytest.raises(error):
        store._cursor().execute(sql.format(tmp=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db"]


def test_raw_parquet_files_are_out_of_sql_reach(store: Store) -> None:
    dataset_id = store.save(tx_small(), name="x")
    with pytest.raises(duckdb.PermissionException):
        store._con.execute(f"SELECT * FROM read_parquet('{store.raw_dir}/{dataset_id}.parquet')")


def test_locked_settings_are_in_force(store: Store) -> None:
    rows = store._con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
        "'lock_configuration', 'autoinstall_known_extensions', 'autoload_known_extensions', "
        "'allow_community_extensions') ORDER BY name"
    ).fetchall()
    assert rows == [
        ("allow_community_extensions", "false"),
        ("autoinstall_known_extensions", "false"),
        ("autoload_known_extensions", "false"),
        ("enable_external_access", "false"),
        ("lock_configuration", "true"),
    ]


# ---- other processes and bad files

HOLDER = textwrap.dedent(
    """
    import sys, time
    from segmentation.store import Store
    store = Store.open(sys.argv[1])
    print("ready", flush=True)
    time.sleep(60)
    """
)


def test_a_second_process_gets_an_actionable_message(db_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(DataError) as caught:
            Store.open()
        message = str(caught.value)
        assert message.startswith(f"The Tierlens database at {db_path} is in use by another process")
        assert f"(pid {holder.pid})" in message
        assert "Close the other Tierlens instance or set TIERLENS_DB to another file." in message
    finally:
        holder.kill()
        holder.wait(timeout=10)
    with Store.open() as store:  # the lock goes with the process
        assert store.list().height == 0


def test_a_file_that_is_not_a_database_is_a_data_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is a spreadsheet, not a database" * 200)
    with pytest.raises(DataError, match="could not be opened"):
        Store.open()


# ---- threads


def test_threads_save_and_load_concurrently(store: Store) -> None:
    frames = [tx_small().with_columns(pl.col("amount") * (k + 1)) for k in range(6)]
    ids: dict[int, str] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def work(k: int) -> None:
        try:
            barrier.wait(timeout=10)
            ids[k] = store.save(frames[k], name=f"set {k}")
            # Everyone also saves frame 0, racing on the same id.
            assert store.save(frames[0], name="shared") == content_id(frames[0])
            for _ in range(3):
                assert store.load(ids[k]).equals(frames[k])
                store.list()
        except BaseException as exc:  # collected here, asserted in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(store.list()["id"].to_list()) == sorted(content_id(f) for f in frames)
    total = store._con.execute("SELECT count(*) FROM transactions").fetchall()
    assert total == [(6 * 3,)]


# ---- properties and size

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), text),
            st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)),
            st.one_of(st.none(), st.floats(allow_nan=False, width=64)),
            text,
            st.one_of(st.none(), text),
            st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
            st.one_of(st.none(), st.floats(allow_nan=True)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_small_frame_round_trips(store: Store, rows: list[tuple]) -> None:
    tx = pl.DataFrame(
        rows,
        schema={
            "customer_id": pl.String,
            "order_date": pl.Date,
            "amount": pl.Float64,
            "order_id": pl.String,
            "note": pl.String,
            "points": pl.Int64,
            "score": pl.Float64,
        },
        orient="row",
    )
    dataset_id = store.save(tx, name="generated")
    out = store.load(dataset_id)
    assert out.equals(tx)
    assert content_id(out) == dataset_id


def test_300k_rows_round_trip_quickly(store: Store) -> None:
    n = 300_000
    k = pl.int_range(n, eager=True)
    tx = pl.DataFrame(
        {
            "customer_id": (k % 20_000).cast(pl.String).str.zfill(6),
            "order_date": pl.date_range(dt.date(2021, 1, 1), dt.date(2023, 12, 31), eager=True).gather(
                k % 1095
            ),
            "amount": (k % 997).cast(pl.Float64) / 4 - 10,
            "order_id": k.cast(pl.String),
            "channel": pl.Series(["web", "store", "app"]).gather(k % 3),
        }
    )
    dataset_id = store.save(tx, name="large")
    started = time.perf_counter()
    out = store.load(dataset_id)
    elapsed = time.perf_counter() - started
    assert out.equals(tx)
    # About 0.1 s on an idle 2-core machine; the bound only catches a pathological regression.
    assert elapsed < 3.0
