"""Any toolkit's first frame, seen from the X server: the first top-level window mapped on a virtual display.

Qt apps are seen from inside (the injected probe, shipbench/inject/: the first paint, exact to the event). A Tk,
GTK, wx or SDL window has no such hook, but every one of them ends up as a window mapped on the X server: the
watcher subscribes to the root window's structure events (SubstructureNotify) before the app is spawned, so the
MapNotify of the app's first top-level window reaches it as the server sends it, with no polling. On a display
of the run's own (xserver.xvfb) nothing else maps windows. The screenshot reads that window's pixels back from
the server (GetImage) once they stop changing, and writes them as a PNG with the standard library's zlib.

python-xlib speaks the X protocol over the socket itself: no libX11 is needed on the host.
"""

from __future__ import annotations

import select
import struct
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import Failure

INSTALL = "pip install python-xlib (a dependency of shipbench: reinstall it)"


def _display(name: str) -> Any:
    try:
        from Xlib import display
        from Xlib.error import ConnectionClosedError, DisplayError
    except ImportError:
        raise Failure(f"python-xlib is missing, so no window can be watched: {INSTALL}") from None
    try:
        return display.Display(name)
    except (DisplayError, ConnectionClosedError, OSError) as error:
        raise Failure(f"cannot open the X display {name}: {error}") from None


def watch_first_map(name: str, seen: Callable[[], None], done: threading.Event) -> None:
    """Subscribe to the root window's structure events on display `name` now, then call `seen()` (once) from a
    thread of its own when a top-level window is first mapped; the thread ends with `done`."""
    from Xlib import X

    display = _display(name)
    display.screen().root.change_attributes(event_mask=X.SubstructureNotifyMask)
    display.sync()  # the subscription is in force before this returns, so before the app is spawned

    def watch() -> None:
        try:
            while not done.is_set():
                readable, _, _ = select.select([display.fileno()], [], [], 0.05)
                if not readable:
                    continue
                while display.pending_events():
                    event = display.next_event()
                    if event.type == X.MapNotify:
                        seen()
                        return
        except Exception:  # noqa: BLE001 - the server went away: the run's own timeout says it was never ready
            return
        finally:
            display.close()

    threading.Thread(target=watch, daemon=True).start()


def close_windows(name: str) -> int:
    """Ask every mapped top-level window of display `name` to close, as a user closing it would (a WM_PROTOCOLS
    ClientMessage with WM_DELETE_WINDOW): a Tk app then leaves its main loop and exits as it would, its atexit
    handlers run. SIGTERM alone cannot end it: Tk's loop waits for an X event before Python sees any signal.
    The count of windows asked; 0 where none (or no server) is there."""
    try:
        from Xlib import X
        from Xlib.protocol import event
    except ImportError:
        return 0
    try:
        display = _display(name)
    except Failure:
        return 0
    try:
        protocols, delete = display.intern_atom("WM_PROTOCOLS"), display.intern_atom("WM_DELETE_WINDOW")
        asked = 0
        for window in display.screen().root.query_tree().children:
            if window.get_attributes().map_state != X.IsViewable:
                continue
            message = event.ClientMessage(window=window, client_type=protocols, data=(32, [delete, X.CurrentTime,
                                                                                           0, 0, 0]))
            window.send_event(message, event_mask=X.NoEventMask)
            asked += 1
        display.sync()
        return asked
    except Exception:  # noqa: BLE001 - windows going away meanwhile (BadWindow): the signals still follow
        return 0
    finally:
        display.close()


def screenshot(name: str, path: Path, settle_s: float = 3.0) -> bool:
    """Save the largest mapped top-level window of display `name` as a PNG at `path`, once two reads of its
    pixels 100 ms apart agree (the toolkit has painted after the map), at most `settle_s` later. False where no
    window is mapped."""
    display = _display(name)
    try:
        return _save_largest_window(display, path, settle_s)
    except Exception:  # noqa: BLE001 - the window went away (BadWindow, BadMatch): no screenshot, said by the caller
        return False
    finally:
        display.close()


def _save_largest_window(display: Any, path: Path, settle_s: float) -> bool:
    from Xlib import X

    root = display.screen().root
    windows = [w for w in root.query_tree().children if w.get_attributes().map_state == X.IsViewable]
    if not windows:
        return False
    window = max(windows, key=lambda w: (lambda g: g.width * g.height)(w.get_geometry()))
    geometry = window.get_geometry()
    width, height = geometry.width, geometry.height
    deadline = time.monotonic() + settle_s
    previous = None
    while True:
        data = bytes(window.get_image(0, 0, width, height, X.ZPixmap, 0xFFFFFFFF).data)
        if data == previous or time.monotonic() > deadline:
            break
        previous = data
        time.sleep(0.1)
    path.write_bytes(png(width, height, data))
    return True


def png(width: int, height: int, pixels: bytes) -> bytes:
    """An RGB PNG of a ZPixmap read from a 24- or 32-bit TrueColor X server (4 bytes a pixel, blue first)."""
    stride = len(pixels) // height if height else 0
    rows = []
    for y in range(height):
        row = pixels[y * stride: y * stride + width * 4]
        rgb = bytearray(width * 3)
        rgb[0::3], rgb[1::3], rgb[2::3] = row[2::4], row[1::4], row[0::4]
        rows.append(b"\0" + bytes(rgb))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) \
        + chunk(b"IEND", b"")
