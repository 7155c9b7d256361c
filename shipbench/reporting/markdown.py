"""The report as Markdown: short enough to append to a GitHub job summary."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .advice import QUALITY_COLUMNS, qualities, recommendations
from .overview import Matrix, common_python, overview
from .tables import (
    GPU_COLUMNS,
    HOST_COLUMNS,
    LABEL_COLUMNS,
    MEASURED_COLUMNS,
    VM_COLUMNS,
    VM_EXPLANATION,
    Report,
    command_rows,
    gpu_gaps,
    gpu_rows,
    host_rows,
    largest_rows,
    measured_rows,
    needs_rows,
    problem_rows,
    variant_name,
    vm_rows,
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]


def _matrix(matrix: Matrix) -> list[str]:
    headers = ("strategy / variant", "os", *(c.title for c in matrix.columns))
    rows = []
    for rec, cells in matrix.rows:
        texts = []
        for cell in cells:
            text = f"**{cell.text}**" if cell.status == "best" else cell.text
            texts.append(text + (f" [{cell.note}]" if cell.note else ""))
        rows.append((variant_name(rec), rec["os"], *texts))
    return [f"### app_{matrix.app}", "", *_table(headers, rows), ""]


def render(report: Report, root: Path = Path(".")) -> str:
    out = ["# shipbench report", ""]
    if not report.records:
        out += ["**No records found** in " + ", ".join(f"`{s}`" for s in report.sources) + ".", ""]
    else:
        ok = sum(r["status"] == "ok" for r in report.records)
        hosts = len(report.hosts)
        out += [f"{len(report.records)} records from {hosts} host{'s' if hosts != 1 else ''}: {ok} ok, "
                f"{len(report.not_ok)} skipped or failed.", ""]
    out += ["## What the numbers say", "", *_table(("priority", "derived from the records"),
                                                   recommendations(report.records)), ""]
    out += [*_table(QUALITY_COLUMNS, qualities(report.records)), ""]
    notes: dict[str, int] = {}
    matrices = overview(report.records, notes)
    if matrices:
        out += [f"## Overview (Python {common_python(report.records)})", "",
                "_Best value per column (and OS) in bold; [n] points to the reason a cell is empty._", ""]
        for matrix in matrices:
            out += _matrix(matrix)
        out += [f"{number}. {_cell(text)}" for text, number in notes.items()] + [""]
    for table in report.tables:
        out += [f"## {table.metric.title}", "", f"_{table.metric.explanation}_", ""]
        if not table.rows:
            out += ["No records for this metric.", ""]
            continue
        if table.missing_everywhere:
            out += ["**Not measured in any record.**", ""]
        rows = [tuple(row.label[c] for c in LABEL_COLUMNS) + (row.cell,) for row in table.rows]
        out += _table((*LABEL_COLUMNS, "value"), rows)
        out.append("")
    gpu, gaps = gpu_rows(report), gpu_gaps(report)
    if gpu or gaps:
        out += ["## Training on the GPU", "",
                "_Each torch app on CUDA with its description's gpu-args: median samples/s (min – max, n runs) per "
                "batch size, "
                "achieved TFLOP/s, the fraction of the card's measured matmul peak, and the ratio to the host's "
                "own PyTorch on the same card._", ""]
        if gpu:
            out += [*_table(GPU_COLUMNS, gpu), ""]
        if gaps:
            out += ["Empty GPU cells, and why:", "", *_table(("row", "status", "reason"), gaps), ""]
    vms = vm_rows(report)
    if vms:
        out += ["## Virtual machines", "", f"_{VM_EXPLANATION}_", "", *_table(VM_COLUMNS, vms), ""]
    needs = needs_rows(report)
    if needs:
        out += ["## What the target machine needs", "",
                "_Each bundle started in a clean minimal Debian container; the packages are what its failures "
                "named until it started with readable text._", "",
                *_table(("row", "target", "result", "packages added"), needs), ""]
    largest = largest_rows(report)
    if largest:
        out += ["## Where the bytes go (5 largest files)", "", *_table(("row", "largest files"), largest), ""]
    if report.not_ok:
        out += ["## Skipped and failed", "", *_table(("row", "status", "reason"), problem_rows(report)), ""]
    if report.invalid:
        out += ["## Invalid records (left out)", ""]
        out += [f"- `{_cell(str(bad.path))}`: {_cell('; '.join(bad.problems[:3]))}" for bad in report.invalid]
        out.append("")
    out += ["## Hosts", "", *_table(HOST_COLUMNS, host_rows(report)), ""]
    out += ["## Commands", "", *_table(("command", "rows"), [(f"`{c}`", r) for c, r in command_rows(report)]), ""]
    out += ["## When each row was measured", "", *_table(MEASURED_COLUMNS, measured_rows(report)), ""]
    if report.notes:
        out += ["## Notes from the measurements", ""] + [f"- {_cell(note)}" for note in report.notes] + [""]
    return "\n".join(out)
