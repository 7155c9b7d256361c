"""How busy the host was while a phase was timed, apart from the measurement itself, so that a number taken on a
busy machine says so instead of passing for a finding.

For each timed phase (set-up, start-up, throughput, the venv baseline) the record gets `metrics.host_load.<phase>`:
- `outside_cores`: CPU time that other processes used during the phase, over its wall time, in cores (1.0 = one
  core kept busy by something else). Linux: from /proc/<pid>/stat of every process that existed when the phase
  began and is not this run's (not a descendant of this process, not the engine serving it: dockerd,
  containerd, libvirtd, the VM's QEMU), including the CPU of children they reaped meanwhile (a `make -j`'s
  compilers count through make). Processes born during the phase are not counted: whose they are cannot be told
  after the fact. Elsewhere it is not measured (None), and only the load average is recorded.
- `load_avg_1m`: the host's one-minute load average at the end (macOS and Linux).
- `other_runs`: other shipbench runs active on this host meanwhile (the host-wide list in active_runs.py).
- `busy`: outside_cores >= BUSY_CORES, or another shipbench run was active.
The report marks every figure from a busy phase, and every ratio whose two sides ran under different load, and
never ranks them as best.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import active_runs

BUSY_CORES = 0.5  # half a core kept busy by other work, on average over the phase
SPREAD = 1.5  # warm runs whose slowest took more than 1.5x the fastest: too noisy to rank
# the engines that serve a container or VM row, by the start of their name (the kernel cuts names at 15
# characters: "containerd-shim-runc-v2" reads "containerd-shim", "qemu-system-aarch64" "qemu-system-aar")
_SERVING = ("dockerd", "containerd", "buildkitd", "runc", "libvirtd", "virtlogd", "virtqemud", "qemu-system-")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class _Process:
    parent: int
    name: str
    cpu_s: float  # own user + system time, plus that of the children it has reaped


def _processes(proc: Path = Path("/proc")) -> dict[int, _Process]:
    table = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
        table[int(entry.name)] = _Process(int(fields[1]), name[:15], (utime + stime + cutime + cstime) / _TICKS)
    return table


def _descendants(root: int, table: dict[int, _Process]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, process in table.items():
        children.setdefault(process.parent, []).append(pid)
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def outside_cpu_s(before: dict[int, _Process], after: dict[int, _Process], me: int) -> float:
    """CPU seconds other processes used between two snapshots (see the module's docstring for what counts)."""
    ours = _descendants(me, before) | _descendants(me, after)
    used = 0.0
    for pid, then in before.items():
        now = after.get(pid)
        if now is None or pid in ours or then.name.startswith(_SERVING) or now.name != then.name:
            continue
        used += max(0.0, now.cpu_s - then.cpu_s)
    return used


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


@contextmanager
def watch(metrics: dict[str, Any], phase: str) -> Iterator[None]:
    """Time-box a phase and record, under metrics["host_load"][phase], how busy the rest of the host was."""
    linux = Path("/proc/stat").is_file()
    others = len(active_runs.others())
    before = _processes() if linux else {}
    start = time.perf_counter()
    yield
    wall = max(time.perf_counter() - start, 1e-6)
    cores = round(outside_cpu_s(before, _processes(), os.getpid()) / wall, 3) if linux else None
    others = max(others, len(active_runs.others()))
    metrics.setdefault("host_load", {})[phase] = {
        "outside_cores": cores, "load_avg_1m": _load_average(), "other_runs": others,
        "busy": bool(others) or (cores is not None and cores >= BUSY_CORES),
    }


def busy_reason(metrics: dict[str, Any], *phases: str) -> str | None:
    """Why figures from these phases are not findings: a busy phase, or two sides under different load."""
    loads: dict[str, Any] = metrics["host_load"] if isinstance(metrics.get("host_load"), dict) else {}
    entries = [(phase, loads.get(phase)) for phase in phases]
    for phase, entry in entries:
        if isinstance(entry, dict) and entry.get("busy"):
            cores = entry.get("outside_cores")
            what = f"other processes used {cores:.2f} cores" if isinstance(cores, (int, float)) else "the host was busy"
            runs = entry.get("other_runs") or 0
            shared = f", {runs} other shipbench run(s)" if runs else ""
            return f"measured on a busy host ({phase}: {what}{shared})"
    measured = [e.get("outside_cores") for _p, e in entries if isinstance(e, dict)]
    numbers = [c for c in measured if isinstance(c, (int, float))]
    if len(numbers) == 2 and abs(numbers[0] - numbers[1]) >= BUSY_CORES:
        return f"its two sides ran under different load ({numbers[0]:.2f} vs {numbers[1]:.2f} cores used by others)"
    return None


def caveat(metrics: dict[str, Any], phases: tuple[str, ...], runs: Any = None) -> str | None:
    """Why a figure is shown but not ranked: its phases ran on a busy host (or a ratio's two sides under
    different load), or its runs (a summary) spread too much to compare. None: a finding."""
    return (busy_reason(metrics, *phases) if phases else None) or spread_reason(runs)


def spread_reason(summary: Any) -> str | None:
    """Why a median of runs is too noisy to rank: its slowest run took more than SPREAD times its fastest."""
    if not isinstance(summary, dict) or not all(isinstance(summary.get(k), (int, float)) for k in ("min", "max")):
        return None
    if summary["min"] > 0 and summary["max"] / summary["min"] > SPREAD:
        return f"its runs spread {summary['max'] / summary['min']:.1f}x (slowest over fastest)"
    return None
