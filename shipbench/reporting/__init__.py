"""The report: every record read and validated, one document built from them (document.py), written as
Markdown and as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

from .. import console, record
from ..fsutil import atomic_write_text
from . import document, html, markdown
from .tables import build


def write_report(results_dirs: list[Path], out: Path) -> int:
    missing = [str(folder) for folder in results_dirs if not folder.is_dir()]
    if missing:
        console.console.print(f"[yellow]no records folder at {', '.join(missing)}: the report will say so[/]")
    records, invalid = record.load_all([folder for folder in results_dirs if folder.is_dir()])
    model = document.build(build(records, invalid, results_dirs))
    try:
        atomic_write_text(out / "report.md", markdown.render(model))
        atomic_write_text(out / "index.html", html.render(model))
    except PermissionError as error:
        console.console.print(f"[red]shipbench: error:[/] cannot write the report to {out}: {error.strerror}")
        return 2
    console.console.print(
        f"report: {len(records)} records ({len(invalid)} invalid) → {out / 'report.md'}, {out / 'index.html'}"
    )
    return 0
