"""The core stays pure and its public API is exactly what __all__ says."""

from __future__ import annotations

import ast
import importlib
import pathlib

import segmentation as seg

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORBIDDEN_IN_CORE = {"streamlit", "plotly"}


def imported_roots(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_never_imports_streamlit_or_plotly():
    offenders = {
        str(p.relative_to(ROOT)): imported_roots(p) & FORBIDDEN_IN_CORE
        for p in (ROOT / "segmentation").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_store_talks_to_duckdb():
    users = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "segmentation").rglob("*.py")
        if "duckdb" in imported_roots(p)
    )
    assert users in ([], ["segmentation/store.py"])


def test_pages_do_not_compute():
    # Pages read settings, call the core, render: no Polars expressions, group-bys or SQL.
    bad = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "pages").glob("*.py")
        if any(s in p.read_text(encoding="utf-8") for s in ("pl.col(", ".group_by(", "duckdb."))
    }
    assert bad == set()


def test_public_api_is_all():
    assert sorted(seg.__all__) == sorted(set(seg.__all__)), "no duplicates in __all__"
    public = {n for n in dir(seg) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(seg, n)).__name__ == "module"}
    assert set(seg.__all__) <= public
    assert public - set(seg.__all__) - modules == set()


def test_contract_names_exist():
    for name in ("load_transactions", "rfm_table", "score", "parse_rules", "assign_tiers",
                 "DataError", "RuleError"):
        assert name in seg.__all__, name
    assert issubclass(seg.DataError, ValueError) and issubclass(seg.RuleError, ValueError)
    assert issubclass(seg.DataError, seg.TierlensError) and issubclass(seg.RuleError, seg.TierlensError)


def test_submodules_import_cleanly():
    for p in (ROOT / "segmentation").glob("*.py"):
        importlib.import_module(f"segmentation.{p.stem}" if p.stem != "__init__" else "segmentation")
