"""Progress where no live line shows (a CI log, a pipe): a long step says it still runs."""

from __future__ import annotations

import io
import re
import time

import pytest
from rich.console import Console

from shipbench import console


def test_a_long_step_says_it_still_runs_where_no_live_line_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1,465 s Nuitka build printed nothing in a CI log. The step waits here until the line comes (no timing
    threshold: only a hang would fail, after the generous deadline)."""
    buffer = io.StringIO()
    monkeypatch.setattr(console, "console", Console(file=buffer, force_terminal=False, width=200))
    monkeypatch.setattr(console, "HEARTBEAT_S", 0.05)
    with console.steps("nuitka/standalone app", 1) as steps, steps.step("Nuitka build, cold"):
        deadline = time.monotonic() + 60
        while "still running" not in buffer.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    beat = re.compile(r"Nuitka build, cold … still running \(\d+ min \d\d s\)")  # the elapsed time is the machine's
    beats = [n for n, line in enumerate(lines) if beat.search(line)]
    ends = [n for n, line in enumerate(lines) if "nuitka/standalone app: Nuitka build, cold (" in line]
    assert beats and ends == [len(lines) - 1]  # the step's own end line comes last: no beat after it
