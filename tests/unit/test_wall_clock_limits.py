"""The fast tier never waits on a wall-clock limit a loaded machine can miss (docs/tests.md).

Four fast tests failed in a container given a small CPU share: each gave a trivial `python -c` child 1.5–2 s to
say ready or to end. A limit a child only has to beat must be one no load reaches; a short one is for a test whose
point is the expiry, with a child that never ends by itself. This scans every fast test's source for literal
limits below FLOOR_S and fails on one not in EXPIRES, the tests whose point is the expiry (each says why).

What it reads: the keywords in LIMIT_KEYWORDS, the positional limits of shipbench's own functions (by the
parameter's name and place), `.wait(N)` and `.join(N)`, and a relay's `"--timeout", "N"`. A limit held in a
variable is not seen: write the number where the call is.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator
from pathlib import Path

from conftest import ROOT

FLOOR_S = 60.0
LIMIT_KEYWORDS = frozenset({"timeout", "timeout_s", "grace_s", "linger_s"})
UNIT = ROOT / "tests" / "unit"

# file::function -> why its short limit is safe: its child never ends by itself, so the expiry is certain
EXPIRES = {
    "test_driver.py::FakeStrategy.measure": "never-ready sleeps 1000 s: its 2 s always expire (the ready row: 120 s)",
    "test_runner.py::test_a_real_limit_expires_on_an_app_that_never_ends": "the app sleeps 1000 s: 1.5 s expire",
    "test_untrusted_records.py::_Watch._watch": "a watcher's poll interval: it runs until told to stop, nothing "
                                                "waits for it to end in time",
}


def _positional_limits() -> dict[str, set[int]]:
    """Function name -> the call positions where shipbench's functions of that name take a limit."""
    places: dict[str, set[int]] = {}
    for path in (ROOT / "shipbench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                params = [arg.arg for arg in node.args.posonlyargs + node.args.args]
                bound = 1 if params[:1] in (["self"], ["cls"]) else 0
                places.setdefault(node.name, set()).update(
                    index - bound for index, name in enumerate(params) if name in LIMIT_KEYWORDS)
    return places


def _seconds(node: ast.expr) -> Iterator[float]:
    """The literal numbers a limit's expression can take (both arms of `a if c else b`; "120" in an argv)."""
    if isinstance(node, ast.IfExp):
        yield from _seconds(node.body)
        yield from _seconds(node.orelse)
    elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        yield float(node.value)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        with contextlib.suppress(ValueError):  # an argv's other words
            yield float(node.value)


def _callee(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _limits(call: ast.Call, places: dict[str, set[int]]) -> Iterator[ast.expr]:
    """The expressions in this call that are wall-clock limits."""
    name = _callee(call)
    yield from (keyword.value for keyword in call.keywords if keyword.arg in LIMIT_KEYWORDS)
    if name in ("wait", "join") and isinstance(call.func, ast.Attribute) and len(call.args) == 1:
        yield call.args[0]
    for index in places.get(name or "", ()):
        if 0 <= index < len(call.args) and not any(isinstance(arg, ast.Starred) for arg in call.args[:index + 1]):
            yield call.args[index]


def _argv_limits(node: ast.List | ast.Tuple) -> Iterator[ast.expr]:
    """A relay's own limit in a literal argv: the element after "--timeout"."""
    for before, after in zip(node.elts, node.elts[1:], strict=False):
        if isinstance(before, ast.Constant) and before.value == "--timeout":
            yield after


def short_limits(path: Path, places: dict[str, set[int]]) -> list[tuple[str, int, float]]:
    """(file::function, line, seconds) of each literal limit below FLOOR_S in one test file."""
    found: list[tuple[str, int, float]] = []

    def visit(node: ast.AST, where: list[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            where = [*where, node.name]
        limits: Iterator[ast.expr] = iter(())
        if isinstance(node, ast.Call):
            limits = _limits(node, places)
        elif isinstance(node, (ast.List, ast.Tuple)):
            limits = _argv_limits(node)
        for limit in limits:
            found.extend((f"{path.name}::{'.'.join(where) or '<module>'}", limit.lineno, seconds)
                         for seconds in _seconds(limit) if seconds < FLOOR_S)
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(ast.parse(path.read_text(encoding="utf-8")), [])
    return found


def test_no_fast_test_gives_a_child_a_limit_a_loaded_machine_can_miss() -> None:
    places = _positional_limits()
    found = [hit for path in sorted(UNIT.glob("test_*.py")) for hit in short_limits(path, places)]
    unexplained = [f"{where} line {line}: {seconds:g} s" for where, line, seconds in found if where not in EXPIRES]
    assert not unexplained, (f"limits under {FLOOR_S:g} s in fast tests: give what the child only has to beat "
                             f"{FLOOR_S:g}-120 s, or, where the expiry is the point, a child that never ends and an "
                             f"entry in EXPIRES: {unexplained}")
    # each exception still has its short limit (an entry left behind would excuse the next one silently)
    assert {where for where, _, _ in found} == set(EXPIRES)


def test_the_scan_sees_each_way_a_limit_is_written(tmp_path: Path) -> None:
    """Each form the scan reads, written short in a file of its own, is found (a scan that finds nothing would
    let any limit through)."""
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "def test_a():\n"
        "    run_app(['x'], timeout=2)\n"
        "    stop_tree(proc, 5)\n"
        "    entered.wait(5)\n"
        "    relay = ['python', '-m', 'shipbench.relay', '--timeout', '30', '--']\n"
        "    run_app(['x'], timeout=2 if never else 120)\n"
        "    run_app(['x'], timeout=120)\n"
        "    done.wait()\n", encoding="utf-8")
    assert short_limits(sample, _positional_limits()) == [
        ("test_sample.py::test_a", 2, 2.0), ("test_sample.py::test_a", 3, 5.0), ("test_sample.py::test_a", 4, 5.0),
        ("test_sample.py::test_a", 5, 30.0), ("test_sample.py::test_a", 6, 2.0)]
