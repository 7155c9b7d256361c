"""The first-frame probe: shipbench puts this folder on a window app's PYTHONPATH (or, in a PyInstaller bundle,
runs it as a runtime hook) to see when the app has painted its first frame, without changing the app.

Python imports `sitecustomize` at start-up. With SHIPBENCH_FIRST_FRAME=1 this one waits for the app to import
Qt (PySide6, PyQt6, PySide2 or PyQt5), then watches the application's events: after the first paint of a window
it prints {"event": "ready", ...} on stdout, saves the window to SHIPBENCH_SCREENSHOT when that is set, and
quits the app (SHIPBENCH_PROBE_QUIT=0 leaves it running). Without SHIPBENCH_FIRST_FRAME it does nothing but
hand over to the interpreter's own sitecustomize, if there is one. With SHIPBENCH_EVIDENCE=FILE it writes, at
exit, which modules and shared libraries the app loaded (the trimmed PyInstaller profile keeps those); SIGTERM
(an app stopped at ready) then ends the app through SystemExit, so that exit comes. Standard
library only, and only what the interpreter has loaded anyway by now: this runs inside every measured start, so
it imports nothing there (importlib.abc alone would add ~50 ms: it pulls in importlib.resources; json waits
until the ready line is printed).
"""

from __future__ import annotations

import os
import sys
import time

_T0 = time.perf_counter()
_QT_BINDINGS = ("PySide6", "PyQt6", "PySide2", "PyQt5")


def _chain_to_the_next_sitecustomize() -> None:
    """Run the sitecustomize this one shadows (Debian's python3 has one), as if this one were not there."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    # the import system's own PathFinder, already in sys.meta_path: importing importlib for it would cost time
    path_finder = next((f for f in sys.meta_path if getattr(f, "__name__", "") == "PathFinder"), None)
    spec = path_finder.find_spec("sitecustomize", rest) if path_finder is not None else None
    if spec is not None and spec.loader is not None and spec.origin != os.path.abspath(__file__):
        module = type(sys)("sitecustomize")  # a module object, without importing importlib.util for it
        module.__file__, module.__spec__, module.__loader__ = spec.origin, spec, spec.loader
        try:
            spec.loader.exec_module(module)
        except Exception as error:  # as site.py does: report, never stop the app
            print(f"Error in sitecustomize ({spec.origin}): {error!r}", file=sys.stderr)


def _peak_rss_bytes() -> int | None:
    """VmHWM: the app's own address space's peak (ru_maxrss would start at the peak of what exec'd it)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)
    except (ImportError, OSError):
        return None


_APPLICATION_CLASSES = {"QtCore": "QCoreApplication", "QtGui": "QGuiApplication", "QtWidgets": "QApplication"}
_filter: list[object] = []


def _install_filter(binding: str) -> None:
    """Put the first-frame filter on the running application (once), just before its event loop starts."""
    if _filter:
        return
    core = sys.modules[f"{binding}.QtCore"]
    app = core.QCoreApplication.instance()
    if app is None:
        return
    paint = {core.QEvent.Type.Paint, core.QEvent.Type.Expose}

    class FirstFrame(core.QObject):  # type: ignore[misc, name-defined]
        seen = False

        def eventFilter(self, watched: object, event: object) -> bool:  # noqa: N802 (Qt's name)
            if not FirstFrame.seen and event.type() in paint:  # type: ignore[attr-defined]
                FirstFrame.seen = True
                core.QTimer.singleShot(0, lambda: _ready(binding, watched))
            return False

    _filter.append(FirstFrame())
    app.installEventFilter(_filter[0])


def _watch(binding: str, module_name: str) -> None:
    """Wrap exec/exec_ of the module's application class (each of the three defines its own)."""
    application = getattr(sys.modules[f"{binding}.{module_name}"], _APPLICATION_CLASSES[module_name])
    for name in ("exec", "exec_"):
        if name not in application.__dict__:
            continue
        original = getattr(application, name)  # static in Qt: app.exec() and QApplication.exec() alike

        def patched(*args: object, _original: object = original) -> object:
            _install_filter(binding)
            return _original()  # type: ignore[operator]

        setattr(application, name, staticmethod(patched))


def _ready(binding: str, watched: object) -> None:
    __import__(f"{binding}.QtGui")
    gui = sys.modules[f"{binding}.QtGui"]
    app = gui.QGuiApplication.instance()
    window = watched.window() if hasattr(watched, "window") and callable(watched.window) else watched
    shot = os.environ.get("SHIPBENCH_SCREENSHOT")
    saved = None
    if shot:
        pixmap = None
        if hasattr(window, "grabWindow") and callable(window.grabWindow):  # a QQuickWindow renders its own scene
            pixmap = window.grabWindow()
        screen = getattr(window, "screen", lambda: None)()
        if (pixmap is None or pixmap.isNull()) and screen is not None and hasattr(window, "winId"):
            pixmap = screen.grabWindow(window.winId())
        if (pixmap is None or pixmap.isNull()) and hasattr(window, "grab"):
            pixmap = window.grab()
        saved = bool(pixmap is not None and not pixmap.isNull() and pixmap.save(shot, "PNG"))
    event = {"event": "ready", "probe": "first-frame", "binding": binding,
             "in_process_s": round(time.perf_counter() - _T0, 4), "qt_platform": app.platformName(),
             "text_renders": gui.QFontMetrics(app.font()).inFont("A"), "peak_rss_bytes": _peak_rss_bytes()}
    if shot:
        event["screenshot_saved"] = saved
    import json

    try:
        print(json.dumps(event), flush=True)
    except BrokenPipeError:  # nobody reads the output (the harness is gone): end the probe run all the same
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        app.quit()
        return
    if os.environ.get("SHIPBENCH_PROBE_QUIT", "1") != "0":
        app.quit()


class _QtImportWatcher:  # a meta path finder by protocol (find_spec), not by importlib.abc
    """Sees `import <binding>.QtCore/QtGui/QtWidgets` and, once each has run, hooks its application's exec."""

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        binding, _, module_name = fullname.partition(".")
        if binding not in _QT_BINDINGS or module_name not in _APPLICATION_CLASSES:
            return None
        spec = None
        for finder in sys.meta_path:  # the finders after this one, as the import system would ask them
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        if spec is None or spec.loader is None:
            return None
        spec.loader = _ThenWatch(spec.loader, binding, module_name)  # type: ignore[assignment]
        return spec


class _ThenWatch:  # a loader by protocol (create_module, exec_module)
    """The module's own loader (a loader may serve many modules: it is wrapped, not changed), then _watch."""

    def __init__(self, loader, binding: str, module_name: str) -> None:  # type: ignore[no-untyped-def]
        self.loader, self.binding, self.module_name = loader, binding, module_name

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        return self.loader.create_module(spec)

    def exec_module(self, module):  # type: ignore[no-untyped-def]
        self.loader.exec_module(module)
        sys.modules[module.__name__] = module
        _watch(self.binding, self.module_name)


def _write_evidence(path: str) -> None:
    """What the app loaded (modules, shared libraries), for a trimmed bundle that keeps exactly that."""
    libraries: list[str] = []
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            libraries = sorted({line.split()[-1] for line in maps if ".so" in line.split()[-1]})
    except OSError:
        pass
    loaded = sorted(sys.modules)  # before json, which only this probe imports here
    files = {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}
    import json

    with open(path, "w", encoding="utf-8") as file:
        # modules the interpreter carries in itself (built in, frozen): every bundle of it has them too
        inside = sorted(name for name, module in list(sys.modules.items())
                        if getattr(getattr(module, "__spec__", None), "origin", None) in ("built-in", "frozen"))
        # modules loaded from a file of their own: what a bundle must hold (not the names a package registers
        # for itself, as typing.io, nor what an extension carries inside it: torch._C._autograd, whose __file__ is
        # torch._C's .so, is held wherever torch._C is)
        by_file: dict[str, list[str]] = {}
        for name, file_path in files.items():
            if isinstance(file_path, str) and os.path.isabs(file_path) and os.path.isfile(file_path):
                by_file.setdefault(file_path, []).append(name)
        owners: dict[str, str] = {}
        for file_path, names in by_file.items():  # the names the file is named for (posixpath, not os.path)
            stem = os.path.basename(file_path).split(".")[0]
            stem = os.path.basename(os.path.dirname(file_path)) if stem == "__init__" else stem
            named = [name for name in names if name.rsplit(".", 1)[-1] == stem] or names
            owners.update((name, file_path) for name in named)
        filed = sorted(owners)
        carried = sorted(name for names in by_file.values() for name in names if name not in owners)
        json.dump({"modules": loaded, "libraries": libraries, "interpreter_modules": inside,
                   "file_modules": filed, "module_files": owners, "carried_modules": carried}, file)


if os.environ.get("SHIPBENCH_FIRST_FRAME") == "1":
    sys.meta_path.insert(0, _QtImportWatcher())
def _exit_on_sigterm(signum: int, frame: object) -> None:
    """An app stopped at ready (a service, a window: SIGTERM) ends through SystemExit, so the evidence is
    written at exit as for any other app; an app that sets its own handler later (uvicorn) ends its own way."""
    raise SystemExit(128 + signum)


if os.environ.get("SHIPBENCH_EVIDENCE"):
    import atexit
    import signal

    atexit.register(_write_evidence, os.environ["SHIPBENCH_EVIDENCE"])
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
if "__file__" in globals():  # not in a frozen bundle, where this runs as a runtime hook
    _chain_to_the_next_sitecustomize()
