"""Progress while building and measuring, and the summary table at the end (rich does the terminal work)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

# Logs of CI jobs and nox are no terminal: give the summary table room instead of rich's 80-column default.
console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 140)
HEARTBEAT_S = 30.0  # where no live progress line shows, a running step says so this often


class Steps:
    """Counts the steps of one target, shows which one runs, how long it has taken and what it was expected to
    take (the plan's estimate); remembers the step running, so an interrupted row can say where it stopped."""

    def __init__(self, progress: Progress, label: str, total: int, estimate: str = "") -> None:
        self._progress = progress
        self._label = escape(label)  # user text (app names, variants): never read as markup
        self._task = progress.add_task(self._label, total=total, estimate=estimate)
        self.current: str | None = None

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        self._progress.update(self._task, description=f"{self._label}: {escape(what)}")
        start = time.perf_counter()
        self.current = what
        done = threading.Event()
        beats = threading.Thread(target=self._heartbeat, args=(what, start, done), daemon=True)
        if not console.is_terminal:  # a CI log or a pipe shows no live line: a step says it still runs instead
            beats.start()
        try:
            yield
        finally:
            done.set()
            if beats.is_alive():  # a beat already past its wait is printed before the end line, never after it
                beats.join()
            self._progress.advance(self._task)
            console.print(f"  {self._label}: {escape(what)} [dim]({time.perf_counter() - start:.1f} s)[/]")

    def _heartbeat(self, what: str, start: float, done: threading.Event) -> None:
        """Every HEARTBEAT_S of a long step (a Nuitka build of half an hour), one line: what runs, for how long."""
        while not done.wait(HEARTBEAT_S):
            minutes, seconds = divmod(int(time.perf_counter() - start), 60)
            console.print(f"  {self._label}: {escape(what)} [dim]… still running ({minutes} min {seconds:02d} s)[/]")


@contextmanager
def steps(label: str, total: int, estimate: str = "") -> Iterator[Steps]:
    """A progress line for one row; `estimate` ("about 3 min") is shown beside the elapsed time."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[estimate]}[/]"),
        console=console,
        transient=True,
    ) as progress:
        yield Steps(progress, label, total, escape(f"of {estimate}") if estimate else "")


def _seconds(value: Any) -> str:
    return f"{value:.2f} s" if isinstance(value, (int, float)) else "–"


def _mb(value: Any) -> str:
    return f"{value / 1e6:,.0f} MB" if isinstance(value, int) else "–"


def summary_table(records: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="shipbench: this run")
    table.add_column("row")
    table.add_column("status")
    for column in ("size", "set-up cold", "set-up warm", "start-up cold", "start-up warm", "throughput"):
        table.add_column(column, justify="right")
    colors = {"ok": "green", "skipped": "yellow", "failed": "red"}
    for record in records:
        metrics = record["metrics"]
        setup = metrics.get("setup_s", {})
        startup = metrics.get("startup_s", {})
        samples = metrics.get("throughput", {}).get("median")
        status = f"[{colors[record['status']]}]{record['status']}[/]"
        if record.get("reused"):
            status += f"\n[cyan]reused[/] [dim](measured {escape(record['created'][:16])})[/]"
        if record["reason"]:
            status += f"\n[dim]{escape(record['reason'][:160])}[/]"  # the deciding line comes first
        table.add_row(
            escape(f"{record['strategy']}/{record['variant']} {record['app']} py{record['python']}"),
            status,
            _mb(metrics.get("size_bytes")),
            _seconds(setup.get("cold")),
            _seconds(setup.get("warm")),
            _seconds(startup.get("cold")),
            _seconds(startup.get("warm", {}).get("median")),
            f"{samples:,.0f} {metrics.get('throughput_unit', '')}".strip() if samples else "–",
        )
    return table
