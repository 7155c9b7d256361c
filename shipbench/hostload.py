"""How busy the host was while a phase was timed, apart from the measurement itself, so that a number taken on a
busy machine says so instead of passing for a finding.

For each timed phase (set-up, start-up, throughput, the venv baseline) the record gets `metrics.host_load.<phase>`:
- `outside_cores`: CPU time that other processes used during the phase, over its wall time, in cores (1.0 = one
  core kept busy by something else); never more than the host's cores. Linux: two estimates, the lower kept:
  1. per process, from /proc/<pid>/stat of every process that existed when the phase began and is not this
     run's (not a descendant of this process, not the engine serving it: dockerd, containerd, libvirtd, the VM's
     QEMU): its own CPU plus that of the children it reaped meanwhile (a `make -j`'s compilers count through
     make). A child already alive when the phase began and reaped during it brings its whole life's CPU into
     its parent's count: what it had used by the phase's start is taken off again, so only the phase counts.
  2. the host's: all CPU time the kernel counted (/proc/stat) during the phase, less what this run's own
     processes used. Processes born during the phase count here only: whose they are cannot be told after the
     fact, so (1) leaves them out.
  Inside a container (no kthreadd in the process table) (1) sees only the container, so (2) alone is used:
  /proc/stat counts the whole host there too, and the entry says `seen_from` a container.
  Elsewhere it is not measured (None), and only the load average is recorded.
- `load_avg_1m`: the host's one-minute load average at the end (macOS and Linux).
- `other_runs`: other shipbench runs active on this host at the phase's start or end (active_runs.py), and
  `other_runs_seen`: their strategies and pids (never their arguments: a command line can hold a secret).
- `busy`: outside_cores >= BUSY_CORES, or another shipbench run was active.
- `pace_s` (the warm start-ups): the host's pace, a fixed reference run (REFERENCE: this Python, isolated,
  importing some of the standard library and looping) timed right before each measured run. Load that no
  process table shows (a VM's noisy neighbours, CPU frequency, a throttled disk) moves it; compare.py calls two
  runs whose paces differ significantly, by more than PACE_TOLERANCE, too noisy to tell apart. (Found here: an
  unchanged PyInstaller row started 20% faster in a second sitting on an idle host, and so did the same app in
  its venv; a rank test on one sitting's samples cannot see that.)
The report marks every figure from a busy phase, and every ratio whose two sides ran under different load, and
never ranks them as best.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import active_runs, stats

BUSY_CORES = 0.5  # half a core kept busy by other work, on average over the phase
SPREAD = 1.5  # warm runs whose slowest took more than 1.5x the fastest: too noisy to rank
# the engines that serve a container or VM row, by the start of their name (the kernel cuts names at 15
# characters: "containerd-shim-runc-v2" reads "containerd-shim", "qemu-system-aarch64" "qemu-system-aar")
_SERVING = ("dockerd", "containerd", "buildkitd", "runc", "libvirtd", "virtlogd", "virtqemud", "qemu-system-")
# the reference run: the same work on every run of this host with this Python, nothing of the app's
REFERENCE = ("-I", "-S", "-c",
             "import decimal, email.parser, json, xml.dom.minidom\nsum(i * i for i in range(200_000))")
PACE_TOLERANCE = 0.05  # a pace that moved less than 5% between two runs is the same host
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class _Process:
    parent: int
    name: str
    cpu_s: float  # own user + system time, plus that of the children it has reaped


@dataclass(frozen=True)
class Snapshot:
    """Every process's CPU counters and the host's CPU time in all, at one moment."""

    processes: dict[int, _Process]
    host_busy_s: float | None  # CPU seconds the kernel counted as busy on all cores since boot (None: unknown)

    @property
    def whole_host(self) -> bool:
        """Whether the process table is the host's: the kernel's thread parent (kthreadd, pid 2) is in it. Inside
        a container (CI's usual case) only the container's processes are listed, while /proc/stat still counts
        the whole host's CPU time: the per-process estimate would see nobody else."""
        kernel = self.processes.get(2)
        return kernel is not None and kernel.name == "kthreadd"


def _processes(proc: Path = Path("/proc")) -> dict[int, _Process]:
    table = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
            name = text[text.index("(") + 1:text.rindex(")")]
            fields = text[text.rindex(")") + 2:].split()
            utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
            parent = int(fields[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, not ours to read, or not a stat line
        table[int(entry.name)] = _Process(parent, name[:15], (utime + stime + cutime + cstime) / _TICKS)
    return table


def _host_busy_s(proc: Path = Path("/proc")) -> float | None:
    """The first line of /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal (guest time is already
    in user); busy is all but idle and iowait."""
    try:
        words = (proc / "stat").read_text().split("\n", 1)[0].split()
        ticks = [int(word) for word in words[1:9]]
    except (OSError, ValueError):
        return None
    if words[0] != "cpu" or len(ticks) < 8:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / _TICKS


def snapshot(proc: Path = Path("/proc")) -> Snapshot:
    return Snapshot(_processes(proc), _host_busy_s(proc))


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
    """CPU seconds other processes used between two snapshots, process by process (estimate 1 of the module's
    docstring)."""
    ours = _descendants(me, before) | _descendants(me, after)
    gone_children: dict[int, float] = {}  # parent -> what its children that ended meanwhile had used before
    for pid, then in before.items():
        if pid not in after:
            gone_children[then.parent] = gone_children.get(then.parent, 0.0) + then.cpu_s
    used = 0.0
    for pid, then in before.items():
        now = after.get(pid)
        if now is None or pid in ours or then.name.startswith(_SERVING) or now.name != then.name:
            continue
        used += max(0.0, now.cpu_s - then.cpu_s - gone_children.get(pid, 0.0))
    return used


def own_cpu_s(before: dict[int, _Process], after: dict[int, _Process], me: int) -> float:
    """CPU seconds this run's own processes used between two snapshots: this process (with the children it
    reaped) and every descendant alive at the end, those born meanwhile from nothing."""
    used = 0.0
    for pid in _descendants(me, after):
        now = after[pid]
        then = before.get(pid)
        start = then.cpu_s if then is not None and then.name == now.name else 0.0
        used += max(0.0, now.cpu_s - start)
    return used


def outside_cores(before: Snapshot, after: Snapshot, me: int, wall_s: float, cores: int) -> float:
    """Other processes' CPU during the phase in cores: the lower of the two estimates, at most the host's cores.
    Where the process table is not the host's (a container), the kernel's count alone: the table cannot show
    the other containers' and the host's processes that load the same cores."""
    used = outside_cpu_s(before.processes, after.processes, me)
    if before.host_busy_s is not None and after.host_busy_s is not None:
        host = max(0.0, after.host_busy_s - before.host_busy_s - own_cpu_s(before.processes, after.processes, me))
        used = min(used, host) if before.whole_host and after.whole_host else host
    return round(min(used / max(wall_s, 1e-6), float(cores)), 3)


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


@contextmanager
def watch(metrics: dict[str, Any], phase: str) -> Iterator[None]:
    """Time-box a phase and record, under metrics["host_load"][phase], how busy the rest of the host was."""
    linux = Path("/proc/stat").is_file()
    seen = {run.get("pid"): active_runs.named(run) for run in active_runs.others()}
    before = snapshot() if linux else None
    start = time.perf_counter()
    yield
    wall = time.perf_counter() - start
    cores = (outside_cores(before, snapshot(), os.getpid(), wall, os.cpu_count() or 1)
             if before is not None else None)
    seen.update({run.get("pid"): active_runs.named(run) for run in active_runs.others()})
    metrics.setdefault("host_load", {})[phase] = {
        "outside_cores": cores, "load_avg_1m": _load_average(), "other_runs": len(seen),
        **({"other_runs_seen": sorted(set(seen.values()))[:8]} if seen else {}),
        **({"seen_from": "a container: the host's CPU count, not its processes"}
           if before is not None and not before.whole_host else {}),
        "busy": bool(seen) or (cores is not None and cores >= BUSY_CORES),
    }


def reference_s() -> float | None:
    """One timed run of REFERENCE (None if it could not run: the pace is then not recorded)."""
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, *REFERENCE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return time.perf_counter() - start if done.returncode == 0 else None


def record_pace(metrics: dict[str, Any], phase: str, samples: list[float | None]) -> None:
    """The pace beside a phase's runs, under host_load.<phase>.pace_s (after watch() wrote the entry)."""
    taken = [sample for sample in samples if sample is not None]
    entry = metrics.get("host_load", {}).get(phase)
    if taken and isinstance(entry, dict):
        entry["pace_s"] = stats.summarize(taken)


def busy_reason(metrics: dict[str, Any], *phases: str) -> str | None:
    """Why figures from these phases are not findings: a busy phase, or two sides under different load."""
    loads: dict[str, Any] = metrics["host_load"] if isinstance(metrics.get("host_load"), dict) else {}
    entries = [(phase, loads.get(phase)) for phase in phases]
    for phase, entry in entries:
        if isinstance(entry, dict) and entry.get("busy"):
            cores = entry.get("outside_cores")
            what = f"other processes used {cores:.2f} cores" if isinstance(cores, (int, float)) else "the host was busy"
            runs = entry.get("other_runs") or 0
            named = entry.get("other_runs_seen")
            shared = f", {runs} other shipbench run(s)" if runs else ""
            if runs and isinstance(named, list) and named and isinstance(named[0], str):
                shared += f": {named[0][:80]}" + (" …" if len(named) > 1 else "")
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


def pace_reason(base: dict[str, Any], head: dict[str, Any], phase: str) -> str | None:
    """Why two runs' timings of a phase cannot be told apart: the host's pace (REFERENCE) moved between them,
    significantly (the rank test) and by more than PACE_TOLERANCE. None where it held or was not recorded."""
    paces = []
    for metrics in (base, head):
        loads = metrics.get("host_load")
        entry = loads.get(phase) if isinstance(loads, dict) else None
        pace = entry.get("pace_s") if isinstance(entry, dict) else None
        samples = pace.get("samples") if isinstance(pace, dict) else None
        if not (isinstance(samples, list) and samples and
                all(isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0 for s in samples)):
            return None
        paces.append([float(s) for s in samples])
    before, after = (stats.summarize(pace)["median"] for pace in paces)
    if 2 / math.comb(len(paces[0]) + len(paces[1]), len(paces[0])) >= stats.ALPHA:
        return None  # too few to tell whether it moved
    p = stats.mann_whitney_p(*paces)
    if p >= stats.ALPHA or abs(after / before - 1) <= PACE_TOLERANCE:
        return None
    return (f"the host's pace moved between the runs: its reference run took {before:.3f} s → {after:.3f} s "
            f"({after / before - 1:+.0%}, p={p:.3f})")


def spread_reason(summary: Any) -> str | None:
    """Why a median of runs is too noisy to rank: its slowest run took more than SPREAD times its fastest."""
    if not isinstance(summary, dict) or not all(isinstance(summary.get(k), (int, float)) for k in ("min", "max")):
        return None
    if summary["min"] > 0 and summary["max"] / summary["min"] > SPREAD:
        return f"its runs spread {summary['max'] / summary['min']:.1f}x (slowest over fastest)"
    return None
