"""The overview matrix: one row per strategy and variant, one column per metric, the best value marked."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import hostload
from .tables import fmt_bytes, fmt_rate, fmt_ratio, fmt_seconds, metric, row_name


@dataclass(frozen=True)
class Column:
    title: str
    get: Callable[[dict[str, Any]], Any]
    render: Callable[[Any], str]
    better: str  # "min" or "max"
    phases: tuple[str, ...] = ()  # the timed phases behind the figure (hostload.py): a busy one makes it no finding
    runs: str | None = None  # the summary of runs whose spread can make the figure too noisy to rank


def caveat(column: Column, metrics: dict[str, Any]) -> str | None:
    """Why a figure is shown but not ranked: measured on a busy host, two sides under different load, or runs too
    spread to compare."""
    return hostload.caveat(metrics, column.phases, metric(column.runs)(metrics) if column.runs else None)


COLUMNS = (
    Column("size", metric("size_bytes", numeric=True), fmt_bytes, "min"),
    Column("download", metric("download_bytes", numeric=True), fmt_bytes, "min"),
    Column("set-up cold", metric("setup_s.cold", numeric=True), fmt_seconds, "min", ("setup_cold",)),
    Column("set-up warm", metric("setup_s.warm", numeric=True), fmt_seconds, "min", ("setup_warm",)),
    Column("start cold", metric("startup_s.cold", numeric=True), fmt_seconds, "min", ("startup_cold",)),
    Column("start warm", metric("startup_s.warm.median", numeric=True), fmt_seconds, "min", ("startup",),
           "startup_s.warm"),
    Column("start vs venv", metric("startup_ratio_to_baseline", numeric=True), fmt_ratio, "min",
           ("startup", "baseline_startup")),
    Column("peak RSS", metric("peak_rss_bytes", numeric=True), fmt_bytes, "min"),
    Column("throughput (CPU)", metric("throughput.median", numeric=True), fmt_rate, "max", ("throughput",),
           "throughput"),
    Column("throughput vs venv", metric("throughput_ratio_to_baseline", numeric=True), fmt_ratio, "max",
           ("throughput", "baseline_throughput")),
)


@dataclass
class Cell:
    text: str
    status: str  # ok, best, missing, skipped, failed, noisy (busy host or spread runs: shown, never ranked)
    note: int | None = None  # footnote number for skipped, failed and noisy cells


@dataclass
class Matrix:
    app: str
    rows: list[tuple[dict[str, Any], list[Cell]]]
    columns: tuple[Column, ...]


BUSY_NOTE = ("measured on a busy host (other processes used the CPU, or another shipbench run was active): "
             "shown, not ranked; each phase's load is in the section \"Measured on a busy host\"")


def common_python(records: list[dict[str, Any]]) -> str | None:
    """The Python most strategies were measured with (ok rows, GPU rows aside: a Python whose rows were all
    skipped measured nothing to compare; another host's GPU evidence is not this overview's): the one the
    overview compares on."""
    rows = [r for r in records if not r["variant"].endswith("gpu")]  # GPU rows have a section of their own
    for chosen in ([r for r in rows if r["status"] == "ok"], rows):
        counts = Counter(r["python"] for r in chosen if r["strategy"] != "venv") or Counter(r["python"] for r in chosen)
        if counts:
            return str(counts.most_common(1)[0][0])
    return None


def overview(records: list[dict[str, Any]], notes: dict[str, int]) -> list[Matrix]:
    """A matrix per app over the records of the common Python (GPU rows have their own section)."""
    python = common_python(records)
    chosen = [r for r in records if r["python"] == python and not r["variant"].endswith("gpu")]
    matrices = []
    for app in sorted({r["app"] for r in chosen}):
        rows = [r for r in chosen if r["app"] == app]
        if not rows:
            continue
        columns = tuple(c for c in COLUMNS if any(c.get(r["metrics"]) is not None for r in rows)) or COLUMNS[:1]
        best: dict[tuple[str, str], float] = {}
        for column in columns:
            for os_name in {r["os"] for r in rows}:
                values = [c for r in rows if r["os"] == os_name and r["status"] == "ok"
                          and (c := column.get(r["metrics"])) is not None and not caveat(column, r["metrics"])]
                if len(values) > 1:
                    best[(column.title, os_name)] = min(values) if column.better == "min" else max(values)
        matrix_rows = []
        for rec in rows:
            cells = []
            for column in columns:
                if rec["status"] != "ok":
                    number = notes.setdefault(f"{row_name(rec)}: {rec['reason']}", len(notes) + 1)
                    cells.append(Cell(rec["status"], rec["status"], number))
                    continue
                value = column.get(rec["metrics"])
                if value is None:
                    cells.append(Cell("–", "missing"))
                elif (why := caveat(column, rec["metrics"])) is not None:
                    # one note for every busy-host cell (the section "Measured on a busy host" has each phase's
                    # figures); a cell of its own only for what is the row's own (runs too spread)
                    said = (BUSY_NOTE if why.startswith("measured on a busy host")
                            else f"{row_name(rec)}, {column.title}: {why}: shown, not ranked")
                    number = notes.setdefault(said, len(notes) + 1)
                    cells.append(Cell(column.render(value) + " ~", "noisy", number))
                else:
                    is_best = best.get((column.title, rec["os"])) == value
                    cells.append(Cell(column.render(value), "best" if is_best else "ok"))
            matrix_rows.append((rec, cells))
        matrices.append(Matrix(app, matrix_rows, columns))
    return matrices
