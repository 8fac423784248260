"""segmentation.clv is a package with one module per concept: no import circles, no private
names across modules, and every name the rest of the product imports is public."""

from __future__ import annotations

import ast
import pathlib

import segmentation as seg
from segmentation import clv

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "segmentation" / "clv"


def sibling_imports(path: pathlib.Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every ``from .x import ...`` inside the package."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            out.append((node.module, [a.name for a in node.names]))
    return out


def test_no_import_circle_inside_the_package() -> None:
    graph = {p.stem: {m for m, _ in sibling_imports(p)} for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, " -> ".join((*path, node))
        if node in done:
            return
        for nxt in graph.get(node, ()):
            visit(nxt, (*path, node))
        done.add(node)

    for module in graph:
        visit(module, ())


def test_no_private_name_crosses_modules() -> None:
    private = {
        (p.stem, name)
        for p in PACKAGE.glob("*.py")
        for module, names in sibling_imports(p)
        for name in names
        if name.startswith("_")
    }
    assert private == set()


def test_every_name_the_product_imports_is_public() -> None:
    used: set[str] = set()
    for folder in ("ui", "pages", "segmentation", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module in ("segmentation.clv", "clv") and (
                    node.module == "segmentation.clv" or node.level > 0
                ):
                    used |= {a.name for a in node.names}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert used - modules <= set(clv.__all__)
    for name in clv.__all__:
        assert getattr(clv, name) is not None
    assert seg.clv is clv
