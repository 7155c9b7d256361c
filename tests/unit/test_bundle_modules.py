"""Missing modules: file paths as module names, what a bundle folder and a PyInstaller archive hold, what counts
as missing, and the report (the column, and a bundle that lacks a module never recommended)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from shipbench import bundle_modules, record
from shipbench.reporting import write_report


@pytest.mark.parametrize(("path", "name"), [
    ("PySide6/QtCore.abi3.so", "PySide6.QtCore"),
    ("python3.11/lib-dynload/_hashlib.cpython-311-x86_64-linux-gnu.so", "_hashlib"),
    ("lib/wordcount/__init__.pyc", "wordcount"),
    ("lib/wordcount/__pycache__/cli.cpython-311.pyc", "wordcount.cli"),
    ("encodings/utf_8.pyc", "encodings.utf_8"),
    ("numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", "numpy.core._multiarray_umath"),
    ("_speedups.pyd", "_speedups"),
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
                                 "__editable___wordcount_0_1_finder", "runpy"],
                "interpreter_modules": ["sys", "json"]}
    held = {"wordcount"}
    assert bundle_modules.missing(evidence, held) == ["wordcount.plugins.fancy"]
    assert bundle_modules.summary(evidence, held) == {"status": "ok", "loaded": 7, "held": 1, "count": 1,
                                                      "missing": ["wordcount.plugins.fancy"], "scope": "all"}
    # a freezer that compiles the standard library into its program: only the rest is compared
    evidence["file_modules"].append("warnings")
    assert bundle_modules.missing(evidence, held) == ["warnings", "wordcount.plugins.fancy"]
    assert bundle_modules.missing(evidence, held, standard_library=False) == ["wordcount.plugins.fancy"]


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
