"""Missing modules: file paths as module names, what a bundle folder and a PyInstaller archive hold, what counts
as missing, and the report (the column, and a bundle that lacks a module never recommended)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from shipbench import bundle_modules, record
from shipbench.reporting import advice, write_report


@pytest.mark.parametrize(("path", "name"), [
    ("PySide6/QtCore.abi3.so", "PySide6.QtCore"),
    ("python3.11/lib-dynload/_hashlib.cpython-311-x86_64-linux-gnu.so", "_hashlib"),
    ("lib/wordcount/__init__.pyc", "wordcount"),
    ("lib/wordcount/__pycache__/cli.cpython-311.pyc", "wordcount.cli"),
    ("encodings/utf_8.pyc", "encodings.utf_8"),
    ("numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", "numpy.core._multiarray_umath"),
    ("_speedups.pyd", "_speedups"),
    ("lib/numpy._core._multiarray_umath.cpython-311-x86_64-linux-gnu.so", "numpy._core._multiarray_umath"),
    ("wordcount/stopwords.txt", None),  # data, not a module
    ("libQt6Core.so.6", None),  # a shared library, not an extension module
    ("my-data/x.py", None),  # not an importable name
])
def test_a_files_path_is_its_module_name(path: str, name: str | None) -> None:
    assert bundle_modules.module_name(path) == name


def test_a_bundle_folder_holds_its_files_and_the_zips_inside_it(tmp_path: Path) -> None:
    (tmp_path / "lib" / "wordcount").mkdir(parents=True)
    (tmp_path / "lib" / "wordcount" / "__init__.pyc").write_bytes(b"")
    (tmp_path / "lib" / "wordcount" / "stopwords.txt").write_text("the\n")
    with zipfile.ZipFile(tmp_path / "lib" / "library.zip", "w") as archive:
        archive.writestr("json/__init__.pyc", b"")
        archive.writestr("json/decoder.pyc", b"")
    assert bundle_modules.folder_modules(tmp_path) == {"wordcount", "json", "json.decoder"}


def test_a_pyinstaller_archive_listing_gives_its_modules() -> None:
    listed = {"names": ["pyimod01_archive", "launch_gui", "PySide6", "app_gui.__main__",
                        "PySide6/QtCore.abi3.so", "libQt6Core.so.6", "base_library.zip"],
              "files": ["encodings/__init__.pyc", "collections/abc.pyc"], "contents": "_internal"}
    assert bundle_modules.archive_modules(listed) == {
        "pyimod01_archive", "launch_gui", "PySide6", "app_gui.__main__", "PySide6.QtCore", "encodings",
        "collections.abc"}


def test_missing_is_what_the_source_run_loaded_from_files_and_the_bundle_lacks() -> None:
    evidence = {"modules": ["sys", "typing.io", "site", "wordcount", "wordcount.plugins.fancy", "json",
                            "__editable___wordcount_0_1_finder", "_distutils_hack"],
                "file_modules": ["site", "wordcount", "wordcount.plugins.fancy", "json", "_distutils_hack",
                                 "__editable___wordcount_0_1_finder", "runpy", "__mp_main__"],
                "interpreter_modules": ["sys", "json"]}
    held = {"wordcount"}
    assert bundle_modules.missing(evidence, held) == ["wordcount.plugins.fancy"]
    assert bundle_modules.summary(evidence, held) == {"status": "ok", "loaded": 8, "held": 1, "count": 1,
                                                      "missing": ["wordcount.plugins.fancy"],
                                                      "own": ["wordcount.plugins.fancy"], "scope": "all"}
    # a freezer that compiles the standard library into its program: only the rest is compared
    evidence["file_modules"].append("warnings")
    assert bundle_modules.missing(evidence, held) == ["warnings", "wordcount.plugins.fancy"]
    assert bundle_modules.missing(evidence, held, standard_library=False) == ["wordcount.plugins.fancy"]


def test_a_module_in_an_extensions_file_or_with_a_computed_name_is_not_missing(tmp_path: Path) -> None:
    """Issue 33: torch._C._autograd lives inside torch._C's .so, and _sysconfigdata__linux_x86_64-linux-gnu is in
    the PYZ under its own (not identifier-like) name: neither may be called missing."""
    so = tmp_path / "torch" / "_C.cpython-311-x86_64-linux-gnu.so"
    so.parent.mkdir()
    so.write_bytes(b"")
    probe = Path(bundle_modules.__file__).parent / "inject" / "sitecustomize.py"
    code = ("import sys, types\n"
            f"for name in ('torch', 'torch._C', 'torch._C._autograd'): sys.modules[name] = types.ModuleType(name)\n"
            f"sys.modules['torch._C'].__file__ = sys.modules['torch._C._autograd'].__file__ = {str(so)!r}\n")
    evidence_file = tmp_path / "loaded.json"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, env={
        "PYTHONPATH": str(probe.parent), "SHIPBENCH_EVIDENCE": str(evidence_file)})
    evidence = json.loads(evidence_file.read_text())
    assert "torch._C" in evidence["file_modules"] and "torch._C._autograd" not in evidence["file_modules"]
    assert "torch._C._autograd" in evidence["carried_modules"]
    listed = {"names": ["_sysconfigdata__linux_x86_64-linux-gnu", "torch",
                        "torch/_C.cpython-311-x86_64-linux-gnu.so"]}
    held = bundle_modules.archive_modules(listed)
    assert held == {"_sysconfigdata__linux_x86_64-linux-gnu", "torch", "torch._C"}
    ours = [name for name in evidence["file_modules"] if name.startswith("torch")]
    loaded = {"file_modules": [*ours, "_sysconfigdata__linux_x86_64-linux-gnu"]}
    assert ours == ["torch._C"] and bundle_modules.missing(loaded, held) == []


def test_only_the_apps_own_missing_modules_keep_a_bundle_from_being_recommended(tmp_path: Path,
                                                                                  make_record: Any) -> None:
    """Issue 33: PySide6.support.deprecated (left out by PyInstaller's PySide6 hook when only
    PySide6-Essentials is installed) is a dependency's optional module: named, not held against the bundle."""
    app = tmp_path / "app"
    (app / "myapp" / "plugins").mkdir(parents=True)
    evidence = {"file_modules": ["myapp", "myapp.plugins.png", "PySide6.support.deprecated"],
                "module_files": {"myapp": str(app / "myapp" / "__init__.py"),
                                 "myapp.plugins.png": str(app / "myapp" / "plugins" / "png.py"),
                                 "PySide6.support.deprecated": "/venv/lib/PySide6/support/deprecated.py"}}
    found = bundle_modules.summary(evidence, {"myapp"}, app_folder=app)
    assert found["missing"] == ["PySide6.support.deprecated", "myapp.plugins.png"]
    assert found["own"] == ["myapp.plugins.png"]
    # the build venv lies below the app's folder (its build/): what is installed there is not the app's own
    venv = app / "build" / "pyinstaller" / "env" / "app-py3.11" / "lib" / "python3.11" / "site-packages"
    evidence["module_files"]["PySide6.support.deprecated"] = str(venv / "PySide6" / "support" / "deprecated.py")
    assert bundle_modules.summary(evidence, {"myapp"}, app_folder=app)["own"] == ["myapp.plugins.png"]
    # a project installed (copied) into a build venv elsewhere is still the app's own, by its top-level name
    (app / "myapp" / "__init__.py").write_text("")
    evidence["module_files"]["myapp.plugins.png"] = "/elsewhere/site-packages/myapp/plugins/png.py"
    assert bundle_modules.summary(evidence, {"myapp"}, app_folder=app)["own"] == ["myapp.plugins.png"]
    rec = make_record(strategy="pyinstaller", variant="onedir-default")
    rec["metrics"]["missing_modules"] = {**found, "own": []}
    assert advice.lacks_modules(rec) == []
    rec["metrics"]["missing_modules"] = found
    assert advice.lacks_modules(rec) == ["myapp.plugins.png"]
    old = {key: value for key, value in found.items() if key != "own"}  # a record from before the split
    rec["metrics"]["missing_modules"] = old
    assert advice.lacks_modules(rec) == old["missing"]


def test_a_bundle_that_lacks_a_module_is_named_and_never_recommended(tmp_path: Path, make_record: Any) -> None:
    results = tmp_path / "results"
    small = make_record(strategy="pyinstaller", variant="onedir")
    small["metrics"].update(download_bytes=10_000_000, binaries={
        "status": "ok", "elf_files": 0, "glibc_floor": None, "glibc_floor_file": None, "executables": 0,
        "without_pie": 0, "relro": {"full": 0, "partial": 0, "none": 0}, "without_nx": 0,
        "without_stack_protector": 0, "weakest": []},
        missing_modules={"status": "ok", "loaded": 40, "held": 300, "count": 1, "missing": ["lazyplug.fancy"]})
    large = make_record(strategy="venv", variant="uv")
    large["metrics"]["download_bytes"] = 90_000_000
    record.write(small, results)
    record.write(large, results)
    assert write_report([results], tmp_path / "report") == 0
    page = (tmp_path / "report" / "report.md").read_text()
    assert "| Smallest download | gui: venv/uv, 90.0 MB to download |" in page  # not the smaller bundle
    assert "| Never recommended: bundles missing modules the app loads | gui pyinstaller/onedir py3.12 (lacks " \
           "lazyplug.fancy) |" in page
    assert "| pyinstaller/onedir gui py3.12 linux | 1: lazyplug.fancy | – | 0 |" in page
