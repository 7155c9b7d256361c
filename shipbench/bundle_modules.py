"""Which Python modules a frozen bundle holds, and which of those the app loaded from source it lacks.

A freezer finds modules by reading imports; one imported by a computed name (`importlib.import_module(name)`,
plugins, an optional speed-up behind `try: import … except ImportError`) is left out, and nothing says so until
that code path runs on a user's machine (pyinstaller#6107, #7088, #8388; Nuitka#3443). The evidence run (the app
once in its build venv, the injected probe listing sys.modules at exit) says what the app really loads; the
bundle's own listing says what it holds; the difference is reported by name.

- What a bundle holds: Python files, compiled files and extension modules below its folder (a path is a dotted
  name: `PySide6/QtCore.abi3.so` is `PySide6.QtCore`; `lib-dynload/` and `lib/`, where freezers put the
  standard library, are roots too), inside the zip archives there (base_library.zip, cx_Freeze's library.zip and
  the zip it appends to its program),
  and, for PyInstaller, the program's own archive as PyInstaller's reader lists it (its PYZ holds the modules).
- Not counted as missing: what the interpreter carries in itself (built-in and frozen modules, as the evidence
  says), and what only a venv's start loads (the site machinery, `python -m`, the probe itself).
"""

from __future__ import annotations

import re
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import pyinstaller_archive
from .fsutil import not_the_apps

# loaded by a venv's start, never by a frozen program: site and its .pth hooks, `python -m`, the probe
HARNESS_MODULES = frozenset({"__main__", "__future__", "site", "sitecustomize", "_sitebuiltins", "runpy", "pkgutil",
                             "_distutils_hack", "_virtualenv", "rlcompleter", "_shipbench_first_frame"})
HARNESS_PREFIXES = ("__editable__", "_shipbench")
SHOWN = 50
_EXTENSION = re.compile(r"\.(?:cpython-\d+[\w-]*|abi3|cp\d+[\w-]*)?\.?(?:so|pyd)$")
_STDLIB_ROOTS = ("lib-dynload", "lib")
# a dotted name's last part: an identifier, or a module file only importlib can load by name
# (`_sysconfigdata__linux_x86_64-linux-gnu`, which sysconfig imports by a computed name); packages are identifiers
_LAST_PART = re.compile(r"[A-Za-z_][\w-]*")


def _importable(parts: list[str]) -> bool:
    return all(part.isidentifier() for part in parts[:-1]) and _LAST_PART.fullmatch(parts[-1]) is not None


def module_name(relative: str) -> str | None:
    """The dotted module a file below a bundle's root is, or None for a file that is not a module."""
    parts = relative.replace("\\", "/").split("/")
    while len(parts) > 1 and (parts[0] in _STDLIB_ROOTS or re.fullmatch(r"python3(\.\d+)?", parts[0])):
        parts = parts[1:]
    last = parts[-1]
    if last.endswith((".py", ".pyc")):
        stem = last.rsplit(".", 1)[0]
        stem = stem.split(".cpython-")[0]  # __pycache__ names: mod.cpython-311.pyc
        if parts[:-1] and parts[-2] == "__pycache__":
            parts = parts[:-2] + [parts[-1]]
    elif _EXTENSION.search(last):
        # cx_Freeze keeps a zipped package's extension modules beside its zip under their dotted names
        # (lib/numpy._core._multiarray_umath.cpython-311-x86_64-linux-gnu.so)
        stem = _EXTENSION.sub("", last).split(".cpython-")[0]
    else:
        return None
    names = [*parts[:-1], *stem.split(".")]
    if names[-1] == "__init__":
        names = names[:-1]
    if not names or not _importable(names):
        return None
    return ".".join(names)


def _names(paths: Iterable[str]) -> set[str]:
    return {name for path in paths if (name := module_name(path))}


def folder_modules(root: Path) -> set[str]:
    """Every module below root, and inside the zip archives there."""
    found: set[str] = set()
    if not root.is_dir():
        return found
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(root).as_posix()
        # a zip, or a program with one appended (cx_Freeze keeps the standard library there)
        if (path.suffix == ".zip" or not path.suffix) and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                found |= _names(archive.namelist())
        else:
            found |= _names([relative])
            # a package folder below the contents: its own modules count from every folder that could be a root
            found |= _names(["/".join(relative.split("/")[index:]) for index in range(1, relative.count("/") + 1)
                             if relative.split("/")[index - 1] in _STDLIB_ROOTS])
    return found


def archive_modules(listed: dict[str, Any]) -> set[str]:
    """Modules in what pyinstaller_archive.listing read: dotted names as they are, stored files by their path."""
    found: set[str] = set()
    for name in listed.get("names", []):
        if not isinstance(name, str):
            continue
        if "/" in name or _EXTENSION.search(name):  # a onefile's extension module, stored as a file
            found |= _names([name])
        elif not name.endswith((".zip", ".pyz", ".pkg")) and _importable(name.split(".")):
            found.add(name)
    return found | _names(name for name in listed.get("files", []) if isinstance(name, str))


def pyinstaller_modules(python: Path, program: Path, folder: Path | None) -> set[str]:
    """What a PyInstaller bundle holds: its program's archive and, for onedir (`folder`), the contents folder
    beside the program that the archive names (`_internal` since PyInstaller 6). Raises ValueError when the
    archive cannot be read (a program PyInstaller's reader does not know)."""
    found = pyinstaller_archive.listing(python, program)
    held = archive_modules(found)
    if folder is not None:
        contents = (folder / str(found.get("contents") or ".")).resolve()
        if contents.is_relative_to(folder.resolve()):  # the archive's word, kept inside the bundle
            held |= folder_modules(contents)
    return held


def _program_alias(name: str) -> bool:
    """A name the running program goes by, not a module to hold: __main__, and multiprocessing's __mp_main__."""
    return name.startswith("__") and name.endswith("__") and "." not in name


def missing(evidence: dict[str, Any], held: set[str], standard_library: bool = True) -> list[str]:
    """The modules the evidence run loaded from files of their own that the bundle holds neither as a file nor
    in its interpreter; `standard_library` False: only the app's and its dependencies' (for a freezer that
    compiles the standard library into its program, where no listing reaches)."""
    loaded = [name for name in evidence.get("file_modules", evidence.get("modules", [])) if isinstance(name, str)]
    inside = set(evidence.get("interpreter_modules", []))
    return sorted(name for name in loaded
                  if name not in held and name not in inside and name.split(".")[0] not in HARNESS_MODULES
                  and not name.startswith(HARNESS_PREFIXES) and not _program_alias(name)
                  and (standard_library or name.split(".")[0] not in sys.stdlib_module_names))


_INSTALLED = frozenset({"site-packages", "dist-packages"})


def own_top_level(app_folder: Path) -> set[str]:
    """The top-level modules and packages the app's folder holds (or its src/): the names its own code goes by,
    wherever the build venv installed them (a project is copied into site-packages)."""
    names: set[str] = set()
    for folder in (app_folder, app_folder / "src"):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if not_the_apps(folder, path.name):
                continue
            if path.suffix == ".py" and path.stem.isidentifier():
                names.add(path.stem)
            elif path.is_dir() and path.name.isidentifier() and any(path.glob("*.py")):
                names.add(path.name)
    return names


def own_modules(evidence: dict[str, Any], names: list[str], app_folder: Path) -> list[str]:
    """Those of `names` that are the app's own code: of a top-level module or package its folder holds (installed
    or not), or loaded in the evidence run from a file below its folder that no installed package holds (the build
    venv itself may lie below the app's folder, in its build/: PySide6's modules there are not the app's own)."""
    files = evidence.get("module_files", {})
    folder = app_folder.resolve()
    tops = own_top_level(folder)
    own = []
    for name in names:
        path = files.get(name) if isinstance(files, dict) else None
        where = Path(path).resolve() if isinstance(path, str) else None
        below = where is not None and where.is_relative_to(folder) and not (
            _INSTALLED & set(where.relative_to(folder).parts))
        if name.split(".")[0] in tops or below:
            own.append(name)
    return own


def summary(evidence: dict[str, Any], held: set[str], standard_library: bool = True,
            app_folder: Path | None = None) -> dict[str, Any]:
    """metrics.missing_modules: how many the app loaded, how many of those the bundle lacks, their names, which of
    them are the app's own code (`own`: its own code paths lack them, which decides whether the bundle can be
    recommended; a dependency's optional module, as PySide6.support.deprecated, is named but does not), and
    whether the standard library was part of the check."""
    lacking = missing(evidence, held, standard_library)
    loaded = evidence.get("file_modules", evidence.get("modules", []))
    own = own_modules(evidence, lacking, app_folder) if app_folder is not None else lacking
    return {"status": "ok", "loaded": len(loaded), "held": len(held), "count": len(lacking), "missing": lacking[:SHOWN],
            "own": own[:SHOWN], "scope": "all" if standard_library else "outside the standard library"}
