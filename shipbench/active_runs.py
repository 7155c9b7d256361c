"""The shipbench runs active on this host, and one run at a time per row.

- A host-wide folder (`/tmp/shipbench-active/`, whatever TMPDIR says; Windows: the user's temporary folder)
  holds one small file per running `shipbench run`; hostload.py asks it which other runs shared the machine
  while a phase was timed.
- A row (strategy, variant, app, Python) is built, measured and recorded by one run at a time: a second run of
  the same row *waits* for the first, saying so, and then finds its record (reused if nothing changed). Rows
  that differ run side by side, each in its own build folder; their records then say the host was shared.
  The lock is an advisory file lock (fcntl) under the build folder; where fcntl does not exist (Windows) rows
  are not locked.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]



def _host_wide_folder() -> Path:
    """One folder for every run on the host. Not tempfile.gettempdir(): nox gives each session a TMPDIR of its
    own (.nox/<session>/tmp), so runs from two sessions or two projects would never see each other."""
    if os.name == "posix" and os.path.isdir("/tmp"):
        return Path("/tmp") / "shipbench-active"
    return Path(tempfile.gettempdir()) / "shipbench-active"  # Windows: the user's temporary folder


FOLDER = _host_wide_folder()


# this process's entry while it is registered: what it runs, since when, and whether it runs or waits
_entry: dict[str, Any] = {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process, or a platform that cannot tell: count it
    return True


def _save(state: str) -> None:
    """Write this process's entry with its state: waiting (for a row's lock; it uses no CPU, so it makes no host
    busy) or running. An unwritable temporary folder must not stop a run: its records then cannot name it."""
    if _entry:
        _entry["state"] = state
        with suppress(OSError):
            (FOLDER / f"{os.getpid()}.json").write_text(json.dumps(_entry))


@contextmanager
def registered(strategies: list[str]) -> Iterator[None]:
    """This process is listed as an active run of these strategies while the block runs (a crash leaves a file for
    a dead pid, which others() ignores). Its arguments are not listed: other runs copy what they see into their
    records, and a command line can hold a secret."""
    with suppress(OSError):
        FOLDER.mkdir(exist_ok=True)
        FOLDER.chmod(0o1777)  # every user's runs, like /tmp itself
    _entry.update(pid=os.getpid(), strategies=strategies,
                  started=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    _save("running")
    try:
        yield
    finally:
        # "done", and left so: it still writes its report and exits, and a process that looks like a run and is
        # not listed counts as one running. Removed at exit, the entry was gone while the interpreter still wound
        # down, and the run waiting for its row named it in its record (seen twice in CI); others() removes the
        # entry once its pid is gone
        _save("done")
        _entry.clear()


def measured_all() -> None:
    """This run has measured its last row (called while it still holds that row's lock): what it does now (its
    report) is no measurement, so a run that takes the row next does not count it as another run measuring; any
    CPU it still uses is in that run's outside-CPU estimate (hostload.py) like any process's."""
    _save("reporting")


def others(proc: Path = Path("/proc")) -> list[dict[str, Any]]:
    """The other shipbench runs active now, less those waiting for a row's lock or done measuring: those listed
    (their pid still alive), and on Linux those the process table shows that no list of ours holds (a run in a
    container, or under another /tmp, writes its entry where this run cannot read it)."""
    found, listed_pids = [], set()
    for entry in sorted(FOLDER.glob("*.json")):
        pid = int(entry.stem) if entry.stem.isdigit() else None
        if pid is None or pid == os.getpid():
            continue
        if not _alive(pid):  # a run that ended (its entry says done) or crashed
            entry.unlink(missing_ok=True)
            continue
        if not _still_shipbench(pid, proc):  # a killed run's entry, its pid since given to another process
            entry.unlink(missing_ok=True)
            continue
        listed_pids.add(pid)
        try:
            listed = json.loads(entry.read_text())
        except (OSError, ValueError):
            listed = None
        listed = {**listed, "pid": pid} if isinstance(listed, dict) else {"pid": pid}
        if listed.get("state") not in ("waiting", "reporting", "done"):
            found.append(listed)
    mine = _ancestors(os.getpid(), proc)  # a wrapper that started this run (timeout, a shell) is not another run
    for pid, argv in _runs_in_process_table(proc):
        if pid != os.getpid() and pid not in listed_pids and pid not in mine:
            found.append({"pid": pid, "strategies": strategies_in(argv),
                          "state": "running (seen in the process table)"})
    return found


STRATEGY_NAME = re.compile(r"[a-z][a-z0-9]{1,15}")


def strategies_in(argv: list[str]) -> list[str]:
    """The strategies a `shipbench run` command line names: the words after `run` up to its first option, and only
    words shaped like a strategy's name. The rest of a command line is never kept (it can hold a secret)."""
    words = argv[argv.index("run") + 1:] if "run" in argv else []
    named = []
    for word in words:
        if word.startswith("-"):
            break
        if STRATEGY_NAME.fullmatch(word):
            named.append(word)
    return named[:12]


def named(run: dict[str, Any]) -> str:
    """How a record names another run: its strategies and its pid, nothing it was given (an entry is another
    process's file: only a list of name-shaped words and a number are taken from it)."""
    raw = run.get("strategies")
    strategies = [word for word in raw if isinstance(word, str) and STRATEGY_NAME.fullmatch(word)][:12] \
        if isinstance(raw, list) else []
    pid = run.get("pid")
    return f"shipbench run {','.join(strategies) or '?'} (pid {pid if isinstance(pid, int) else '?'})"


def _ancestors(pid: int, proc: Path) -> set[int]:
    """This process's parents up to init, from /proc/<pid>/stat; empty where there is no process table."""
    found: set[int] = set()
    while pid > 1 and pid not in found:
        try:
            stat = (proc / str(pid) / "stat").read_text()
            parent = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            break
        found.add(pid)
        pid = parent
    found.discard(os.getpid())
    return found | ({pid} if pid > 1 else set())


def _still_shipbench(pid: int, proc: Path) -> bool:
    """Whether pid is (still) a shipbench process, where the process table can tell (Linux); elsewhere assumed.
    A run killed by SIGKILL leaves its entry, and the kernel reuses pids: without this a long-dead run made every
    later phase "busy" (seen: 17 stale entries, some with reused pids)."""
    try:
        argv = [word for word in (proc / str(pid) / "cmdline").read_bytes().decode("utf-8", "replace").split("\0")
                if word]
    except OSError:
        return True
    module = any(argv[at] == "-m" and argv[at + 1] == "shipbench" for at in range(len(argv) - 1))
    return bool(argv) and (os.path.basename(argv[0]) == "shipbench" or module)


def is_run(argv: list[str]) -> bool:
    """Whether a command line is a `shipbench run` (python -m shipbench run …, or the console script)."""
    for at, word in enumerate(argv[:-1]):
        if argv[at + 1] == "run" and (word == "shipbench" and at > 0 and argv[at - 1] == "-m"
                                      or at == 0 and os.path.basename(word) == "shipbench"):
            return True
    return False


def _runs_in_process_table(proc: Path) -> list[tuple[int, list[str]]]:
    runs = []
    try:
        entries = list(proc.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        argv = [word for word in argv if word]
        if is_run(argv):
            runs.append((int(entry.name), argv))
    return runs


@contextmanager
def row_lock(lock_file: Path, label: str, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the row's lock for the block; if another run holds it, `say` so once and wait for it."""
    if fcntl is None:
        yield
        return
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another run"
            say(f"  {label}: waiting for {holder}, which is building or measuring this row")
            _save("waiting")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
            finally:
                _save("running")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
