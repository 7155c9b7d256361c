"""A virtual X server (Xvfb) for GUI runs against a real X11 display on a machine without a screen."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import Failure, Skip

if TYPE_CHECKING:
    from .description import App

SOCKET_DIR = Path("/tmp/.X11-unix")


# why an X11 run was skipped, and what provides the server
MISSING = "no Xvfb on this host to stand in for a display (apt-get install xvfb, or scripts/install-host-deps.sh)"


def available() -> bool:
    return shutil.which("Xvfb") is not None


@contextmanager
def xvfb(size: str = "1280x800x24") -> Iterator[str]:
    """Start Xvfb on a free display and yield DISPLAY (":N"); the server is stopped afterwards. Xvfb picks the
    display itself and writes its number to a pipe (-displayfd): two runs starting one at the same moment can
    never take the same number (choosing a free one here and then starting it could, and did)."""
    read, write = os.pipe()
    try:
        proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", size, "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                pass_fds=(write,))
    finally:
        os.close(write)
    try:
        number = b""
        with os.fdopen(read, "rb") as said:
            deadline = time.monotonic() + 15
            while not number.endswith(b"\n") and time.monotonic() < deadline:
                ready, _, _ = select.select([said], [], [], 0.1)
                if ready:
                    chunk = os.read(said.fileno(), 16)
                    if not chunk:
                        break
                    number += chunk
        if not number.strip().isdigit() or proc.poll() is not None:
            raise Failure("Xvfb did not start (it named no display)")
        yield f":{number.decode().strip()}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def socket_mount_args(display: str) -> list[str]:
    """docker run arguments that hand a container the host's X server: the socket folder and DISPLAY."""
    return ["--volume", f"{SOCKET_DIR}:{SOCKET_DIR}:ro", "--env", f"DISPLAY={display}"]


_CURRENT: list[str] = []  # the display of the row being measured (display_for), innermost last


def current_display() -> str | None:
    """The X display every run of the current row's app is seen on (display_for), or None."""
    return _CURRENT[-1] if _CURRENT else None


@contextmanager
def display_for(app: App) -> Iterator[str | None]:
    """For an app whose first frame is seen on an X server (a toolkit other than Qt: kinds.py), a virtual X server
    of the row's own for everything the row starts (its evidence run, its starts on the host, in containers
    through the mounted socket); nothing for other apps. Skip where Xvfb is missing."""
    if not app.window_on_x:
        yield None
        return
    if not available():
        raise Skip(f"{app.name}'s window ({app.toolkit}) is seen on an X server: {MISSING}")
    with xvfb() as display:
        _CURRENT.append(display)
        try:
            yield display
        finally:
            _CURRENT.pop()
