"""A small process between the harness and the app, so that the app's peak memory is the app's own.

On Linux a child's peak resident set (`ru_maxrss`, even its own `getrusage`) starts at what the process that
forked it had at its peak: exec records the old address space's high-water mark, and a fork copies the parent's.
Spawned straight from shipbench, every app "used" at least the harness's 140 MB. So each app is forked by a fresh,
tiny interpreter (`python -I -S`, about 9 MB), which waits for it and reports on a pipe of its own:

    spawned <perf_counter>    just before the fork: the start-up clock starts here, not at the launcher's start
    error <message>           the program could not be executed (a missing file: the harness's "could not start")
    exit <code>               as subprocess tells it (negative: killed by that signal)
    rss <bytes>               the app's ru_maxrss from wait4: the app's own (or the launcher's ~9 MB, if larger)

The launcher ignores SIGTERM and SIGINT (a stop at ready is sent to the whole group: the app ends, the launcher
reports) and gives the app the default dispositions a spawn from the harness would have (Python ignores SIGPIPE
and SIGXFSZ; exec keeps what is ignored). Linux only: elsewhere apps are spawned directly. Python 3.8+, standard
library only: it also runs inside a VM's relay.
"""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Sequence
from dataclasses import dataclass

SCRIPT = r"""
import os, signal, sys, time
fd, argv = int(sys.argv[1]), sys.argv[2:]
os.set_inheritable(fd, False)
for number in (signal.SIGTERM, signal.SIGINT):
    signal.signal(number, signal.SIG_IGN)
os.write(fd, b"spawned %r\n" % time.perf_counter())
pid = os.fork()
if pid == 0:
    try:
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(number, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    except BaseException as error:
        os.write(fd, ("error %s\n" % error).replace("\n", " ").strip().encode() + b"\n")
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
os.write(fd, b"exit %d\nrss %d\n" % (code, usage.ru_maxrss * 1024))
os._exit(code & 255 if code >= 0 else 128 - code)
"""


def available(platform: str = sys.platform) -> bool:
    return platform.startswith("linux")


def wrap(argv: Sequence[str], report_fd: int) -> list[str]:
    """The command that runs argv through the launcher, reporting on report_fd (pass it in pass_fds)."""
    return [sys.executable, "-I", "-S", "-c", SCRIPT, str(report_fd), *argv]


@dataclass
class Report:
    spawned_at: float | None = None
    error: str | None = None
    exit_code: int | None = None
    peak_rss_bytes: int | None = None

    def read(self, text: str) -> None:
        for line in text.splitlines():
            word, _, value = line.partition(" ")
            try:
                if word == "spawned":
                    self.spawned_at = float(value)
                elif word == "error":
                    self.error = value
                elif word == "exit":
                    self.exit_code = int(value)
                elif word == "rss":
                    self.peak_rss_bytes = int(value)
            except ValueError:
                continue


def read_spawned(fd: int, report: Report, timeout: float) -> None:
    """Read the launcher's first line (it comes ~10 ms after the spawn), or give up after `timeout`."""
    text = b""
    while not text.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], timeout)
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            break
        text += chunk
    report.read(text.decode("utf-8", "replace"))


def read_rest(fd: int, report: Report) -> None:
    """Read what the launcher wrote before it exited (it has exited: the pipe ends)."""
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            break
        chunks.append(chunk)
    report.read(b"".join(chunks).decode("utf-8", "replace"))
