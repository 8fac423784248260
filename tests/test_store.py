"""The store: round trips, identity, listing, deletion, rebuild, named data sets, paths, processes, threads."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

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
    path = tmp_path / "db" / "store"
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
        "kind": [],
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
        "kind": "transactions",
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
    assert sorted(p.name for p in store.catalog_dir.iterdir()) == [f"{keep}.json"]
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


def test_raw_parquet_and_rebuild_after_losing_the_catalog(db_path: Path) -> None:
    with Store.open() as store:
        first = store.save(tx_small(), name="one", report={"kept": 3}, raw=b"raw bytes")
        second = store.save(tx_small().head(1), name="two")
        created = dict(store.list().select("id", "created_at").iter_rows())
    assert sorted(p.name for p in (db_path / "raw").iterdir()) == sorted(
        [f"{first}.parquet", f"{first}.upload", f"{second}.parquet"]
    )
    shutil.rmtree(db_path / "catalog")
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
        assert store.raw_dir == db_path / "raw"
        assert db_path.is_dir()
    monkeypatch.delenv("TIERLENS_DB")
    assert default_db_path() == ROOT / "data" / "store"


def test_get_store_is_one_instance_per_database(db_path: Path, tmp_path: Path) -> None:
    try:
        first = get_store()
        assert get_store() is first
        assert get_store(db_path) is first
        other = get_store(tmp_path / "other")
        assert other is not first
    finally:
        for path in (db_path, (tmp_path / "other").resolve()):
            opened = store_mod._instances.pop(path, None)
            if opened is not None:
                opened.close()


# ---- user text never becomes a path


@pytest.mark.parametrize("evil", ["../../outside", "/etc/passwd", "a/b", "..", "名字 with spaces"])
def test_names_are_data_never_paths(store: Store, db_path: Path, evil: str) -> None:
    dataset_id = store.save(tx_small(), name=evil, dataset=evil)
    assert store.resolve(f"name:{evil}") == dataset_id
    assert store.versions(evil)["id"].to_list() == [dataset_id]
    inside = {p.relative_to(db_path) for p in db_path.rglob("*")}
    assert {p.parts[0] for p in inside} <= {"raw", "catalog", "names", "store.json", ".lock"}
    assert sorted(p.parent.name for p in inside if p.parent != Path(".")) == ["catalog", "names", "raw"]
    assert sorted(p.name for p in db_path.parent.iterdir()) == ["store"]


@pytest.mark.parametrize("bad_ref", ["../raw/x", "name:", "name:nobody", "0" * 31, None])
def test_unknown_references_are_data_errors(store: Store, bad_ref: object) -> None:
    store.save(tx_small(), name="x", dataset="sales")
    with pytest.raises(DataError):
        store.resolve(bad_ref)  # type: ignore[arg-type]


# ---- other processes and bad files

WRITER = textwrap.dedent(
    """
    import sys
    import polars as pl
    from segmentation.store import Store
    store = Store.open(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    for k in range(int(sys.argv[2])):
        k_ = pl.int_range(2000 + k, eager=True)
        tx = pl.DataFrame({
            "customer_id": (k_ % 300).cast(pl.String),
            "order_date": pl.date_range(pl.date(2023, 1, 1), pl.date(2023, 12, 31), eager=True).gather(k_ % 365),
            "amount": (k_ % 50).cast(pl.Float64) + k, "order_id": k_.cast(pl.String),
        })
        print("saved", store.refresh(tx, dataset="sales"), flush=True)
    print("done", flush=True)
    """
)


def test_a_second_process_writes_while_the_first_reads(db_path: Path) -> None:
    with Store.open() as store:
        first = store.save(tx_small(), name="before", dataset="sales")
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db_path), "8"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert writer.stdout is not None and writer.stdin is not None
            assert writer.stdout.readline().strip() == "ready"
            writer.stdin.write("go\n")
            writer.stdin.flush()
            seen: set[str] = set()
            reads = 0
            while writer.poll() is None or reads == 0:
                # Every id the reader can see loads whole and matches its content hash.
                for dataset_id in store.list()["id"].to_list():
                    assert content_id(store.load(dataset_id)) == dataset_id
                current = store.resolve("name:sales")
                assert content_id(store.load(current)) == current
                seen.add(current)
                reads += 1
            out = writer.stdout.read().splitlines()
        finally:
            if writer.poll() is None:
                writer.kill()
            writer.wait(timeout=30)
        assert writer.returncode == 0
        saved = [line.split()[1] for line in out if line.startswith("saved ")]
        assert len(saved) == 8 and out[-1] == "done"
        assert store.resolve("name:sales") == saved[-1]
        assert store.versions("sales")["id"].to_list() == [*reversed(saved), first]
        assert store.load(first).equals(tx_small())
        assert seen <= {first, *saved}


def test_a_file_that_is_not_a_database_is_a_data_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is a spreadsheet, not a database" * 200)
    with pytest.raises(DataError, match="could not be opened"):
        Store.open()


def test_a_store_from_a_newer_tierlens_is_refused(db_path: Path) -> None:
    db_path.mkdir(parents=True)
    (db_path / "store.json").write_text('{"format": 99}')
    with pytest.raises(DataError, match="written by a newer Tierlens"):
        Store.open()


def test_open_removes_temp_files_of_dead_writers_only(db_path: Path) -> None:
    with Store.open() as store:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        dead_pid = int(dead.stdout)
        dead_tmp = store.raw_dir / f".x.parquet.{dead_pid}.abc.tmp"
        live_tmp = store.catalog_dir / f".y.json.{os.getppid()}.abc.tmp"
        dead_tmp.write_bytes(b"half")
        live_tmp.write_bytes(b"still being written")
    Store.open().close()
    assert not dead_tmp.exists()
    assert live_tmp.exists()


# ---- named data sets


def test_named_versions_resolve_restore_and_delete(store: Store) -> None:
    v1 = store.refresh(tx_small(), dataset="sales", report={"rows_read": 3})
    time.sleep(0.002)
    v2 = store.refresh(tx_small().head(2), dataset="sales")
    assert store.refresh(tx_small().head(2), dataset="sales") == v2  # unchanged data: no new version
    assert store.resolve("name:sales") == v2
    assert store.resolve(v1) == v1
    versions = store.versions("sales")
    assert versions.schema == pl.Schema(store_mod._VERSIONS_SCHEMA)
    assert versions.select("version", "id", "current", "restored", "rows").rows() == [
        (2, v2, True, False, 2),
        (1, v1, False, False, 3),
    ]
    store.restore("sales", v1)
    assert store.resolve("name:sales") == v1
    assert store.versions("sales").select("version", "id", "current", "restored").rows() == [
        (3, v1, True, True),
        (2, v2, False, False),
        (1, v1, False, False),
    ]
    assert store.datasets().select("dataset", "id", "versions").rows() == [("sales", v1, 3)]
    with pytest.raises(DataError, match="is not a stored version of 'sales'"):
        store.restore("sales", "0" * 32)
    with pytest.raises(DataError, match="No data set is called 'orders'"):
        store.restore("orders", v1)
    store.delete(v1)
    assert store.resolve("name:sales") == v2
    store.delete(v2)
    with pytest.raises(DataError, match="No data set is called 'sales'"):
        store.resolve("name:sales")
    assert store.datasets().height == 0


def test_a_data_set_can_carry_several_names(store: Store) -> None:
    one = store.save(tx_small(), name="upload")
    assert store.refresh(tx_small(), dataset="north") == one
    assert store.refresh(tx_small(), dataset="南区") == one
    assert store.list()["name"].to_list() == ["upload"]
    assert sorted(store.datasets()["dataset"].to_list()) == ["north", "南区"]
    assert store.resolve("name:南区") == one


def test_rebuild_brings_back_a_named_version(store: Store) -> None:
    v1 = store.refresh(tx_small(), dataset="sales")
    v2 = store.refresh(tx_small().head(1), dataset="sales")
    shutil.rmtree(store.names_dir)
    (store.catalog_dir / f"{v1}.json").unlink()
    store.names_dir.mkdir()
    assert store.rebuild_from_raw() == {v1: "restored", v2: "present"}
    assert store.versions("sales")["id"].to_list() == [v1]
    assert store.refresh(tx_small().head(1), dataset="sales") == v2
    assert store.versions("sales")["id"].to_list() == [v2, v1]


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
    assert store.list()["rows"].sum() == 6 * 3


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


# ---- named data sets against a plain model

ops = st.lists(
    st.one_of(
        st.tuples(st.just("refresh"), st.sampled_from(["sales", "南区"]), st.integers(0, 3)),
        st.tuples(st.just("restore"), st.sampled_from(["sales", "南区"]), st.integers(0, 3)),
        st.tuples(st.just("delete"), st.just(""), st.integers(0, 3)),
    ),
    max_size=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ops)
def test_named_data_sets_follow_a_plain_model(tmp_path_factory: pytest.TempPathFactory, steps: list) -> None:
    frames = [tx_small().head(k + 1) for k in range(3)] + [tx_small().reverse()]
    store = Store.open(tmp_path_factory.mktemp("model"))
    ids: dict[int, str] = {}  # frame number -> the id the store gave it
    existing: set[str] = set()
    history: dict[str, list[str]] = {}
    for op, name, k in steps:
        if op == "refresh":
            got = store.refresh(frames[k], dataset=name)
            assert ids.setdefault(k, got) == got
            existing.add(got)
            if not history.get(name) or history[name][-1] != got:
                history.setdefault(name, []).append(got)
        elif op == "restore":
            target = ids.get(k, "0" * 32)
            if name in history and target in history[name]:
                store.restore(name, target)
                if history[name][-1] != target:
                    history[name].append(target)
            else:
                with pytest.raises(DataError):
                    store.restore(name, target)
        else:
            target = ids.get(k, "0" * 32)
            if target in existing:
                store.delete(target)
                existing.discard(target)
                history = {n: [v for v in h if v != target] for n, h in history.items()}
                history = {n: h for n, h in history.items() if h}
            else:
                with pytest.raises(DataError):
                    store.delete(target)
        assert set(store.list()["id"].to_list()) == existing
        assert dict(store.datasets().select("dataset", "id").iter_rows()) == {n: h[-1] for n, h in history.items()}
        for n, h in history.items():
            assert store.resolve(f"name:{n}") == h[-1]
            assert store.versions(n)["id"].to_list() == h[::-1]


def test_coded_view_gives_the_same_customer_table_with_ids_verbatim(tmp_path):
    import segmentation as seg

    tx = pl.DataFrame({
        "customer_id": ["0042", "b", "0042", "42", "b"],
        "order_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 5),
                       dt.date(2024, 1, 3), dt.date(2024, 1, 4)],
        "amount": [10.0, 20.0, -4.0, 7.0, 5.0],
        "order_id": ["o1", "o2", "o3", "o4", "o5"],
    })
    store = Store.open(tmp_path / "s")
    dataset_id = store.save(tx, name="t")
    coded, ids = store.load_coded(dataset_id)
    assert ids.to_list() == ["0042", "42", "b"]
    assert coded["customer_id"].to_list() == [0, 2, 0, 1, 2]
    again, ids_again = store.load_coded(dataset_id)  # from the cache beside the data set
    assert again.equals(coded) and ids_again.equals(ids)
    assert store.load(dataset_id).equals(tx)  # the canonical frame is unchanged
    for as_of, window in (("2024-01-06", None), ("2024-01-04", 2), ("2024-01-02", None)):
        got = seg.rfm_table(coded, as_of=as_of, window_days=window, ids=ids)
        assert got.equals(seg.rfm_table(tx, as_of=as_of, window_days=window))
    got = seg.rfm_table(coded, as_of="2024-01-06", ids=ids)
    assert got.select("customer_id", "frequency", "monetary").rows() == [
        ("0042", 1, 6.0), ("42", 1, 7.0), ("b", 2, 25.0)
    ]
    store.delete(dataset_id)
    assert not list((tmp_path / "s" / "raw").glob(f"{dataset_id}*"))
