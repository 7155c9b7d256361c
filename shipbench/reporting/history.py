"""Result sets in commit order (the records of successive CI runs): each row's size, start-up and instruction
count across them, and the steps between neighbouring sets that `shipbench compare` would call significant, as
asv draws a benchmark over a branch's commits.

A step is judged exactly as compare.change judges two runs (the same test, the same noise rules), between a set
and the nearest earlier set that has the row, so a row missing from one set does not hide a step. Each set is
read with record.load_all (schema-checked, nothing outside the folder); a set's label is its folder's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..metric_kinds import BY_NAME, MetricKind
from .compare import Change, change, latest_ok, median_of, metric_value
from .tables import variant_name

DRAWN = ("size", "startup-warm", "instructions")  # what a pull request moves and a reader watches
LABEL_LIMIT = 40


@dataclass(frozen=True)
class Point:
    """One set's figure for one row and metric: the median with its range, or None where the set lacks it."""

    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Step:
    index: int  # the set where the change shows, compared with the nearest earlier set that has the row
    since: int
    change: Change


@dataclass
class Series:
    row: str
    app: str
    line: str  # the row without its app, as a chart of that app labels it
    metric: str
    points: list[Point]
    steps: list[Step] = field(default_factory=list)


@dataclass
class History:
    labels: list[str]
    series: list[Series] = field(default_factory=list)
    invalid: int = 0  # records left out (schema), over every set

    @property
    def significant_steps(self) -> int:
        return sum(step.change.significant for series in self.series for step in series.steps)


def label(folder: Path) -> str:
    name = folder.name or str(folder)
    return name if len(name) <= LABEL_LIMIT else name[:LABEL_LIMIT - 1] + "…"


def _point(metrics: dict[str, Any], kind: MetricKind) -> Point:
    value = metric_value(metrics, kind)
    median = median_of(value)
    if isinstance(value, dict):
        return Point(median, median_of(value.get("min")), median_of(value.get("max")))
    return Point(median)


def history(folders: Sequence[Path]) -> History:
    """Every row with an ok record in at least two sets, for each drawn metric it has in them."""
    sets = [latest_ok(folder) for folder in folders]
    result = History([label(folder) for folder in folders], invalid=sum(invalid for _n, _r, invalid in sets))
    keys: list[str] = []
    for _names, newest, _invalid in sets:
        keys += [key for key in newest if key not in keys]
    for key in sorted(keys):
        present = [index for index, (_n, newest, _i) in enumerate(sets) if key in newest]
        if len(present) < 2:
            continue
        name = next(names[key] for names, newest, _i in sets if key in newest)
        first = sets[present[0]][1][key]
        line = f"{variant_name(first)} py{first['python']} {first['os']}"
        for metric in DRAWN:
            kind = BY_NAME[metric]
            points = [_point(newest[key]["metrics"], kind) if key in newest else Point(None)
                      for _n, newest, _i in sets]
            measured = [index for index in present if points[index].value is not None]
            if len(measured) < 2:
                continue
            series = Series(name, first["app"], line, metric, points)
            for before, after in zip(measured, measured[1:], strict=False):
                found = change(name, kind, sets[before][1][key], sets[after][1][key])
                if found is not None and found.significant:
                    series.steps.append(Step(after, before, found))
            result.series.append(series)
    return result
