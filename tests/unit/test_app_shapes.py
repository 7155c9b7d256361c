"""Apps of shapes our samples do not have, each a defect found with public apps (issue 22): a first-frame script
with `from __future__`, a package run with -m from a requirements file, a dependency's console script, a script
reading data from its folder, environment variables, generated files a team copies. No host tool is needed:
launchers are run with this Python, specs and commands are read, not built."""

from __future__ import annotations

import ast
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from shipbench import console, description, entry, host, measure, pyinstaller_spec, record
from shipbench.errors import Failure, Skip, UsageError
from shipbench.strategies.base import Artifact, Context


def _app(fixture: str) -> description.App:
    return next(iter(description.load(FIXTURES / fixture).values()))


def _project(tmp_path: Path, table: str, files: dict[str, str]) -> description.App:
    """An app described in tmp_path's pyproject.toml (its [tool.shipbench.apps.x] table, as a user writes it)."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    pyproject = tmp_path / "pyproject.toml"
    head = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    pyproject.write_text(head + "\n[tool.shipbench.apps.x]\n" + table, encoding="utf-8")
    return description.load(tmp_path)["x"]


def _ctx(app: description.App, tmp_path: Path, strategy: str = "zipapp", variant: str = "shiv") -> Context:
    """A row's context whose progress display is never started (these tests take no steps)."""
    from rich.progress import Progress

    key = record.Key(strategy, variant, app.name, "3.11")
    steps = console.Steps(Progress(console=console.console), key.label(), 1)
    return Context(key, app, ROOT, tmp_path / "build", tmp_path / "results", record.new_record(key), steps)


# --- 2: the probe import goes after what must come first ------------------------------------------------------------
@pytest.mark.parametrize("source", [
    '"""A script."""\nfrom __future__ import annotations\n\nprint("x")\n',
    "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\nfrom __future__ import annotations\nimport sys\n",
    '#!/usr/bin/env python3\n"""Doc\nover lines."""\n\nfrom __future__ import (\n    annotations,\n)\nx: int = 1',
    "import sys\nprint(sys.argv)\n",
    "#!/usr/bin/env python3\nprint(1)\n",
])
def test_the_first_frame_probe_is_imported_where_python_allows_it(source: str) -> None:
    """cx_Freeze's entry script put `import _shipbench_first_frame` above `from __future__`: a SyntaxError."""
    written = entry.with_first_import(source, "_probe")
    tree = ast.parse(written)  # a SyntaxError here is the defect
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import) and node.names[0].name == "_probe"]
    assert len(imports) == 1
    assert written.replace("import _probe  # noqa: F401  imported first by shipbench\n", "").rstrip("\n") == \
        source.rstrip("\n")  # nothing else changed
    if source.startswith("#!"):
        assert written.startswith("#!")


def test_cx_freezes_entry_script_of_a_future_import_script_compiles(tmp_path: Path) -> None:
    from shipbench.strategies.cxfreeze import entry_script

    app = dataclasses.replace(_app("quietwindow"), folder=tmp_path, start=("script", "win.py"))
    (tmp_path / "win.py").write_text("from __future__ import annotations\n\nprint('hi')\n", encoding="utf-8")
    script = entry_script(app, tmp_path / "entry", ROOT)
    compile(script.read_text(encoding="utf-8"), str(script), "exec")  # raised SyntaxError before


# --- 3: a package run with -m gets its __main__ into the bundle --------------------------------------------------
def test_a_package_app_from_a_requirements_file_has_its_main_module_in_the_spec(tmp_path: Path) -> None:
    """`module = "httpie"` from requirements.txt: nothing of the package is in the app's folder, so the spec must
    name `<package>.__main__` anyway (the bundle said "is a package and cannot be directly executed")."""
    app = _project(tmp_path, 'module = "clitool"\nrequirements = "requirements.txt"\n',
                   {"requirements.txt": "clitool\n"})
    spec, _ = pyinstaller_spec.write(app, tmp_path / "spec", ROOT, measure.INJECT_DIR / "sitecustomize.py")
    text = spec.read_text(encoding="utf-8")
    assert "'clitool', 'clitool.__main__'" in text


# --- 6 and 12: the generated spec trims ICU as the description says, and names no absolute path ------------------
def test_the_generated_trimmed_spec_replaces_icu_data_when_the_app_reads_none(tmp_path: Path) -> None:
    app = dataclasses.replace(_app("quietwindow"), icu_data=False)
    spec, _ = pyinstaller_spec.write(app, tmp_path / "spec", ROOT, measure.INJECT_DIR / "sitecustomize.py")
    trimmed_block = spec.read_text(encoding="utf-8").split("if trimmed:\n", 1)[1].split("\npyz =", 1)[0]
    assert "trim.replace_icu_data(a.binaries" in trimmed_block
    spec, _ = pyinstaller_spec.write(_app("quietwindow"), tmp_path / "spec2", ROOT,
                                     measure.INJECT_DIR / "sitecustomize.py")
    assert "replace_icu_data" not in spec.read_text(encoding="utf-8")


def test_generated_files_hold_paths_relative_to_their_folder(tmp_path: Path) -> None:
    """A spec and a cx_Freeze table a team copies must not name this clone's or this build folder's path."""
    import shutil

    shutil.copytree(FIXTURES / "wordcount", tmp_path / "project")
    app = next(iter(description.load(tmp_path / "project").values()))
    folder = tmp_path / "project" / "build" / "pyinstaller" / "wordcount" / "spec"
    spec, _ = pyinstaller_spec.write(app, folder, ROOT, measure.INJECT_DIR / "sitecustomize.py", "wordcount.cli:main")
    text = spec.read_text(encoding="utf-8")
    assert str(tmp_path) not in text
    strings = [node.value for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Constant)
               and isinstance(node.value, str)]
    assert not [value for value in strings if os.path.isabs(value)]
    # each relative path, joined to the spec's folder as the spec does, is the real file or folder
    assert (folder / "../../../../src/wordcount/stopwords.txt").resolve().is_file()
    assert "'../../../../src/wordcount/stopwords.txt'" in text
    trim_dir = next(value for value in strings if value.endswith("pyinstaller") and value.startswith(".."))
    assert (folder / trim_dir).resolve() == (ROOT / "pyinstaller").resolve()


def test_cx_freezes_table_holds_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from shipbench.strategies import cxfreeze

    shutil.copytree(FIXTURES / "wordcount", tmp_path / "project")
    app = next(iter(description.load(tmp_path / "project").values()))
    ctx = _ctx(app, tmp_path, "cxfreeze", "default")
    monkeypatch.setattr(entry, "console_entry_point", lambda app, python: "wordcount.cli:main")
    monkeypatch.setattr(cxfreeze.frozen, "evidence_run",
                        lambda ctx, env, path: {"modules": ["pydoc", "json", "sitecustomize"]})
    monkeypatch.setattr(cxfreeze, "_default_excludes", lambda python: {"pydoc", "unittest", "sitecustomize"})
    target = tmp_path / "project" / "build" / "cxfreeze" / "wordcount-py3.11-default"
    cxfreeze.CxFreezeStrategy()._command(ctx, tmp_path / "env", target, target / "dist")
    table = (target / "pyproject.toml").read_text(encoding="utf-8")
    assert str(tmp_path) not in table
    assert 'build_exe = "dist"' in table and 'script = "entry/launch_wordcount.py"' in table
    assert '"../../../src/wordcount/stopwords.txt"' in table  # the data file, from the table's folder
    # what cx_Freeze leaves out by default and the app loaded (pydoc: pyqtgraph's example browser failed)
    assert 'includes = ["wordcount.cli", "_shipbench_unbuffered", "pydoc"]' in table


# --- 7: a dependency's console script ----------------------------------------------------------------------------
def test_a_dependencys_console_script_is_accepted_and_found_once_installed(tmp_path: Path) -> None:
    app = _project(tmp_path, 'console-script = "pytest"\nrequirements = "requirements.txt"\n',
                   {"requirements.txt": "pytest\n"})
    assert app.entry_point is None
    # resolved in the environment the app is installed in: here, this one (which has pytest)
    from importlib.metadata import entry_points

    expected = next(e.value for e in entry_points(group="console_scripts") if e.name == "pytest")
    assert entry.console_entry_point(app, Path(sys.executable)) == expected
    missing = dataclasses.replace(app, start=("console-script", "no-such-tool-here"))
    with pytest.raises(Failure, match="no console script 'no-such-tool-here'"):
        entry.console_entry_point(missing, Path(sys.executable))


def test_a_project_without_dependencies_still_names_its_own_scripts(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "t"\nversion = "1"\n[project.scripts]\n'
                                             'tool = "t:main"\n', encoding="utf-8")
    (tmp_path / "t.py").write_text("def main(): pass\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"have no such entry \(they have: tool\)"):
        _project(tmp_path, 'console-script = "tol"\n', {})


# --- nuitka/deploy: pyside6-deploy's main.py for a package app ---------------------------------------------------
def test_pyside6_deploy_gets_a_main_script_that_calls_the_packages_main(tmp_path: Path) -> None:
    """pyside6-deploy ran app_gui's __main__.py as a script: "attempted relative import with no known parent"."""
    gui = description.load(ROOT)["gui"]
    source = entry.compiled_launcher(gui, ROOT / "app_gui" / "app_gui" / "__main__.py")
    assert source is not None and "from app_gui.__main__ import main" in source and "sys.exit(main())" in source
    ast.parse(source)
    (tmp_path / "__main__.py").write_text("print('no main function')\n", encoding="utf-8")
    with pytest.raises(Skip, match="has no main"):
        entry.compiled_launcher(gui, tmp_path / "__main__.py")


def test_every_shape_has_a_launcher_that_runs(tmp_path: Path) -> None:
    """The runpy launcher (PyInstaller, cx_Freeze) of each start kind starts the app as `python -m`/script would."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "pkg" / "__main__.py").write_text("import sys\nprint('main', __name__, sys.argv[1:])\n")
    (tmp_path / "pkg" / "cli.py").write_text("import sys\ndef run():\n    print('cli', sys.argv[1:])\n    return 0\n")
    base = _app("quietwindow")
    for start, point, said in ((("module", "pkg"), None, "main __main__ ['--a']"),
                               (("console-script", "tool"), "pkg.cli:run", "cli ['--a']")):
        source = entry.runpy_launcher(dataclasses.replace(base, start=start), point)
        assert source is not None
        (tmp_path / "launch.py").write_text(source, encoding="utf-8")
        result = subprocess.run([sys.executable, "launch.py", "--a"], cwd=tmp_path, capture_output=True, text=True,
                                env={**os.environ, "PYTHONPATH": str(tmp_path)}, check=False)
        assert result.returncode == 0 and result.stdout.strip() == said, result.stderr
    assert entry.runpy_launcher(dataclasses.replace(base, start=("script", "x.py"))) is None


# --- 4 and 8: apps start in their own folder, with their description's environment ------------------------------
def test_an_app_starts_in_its_folder_with_its_environment(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    app = _project(tmp_path, 'script = "train.py"\nrequirements = "requirements.txt"\nready = "exit"\n'
                             'workdir = "data"\nenv = { TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD = "1" }\n',
                   {"requirements.txt": "", "train.py": "", "data/traindata.pt": "x"})
    assert app.workdir_path == (tmp_path / "data").resolve()
    code = "import os; open('traindata.pt').read(); print(os.getcwd(), os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'])"
    artifact = Artifact(path=tmp_path, kind="test", launcher=(sys.executable, "-c", code))
    run = measure.start(artifact, app, (), 120)
    assert run.output.split() == [str((tmp_path / "data").resolve()), "1"]


def test_a_workdir_outside_the_apps_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="workdir: '..' is outside the project"):
        _project(tmp_path, 'script = "a.py"\nrequirements = "r.txt"\nworkdir = ".."\n', {"a.py": "", "r.txt": ""})


def test_images_and_guests_start_the_app_in_the_same_folder_of_their_copy(tmp_path: Path) -> None:
    from shipbench.strategies import bake, vagrant

    (tmp_path / "sub").mkdir()
    app = _project(tmp_path, 'script = "a.py"\nrequirements = "r.txt"\nworkdir = "sub"\nenv = { MODE = "x" }\n',
                   {"a.py": "", "r.txt": ""})
    argv = bake.docker_run(tmp_path, app)
    assert argv[argv.index("--workdir") + 1] == "/app/sub" and "MODE" in argv
    remote = vagrant.VagrantStrategy()._relayed(app, {}, 1.0)
    assert f"--cwd={vagrant.GUEST_APP}/sub" in remote and "--env=MODE=x" in remote


# --- 1 and 5: zipapps -------------------------------------------------------------------------------------------
def test_a_pex_gets_the_first_frame_probe_past_python_minus_i(tmp_path: Path) -> None:
    from shipbench.strategies import zipapp

    app = _app("quietwindow")
    assert zipapp.run_env("pex", app, tmp_path)["PEX_EXTRA_SYS_PATH"] == str(measure.INJECT_DIR)
    assert "PEX_EXTRA_SYS_PATH" not in zipapp.run_env("shiv", app, tmp_path)
    assert "PEX_EXTRA_SYS_PATH" not in zipapp.run_env("pex", _app("wordcount"), tmp_path)


@pytest.mark.parametrize("variant", ["shiv", "pex-venv"])
def test_zipapps_carry_the_descriptions_data_files(tmp_path: Path, variant: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from shipbench import interpreters
    from shipbench.strategies import zipapp

    app = _project(tmp_path, 'script = "train.py"\nrequirements = "r.txt"\ndata = ["traindata.pt"]\n',
                   {"train.py": "", "r.txt": "", "traindata.pt": "x"})
    ctx = _ctx(app, tmp_path, "zipapp", variant)
    python = interpreters.Interpreter(sys.executable, "3.11", "3.11.0")
    output = tmp_path / "out" / "x.pyz"
    output.parent.mkdir()
    argv = zipapp.build_command(ctx, tmp_path / "env", python, output, tmp_path / "cache")
    staged = output.parent / "entry"
    assert (staged / "traindata.pt").read_text() == "x"
    assert str(staged) in argv and ("--site-packages" in argv or "--sources-directory" in argv)


def test_pex_and_every_installer_get_the_hosts_ca_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind a TLS-intercepting proxy pex's own pip trusted only certifi: `CERTIFICATE_VERIFY_FAILED`."""
    from shipbench import interpreters
    from shipbench.strategies import venv, zipapp

    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert host.tls_env() == {"PIP_CERT": str(bundle), "SSL_CERT_FILE": str(bundle), "REQUESTS_CA_BUNDLE": str(bundle)}
    assert venv.isolated_env(tmp_path)["PIP_CERT"] == str(bundle)
    ctx = _ctx(_app("wordcount"), tmp_path, "zipapp", "pex-venv")
    python = interpreters.Interpreter(sys.executable, "3.11", "3.11.0")
    (tmp_path / "o").mkdir()
    argv = zipapp.build_command(ctx, tmp_path / "env", python, tmp_path / "o" / "x.pex", tmp_path / "cache")
    assert argv[argv.index("--cert") + 1] == str(bundle)


# --- 9: an interrupted build leaves nothing running -------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(sys.platform == "win32", reason="process groups")
def test_a_tools_children_die_with_it_when_shipbench_is_interrupted(tmp_path: Path) -> None:
    """Ctrl-C during a Nuitka build left scons and gcc running (parent 1): run_tool kills the tool's group. The
    interrupt comes once the grandchild has started, whatever the scheduler does (never a race on a timeout)."""
    from shipbench.runner import run_tool

    pidfile = tmp_path / "grandchild.pid"
    script = f"sleep 300 & echo $! > {pidfile}.tmp && mv {pidfile}.tmp {pidfile}; wait"
    stop = threading.Event()

    def interrupt_when_started() -> None:
        while not pidfile.exists() and not stop.is_set():
            time.sleep(0.01)
        if not stop.is_set():
            os.kill(os.getpid(), signal.SIGUSR1)

    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGUSR1, raise_interrupt)
    watcher = threading.Thread(target=interrupt_when_started)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_tool(["sh", "-c", script], timeout=600, what="a build")
    finally:
        stop.set()
        watcher.join()
        signal.signal(signal.SIGUSR1, previous)
    grandchild = int(pidfile.read_text())
    while _alive(grandchild):  # SIGKILL is final; only its reaping by init takes a moment (pytest-timeout bounds it)
        time.sleep(0.01)


@pytest.mark.parametrize("variant", ["shiv", "pex-venv"])
def test_a_scripts_own_modules_travel_with_it_in_an_archive(tmp_path: Path, variant: str) -> None:
    """Qt's editabletreemodel example: main.py imports mainwindow.py beside it; `python main.py` finds it there,
    the archives did not carry it (ModuleNotFoundError: No module named 'mainwindow')."""
    from shipbench import interpreters
    from shipbench.strategies import zipapp

    app = _project(tmp_path, 'script = "main.py"\nrequirements = "r.txt"\n',
                   {"main.py": "from mainwindow import run\n", "mainwindow.py": "def run(): pass\n", "r.txt": "",
                    "models/__init__.py": "", "notes.txt": "not code"})
    ctx = _ctx(app, tmp_path, "zipapp", variant)
    python = interpreters.Interpreter(sys.executable, "3.11", "3.11.0")
    (tmp_path / "out").mkdir()
    argv = zipapp.build_command(ctx, tmp_path / "env", python, tmp_path / "out" / "x.pyz", tmp_path / "cache")
    staged = tmp_path / "out" / "entry"
    assert (staged / "mainwindow.py").is_file() and (staged / "models" / "__init__.py").is_file()
    assert not (staged / "notes.txt").exists() and str(staged) in argv


def test_cx_freeze_searches_a_scripts_own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shipbench.strategies import cxfreeze

    app = _project(tmp_path, 'script = "main.py"\nrequirements = "r.txt"\n',
                   {"main.py": "from mainwindow import run\n", "mainwindow.py": "def run(): pass\n", "r.txt": ""})
    target = tmp_path / "build" / "cxfreeze" / "x"
    monkeypatch.setattr(cxfreeze.frozen, "evidence_run", lambda ctx, env, path: {"modules": []})
    cxfreeze.CxFreezeStrategy()._command(_ctx(app, tmp_path, "cxfreeze", "default"), tmp_path / "env", target,
                                         target / "dist")
    table = (target / "pyproject.toml").read_text(encoding="utf-8")
    assert 'include_path = ["entry", "../../.."]' in table


def test_a_projects_own_data_is_not_staged_over_its_package(tmp_path: Path) -> None:
    """wordcount's data lies in its package: a staged wordcount/ folder stopped pip --target from installing the
    package into shiv's archive (No module named 'wordcount.cli')."""
    from shipbench import interpreters
    from shipbench.strategies import zipapp

    ctx = _ctx(_app("wordcount"), tmp_path, "zipapp", "shiv")
    python = interpreters.Interpreter(sys.executable, "3.11", "3.11.0")
    (tmp_path / "out").mkdir()
    argv = zipapp.build_command(ctx, tmp_path / "env", python, tmp_path / "out" / "x.pyz", tmp_path / "cache")
    assert not (tmp_path / "out" / "entry" / "wordcount").exists() and "--site-packages" not in argv


def test_a_gui_script_is_a_command_like_a_console_script(tmp_path: Path) -> None:
    """Issue 33: a [project.gui-scripts] entry ran in venv rows and was 'no console script' in the frozen ones."""
    app = _project(tmp_path, 'console-script = "paint"\ncapabilities = ["window"]\nready = "first-frame"\n', {
        "pyproject.toml": '[project]\nname = "p"\nversion = "1"\n[project.gui-scripts]\npaint = "p.app:main"\n',
        "p/__init__.py": "", "p/app.py": "def main(): pass\n"})
    assert app.entry_point == "p.app:main"
    assert "from p.app import main" in entry.runpy_launcher(app)


def test_an_app_whose_code_is_a_dependencys_has_that_package_collected_whole(tmp_path: Path) -> None:
    """Public apps described as their dependency's command (datasette, thonny, pypi-server, rio) or module
    (pyqtgraph.examples) lost their data files and modules loaded by name in every freezer: the package is the app,
    and each freezer now takes it whole; the description's own `collect` adds more."""
    command = _project(tmp_path / "a", 'console-script = "datasette"\nrequirements = "r.txt"\ncollect = ["pint"]\n',
                       {"r.txt": "datasette\n"})
    assert entry.collected_packages(command, "datasette.cli:cli") == ["pint", "datasette"]
    module = _project(tmp_path / "b", 'module = "pyqtgraph.examples"\nrequirements = "r.txt"\n', {"r.txt": "x\n"})
    assert entry.collected_packages(module) == ["pyqtgraph"]
    own = _project(tmp_path / "c", 'module = "tool"\nrequirements = "r.txt"\n', {"r.txt": "", "tool.py": ""})
    assert entry.collected_packages(own) == []
    spec, _ = pyinstaller_spec.write(command, tmp_path / "spec", ROOT, ROOT / "shipbench" / "inject" / "x.py",
                                     "datasette.cli:cli")
    assert "WHOLE = ['pint', 'datasette']" in spec.read_text()
