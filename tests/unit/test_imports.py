"""No import circle in shipbench/: each module's imports read from its source (function-level imports too, since
they run; `if TYPE_CHECKING:` blocks left out, since they never do), a submodule's package counted as imported
with it (its __init__ runs first). A circle makes a module's names depend on who imported first."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "shipbench"


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(module: str) -> bool:
    base = ROOT / module.replace(".", "/")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    module = _name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(alias.name for alias in node.names if alias.name.startswith("shipbench"))

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.startswith("shipbench"):
                found.update(f"{target}.{a.name}" if _exists(f"{target}.{a.name}") else target for a in node.names)

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
    for name in list(found):  # a submodule's package runs first, unless the importer is inside it
        parts = name.split(".")
        found.update(parent for parent in (".".join(parts[:i]) for i in range(2, len(parts)))
                     if not module.startswith(parent + ".") and module != parent)
    found.discard(module)
    return found


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    circles, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target in path:
                circles.append([*path[path.index(target):], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node, [node])
    return circles


def test_no_module_of_shipbench_imports_itself_through_others() -> None:
    graph = {_name(path): _imports(path) for path in PACKAGE.rglob("*.py")}
    assert "shipbench.gpu_sweep" in graph["shipbench.measure"]
    assert _circles(graph) == []


def test_a_circle_is_found() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_every_module_imports_on_python_3_10() -> None:
    """requires-python is >=3.10, whose standard library has no tomllib: a module that imported it at the top
    (strategies/wheel.py) left 19 test modules failing to import there. Only description.py imports it, under a
    version check, with tomli for 3.10."""
    unguarded = []
    for path in sorted((ROOT / "shipbench").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # the module's own top level only
            names = [alias.name for alias in node.names] if isinstance(node, (ast.Import, ast.ImportFrom)) else []
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if "tomllib" in names or module == "tomllib":
                unguarded.append(str(path.relative_to(ROOT)))
    assert not unguarded, unguarded
