"""The report: every record read and validated, then written as Markdown and as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

from .. import console, record
from ..fsutil import atomic_write_text
from . import html, markdown
from .tables import build


def write_report(results_dirs: list[Path], out: Path) -> int:
    missing = [str(folder) for folder in results_dirs if not folder.is_dir()]
    if missing:
        console.console.print(f"[yellow]no records folder at {', '.join(missing)}: the report will say so[/]")
    records, invalid = record.load_all([folder for folder in results_dirs if folder.is_dir()])
    report = build(records, invalid, results_dirs)
    try:
        atomic_write_text(out / "report.md", markdown.render(report, Path.cwd()))
        atomic_write_text(out / "index.html", html.render(report, Path.cwd()))
    except PermissionError as error:
        console.console.print(f"[red]shipbench: error:[/] cannot write the report to {out}: {error.strerror}")
        return 2
    console.console.print(
        f"report: {len(records)} records ({len(invalid)} invalid) → {out / 'report.md'}, {out / 'index.html'}"
    )
    return 0
