"""A virtual X server (Xvfb) for GUI runs against a real X11 display on a machine without a screen."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SOCKET_DIR = Path("/tmp/.X11-unix")


# why an X11 run was skipped, and what provides the server
MISSING = "no Xvfb on this host to stand in for a display (apt-get install xvfb, or scripts/install-host-deps.sh)"


def available() -> bool:
    return shutil.which("Xvfb") is not None


@contextmanager
def xvfb(size: str = "1280x800x24") -> Iterator[str]:
    """Start Xvfb on a free display and yield DISPLAY (":N"); the server is stopped afterwards."""
    display = next(n for n in range(90, 200) if not (SOCKET_DIR / f"X{n}").exists()
                   and not Path(f"/tmp/.X{n}-lock").exists())
    proc = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", size, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while not (SOCKET_DIR / f"X{display}").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Xvfb :{display} did not start")
            time.sleep(0.05)
        yield f":{display}"
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
