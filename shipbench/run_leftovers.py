"""What a run leaves when it dies without cleaning up (SIGKILL, the OOM killer, a CI job's time limit), and how the
next run removes it.

A run cleans up after itself whenever it can (runner.stop_tree, docker.remove_started, `finally` blocks); SIGKILL
gives it no chance. Found so: a PyInstaller build still running under init beside a new run building the same row
into the same folders; a service (venv) still running; an image's container still up; a screenshot folder in /tmp;
a report's temporary file in results/. So everything a run makes that could outlive it carries the run's token,
and every run begins by removing what carries the token of a run that is dead:

- processes: the token is in the environment every process the run starts inherits (ENV), its tools' helpers and
  its apps' children included;
- containers: a label (LABEL) on every container it runs or creates (docker.container);
- temporary folders: their names (temp_folder: `shipbench-<what>-<pid>.<start>-*`);
- partial files: their names (partial_name: `.<name>.<token>.` and a suffix).

The token is `<pid>.<start time>.<boot and pid namespace>`: a pid alone is reused by the kernel, and a run in a
container (or another machine's, on a shared container engine) is never judged dead from here. What a run of an
earlier boot left in a container engine stays (it cannot be told from another machine's).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .active_runs import FOLDER

try:
    import fcntl
except ImportError:  # Windows: nothing is judged dead there either
    fcntl = None  # type: ignore[assignment]

ENV = "SHIPBENCH_RUN_TOKEN"
CLEANUP_LOCK = FOLDER / "cleanup.lock"  # host-wide, like the list of active runs
LABEL = "shipbench.run"
_TOKEN = r"\d+\.\d+\.[0-9a-f]{8}"
_TAGGED = re.compile(rf"^shipbench-[a-z]+-({_TOKEN})-")  # a temporary folder of a run
_PARTIAL = re.compile(rf"^\..+\.({_TOKEN})\.[A-Za-z0-9_.]+$")  # a partial file of a run (partial_name)


def _start_ticks(pid: int) -> str | None:
    """The process's start time (clock ticks after boot, /proc/<pid>/stat field 22); None where there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2:].split()[19]
    except (OSError, ValueError, IndexError):
        return None


@functools.lru_cache(maxsize=1)
def _namespace() -> str:
    """This boot and pid namespace, hashed short: the pids a token names are only judged in the namespace that
    gave them (a run in a container shares the kernel, and its processes show in the host's /proc under pids of
    the host's, while its tokens hold its own)."""
    made_of = ""
    with contextlib.suppress(OSError):
        made_of += Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    with contextlib.suppress(OSError):
        made_of += os.readlink("/proc/self/ns/pid")
    return hashlib.sha256(made_of.encode()).hexdigest()[:8]


def token(pid: int | None = None) -> str:
    """`<pid>.<start>.<namespace>` of this process (or another): what its children's environment, its containers'
    labels and its temporary folders' and partial files' names carry."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}.{_start_ticks(pid) or 0}.{_namespace()}"


def dead(run_token: str) -> bool:
    """Whether the run of a token is over: its pid is free, or another process's now. A token of another
    namespace or boot (a container's run, another machine's on a shared engine) is never judged here."""
    parts = run_token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or parts[2] != _namespace():
        return False
    return _start_ticks(int(parts[0])) != parts[1]


def mark_this_run() -> None:
    """Put this run's token in the environment every process it starts inherits."""
    os.environ[ENV] = token()


def temp_folder(what: str) -> Path:
    """A new temporary folder for this run (`what`: a word), named so that a later run can remove it if this one
    dies first."""
    return Path(tempfile.mkdtemp(prefix=f"shipbench-{what}-{token()}-"))


def partial_name(name: str) -> str:
    """The prefix of a partial file of this run written beside `name` (a suffix follows: `tmp`, `partial.png`)."""
    return f".{name}.{token()}."


def label_args() -> list[str]:
    return ["--label", f"{LABEL}={token()}"]


def _own_processes() -> set[int]:
    """This process and its ancestors: they carry a token of their own or none, never a dead one, but a shipbench
    started by another (a test, nox) may carry its parent's."""
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return found


def _processes() -> int:
    """Kill every process whose environment carries a dead run's token; how many."""
    killed, mine = 0, _own_processes()
    marker = f"{ENV}=".encode()
    try:
        entries = [entry for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    except OSError:
        return 0
    for entry in entries:
        pid = int(entry.name)
        if pid in mine:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or another user's
            continue
        found = [item[len(marker):].decode("utf-8", "replace") for item in environ.split(b"\0")
                 if item.startswith(marker)]
        if found and found[0] != token() and dead(found[0]):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


def _containers() -> int:
    """Remove every container labelled with a dead run's token; how many."""
    try:
        listed = subprocess.run(["docker", "ps", "--all", "--filter", f"label={LABEL}", "--format",
                                 '{{.ID}}\t{{.Label "' + LABEL + '"}}'], capture_output=True, text=True, timeout=60,
                                check=False)
    except (OSError, subprocess.SubprocessError):
        return 0
    ids = [line.split("\t")[0] for line in listed.stdout.splitlines()
           if "\t" in line and dead(line.split("\t", 1)[1])] if listed.returncode == 0 else []
    if ids:
        subprocess.run(["docker", "rm", "--force", *ids], capture_output=True, check=False, timeout=300)
    return len(ids)


def _dead_runs_entries(folders: list[Path], named: re.Pattern[str]) -> list[Path]:
    """The entries of these folders whose names carry a dead run's token (never a link: what it points at is not
    the run's)."""
    found = []
    for folder in dict.fromkeys(folders):
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            match = named.match(entry.name)
            if match and dead(match.group(1)) and not entry.is_symlink():
                found.append(entry)
    return found


def temp_bases() -> list[Path]:
    """Where runs make their temporary folders: the temporary folder, and /tmp (nox gives each session its own)."""
    return [Path(tempfile.gettempdir()), Path("/tmp")]


def _temp_folders() -> int:
    left = [entry for entry in _dead_runs_entries(temp_bases(), _TAGGED) if entry.is_dir()]
    for entry in left:
        shutil.rmtree(entry, ignore_errors=True)
    return len(left)


def _partial_files(folders: list[Path]) -> int:
    left = [entry for entry in _dead_runs_entries(folders, _PARTIAL) if entry.is_file()]
    for entry in left:
        entry.unlink(missing_ok=True)
    return len(left)


@contextmanager
def cleanups_held() -> Iterator[None]:
    """No run cleans up while the block runs (a host-wide lock that clean() takes too): for a check that must see
    what a killed run left before any other run's start removes it (tests/integration/test_killed_runs.py)."""
    try:
        CLEANUP_LOCK.parent.mkdir(parents=True, exist_ok=True)
        handle = open(CLEANUP_LOCK, "a+")  # noqa: SIM115 (closed below; an unopenable lock must not stop a run)
    except OSError:  # another user's lock file: clean up unlocked
        handle = None
    if fcntl is None or handle is None:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def clean(folders: list[Path]) -> str | None:
    """Remove what dead runs left (processes, containers, temporary folders, and partial files in `folders`);
    what was removed, in words, or None. Linux only (elsewhere nothing is judged dead)."""
    if not Path("/proc/self/stat").exists():
        return None
    with cleanups_held():
        counts = {"process": _processes(), "container": _containers(), "temporary folder": _temp_folders(),
                  "partial file": _partial_files(folders)}
    said = [f"{count} {what}{'es' if what == 'process' and count > 1 else 's' if count > 1 else ''}"
            for what, count in counts.items() if count]
    return "removed what runs that died left: " + ", ".join(said) if said else None
