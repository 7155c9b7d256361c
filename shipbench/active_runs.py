"""The shipbench runs active on this host, and one run at a time per row.

- A host-wide folder (the system's temporary folder, `shipbench-active/`) holds one small file per running
  `shipbench run`; hostload.py asks it which other runs shared the machine while a phase was timed.
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
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

FOLDER = Path(tempfile.gettempdir()) / "shipbench-active"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process, or a platform that cannot tell: count it
    return True


@contextmanager
def registered(what: str, folder: Path | None = None) -> Iterator[None]:
    """This process is listed as an active run while the block runs (and a crash leaves a file for a dead pid,
    which others() ignores)."""
    global _entry
    folder = folder or FOLDER
    _entry = {"path": folder / f"{os.getpid()}.json", "pid": os.getpid(), "what": what, "state": "running",
              "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    try:
        folder.mkdir(exist_ok=True)
        with suppress(OSError):
            folder.chmod(0o1777)  # every user's runs, like /tmp itself
        _save()
    except OSError:
        pass  # an unwritable temporary folder must not stop a run; its records then cannot name this one
    try:
        yield
    finally:
        Path(_entry.pop("path")).unlink(missing_ok=True)
        _entry = {}


_entry: dict[str, Any] = {}


def _save() -> None:
    json_entry = {k: v for k, v in _entry.items() if k != "path"}
    Path(_entry["path"]).write_text(json.dumps(json_entry))


def _state(state: str) -> None:
    """waiting (for a row's lock: it uses no CPU, so it does not make the host busy) or running."""
    if _entry.get("path"):
        _entry["state"] = state
        with suppress(OSError):
            _save()


def others(folder: Path | None = None) -> list[dict[str, Any]]:
    """The other shipbench runs active now (their pid still alive), less those waiting for a row's lock."""
    found = []
    for entry in sorted((folder or FOLDER).glob("*.json")):
        if not entry.stem.isdigit() or int(entry.stem) == os.getpid() or not _alive(int(entry.stem)):
            continue
        try:
            listed = json.loads(entry.read_text())
        except (OSError, ValueError):
            listed = {"pid": int(entry.stem)}
        if not isinstance(listed, dict) or listed.get("state") != "waiting":
            found.append(listed if isinstance(listed, dict) else {"pid": int(entry.stem)})
    return found


@contextmanager
def row_lock(lock_file: Path, label: str, say: Any) -> Iterator[None]:
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
            _state("waiting")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
            finally:
                _state("running")
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
