"""The report: every record read and validated, one document built from them (document.py), written as
Markdown and as one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.markup import escape

from .. import console, record
from ..fsutil import atomic_copy, atomic_write_text
from . import compare, document, elsewhere, html, markdown
from .document import Document
from .history import history as history_of
from .tables import build


def write_report(results_dirs: list[Path], out: Path, progress: str | None = None,
                 since: Path | None = None, history: list[Path] | None = None) -> int:
    """Write report.md and index.html from every record in `results_dirs`, each file whole or not at all.
    `progress`: the run is still going (or was interrupted), and what is left; the page says it first.
    `since`: a base run's records, compared with the first folder's ("Since <base>"); `history`: earlier result
    sets, oldest first, drawn with the first folder's as the newest (unless it is among them)."""
    missing = [str(folder) for folder in results_dirs if not folder.is_dir()]
    if missing:
        console.console.print(f"[yellow]no records folder at {escape(', '.join(missing))}: the report will say so[/]")
    records, invalid = record.load_all([folder for folder in results_dirs if folder.is_dir()])
    records, others = elsewhere.split(records, results_dirs[0])
    comparison = compare.compare(since, results_dirs[0]) if since is not None else None
    sets = _history_sets(history, results_dirs[0]) if history else None
    records, model, unshowable = _showable(records, lambda shown, refused: document.build(
        build(shown, [*invalid, *refused], results_dirs), progress, comparison, history_of(sets) if sets else None))
    other_machines = elsewhere.section(others)
    if other_machines is not None:  # before the hosts, commands and dates of this run's own rows
        at = next((n for n, part in enumerate(model.sections) if part.title == "Hosts"), len(model.sections))
        model.sections.insert(at, other_machines)
    try:
        for name, file in model.attachments:  # files the model checked beside their records (an SBOM)
            atomic_copy(file, out / name)
        atomic_write_text(out / "report.md", markdown.render(model))
        atomic_write_text(out / "index.html", html.render(model))
    except OSError as error:  # read-only, full, a file where the folder should be: one line, no half-written file
        console.console.print(f"[red]shipbench: error:[/] cannot write the report to {escape(str(out))}: "
                              f"{escape(error.strerror or str(error))}", soft_wrap=True)  # one line, unwrapped
        return 2
    also = f", {len(others)} of other machines in their own section" if others else ""
    console.console.print(f"report: {len(records)} records{also} ({len(invalid) + len(unshowable)} invalid) → "
                          f"{out / 'report.md'}, {out / 'index.html'}")
    return 0


def _history_sets(history: list[Path], results: Path) -> list[Path]:
    """The sets a history draws: those given that exist (a missing one is said), then this run's results."""
    missing = [str(folder) for folder in history if not folder.is_dir()]
    if missing:
        console.console.print(f"[yellow]no result set at {escape(', '.join(missing))}: the history leaves it out[/]")
    sets = [folder for folder in history if folder.is_dir()]
    if results.is_dir() and all(folder.resolve() != results.resolve() for folder in sets):
        sets.append(results)
    return sets


def _showable(records: list[dict[str, Any]], make: Callable[[list[dict[str, Any]], list[record.Invalid]], Document],
              ) -> tuple[list[dict[str, Any]], Document, list[record.Invalid]]:
    """Records arrive from other hosts and CI artifacts: one the schema allows but the report cannot show (a shape
    it does not expect) is listed as invalid, never a stop for every other. The whole model is built once, and
    rendered as Markdown (the page formats the same model); only when that fails are the records halved until
    each that fails alone is found: a report of 10,000 good records costs one build, not 10,000."""
    refused: list[record.Invalid] = []

    def fails(subset: list[dict[str, Any]]) -> Exception | None:
        try:
            markdown.render(make(subset, []))
        except Exception as error:  # whatever it is, it is those records', and it is said
            return error
        return None

    def sift(subset: list[dict[str, Any]]) -> list[dict[str, Any]]:
        error = fails(subset)
        if error is None:
            return subset
        if len(subset) == 1:
            refused.append(record.Invalid(Path(subset[0]["_source"]),
                                          [f"cannot be shown: {type(error).__name__}: {error}"]))
            return []
        middle = len(subset) // 2
        return sift(subset[:middle]) + sift(subset[middle:])

    try:
        model = make(records, [])
        markdown.render(model)
        return records, model, []
    except Exception:  # noqa: BLE001 (found record by record below)
        shown = sift(records)
    try:
        return shown, make(shown, refused), refused
    except Exception:  # noqa: BLE001 (records that fail only together: each is tried alone, as a last resort)
        refused.clear()
        alone = [rec for rec in shown if sift([rec])]
        return alone, make(alone, refused), refused
