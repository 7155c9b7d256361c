"""Entry point: ``python -m app_gui [--probe] [--screenshot FILE]``.

``--probe`` is the contract with shipbench: one JSON line ``{"event": "ready", ...}`` after the first frame is
painted, then exit 0. Start-up time is measured from process spawn to that line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

_T0 = time.perf_counter()


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="app_gui", description=__doc__.splitlines()[0])
    parser.add_argument("--probe", action="store_true", help="print a ready event after the first frame, then quit")
    parser.add_argument("--screenshot", metavar="FILE.png", help="save what the window painted to this PNG file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)

    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QApplication

    from .environment import detect, peak_rss_bytes
    from .window import MainWindow

    app = QApplication(sys.argv[:1])
    env = detect()
    exit_code = 0

    def first_frame() -> None:
        nonlocal exit_code
        if args.screenshot and not _save_screenshot(window, args.screenshot):
            exit_code = 3
        if args.probe:
            event = {
                "event": "ready",
                "app": "gui",
                "in_process_s": round(time.perf_counter() - _T0, 4),
                "qt_platform": app.platformName(),
                # False where no font has a glyph for "A": every character is drawn as a box, ready but unreadable
                "text_renders": QFontMetrics(app.font()).inFont("A"),
                "peak_rss_bytes": peak_rss_bytes(),
                **env.as_dict(),
            }
            QTimer.singleShot(0, app.quit)  # first: a probe run ends even when the line cannot be written
            try:
                print(json.dumps(event), flush=True)
            except BrokenPipeError:  # nobody reads our output any more (the harness is gone, or `| true`)
                _stdout_to_devnull()
                exit_code = 4

    window = MainWindow(env, on_first_frame=first_frame if (args.probe or args.screenshot) else None)
    window.show()
    code = app.exec()
    return exit_code or code


def _stdout_to_devnull() -> None:
    """After a broken pipe, as Python's documentation advises: the flush at exit then writes nowhere instead of
    raising again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _save_screenshot(window: object, path: str) -> bool:
    """Grab the window from the screen (what was presented); fall back to rendering the widget."""
    from PySide6.QtWidgets import QWidget

    assert isinstance(window, QWidget)
    screen = window.screen()
    pixmap = screen.grabWindow(window.winId()) if screen is not None else None
    if pixmap is None or pixmap.isNull():
        pixmap = window.grab()
    if not pixmap.save(path, "PNG"):
        print(f"app_gui: could not write screenshot to {path}", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
