"""Budgets: limits a row's metrics must keep, from `[tool.shipbench.budgets]` in pyproject.toml, that
`shipbench compare` checks and fails CI on, the way size-limit fails a pull request whose bundle grew.

    [tool.shipbench.budgets]
    "pyinstaller/*" = { size = "80 MB", startup-warm = "0.6 s", instructions = "950 M" }   # absolute limits
    "*/* gui" = { size = "+5%", throughput = "-10%" }               # relative to the base run

A pattern is a glob over a row's name, `<strategy>/<variant> <app>` (or `<strategy>/<variant>` alone, for
every app). An absolute limit is broken when the head is over it: an exact metric's value, or every one of a
timed metric's samples (so one slow run on a busy host never breaks it). A relative limit is broken when the
head is worse than the base by more than it and `compare`'s test calls the change significant. Bad syntax is
refused before any work, like every setting; a pattern that names no row of either run (a typo such as
"venv/uv/gui") is refused once the records are read, naming the rows it may have meant: it would check nothing,
and a gate that checks nothing passes every pull request.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError
from .metric_kinds import BUDGETED

_BYTES: dict[str, float] = {"B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9,
                            "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
_SECONDS: dict[str, float] = {"s": 1.0, "ms": 1e-3}
_COUNT: dict[str, float] = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}
_NUMBER = r"(\d+(?:\.\d+)?)"


@dataclass(frozen=True)
class Budget:
    pattern: str
    metric: str  # a key of metric_kinds.BUDGETED
    text: str  # as written, for the message
    limit: float | None = None  # absolute: bytes, seconds or the rate's own unit
    relative: float | None = None  # 0.05 for "+5%" on size, for "-5%" on throughput

    def applies_to(self, row: str) -> bool:
        """row: "<strategy>/<variant> <app>"."""
        return fnmatch.fnmatchcase(row, self.pattern) or fnmatch.fnmatchcase(row.split(" ")[0], self.pattern)


def check_patterns(rules: list[Budget], rows: Collection[str], where: str = "[tool.shipbench.budgets]") -> None:
    """Refuse (UsageError, one line) every pattern that matches none of `rows`, the rows of both runs'
    records whatever their status: one row in the base only or a row skipped on this runner still proves the
    pattern names a real row; only a pattern no record of either run has is a mistake."""
    names = sorted({*rows, *(row.split(" ")[0] for row in rows)})  # as applies_to matches: with or without the app
    problems = []
    for rule in {rule.pattern: rule for rule in rules}.values():  # one per pattern, however many metrics it limits
        if any(rule.applies_to(row) for row in rows):
            continue
        close = difflib.get_close_matches(rule.pattern, names, n=3)
        hint = (f"did you mean {' or '.join(repr(name) for name in close)}?" if close
                else f"the rows are {', '.join(repr(name) for name in names[:8])}{', …' if len(names) > 8 else ''}"
                if names else "neither run has a valid record")
        problems.append(f"{where} {rule.pattern!r} matches no row of either run ({hint})")
    if problems:
        raise UsageError("; ".join(problems) + ": a budget that matches nothing checks nothing; correct the pattern "
                         "or remove it")


def parse_limit(metric: str, text: object, where: str) -> Budget:
    """One limit, or a UsageError naming where it is and what is expected."""
    if metric not in BUDGETED:
        raise UsageError(f"{where}: no budget metric {metric!r}; choose from {', '.join(BUDGETED)}")
    kind, more_is_worse = BUDGETED[metric].unit, BUDGETED[metric].more_is_worse
    if not isinstance(text, str):
        raise UsageError(f"{where}: expected a string such as {_example(metric)!r}, got {text!r}")
    value = text.strip()
    relative = re.fullmatch(rf"([+-]?){_NUMBER}\s*%", value)
    if relative:
        sign, number = relative.groups()
        worse = "+" if more_is_worse else "-"
        if sign and sign != worse:
            raise UsageError(f"{where}: {text!r} limits an improvement; a limit on {metric} getting worse is "
                             f"written {worse}{number}%")
        return Budget("", metric, text, relative=float(number) / 100)
    units: dict[str, float] = {"bytes": _BYTES, "seconds": _SECONDS, "rate": {"": 1.0}, "count": _COUNT}[kind]
    absolute = (re.fullmatch(rf"{_NUMBER}\s*([A-Za-z]*)", value) if kind != "rate"
                else re.fullmatch(rf"{_NUMBER}()(?:\s*\S+/s)?", value))  # a rate in the app's own unit
    if not absolute or absolute.group(2) not in units:
        raise UsageError(f"{where}: cannot read {text!r}; expected e.g. {_example(metric)!r} or a change such as "
                         f"{'+5%' if more_is_worse else '-10%'} (units: {', '.join(u for u in units if u) or 'none'})")
    return Budget("", metric, text, limit=float(absolute.group(1)) * units[absolute.group(2)])


def _example(metric: str) -> str:
    return {"size": "80 MB", "download": "30 MiB", "startup-warm": "0.6 s", "throughput": "25000",
            "instructions": "950 M"}[metric]


def parse(table: object, where: str = "[tool.shipbench.budgets]") -> list[Budget]:
    if table is None:
        return []
    if not isinstance(table, dict):
        raise UsageError(f"{where}: expected a table of row patterns")
    budgets = []
    for pattern, limits in table.items():
        if not isinstance(limits, dict) or not limits:
            raise UsageError(f"{where}.{pattern!r}: expected a table of limits such as {{ size = \"80 MB\" }}")
        for metric, text in limits.items():
            budget = parse_limit(metric, text, f"{where}.{pattern!r}.{metric}")
            budgets.append(Budget(pattern, budget.metric, budget.text, budget.limit, budget.relative))
    return budgets


def from_project(tool: dict[str, Any] | None) -> list[Budget]:
    """The budgets of a project's [tool.shipbench] table (already read), checked."""
    return parse((tool or {}).get("budgets"))


def from_pyproject(path: Path) -> list[Budget]:
    from .description import read_pyproject

    return from_project(read_pyproject(path).get("tool", {}).get("shipbench"))
