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


def _local_imports(package: str) -> dict[str, set[str]]:
    """Module -> modules of the same package it imports (anywhere in the file)."""
    graph: dict[str, set[str]] = {}
    for p in (ROOT / package).rglob("*.py"):
        name = ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        deps: set[str] = set()
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.rsplit(".", node.level - (p.stem == "__init__"))[0] if node.level else ""
                    mod = f"{base}.{node.module}" if node.module else base
                else:
                    mod = node.module or ""
                targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            deps |= {t for t in targets if t.split(".")[0] == package and t != name}
        graph[name] = deps
    return {k: {d for d in v if d in graph} for k, v in graph.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                found.append([*stack[stack.index(dep):], dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_circles_in_the_core_or_the_ui():
    for package in ("segmentation", "ui"):
        graph = _local_imports(package)
        # A package's __init__ re-exporting its modules is not a circle through them.
        graph.pop(package, None)
        graph = {k: v - {package} for k, v in graph.items()}
        assert _cycles(graph) == [], package


def test_ui_imports_at_the_top_and_does_not_compute():
    # The UI only formats: summaries are the core's. Imports sit at the top of each module,
    # so the direction of dependencies can be read off the first lines.
    # Splitting a frame into chart traces or sheets (filter, sort) is display; aggregating,
    # joining and reshaping are the core's.
    computing = {"group_by", "agg", "pivot", "unpivot", "over", "cum_sum", "rolling", "join", "sql"}
    offenders, local_imports = {}, []
    for p in [*(ROOT / "ui").rglob("*.py"), ROOT / "app.py", *(ROOT / "pages").glob("*.py")]:
        text = p.read_text(encoding="utf-8")
        tree = ast.parse(text)
        hits = sorted({
            n.func.attr for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in computing
            # str.join takes one positional argument; a frame join names its keys.
            and not (n.func.attr == "join" and not n.keywords)
        })
        if hits or "duckdb" in imported_roots(p):
            offenders[str(p.relative_to(ROOT))] = hits or ["duckdb"]
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                local_imports += [f"{p.name}:{n.lineno}" for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert offenders == {}
    # One deliberate exception: the legacy pages-mode shim reaches into Streamlit's internals
    # only when it runs.
    assert local_imports == [f"session.py:{_shim_import_line()}"]


def _shim_import_line() -> int:
    text = (ROOT / "ui" / "session.py").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(text, 1) if "pages_manager import PagesManager" in line)


def test_streamlit_still_has_the_flag_the_pages_shim_relies_on():
    # ui.session.leave_pages_directory_mode flips this flag; if an upgrade removes it, deep links
    # opened as a server's first request would run a page without app.py. Fail loudly here.
    from streamlit.runtime.pages_manager import PagesManager

    assert hasattr(PagesManager, "uses_pages_directory")
