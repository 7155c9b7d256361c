"""The logic around the new strategies (zipapp, locked, Nuitka, cx_Freeze) that needs no host tool: entry
points written for each start kind, lock inputs, the reproducibility comparison, the Qt trim lists."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from shipbench import description, qt_trim, torch_source
from shipbench.errors import UsageError
from shipbench.strategies import STRATEGIES
from shipbench.strategies.cxfreeze import _data_target, entry_script
from shipbench.strategies.locked import compare, environment_digest, packages, requirement_lines, torch_table
from shipbench.strategies.nuitka import NuitkaStrategy, main_file
from shipbench.strategies.zipapp import _entry_module


def _app(fixture: str) -> description.App:
    return next(iter(description.load(FIXTURES / fixture).values()))


def _samples() -> dict[str, description.App]:
    return description.load(ROOT)


# --- zipapp ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("start", [("module", "quietwindow"), ("script", "train.py")])
def test_shivs_entry_module_starts_the_app_as_described(tmp_path: Path, start: tuple[str, str]) -> None:
    """shiv takes only module:function; the generated module runs a module or a shipped script as __main__."""
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "train.py").write_text("import sys\nprint('ran', __name__, sys.argv[1:])\n")
    (app_dir / "quietwindow.py").write_text("import sys\nprint('ran', __name__, sys.argv[1:])\n")
    app = dataclasses.replace(_app("quietwindow"), folder=app_dir, start=start)
    staged = tmp_path / "staged"
    staged.mkdir()
    entry = _entry_module(app, staged)
    module, function = entry.split(":")
    code = f"import sys; sys.argv = ['x', '--flag']; import {module}; {module}.{function}()"
    result = subprocess.run([sys.executable, "-c", code], cwd=staged, env={"PYTHONPATH": f"{staged}:{app_dir}"},
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "ran __main__ ['--flag']"


# --- locked ------------------------------------------------------------------------------------------------------
def test_requirement_lines_are_plain_requirements(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("# a comment\nnumpy>=1.26  # inline\n\nrich\n")
    assert requirement_lines(path) == ["numpy>=1.26", "rich"]
    path.write_text("--index-url https://example.org/simple\nnumpy\n")
    with pytest.raises(UsageError, match="installer options"):
        requirement_lines(path)


def test_torch_goes_to_the_chosen_source(tmp_path: Path) -> None:
    wheel = tmp_path / "torch-2.9.0+cpu-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"")
    from_file = torch_table(torch_source.TorchChoice(str(wheel), None, "a local wheel"))
    assert f'torch = {{ path = "{wheel.as_posix()}" }}' in from_file
    from_index = torch_table(torch_source.TorchChoice("torch", "https://download.pytorch.org/whl/cpu", "cpu"))
    assert 'url = "https://download.pytorch.org/whl/cpu"' in from_index and "explicit = true" in from_index
    assert 'torch = { index = "pytorch" }' in from_index
    assert torch_table(torch_source.TorchChoice("torch", None, "PyPI")) == ""


def _venv(folder: Path, content: bytes = b"x = 1\n", version: str = "1.0") -> Path:
    site = folder / "lib" / "python3.11" / "site-packages"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_bytes(content)
    (site / "pkg" / "__pycache__").mkdir()
    (site / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(folder.name.encode())
    info = site / f"pkg-{version}.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(f"{folder}/whatever\n")
    (folder / "bin").mkdir()
    (folder / "bin" / "tool").write_text(f"#!{folder}/bin/python\n")
    (folder / "pyvenv.cfg").write_text(f"home = {folder}\n")
    return folder


def test_two_installs_that_differ_only_in_their_folder_are_the_same(tmp_path: Path) -> None:
    a, b = _venv(tmp_path / "a"), _venv(tmp_path / "b")
    assert packages(a) == {"pkg": "1.0"}
    assert list(environment_digest(a)) == ["lib/python3.11/site-packages/pkg/__init__.py"]
    result = compare(a, b)
    assert result["status"] == "same" and result["packages"] == 1 and result["files"] == 1


def test_what_differs_between_two_installs_is_named(tmp_path: Path) -> None:
    result = compare(_venv(tmp_path / "a"), _venv(tmp_path / "b", content=b"x = 2\n", version="1.1"))
    assert result["status"] == "differs"
    assert result["differing_files"] == ["lib/python3.11/site-packages/pkg/__init__.py"]
    assert result["differing_packages"] == ["pkg: 1.0 vs 1.1"]


# --- Nuitka ------------------------------------------------------------------------------------------------------
def test_nuitkas_variants_follow_the_apps_capabilities() -> None:
    apps = _samples()
    nuitka = NuitkaStrategy()
    assert "deploy" in nuitka.variants_for(apps["gui"])
    assert nuitka.variants_for(apps["dl"]) == ("standalone-default", "standalone-nofollow")
    assert "deploy" not in nuitka.variants_for(_app("wordcount"))


def test_nuitka_compiles_a_script_itself_and_calls_a_console_scripts_function(tmp_path: Path) -> None:
    trainer = _app("trainer")
    assert main_file(tmp_path, trainer, tmp_path / "entry") == trainer.folder / "train.py"
    wordcount = _app("wordcount")
    script = main_file(tmp_path, wordcount, tmp_path / "entry")
    assert "runpy" not in script.read_text() and "sys.exit(main())" in script.read_text()


# --- cx_Freeze ---------------------------------------------------------------------------------------------------
def test_cx_freeze_data_lands_beside_its_package_under_lib() -> None:
    assert _data_target("src/wordcount/stopwords.txt") == "lib/wordcount/stopwords.txt"
    assert _data_target("words.txt") == "./words.txt"


def test_a_script_apps_data_lands_where_its_file_says_it_is(tmp_path: Path) -> None:
    """Issue 33: a QML module folder listed in data landed in lib/ while the script's __file__ pointed into
    library.zip (`module "Contact" ... qmldir file not found`): the script's __file__ now names its place below the
    program's folder, and its data lands beside it there."""
    assert _data_target("Contact", script_app=True) == "./Contact"
    assert _data_target("qml/Contact", script_app=True) == "qml/Contact"
    script = entry_script(_app("trainer"), tmp_path, ROOT).read_text()
    compile(script, "launch", "exec")
    line = next(line for line in script.splitlines() if line.startswith("__file__ = "))
    namespace: dict[str, object] = {}
    exec(line, namespace)  # noqa: S102 - the generated line alone
    assert namespace["__file__"] == str(Path(sys.executable).parent / "train.py")


def test_a_first_frame_app_gets_the_probe_imported_before_it_starts(tmp_path: Path) -> None:
    """quietwindow is a script beginning with a docstring and `from __future__ import annotations`: the probe is
    imported right after them, before anything the app does."""
    script = entry_script(_app("quietwindow"), tmp_path, ROOT)
    lines = script.read_text().splitlines()
    probe = lines.index("import _shipbench_first_frame  # noqa: F401  imported first by shipbench")
    # first of all the program honours PYTHONUNBUFFERED (pyinstaller/unbuffered.py), then the probe, then __file__
    assert lines[probe - 2:probe] == ["from __future__ import annotations",
                                      "import _shipbench_unbuffered  # noqa: F401  imported first by shipbench"]
    assert lines[probe + 2:probe + 4] == ["", "import sys"]
    assert lines[probe + 1].startswith("__file__ = ")  # where its data lands (a script app)
    assert (tmp_path / "_shipbench_first_frame.py").is_file() and (tmp_path / "_shipbench_unbuffered.py").is_file()
    compile(script.read_text(), str(script), "exec")


# --- the Qt trim lists ------------------------------------------------------------------------------------------
def test_unused_plugins_and_modules_come_from_the_evidence(tmp_path: Path) -> None:
    binding = tmp_path / "PySide6"
    for plugin in ("platforms/libqxcb.so", "platforms/libqvnc.so", "imageformats/libqjpeg.so",
                   "imageformats/libqsvg.so"):
        (binding / "Qt" / "plugins" / plugin).parent.mkdir(parents=True, exist_ok=True)
        (binding / "Qt" / "plugins" / plugin).write_bytes(b"")
    for module in ("QtCore", "QtGui", "QtNetwork"):
        (binding / f"{module}.abi3.so").write_bytes(b"")
    evidence = {"modules": ["PySide6", "PySide6.QtCore", "PySide6.QtGui"],
                "libraries": [str(binding / "Qt" / "plugins" / "imageformats" / "libqsvg.so")]}
    trim = qt_trim.trim_module(ROOT)
    assert qt_trim.binding_folder(tmp_path, evidence, trim.QT_BINDINGS) == binding
    assert qt_trim.unused_plugins(binding, evidence, trim.KEEP_PLATFORMS) == ["imageformats/libqjpeg.so",
                                                                              "platforms/libqvnc.so"]
    assert qt_trim.unused_qt_modules(binding, evidence) == ["PySide6.QtNetwork"]
    assert qt_trim.binding_folder(tmp_path, {"modules": ["json"]}, trim.QT_BINDINGS) is None


# --- one place per fact ------------------------------------------------------------------------------------------
def test_every_strategy_has_a_nox_session_and_a_pinned_tool_file_where_it_names_one() -> None:
    """The main job's one session runs `shipbench run all`, which is every strategy of the registry."""
    noxfile = (ROOT / "noxfile.py").read_text()
    assert 'nox.options.sessions = ["all"]' in noxfile and '_harness(session, "run", "all"' in noxfile
    for name, strategy in STRATEGIES.items():
        assert f"def {name}(session" in noxfile, name
        for path in strategy.inputs:
            assert (ROOT / path).exists(), (name, path)


def test_icu_data_is_read_from_the_description(tmp_path: Path) -> None:
    assert _samples()["gui"].icu_data is False and _samples()["dl"].icu_data is True
    (tmp_path / "tool.py").write_text("")
    (tmp_path / "pyproject.toml").write_text('[tool.shipbench.apps.tool]\nscript = "tool.py"\nicu-data = "no"\n')
    with pytest.raises(UsageError, match="icu-data"):
        description.load(tmp_path)


def test_the_zipapp_record_fields_are_in_the_schema() -> None:
    schema = json.loads((ROOT / "shipbench" / "schema" / "record.schema.json").read_text())
    for key in ("cache", "runs_on", "reproducibility"):
        assert key in schema["properties"]["metrics"]["properties"], key


# --- the report ----------------------------------------------------------------------------------------------------
def test_the_report_says_what_the_locks_and_archives_measured(make_record) -> None:  # type: ignore[no-untyped-def]
    from shipbench import record
    from shipbench.reporting.advice import qualities, recommendations

    locked = make_record(strategy="locked", variant="uv-sync", app="dl")
    locked["metrics"]["reproducibility"] = {"status": "differs", "packages": 12, "files": 900,
                                            "differing_files": ["lib/python3.11/site-packages/x.py"],
                                            "differing_file_count": 1, "differing_packages": []}
    archive = make_record(strategy="zipapp", variant="shiv", app="dl")
    archive["metrics"].update(download_bytes=5_000_000, cache={"variable": "SHIV_ROOT", "bytes": 9_000_000},
                              runs_on={"3.11": {"status": "ok"}, "3.12": {"status": "failed", "reason": "x"}})
    for rec in (locked, archive):
        assert not record.validation_errors(rec), record.validation_errors(rec)
    advice = dict(recommendations([locked, archive]))
    assert "1 files differ (lib/python3.11/site-packages/x.py)" in advice["Reproduce a Python environment exactly"]
    assert "started on Python 3.11, not on 3.12" in advice["Ship to machines that have Python"]
    needs = {row[0]: row[2] for row in qualities([locked, archive])}
    assert "started on 3.11 (some not on 3.12)" in needs["zipapp"]
    bad = make_record(strategy="zipapp", variant="shiv", app="dl")
    bad["metrics"]["runs_on"] = {"python three": {"status": "ok"}}
    assert record.validation_errors(bad)  # an untrusted record with a made-up version never reaches the report's sort


# --- cold and warm, the same for every tool ----------------------------------------------------------------------
def test_cold_empties_the_caches_warm_keeps_them_and_both_start_without_the_output(tmp_path: Path) -> None:
    import contextlib
    from types import SimpleNamespace

    from shipbench.strategies import phases

    cache, output = tmp_path / "cache", tmp_path / "out.pex"
    seen: list[tuple[str, bool, bool]] = []

    def build(phase: str) -> float:
        seen.append((phase, cache.exists(), output.exists()))
        cache.mkdir(exist_ok=True)
        output.write_text("built")
        return {"cold": 2.0, "warm": 1.0}[phase]

    cache.mkdir()
    output.write_text("old")
    steps = SimpleNamespace(step=lambda what: contextlib.nullcontext())
    ctx = SimpleNamespace(steps=steps, metrics={})
    times = phases.cold_and_warm(ctx, lambda phase: phase, [cache], [output], build)  # type: ignore[arg-type]
    assert seen == [("cold", False, False), ("warm", True, False)]
    assert times == ctx.metrics["setup_s"] == {"cold": 2.0, "warm": 1.0}


@pytest.mark.parametrize(("variable", "buffered"), [({"PYTHONUNBUFFERED": "1"}, "True"), ({}, "False")])
def test_a_frozen_program_honours_pythonunbuffered_as_python_does(variable: dict[str, str], buffered: str) -> None:
    """A bundle's interpreter reads no environment for its flags: a ready line printed to a pipe arrived only at
    exit (word_language_model's 38 s "start-up" was its whole run). The runtime hook flushes at every line where
    PYTHONUNBUFFERED is set, and leaves the program alone where it is not."""
    hook = ROOT / "pyinstaller" / "unbuffered.py"
    code = f"exec(open({str(hook)!r}).read()); import sys; sys.stderr.write(str(sys.stdout.line_buffering))"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, **variable},
                          check=True)
    assert done.stderr == buffered
