"""The gate metric: how many instructions a start-up run executes from spawn to exit, counted by valgrind's
callgrind. Wall time on a shared CI runner is noise; an instruction count of the same binary with the same inputs
hardly moves (CodSpeed gates pull requests on it for that reason), so a budget can name it. `perf stat`'s hardware
counters would be cheaper, but many hosts (this project's CI among them) do not expose them.

Counted only where the app runs on this host (venvs, zipapps, frozen bundles): inside a container or a guest
valgrind would have to be part of the image. Python's hash seed is fixed for these runs (PYTHONHASHSEED=0), since
randomised hashing changes the work of every dict and set.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from .errors import Failure
from .runner import ReadyLike, run_app

_TOTAL = re.compile(r"^(?:summary|totals):\s*(\d+)", re.M)
SLOWDOWN = 60  # callgrind runs code this many times slower, about: the app's timeout grows by it
INSTALL = "apt-get install valgrind (Debian, Ubuntu), dnf install valgrind (Fedora)"


def available() -> str | None:
    return shutil.which("valgrind")


def callgrind_total(text: str) -> int | None:
    """The instruction total of one callgrind output file (its `summary:` or `totals:` line)."""
    match = _TOTAL.search(text)
    return int(match.group(1)) if match else None


def count(launcher: list[str], env: dict[str, str], cwd: str, timeout: float, ready: ReadyLike) -> int:
    """Instructions one run executes, every process it starts included (a onefile bootloader's child), from
    spawn to exit."""
    valgrind = available()
    if valgrind is None:
        raise Failure(f"valgrind is not installed: {INSTALL}")
    with tempfile.TemporaryDirectory(prefix="shipbench-callgrind-") as scratch:
        argv = [valgrind, "--tool=callgrind", "--trace-children=yes", "--dump-instr=no", "--collect-jumps=no",
                f"--callgrind-out-file={Path(scratch) / 'callgrind.%p'}", *launcher]
        run_app(argv, env={**env, "PYTHONHASHSEED": "0"}, cwd=cwd, timeout=timeout * SLOWDOWN,
                ready=ready)
        totals = [callgrind_total(path.read_text(errors="replace")) for path in Path(scratch).glob("callgrind.*")]
    counted = [total for total in totals if total is not None]
    if not counted:
        raise Failure("callgrind wrote no instruction total")
    return sum(counted)
