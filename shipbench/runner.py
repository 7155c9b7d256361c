"""Spawn an app, read its JSON events, time spawn→`ready`, and never leave a process behind.

The clock starts just before the spawn and stops when the `ready` line is read, so interpreter start-up,
imports, unpacking (a PyInstaller onefile) and container or VM overheads are all inside the number.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import Failure
from .fsutil import tail

# Measured apps run as a user would start them: nothing of the harness's Python leaks in, and a host-wide
# PYTHONDONTWRITEBYTECODE (set on some CI images) must not stop a venv from caching its .pyc files after the
# first run, or every "warm" start would compile all of torch again. (Here, not in measure.py, because the
# relay inside a VM needs it too and gets only this module's files.)
NOT_FOR_APPS = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "CONDA_PREFIX", "PYTHONDONTWRITEBYTECODE")


@dataclass
class ProcessRun:
    argv: list[str]
    ready_s: float | None
    exit_code: int | None
    wall_s: float
    events: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""
    peak_rss_bytes: int | None = None

    def event(self, name: str) -> dict[str, Any] | None:
        return next((event for event in self.events if event.get("event") == name), None)


def new_group_kwargs(platform: str) -> dict[str, Any]:
    """Start the child in its own process group, so a timeout can kill it and everything it spawned."""
    if platform == "win32":
        return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)}
    return {"start_new_session": True}


def kill_tree(proc: subprocess.Popen[str], platform: str = sys.platform) -> None:
    """Kill the process and everything it started, also children left behind after the leader exited."""
    if platform == "win32":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def stop_tree(proc: subprocess.Popen[str], grace_s: float = 15.0, platform: str = sys.platform) -> None:
    """Stop a tool that is still running (a timeout, Ctrl-C): SIGTERM to its group first, so that a script's
    trap can undo what it did (debootstrap's /proc mount in a box build, a half-written image), then, after
    `grace_s` or once it has exited, SIGKILL to whatever is left."""
    if platform != "win32" and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    kill_tree(proc, platform)


def _rss_bytes_from_rusage(maxrss: int, platform: str = sys.platform) -> int:
    """ru_maxrss is in KiB on Linux and in bytes on macOS."""
    return maxrss if platform == "darwin" else maxrss * 1024


def _wait(proc: subprocess.Popen[str], timeout: float) -> tuple[int, int | None]:
    """Wait for exit, returning (exit code, peak RSS in bytes where the OS tells it)."""
    if hasattr(os, "wait4"):
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                return proc.returncode, _rss_bytes_from_rusage(usage.ru_maxrss)
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(proc.args, timeout)
            time.sleep(0.005)
    return proc.wait(timeout=timeout), None


def run_app(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = 60.0,
    need_ready: bool = True,
    on_line: Callable[[str, float], None] | None = None,
    ready: str | re.Pattern[str] = "event",
) -> ProcessRun:
    """Run argv to completion; raise Failure when it never says ready, times out, or exits non-zero.

    `ready` is how readiness shows: "event" (a JSON line {"event": "ready"}, which the injected first-frame probe
    prints too), a compiled pattern matched against each line, or "exit" (the command exiting 0 is the ready).
    on_line sees each line of output as it arrives, with the seconds since the spawn (the relay forwards them).
    """
    argv = list(argv)
    lines: queue.Queue[tuple[float, str | None]] = queue.Queue()
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=dict(env) if env is not None else None,
            cwd=cwd,
            bufsize=1,
            **new_group_kwargs(sys.platform),
        )
    except OSError as error:
        raise Failure(f"could not start {argv[0]}: {error}") from error

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put((time.perf_counter(), line))
        lines.put((time.perf_counter(), None))

    threading.Thread(target=pump, daemon=True).start()

    output: list[str] = []
    events: list[dict[str, Any]] = []
    ready_s: float | None = None
    deadline = start + timeout
    eof = False
    try:
        while not eof:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError
            try:
                stamp, line = lines.get(timeout=remaining)
            except queue.Empty:
                raise TimeoutError from None
            if line is None:
                eof = True
                continue
            output.append(line)
            if on_line is not None:
                on_line(line, stamp - start)
            event = parse_event(line)
            if event is not None:
                events.append(event)
            if ready_s is None and says_ready(line, ready):
                ready_s = stamp - start
                if event is None or event.get("event") != "ready":  # the description's pattern matched
                    events.append({"event": "ready", "matched": line.strip()[:200]})
        exit_code, rss = _wait(proc, max(1.0, deadline - time.perf_counter()))
        if ready == "exit" and exit_code == 0:
            ready_s = time.perf_counter() - start
    except (TimeoutError, subprocess.TimeoutExpired):
        kill_tree(proc)
        proc.wait()
        what = f"not ready ({describe_ready(ready)})" if ready_s is None and need_ready else "did not exit"
        raise Failure(f"{what} within {timeout:g} s: {short_command(argv)}", tail("".join(output))) from None
    finally:
        kill_tree(proc)  # nothing the app started may outlive the measurement
    ready_s = _timed_where_it_ran(events, ready_s)
    run = ProcessRun(argv, ready_s, exit_code, time.perf_counter() - start, events, "".join(output), rss)
    if exit_code != 0:
        raise Failure(failed_because(f"exit code {exit_code}: {short_command(argv)}", run.output), tail(run.output))
    if need_ready and ready_s is None:
        raise Failure(f"exited without being ready ({describe_ready(ready)}): {short_command(argv)}",
                      tail(run.output))
    return run


# What says why a program stopped, strongest first: a TLS failure (its cause, which pip buries under retries and
# "No matching distribution"), a full disk (each tool words it as its own error), a Python exception line, a
# missing shared library, a tool's ERROR/fatal line.
_DECIDING = (
    re.compile(r"CERTIFICATE_VERIFY_FAILED|SSLCertVerificationError"),
    re.compile(r"No space left on device"),
    re.compile(r"^\s*(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit)(?::|$)"),
    re.compile(r"cannot open shared object file|error while loading shared libraries"),
    re.compile(r"^\s*(?:ERROR|FATAL|Error|Fatal error|fatal error|error)\b[:!]"),
)
DISK_HINT = ("the disk is full: `df -h` says where; `docker builder prune` and `docker image prune` free what "
             "builds left")
CA_HINT = ("the host's TLS is intercepted by a proxy whose CA the tool does not trust: point SSL_CERT_FILE (and "
           "PIP_CERT) at the host's CA bundle")


def deciding_line(output: str) -> str | None:
    """The one line of a program's output that says why it stopped (the ImportError, the SSL error, pip's ERROR),
    for a failure's reason; None where no line says it. Searched over the whole output, the last match winning
    within a kind, the strongest kind first."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for pattern in _DECIDING:
        found = [index for index, line in enumerate(lines) if pattern.search(line)]
        if found:
            line = lines[found[-1]]
            if line.endswith(":") and found[-1] + 1 < len(lines):  # "error:" with what it is on the next line
                line = f"{line} {lines[found[-1] + 1]}"
            if pattern is _DECIDING[0]:
                line = f"{line[:200]} ({CA_HINT})"
            elif pattern is _DECIDING[1]:
                line = f"{line[:200]} ({DISK_HINT})"
            return line[:300]
    return None


def failed_because(what: str, output: str) -> str:
    """A failure's reason: the deciding line first, then what failed (its command and exit code)."""
    line = deciding_line(output)
    return f"{line} ({what})" if line else what


def describe_ready(ready: str | re.Pattern[str]) -> str:
    if isinstance(ready, re.Pattern):
        return f"no line matched {ready.pattern!r}"
    return {"exit": "it did not exit 0", "event": 'no {"event": "ready"} line'}.get(ready, ready)


def _timed_where_it_ran(events: list[dict[str, Any]], ready_s: float | None) -> float | None:
    """A relay beside the app (shipbench.relay, in a VM) timed spawn→ready there: that time, not the link's."""
    ready = next((event for event in events if event.get("event") == "ready"), None)
    relayed = ready.get("spawn_to_ready_s") if ready else None
    return float(relayed) if isinstance(relayed, (int, float)) and ready_s is not None else ready_s


def short_command(argv: Sequence[str], limit: int = 160) -> str:
    """The command for a one-line reason: quoted, and cut where a long inline script would swamp it."""
    text = " ".join(shlex.quote(part) for part in argv).replace("\n", "; ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def says_ready(line: str, ready: str | re.Pattern[str]) -> bool:
    """Whether this line of output is the app saying ready (never, for an app whose ready is its exit)."""
    if ready == "exit":
        return False
    event = parse_event(line)
    return event is not None and event.get("event") == "ready" or \
        isinstance(ready, re.Pattern) and ready.search(line) is not None


def parse_event(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) and "event" in value else None


def output(argv: Sequence[str | os.PathLike[str]], cwd: str | os.PathLike[str] | None = None,
           timeout: float = 60) -> str | None:
    """A command's stdout, stripped, when it runs and succeeds; None otherwise (for version and fact probes)."""
    try:
        result = subprocess.run([str(part) for part in argv], capture_output=True, text=True, cwd=cwd,
                                timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def run_tool(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 1800.0,
    what: str | None = None,
    input_text: str | None = None,
) -> tuple[float, str]:
    """Run a build tool to completion; return (seconds, output) or raise Failure with the log's tail.

    The tool runs in a process group of its own, killed whole when it ends, times out or shipbench is
    interrupted: a compiler driver (Nuitka's scons, gcc) or a build's helpers never outlive the row."""
    argv = [str(part) for part in argv]
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            argv,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            **new_group_kwargs(sys.platform),
        )
    except FileNotFoundError:
        if cwd is not None and not os.path.isdir(cwd):  # subprocess says the same for a missing working folder
            raise Failure(f"{what or argv[0]}: its working folder {cwd} does not exist") from None
        raise Failure(f"{what or argv[0]}: {argv[0]} not found") from None
    try:
        stdout, _ = proc.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        stop_tree(proc)
        rest, _ = proc.communicate()
        output = (error.output.decode("utf-8", "replace") if isinstance(error.output, bytes)
                  else error.output or "") + (rest or "")
        raise Failure(f"{what or argv[0]}: no end within {timeout:g} s", tail(output)) from None
    finally:
        stop_tree(proc)  # whatever it started, also on Ctrl-C (KeyboardInterrupt) or SIGTERM (SystemExit)
        if proc.poll() is None:
            proc.wait()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise Failure(failed_because(f"{what or argv[0]} failed with exit code {proc.returncode}", stdout),
                      tail(stdout))
    return elapsed, stdout
