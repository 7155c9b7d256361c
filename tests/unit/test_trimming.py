"""Trimming that never breaks what the evidence shows (issue 33), each defect the issue found as a test: a Qt
Quick app's QML modules dropped whatever it imported, torch's libtorch_global_deps.so (loaded with ctypes) dropped
as an orphan, numpy's vendored OpenBLAS stripped into a library that no longer loads; and a trimmed row that fails
where its default build starts says so, with what to keep."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, ROOT
from test_app_shapes import _ctx

from shipbench import description, pyinstaller_spec, qt_trim
from shipbench.errors import Failure
from shipbench.strategies import diagnosis
from shipbench.strategies.nuitka import own_module_options, report_modules


def _trim() -> Any:
    return qt_trim.trim_module(ROOT)


SITE = "/venv/lib/python3.11/site-packages"
QML_EVIDENCE = {"modules": ["PySide6", "PySide6.QtQml", "PySide6.QtGui"], "libraries": [
    f"{SITE}/PySide6/Qt/qml/QtQuick/libqtquick2plugin.so",
    f"{SITE}/PySide6/Qt/qml/QtQuick/Controls/libqtquickcontrols2plugin.so",
    f"{SITE}/PySide6/Qt/qml/QtQuick/Controls/Basic/libqtquickcontrols2basicstyleplugin.so",
    f"{SITE}/PySide6/Qt/plugins/platforms/libqoffscreen.so"]}


def test_a_qml_apps_imported_modules_stay_and_the_others_go() -> None:
    trim = _trim()
    toc = [(dest, "/src/" + dest, "DATA") for dest in (
        "PySide6/Qt/qml/QtQuick/qmldir", "PySide6/Qt/qml/QtQuick/Controls/qmldir",
        "PySide6/Qt/qml/QtQuick/Controls/Basic/Button.qml", "PySide6/Qt/qml/QtQuick/Controls/Material/Button.qml",
        "PySide6/Qt/qml/QtQuick3D/qmldir", "PySide6/Qt/translations/qt_de.qm")]
    kept = {dest for dest, _src, _kind in trim.keep_loaded_qt(toc, QML_EVIDENCE)}
    assert kept == {"PySide6/Qt/qml/QtQuick/qmldir", "PySide6/Qt/qml/QtQuick/Controls/qmldir",
                    "PySide6/Qt/qml/QtQuick/Controls/Basic/Button.qml"}
    kept = {dest for dest, _src, _kind in trim.keep_loaded_qt(toc, QML_EVIDENCE, keep=["*/qml/QtQuick3D/*"])}
    assert "PySide6/Qt/qml/QtQuick3D/qmldir" in kept and "PySide6/Qt/qml/QtQuick/Controls/Material/Button.qml" \
        not in kept


@pytest.fixture
def readelf_stand_in(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """PyInstaller's dependency reader, standing in: each library's DT_NEEDED names, as the test sets them."""
    needed: dict[str, list[str]] = {}
    bindepend = types.ModuleType("PyInstaller.depend.bindepend")
    bindepend.get_imports = lambda path: [(name, None) for name in needed.get(Path(path).name, [])]  # type: ignore
    for name in ("PyInstaller", "PyInstaller.depend"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.depend.bindepend", bindepend)
    sys.modules["PyInstaller.depend"].bindepend = bindepend  # type: ignore[attr-defined]
    return needed


def test_a_library_loaded_with_ctypes_is_kept_though_nothing_links_it(readelf_stand_in: dict[str, list[str]]) -> None:
    trim = _trim()
    readelf_stand_in.update({"_C.cpython-311-x86_64-linux-gnu.so": ["libtorch_python.so"],
                             "libtorch_python.so": ["libtorch.so"]})
    binaries = [(f"torch/{name}", f"/src/{name}", kind) for name, kind in (
        ("_C.cpython-311-x86_64-linux-gnu.so", "EXTENSION"), ("lib/libtorch_python.so", "BINARY"),
        ("lib/libtorch.so", "BINARY"), ("lib/libtorch_global_deps.so", "BINARY"), ("lib/libunused.so", "BINARY"))]
    evidence = {"libraries": [f"{SITE}/torch/lib/libtorch_global_deps.so", f"{SITE}/torch/lib/libtorch.so"]}
    before = {Path(dest).name for dest, _s, _k in trim.drop_orphan_libraries(binaries)}
    assert "libtorch_global_deps.so" not in before  # what broke every torch app's trimmed bundle
    after = {Path(dest).name for dest, _s, _k in trim.drop_orphan_libraries(
        binaries, keep=trim.loaded_libraries(evidence, ["*libunused*"]))}
    assert after == {"_C.cpython-311-x86_64-linux-gnu.so", "libtorch_python.so", "libtorch.so",
                     "libtorch_global_deps.so", "libunused.so"}


def test_a_wheels_vendored_libraries_are_never_stripped() -> None:
    trim = _trim()
    assert not trim.safe_to_strip("numpy.libs/libscipy_openblas64_-ff651d7f.so")
    assert not trim.safe_to_strip("lib/numpy.libs/libscipy_openblas64_-ff651d7f.so")  # cx_Freeze's lib/
    # Nuitka puts them beside its program: known by auditwheel's name (rasterio's GDAL failed to load)
    assert not trim.safe_to_strip("libgdal-c8c9c467.so.36.3.10.3")
    assert not trim.safe_to_strip("libscipy_openblas64_-ff651d7f.so")
    assert trim.safe_to_strip("PySide6/Qt/lib/libQt6Core.so.6")
    assert not trim.safe_to_strip("PySide6/Qt/lib/libQt6Core.so.6", keep=["*libQt6Core*"])


def test_the_generated_spec_keeps_what_the_evidence_loaded_and_strips_safely(tmp_path: Path) -> None:
    description._checked_table.cache_clear()
    app = description.load(FIXTURES / "qmlcontacts")["contacts"]
    spec, _evidence = pyinstaller_spec.write(app, tmp_path, ROOT, ROOT / "shipbench" / "inject" / "sitecustomize.py")
    text = spec.read_text()
    assert "drop_orphan_libraries(a.binaries, keep=trim.loaded_libraries(evidence, KEEP))" in text
    assert "trim.stripped(a.binaries" in text and "strip=strip" not in text and text.count("strip=False") == 3
    # the QML module folder lands as a folder (PyInstaller copies a folder's contents into its destination)
    assert "qmlcontacts/Contact', 'Contact')" in text and "main.qml', '.')" in text
    compile(text, str(spec), "exec")


@pytest.mark.parametrize(("line", "advice"), [
    ("OSError: libtorch_global_deps.so: cannot open shared object file: No such file or directory",
     'trim-keep = ["*/libtorch_global_deps.so*"]'),
    ('file:///app/_internal/main.qml:3:1: module "QtQuick.Controls" is not installed',
     'trim-keep = ["*/qml/QtQuick/Controls/*"]'),
    ("ModuleNotFoundError: No module named 'unittest'", 'trim-keep = ["unittest"]'),
])
def test_a_trimmed_failure_where_the_default_starts_says_trimming_broke_it(tmp_path: Path, line: str,
                                                                          advice: str) -> None:
    ctx = _ctx(description.load(FIXTURES / "torchfit")["torchfit"], tmp_path, "pyinstaller", "onedir-trimmed")
    failure = Failure("exit code 1: contacts-app", ["starting", line])
    verdict = diagnosis.trimming_verdict(ctx, failure, lambda: None)
    assert verdict.reason.startswith("trimming breaks this app: ") and advice in verdict.reason
    assert "(the default build starts; add" in verdict.reason and verdict.log_tail == failure.log_tail
    assert diagnosis.trimming_verdict(ctx, failure, lambda: Failure("default broke too")) is failure


def test_nuitka_reads_what_it_compiled_and_is_told_the_apps_own_loaded_modules(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_text('<?xml version="1.0"?><nuitka-compilation-report>'
                      '<module name="__main__" kind="PythonMainModule"/><module name="lazyplugin" kind="x"/>'
                      '<module name="json.decoder" kind="UncompiledPythonModule"/></nuitka-compilation-report>')
    assert report_modules(report) == {"__main__", "lazyplugin", "json.decoder"}
    with pytest.raises(ValueError, match="could not be read"):
        report_modules(tmp_path / "missing.xml")
    ctx = _ctx(description.load(FIXTURES / "lazyplugin")["lazyplugin"], tmp_path, "nuitka", "standalone-default")
    own = FIXTURES / "lazyplugin" / "src" / "lazyplugin"
    evidence = {"file_modules": ["__main__", "json", "lazyplugin", "lazyplugin.plugins.shout", "sitecustomize"],
                "module_files": {"lazyplugin": str(own / "__init__.py"), "json": "/usr/lib/python3.11/json/__init__.py",
                                 "lazyplugin.plugins.shout": str(own / "plugins" / "shout.py")}}
    assert own_module_options(ctx, evidence) == ["--include-module=lazyplugin",
                                                 "--include-module=lazyplugin.plugins.shout"]
    # a script's own names (uvicorn's multiprocessing names it __mp_main__ as well) are the program, not modules
    serve = FIXTURES / "asgiservice" / "serve.py"
    ctx = _ctx(description.load(FIXTURES / "asgiservice")["asgiservice"], tmp_path, "nuitka", "standalone-default")
    evidence = {"file_modules": ["__main__", "__mp_main__", "serve"],
                "module_files": {"__main__": str(serve), "__mp_main__": str(serve), "serve": str(serve)}}
    assert own_module_options(ctx, evidence) == []


def test_a_bundle_that_fails_for_a_module_it_lacks_names_it_and_the_remedy(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Not trimming's doing (the default build fails too, or it is a default row): the missing-modules check runs at
    once and the reason says which hidden import to add (pyqtgraph's example browser loads a template by name)."""
    ctx = _ctx(description.load(FIXTURES / "lazyplugin")["lazyplugin"], tmp_path, "pyinstaller", "onedir-default")
    failed = Failure("exit code 1: app", ["ModuleNotFoundError: No module named 'exampleLoaderTemplate_generic'"])

    def fails(*args: object) -> None:
        raise failed

    def check() -> None:
        ctx.metrics["missing_modules"] = {"status": "ok", "count": 2, "own": [],
                                          "missing": ["exampleLoaderTemplate_generic", "utils"]}

    monkeypatch.setattr(diagnosis.measure, "standard", fails)
    with pytest.raises(Failure) as raised:
        diagnosis.measure_bundle(ctx, None, False, lambda: None, check)  # type: ignore[arg-type]
    assert 'add hidden-imports = ["exampleLoaderTemplate_generic"]' in raised.value.reason
    assert "it also lacks utils" in raised.value.reason and raised.value.log_tail == failed.log_tail
    # trimmed, and the default build starts: trimming's doing, said so
    with pytest.raises(Failure, match="^trimming breaks this app: ModuleNotFoundError"):
        diagnosis.measure_bundle(ctx, None, True, lambda: None, check)  # type: ignore[arg-type]


@pytest.mark.parametrize(("line", "package"), [
    ("FileNotFoundError: [Errno 2] No such file or directory: '/b/dist/datasette-app/_internal/datasette/vendored/"
     "pint/default_en.txt'", "datasette"),
    ('_tkinter.TclError: couldn\'t open "/b/dist/thonny-app/_internal/thonny/res/thonny.png": no such file or '
     "directory", "thonny"),
    ("FileNotFoundError: [Errno 2] No such file or directory: '/b/dist/lib/wordcount/stopwords.txt'", "wordcount"),
])
def test_a_bundle_that_lacks_a_packages_file_says_which_package_to_collect(tmp_path: Path, line: str,
                                                                             package: str) -> None:
    ctx = _ctx(description.load(FIXTURES / "lazyplugin")["lazyplugin"], tmp_path, "pyinstaller", "onedir-default")
    advised = diagnosis.with_module_advice(ctx, Failure(line.split(": ", 1)[0], ["Traceback", line]))
    assert f'add collect = ["{package}"] to [tool.shipbench.apps.lazyplugin]' in advised.reason


@pytest.mark.parametrize("fixture", ["qmlcontacts", "wsgiservice", "torchfit", "tkpaint"])
def test_a_generated_spec_never_rebinds_what_pyinstaller_gives_it(tmp_path: Path, fixture: str) -> None:
    """A spec that assigned COLLECT (the packages to take whole) hid PyInstaller's COLLECT, and every onedir
    build failed with "'list' object is not callable"."""
    import ast

    description._checked_table.cache_clear()
    app = next(iter(description.load(FIXTURES / fixture).values()))
    spec, _ = pyinstaller_spec.write(app, tmp_path, ROOT, ROOT / "shipbench" / "inject" / "sitecustomize.py",
                                     "waitress.runner:run" if fixture == "wsgiservice" else None)
    tree = ast.parse(spec.read_text(encoding="utf-8"))
    bound = {target.id for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.For, ast.comprehension))
             for target in ast.walk(node.target if not isinstance(node, ast.Assign) else node.targets[0])
             if isinstance(target, ast.Name)}
    bound |= {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              for alias in node.names}
    given = {"Analysis", "PYZ", "EXE", "COLLECT", "SPECPATH", "workpath", "distpath", "specnm"}
    assert not bound & given, bound & given
