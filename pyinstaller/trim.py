"""Trimming a PyInstaller bundle deliberately: what the `trimmed` profile of both spec files leaves out.

`excludes` only stops Python modules from being collected; the Qt plugins, Qt libraries and system libraries
that PyInstaller's hooks and binary analysis add are pruned here, from the Analysis tables (TOCs), and then
every shared library that nothing kept still needs is dropped by following the DT_NEEDED links.

The keep-lists are checked by tests/test_pyinstaller_trim.py against what the app really loads in a venv, so a
trimmed build never breaks silently when the app starts using more of Qt.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable

# Python modules neither app imports. Leaving them out also drops their extension modules and libraries
# (sqlite3 → libsqlite3, readline → libreadline, tkinter → Tcl/Tk).
STDLIB_EXCLUDES = [
    "tkinter", "_tkinter", "pydoc", "sqlite3", "_sqlite3", "curses", "_curses", "readline", "xmlrpc", "lib2to3",
    "ensurepip", "idlelib", "distutils", "setuptools", "pip",
]
# ... and more that app_gui does not need but torch imports (torch.utils._config_module imports unittest)
GUI_STDLIB_EXCLUDES = STDLIB_EXCLUDES + [
    "unittest", "doctest", "pdb", "ssl", "_ssl",
    "_hashlib",  # hashlib falls back to its built-in hashes; saves libcrypto
]

# --- app_gui -------------------------------------------------------------------------------------------------
# The Qt modules app_gui imports (keep in step with app_gui/; the test fails if the app loads anything else).
QT_MODULES = ["QtCore", "QtGui", "QtWidgets"]
# Qt Python modules the PySide6 hooks would add although app_gui never imports them.
QT_EXCLUDES = [f"PySide6.{name}" for name in ("QtNetwork", "QtDBus", "QtOpenGL", "QtSvg", "QtQml", "QtQuick",
                                              "QtPdf", "QtPrintSupport", "QtSql", "QtTest", "QtXml", "QtConcurrent")]
# Qt shared libraries that must stay: the modules above, what their platform plugins link (DBus for xcb), ICU.
QT_LIBS = ["Qt6Core", "Qt6Gui", "Qt6Widgets", "Qt6DBus", "Qt6XcbQpa", "icu*", "Qt*Core*", "Qt*Gui*",
           "Qt*Widgets*"]
# Qt plugins by platform: how the window reaches the screen (offscreen for headless runs), and native styles.
QT_PLUGINS = {
    # input contexts: compose keys and ibus, which Qt loads under X11 for typing accented characters
    "linux": ["platforms/libqxcb.so", "platforms/libqoffscreen.so", "platforms/libqminimal.so",
              "platforminputcontexts/*"],
    "win32": ["platforms/qwindows.dll", "platforms/qoffscreen.dll", "platforms/qminimal.dll", "styles/*"],
    "darwin": ["platforms/libqcocoa.dylib", "platforms/libqoffscreen.dylib", "platforms/libqminimal.dylib",
               "styles/*"],
}

# --- app_dl --------------------------------------------------------------------------------------------------
# torch ships its own C++ test suite, test binaries and headers inside the wheel; a trainer needs none of them.
TORCH_DROP = ["torch/test/*", "torch/bin/*", "torch/include/*", "torch/share/*", "torch/lib/*test*",
              "torch/lib/libbackend_with_compiler*", "torch/lib/libaoti_custom_ops*", "torch/lib/*.a",
              "torch/_C/*.pyi", "*.pyi"]
# ... except the one helper that `import torch` checks for (shared-memory tensors across processes)
TORCH_KEEP = ["torch/bin/torch_shm_manager*"]
TORCH_EXCLUDES = ["tensorboard", "torch.utils.tensorboard", "caffe2"]  # torch._export imports torch.testing


def matches(dest: str, patterns: Iterable[str]) -> bool:
    dest = dest.replace(os.sep, "/")
    return any(fnmatch.fnmatch(dest, pattern) for pattern in patterns)


def prune_qt(toc: list, platform: str = sys.platform) -> list:
    """Drop Qt translations, unused plugins and the libraries of unused Qt modules from a TOC."""
    keep_plugins = QT_PLUGINS.get(platform, QT_PLUGINS["linux"])
    kept = []
    for entry in toc:
        dest = entry[0].replace(os.sep, "/")
        if matches(dest, ["PySide6/Qt/translations/*", "PySide6/translations/*", "PySide6/Qt/qml/*"]):
            continue
        if "/plugins/" in dest and dest.startswith("PySide6/"):
            plugin = dest.split("/plugins/", 1)[1]
            if not matches(plugin, keep_plugins):
                continue
        name = os.path.basename(dest)
        if dest.startswith("PySide6/Qt/lib/") or name.startswith(("libQt6", "Qt6")):
            stem = name.removeprefix("lib").split(".")[0]
            if not matches(stem, QT_LIBS):
                continue
        kept.append(entry)
    return kept


def prune(toc: list, patterns: Iterable[str], keep: Iterable[str] = ()) -> list:
    """Drop the TOC entries whose destination matches a pattern, unless it also matches `keep`."""
    patterns, keep = list(patterns), list(keep)
    return [entry for entry in toc if not matches(entry[0], patterns) or matches(entry[0], keep)]


def drop_orphan_libraries(binaries: list, keep: Iterable[str] = ()) -> list:
    """Drop shared libraries that no kept extension module, plugin or library needs any more.

    Roots are the Python extension modules, the Qt plugins and QML plugins, the Python library itself and `keep`
    (patterns of libraries loaded with dlopen, which no DT_NEEDED names: `loaded_libraries(evidence)` gives those
    one run mapped); everything else stays only if it is reached from them (PyInstaller's own dependency reader).
    """
    from PyInstaller.depend import bindepend

    by_name = {os.path.basename(dest): (dest, src, kind) for dest, src, kind in binaries}

    def is_root(dest: str, kind: str) -> bool:
        name = os.path.basename(dest)
        where = dest.replace(os.sep, "/")
        return kind == "EXTENSION" or "/plugins/" in where or "/qml/" in where or name.startswith(
            ("libpython", "python3")) or not name.startswith("lib")

    reached: set[str] = set()
    todo = [os.path.basename(dest) for dest, _src, kind in binaries if is_root(dest, kind) or matches(dest, keep)]
    while todo:
        name = todo.pop()
        if name in reached or name not in by_name:
            continue
        reached.add(name)
        try:
            todo.extend(os.path.basename(needed) for needed, _path in bindepend.get_imports(by_name[name][1]))
        except Exception:  # unreadable binary: keep it, and keep what it might need
            reached.update(by_name)
            break
    return [entry for entry in binaries if os.path.basename(entry[0]) in reached]


def build_icu_stub(name: str, folder: str) -> str | None:
    """Build the empty ICU data package for `name` (libicudata.so.NN) into `folder`; None without a C compiler
    (then the real library stays: smaller is optional, working is not)."""
    match = re.fullmatch(r"libicudata\.so\.(\d+)(?:\.[\d.]+)?", name)
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not match or not compiler:
        if match:
            print(f"trim: no C compiler, keeping the full {name}", file=sys.stderr)
        return None
    stub = os.path.join(folder, name)
    os.makedirs(folder, exist_ok=True)
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", f"-DICU_VERSION={match.group(1)}", f"-Wl,-soname,{name}",
                    "-o", stub, os.path.join(os.path.dirname(__file__), "icudata_stub.c")], check=True)
    return stub


def replace_icu_data(binaries: list, workdir: str) -> list:
    """Swap PySide6's libicudata.so.NN (31 MB) for the empty data package built from icudata_stub.c (Linux).

    Without a C compiler the real library stays and the build says so: smaller is optional, working is not.
    """
    if not sys.platform.startswith("linux"):
        return binaries
    result = []
    for dest, src, kind in binaries:
        if re.fullmatch(r"libicudata\.so\.\d+", os.path.basename(dest)):
            src = build_icu_stub(os.path.basename(dest), workdir) or src
        result.append((dest, src, kind))
    return result


# --- any app: trimming from evidence ---------------------------------------------------------------------------
# For a generated spec, what to leave out is not a list kept by hand but what one run of the app in a venv did
# not load (shipbench records it: the modules in sys.modules and the shared libraries mapped at exit).
# Standard-library modules that apps rarely need: left out unless the evidence shows the app loaded them.
GENERIC_STDLIB_EXCLUDES = STDLIB_EXCLUDES + ["unittest", "doctest", "pdb"]
QT_BINDINGS = ("PySide6", "PyQt6", "PySide2", "PyQt5")
# Qt's platform plugins stay whatever one run used: the same bundle must start offscreen and on X11.
KEEP_PLATFORMS = ["platforms/*qxcb*", "platforms/*qoffscreen*", "platforms/*qminimal*", "platforms/*qwindows*",
                  "platforms/*qcocoa*", "platforminputcontexts/*"]


def evidence_excludes(evidence: dict, keep: Iterable[str] = ()) -> list:
    """Modules to exclude: the rare standard-library ones and the Qt modules the app did not load, but for those
    `keep` names (the description's trim-keep: module names as well as bundle paths)."""
    keep = list(keep)
    return [name for name in _evidence_excludes(evidence) if not matches(name, keep)]


def _evidence_excludes(evidence: dict) -> list:
    loaded = set(evidence["modules"])
    tops = {name.split(".")[0] for name in loaded}
    excludes = [name for name in GENERIC_STDLIB_EXCLUDES if name not in tops]
    for binding in QT_BINDINGS:
        if binding not in tops:
            continue
        package = __import__(binding)
        folder = os.path.dirname(package.__file__)
        modules = sorted({name.split(".")[0] for name in os.listdir(folder) if name.startswith("Qt")
                          and name.endswith((".so", ".pyd", ".pyi")) and "." in name})
        excludes += [f"{binding}.{module}" for module in modules if f"{binding}.{module}" not in loaded]
    return excludes


def loaded_libraries(evidence: dict, keep: Iterable[str] = ()) -> list:
    """Patterns for `drop_orphan_libraries`' keep: every shared library the evidence run had mapped (those loaded
    with dlopen or ctypes, as torch's libtorch_global_deps.so, which no DT_NEEDED names), and the description's
    own `trim-keep` patterns."""
    return sorted({f"*{os.path.basename(path)}" for path in evidence.get("libraries", [])}) + list(keep)


def loaded_qml_modules(evidence: dict) -> set:
    """The QML module folders ("QtQuick/Controls/Basic") whose plugin the evidence run loaded: a QML app's
    imports, each of which the QML engine loads from its folder (plugin, qmldir, .qml files) at run time."""
    folders = set()
    for path in evidence.get("libraries", []):
        where = path.replace(os.sep, "/")
        if "/qml/" in where:
            folders.add(os.path.dirname(where.split("/qml/", 1)[1]))
    return folders


def keep_loaded_qt(toc: list, evidence: dict, keep: Iterable[str] = ()) -> list:
    """Drop Qt plugins the app did not load (platform plugins stay), Qt's translations, and the QML modules it
    did not import (a QML module whose plugin one run loaded stays whole: its plugin, qmldir and .qml files).
    Nothing that matches `keep` (the description's trim-keep) is dropped."""
    loaded = {os.path.basename(path) for path in evidence["libraries"]}
    qml = loaded_qml_modules(evidence)
    keep = list(keep)
    kept = []
    for entry in toc:
        dest = entry[0].replace(os.sep, "/")
        binding = dest.split("/")[0]
        if keep and matches(dest, keep):
            kept.append(entry)
            continue
        if binding in QT_BINDINGS and matches(dest, [f"{binding}/Qt*/translations/*", f"{binding}/translations/*"]):
            continue
        if binding in QT_BINDINGS and "/qml/" in dest and os.path.dirname(dest.split("/qml/", 1)[1]) not in qml:
            continue
        if binding in QT_BINDINGS and "/plugins/" in dest:
            plugin = dest.split("/plugins/", 1)[1]
            if os.path.basename(dest) not in loaded and not matches(plugin, KEEP_PLATFORMS):
                continue
        kept.append(entry)
    return kept


# Libraries `strip` must not touch: those auditwheel vendored into a wheel (numpy.libs/, scipy.libs/, torch.libs/,
# pillow.libs/: patched by patchelf, which binutils' strip breaks: "ELF load command address/offset not
# page-aligned" at load time, seen with numpy's libscipy_openblas64_ and rasterio's libgdal), and anything the
# description keeps. A freezer may move them out of their *.libs/ folder (Nuitka puts them beside its program),
# so they are known by auditwheel's name as well: the library's name, a dash and 8 hex digits of its hash.
NEVER_STRIP = ["*.libs/*"]
_AUDITWHEEL_NAME = re.compile(r"-[0-9a-f]{8}\.so")


def safe_to_strip(dest: str, keep: Iterable[str] = ()) -> bool:
    """Whether stripping the symbols of the library at `dest` (its path inside the bundle) leaves it loadable."""
    name = os.path.basename(dest.replace(os.sep, "/"))
    return not matches(dest, [*NEVER_STRIP, *keep]) and not _AUDITWHEEL_NAME.search(name)


def stripped(binaries: list, workdir: str, keep: Iterable[str] = ()) -> list:
    """The binaries with their symbol tables stripped, each safe one (`safe_to_strip`) from a stripped copy under
    `workdir` (kept while its source is unchanged, so a warm build strips nothing again): instead of PyInstaller's
    strip=True, which strips every library, vendored ones included. Without `strip` (binutils) nothing changes."""
    tool = shutil.which("strip")
    if tool is None or sys.platform == "win32":
        return binaries
    result = []
    for dest, src, kind in binaries:
        if not safe_to_strip(dest, keep) or not os.path.isfile(src) or os.path.islink(src):
            result.append((dest, src, kind))
            continue
        copy = os.path.join(workdir, dest)
        if not (os.path.isfile(copy) and os.path.getmtime(copy) >= os.path.getmtime(src)):
            os.makedirs(os.path.dirname(copy), exist_ok=True)
            shutil.copy2(src, copy)
            os.chmod(copy, 0o755)
            if subprocess.run([tool, copy], capture_output=True, check=False).returncode != 0:
                shutil.copy2(src, copy)  # not an ELF file strip understands: shipped as it is
            os.utime(copy)
        result.append((dest, copy, kind))
    return result
