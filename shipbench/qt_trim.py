"""What a trimmed build of a Qt app may leave out, from evidence: for freezers that take lists, not a spec.

PyInstaller's trimmed spec prunes its tables itself (pyinstaller/trim.py). Nuitka and cx_Freeze take lists of
files to leave out instead; this module derives them from the same evidence (what one run of the app loaded)
and the same keep-list (trim.KEEP_PLATFORMS: the bundle must still start offscreen and on X11), then follows
the shared libraries' DT_NEEDED links so that a Qt library only an excluded plugin needed goes too.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import re
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

from .runner import output


def trim_module(harness: Path) -> ModuleType:
    """pyinstaller/trim.py: the keep-lists live there once (PyInstaller's specs import it without shipbench)."""
    spec = importlib.util.spec_from_file_location("shipbench_trim", harness / "pyinstaller" / "trim.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def binding_folder(site_packages: Path, evidence: dict[str, Any], bindings: tuple[str, ...]) -> Path | None:
    """The Qt binding the app loaded (PySide6, PyQt6, ...) in the build venv, or None for an app without Qt."""
    tops = {name.split(".")[0] for name in evidence.get("modules", [])}
    for binding in bindings:
        if binding in tops and (site_packages / binding).is_dir():
            return site_packages / binding
    return None


def plugins_dir(binding: Path) -> Path | None:
    for candidate in (binding / "Qt" / "plugins", binding / "Qt6" / "plugins", binding / "plugins"):
        if candidate.is_dir():
            return candidate
    return None


def unused_plugins(binding: Path, evidence: dict[str, Any], keep: list[str]) -> list[str]:
    """Plugins ("platforms/libqvnc.so") the app did not load and the keep-list does not name."""
    plugins = plugins_dir(binding)
    if plugins is None:
        return []
    loaded = {os.path.basename(path) for path in evidence.get("libraries", [])}
    unused = []
    for path in sorted(plugins.rglob("*")):
        relative = path.relative_to(plugins).as_posix()
        if not path.is_file() or path.name in loaded:
            continue
        if not any(fnmatch.fnmatch(relative, p) for p in keep) or _needs_unloaded_qml(path, loaded):
            unused.append(relative)
    return unused


def _needs_unloaded_qml(plugin: Path, loaded: set[str]) -> bool:
    """A kept plugin that would drag in Qt Quick and QML (the virtual keyboard input context: 15 MB) for an app
    that loaded neither: Qt skips an input context it cannot load, so it goes."""
    heavy = [name for name in _needed(plugin) if name.startswith(("libQt6Quick.", "libQt6Qml."))]
    return bool(heavy) and not any(name in loaded for name in heavy)


def _needed(library: Path) -> list[str]:
    """DT_NEEDED names of an ELF file (readelf, from binutils, which comes with the C compiler)."""
    text = output(["readelf", "-d", str(library)]) or ""
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", text)


def _closure(roots: list[Path], libraries: dict[str, Path]) -> set[str]:
    """The binding's libraries reached from `roots` through DT_NEEDED links."""
    reached: set[str] = set()
    todo = list(roots)
    while todo:
        for name in _needed(todo.pop()):
            if name in libraries and name not in reached:
                reached.add(name)
                todo.append(libraries[name])
    return reached


def unneeded_qt_libraries(binding: Path, evidence: dict[str, Any], unused: list[str]) -> list[str]:
    """Qt's own libraries (libQt6Network.so.6, ...) that only a left-out plugin or a Qt module the app did not
    import needs: what a freezer would otherwise pull in. Empty where readelf is missing (then nothing that
    might be needed is dropped)."""
    if shutil.which("readelf") is None:
        return []
    libraries = {path.name: path for path in binding.rglob("lib*.so*") if "/plugins/" not in path.as_posix()}
    loaded = {os.path.basename(path) for path in evidence.get("libraries", [])}
    imported = set(evidence.get("modules", []))
    plugins = plugins_dir(binding)
    all_plugins = sorted(plugins.rglob("*.so")) if plugins is not None else []
    kept_plugins = [p for p in all_plugins if plugins and p.relative_to(plugins).as_posix() not in unused]
    modules = sorted(binding.glob("Qt*.so"))
    kept_modules = [m for m in modules if f"{binding.name}.{m.name.split('.')[0]}" in imported]
    kept_roots = [libraries[name] for name in loaded if name in libraries] + kept_plugins + kept_modules
    kept = _closure(kept_roots, libraries) | {path.name for path in kept_roots}
    candidates = _closure(all_plugins + kept_modules, libraries)
    return sorted(name for name in candidates - kept if name.startswith("libQt"))


def unused_qt_modules(binding: Path, evidence: dict[str, Any]) -> list[str]:
    """The binding's Qt modules ("PySide6.QtNetwork") the app did not import: module excludes for a freezer."""
    loaded = set(evidence.get("modules", []))
    names = sorted({path.name.split(".")[0] for path in binding.iterdir()
                    if path.name.startswith("Qt") and path.suffix in (".so", ".pyd", ".pyi")})
    return [f"{binding.name}.{name}" for name in names if f"{binding.name}.{name}" not in loaded]
