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
import signal as signal_module
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from . import import_names, launcher, settings
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
    stopped_at_ready: bool = False  # stopped by the runner once ready (Ready.stop), not ended by itself

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
        os.killpg(proc.pid, signal_module.SIGKILL)


def stop_tree(proc: subprocess.Popen[str], grace_s: float = 15.0, platform: str = sys.platform) -> None:
    """Stop a tool that is still running (a timeout, Ctrl-C): SIGTERM to its group first, so that a script's
    trap can undo what it did (debootstrap's /proc mount in a box build, a half-written image), then, after
    `grace_s` or once it has exited, SIGKILL to whatever is left."""
    if platform != "win32" and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal_module.SIGTERM)
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


@dataclass(frozen=True)
class Ready:
    """How an app shows it is ready, and what happens to it then.

    kind: "event" (a JSON line {"event": "ready"}: the app's own, or the injected Qt probe's), "exit" (it exits 0),
    "pattern" (a line of its output matches), "port" (a TCP port on this host's loopback accepts a connection) or
    "window" (the first top-level window mapped on the X server `display`, whatever toolkit drew it). A JSON ready
    line counts for every kind (a relay in a VM forwards one). `stop`: the app is stopped once ready (SIGTERM to
    its group, then SIGKILL after STOP_GRACE_S), for apps that never end by themselves: a service, a window nobody
    closes. A start-up is timed to ready, so what the app would have done after it is not part of the figure."""

    kind: str = "event"
    pattern: re.Pattern[str] | None = None
    port: int | None = None
    display: str | None = None
    stop: bool = False
    linger_s: float = 0.0  # a stopped app is first given this long to end by itself (an evidence run)

    def describe(self) -> str:
        if self.kind == "pattern" and self.pattern is not None:
            return f"no line matched {self.pattern.pattern!r}"
        if self.kind == "port":
            return f"nothing accepted a connection on 127.0.0.1:{self.port}"
        if self.kind == "window":
            return f"no top-level window was mapped on the X display {self.display}"
        return {"exit": "it did not exit 0"}.get(self.kind, 'no {"event": "ready"} line')

    def as_argument(self) -> str:
        """The relay's --ready value (relay.py), from which `from_argument` makes the same signal again."""
        if self.kind == "pattern" and self.pattern is not None:
            return f"pattern:{self.pattern.pattern}"
        if self.kind == "port":
            return f"port:{self.port}"
        return self.kind

    @classmethod
    def from_argument(cls, text: str, stop: bool = False) -> Ready:
        if text.startswith("pattern:"):
            return cls("pattern", pattern=re.compile(text.removeprefix("pattern:")), stop=stop)
        if text.startswith("port:"):
            return cls("port", port=int(text.removeprefix("port:")), stop=stop)
        return cls(text if text in ("event", "exit") else "event", stop=stop)


ReadyLike = Union[Ready, str, "re.Pattern[str]"]
STOP_GRACE_S = 10.0  # what a stopped app gets to end by itself after SIGTERM (a service's graceful shutdown)
CLOSE_GRACE_S = 5.0  # a window asked to close (WM_DELETE_WINDOW): the time it has to end by itself
_WATCHED = object()  # queued by a watcher thread (a port, an X window) when it sees the app become ready


def as_ready(ready: ReadyLike) -> Ready:
    """A Ready from the older spellings callers may pass: "event", "exit" or a compiled pattern."""
    if isinstance(ready, Ready):
        return ready
    if isinstance(ready, re.Pattern):
        return Ready("pattern", pattern=ready)
    return Ready.from_argument(ready)


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    """Whether something accepts TCP connections on host:port now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _watch_port(port: int, seen: Callable[[], None], done: threading.Event) -> None:
    """Call `seen` the moment the port first accepts a connection (tried every 10 ms until `done`)."""
    while not done.is_set():
        if port_accepts(port):
            seen()
            return
        done.wait(0.01)


def watch(ready: ReadyLike, seen: Callable[[], None], done: threading.Event) -> None:
    """Start what sees readiness outside the app's output (a port, an X window), before the app is spawned: it
    calls `seen()` once, from a thread of its own, and ends with `done`. Nothing for the other kinds."""
    signal = as_ready(ready)
    if signal.kind == "port" and signal.port is not None:
        if port_accepts(signal.port):
            raise Failure(f"127.0.0.1:{signal.port} already accepts connections before the app starts: another "
                          f"process listens there (`ss -ltnp 'sport = :{signal.port}'` names it); stop it, or "
                          "give the app another port")
        threading.Thread(target=_watch_port, args=(signal.port, seen, done), daemon=True).start()
    elif signal.kind == "window" and signal.display:
        from . import x11_window  # not in a VM's relay, which never watches a window

        x11_window.watch_first_map(signal.display, seen, done)


def run_app(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = 60.0,
    need_ready: bool = True,
    on_line: Callable[[str, float], None] | None = None,
    ready: ReadyLike = "event",
    on_ready: Callable[[], None] | None = None,
) -> ProcessRun:
    """Run argv to completion; raise Failure when it never says ready, times out, or exits non-zero.

    `ready` says how readiness shows (Ready). A run that must be ready (`need_ready`) of an app that is stopped
    at ready (Ready.stop) is stopped there, after `on_ready` (a screenshot, a service's load) has run; its exit
    status is then not a failure. on_line sees each line of output as it arrives, with the seconds since the spawn
    (the relay forwards them).
    """
    argv = list(argv)
    signal = as_ready(ready)
    stop_at_ready = signal.stop and need_ready
    lines: queue.Queue[tuple[float, Any]] = queue.Queue()
    done, ended, over = threading.Event(), threading.Event(), threading.Event()  # watchers'; the output's; the run's
    watch(signal, lambda: lines.put((time.perf_counter(), _WATCHED)), done)
    report = launcher.Report()
    report_r, report_w = os.pipe() if launcher.available() else (-1, -1)
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            launcher.wrap(argv, report_w) if report_w >= 0 else argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=dict(env) if env is not None else None,
            cwd=cwd,
            bufsize=1,
            pass_fds=(report_w,) if report_w >= 0 else (),
            **new_group_kwargs(sys.platform),
        )
    except OSError as error:
        done.set()
        _close(report_r, report_w)
        raise Failure(f"could not start {argv[0]}: {error}") from error
    if report_w >= 0:
        os.close(report_w)
        launcher.read_spawned(report_r, report, min(timeout, 30.0))
        if report.spawned_at is not None and start <= report.spawned_at <= time.perf_counter():
            start = report.spawned_at  # the app's clock starts at its own spawn, not at the launcher's

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put((time.perf_counter(), line))
        lines.put((time.perf_counter(), None))

    threading.Thread(target=pump, daemon=True).start()

    output: list[str] = []
    events: list[dict[str, Any]] = []
    ready_s: float | None = None
    stopped = False
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
                ended.set()
                continue
            if line is _WATCHED:
                if ready_s is None:
                    ready_s = stamp - start
                    events.append({"event": "ready", "seen": signal.kind})
            else:
                output.append(line)
                if on_line is not None:
                    on_line(line, stamp - start)
                event = parse_event(line)
                if event is not None:
                    events.append(event)
                if ready_s is None and says_ready(line, signal):
                    ready_s = stamp - start
                    if event is None or event.get("event") != "ready":  # the description's pattern matched
                        events.append({"event": "ready", "matched": line.strip()[:200]})
            if ready_s is not None and stop_at_ready and not stopped:
                done.set()
                if on_ready is not None:
                    on_ready()
                stopped = True
                _stop_group(proc, ended, over, signal.linger_s, _closer(signal))
        exit_code, rss = _wait(proc, max(1.0, deadline - time.perf_counter()))
        if report_r >= 0:
            launcher.read_rest(report_r, report)
            if report.error is not None:
                raise Failure(f"could not start {argv[0]}: {report.error}")
            exit_code = report.exit_code if report.exit_code is not None else exit_code
            rss = report.peak_rss_bytes  # the launcher's own rusage began at the harness's size
        if signal.kind == "exit" and exit_code == 0:
            ready_s = time.perf_counter() - start
    except (TimeoutError, subprocess.TimeoutExpired):
        kill_tree(proc)
        proc.wait()
        what = f"not ready ({signal.describe()})" if ready_s is None and need_ready else "did not exit"
        if ready_s is not None and need_ready and not stopped:
            what += (f" (it was ready after {ready_s:.2f} s and kept running: an app that does not end by itself "
                     "is stopped at ready when ready is a pattern, a port or a window)")
        raise Failure(f"{what} within {timeout:g} s: {short_command(argv)}", tail("".join(output))) from None
    finally:
        done.set()
        over.set()
        kill_tree(proc)  # nothing the app started may outlive the measurement
        _close(report_r)
    ready_s = _timed_where_it_ran(events, ready_s)
    run = ProcessRun(argv, ready_s, exit_code, time.perf_counter() - start, events, "".join(output), rss)
    run.stopped_at_ready = stopped
    if exit_code != 0 and not stopped:
        raise Failure(failed_because(f"exit code {exit_code}: {short_command(argv)}", run.output), tail(run.output))
    if need_ready and ready_s is None:
        raise Failure(f"exited without being ready ({signal.describe()}): {short_command(argv)}",
                      tail(run.output))
    return run


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def _closer(signal: Ready) -> Callable[[], int] | None:
    """For a window seen on X: ask its windows to close (x11_window.close_windows), as a user would."""
    if signal.kind != "window" or not signal.display:
        return None
    from . import x11_window

    display = signal.display
    return lambda: x11_window.close_windows(display)


def _stop_group(proc: subprocess.Popen[str], ended: threading.Event, over: threading.Event, linger_s: float,
                close: Callable[[], int] | None = None) -> None:
    """After `linger_s` unless its output has `ended` by then: a window app's windows are asked to close first
    (`close`) and given CLOSE_GRACE_S to end by themselves; then SIGTERM to the app's group, so that a service
    shuts down as it would under a service manager; SIGKILL to the group if the run is not `over` STOP_GRACE_S
    later. The output is still read to its end meanwhile (the caller's loop)."""

    def stop() -> None:
        if linger_s > 0 and ended.wait(linger_s):
            return
        if close is not None and close() and ended.wait(CLOSE_GRACE_S):
            return
        if sys.platform == "win32":
            kill_tree(proc)
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal_module.SIGTERM)
        if not over.wait(STOP_GRACE_S):
            kill_tree(proc)

    threading.Thread(target=stop, daemon=True).start()


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
            elif provided := import_names.hint(line):
                line = f"{line[:160]} ({provided})"
            return line[:300]
    return None


def failed_because(what: str, output: str) -> str:
    """A failure's reason: the deciding line first, then what failed (its command and exit code)."""
    line = deciding_line(output)
    return f"{line} ({what})" if line else what


def describe_ready(ready: ReadyLike) -> str:
    return as_ready(ready).describe()


def _timed_where_it_ran(events: list[dict[str, Any]], ready_s: float | None) -> float | None:
    """A relay beside the app (shipbench.relay, in a VM) timed spawn→ready there: that time, not the link's."""
    ready = next((event for event in events if event.get("event") == "ready"), None)
    relayed = ready.get("spawn_to_ready_s") if ready else None
    return float(relayed) if isinstance(relayed, (int, float)) and ready_s is not None else ready_s


def short_command(argv: Sequence[str], limit: int = 160) -> str:
    """The command for a one-line reason: quoted, and cut where a long inline script would swamp it."""
    text = " ".join(shlex.quote(part) for part in argv).replace("\n", "; ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def says_ready(line: str, ready: ReadyLike) -> bool:
    """Whether this line of output is the app saying ready (never, for an app whose ready is its exit)."""
    signal = as_ready(ready)
    if signal.kind == "exit":
        return False
    event = parse_event(line)
    return event is not None and event.get("event") == "ready" or \
        signal.pattern is not None and signal.pattern.search(line) is not None


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
    timeout: float | None = None,
    what: str | None = None,
    input_text: str | None = None,
) -> tuple[float, str]:
    """Run a build tool to completion; return (seconds, output) or raise Failure with the log's tail. Every build
    runs under the build-timeout setting unless the call names a limit of its own.

    The tool runs in a process group of its own, killed whole when it ends, times out or shipbench is
    interrupted: a compiler driver (Nuitka's scons, gcc) or a build's helpers never outlive the row."""
    argv = [str(part) for part in argv]
    timeout = settings.build_timeout_s() if timeout is None else timeout
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
