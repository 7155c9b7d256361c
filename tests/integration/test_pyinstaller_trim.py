"""The trimmed spec's keep-lists against what app_gui really loads, so a trimmed bundle never breaks silently.

The app runs from a plain venv under offscreen and under a real X server; every Qt module, Qt library and Qt
plugin it loads must be one that pyinstaller/trim.py keeps.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HOST_DEPS, ROOT, requires, tool_missing

from shipbench import interpreters, xserver

TRACER = """
import atexit, json, runpy, sys

def report():
    maps = open("/proc/self/maps").read().split()
    libs = sorted({p for p in maps if "PySide6" in p and ".so" in p})
    mods = sorted(m for m in sys.modules if m.startswith("PySide6."))
    print(json.dumps({"event": "loaded", "libraries": libs, "modules": mods}), flush=True)

atexit.register(report)
sys.argv = ["app_gui", "--probe"]
runpy.run_module("app_gui", run_name="__main__")
"""


def _trim():
    spec = importlib.util.spec_from_file_location("trim", ROOT / "pyinstaller" / "trim.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gui_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from uv import find_uv_bin

    venv = tmp_path_factory.mktemp("gui-venv") / "venv"
    subprocess.run([find_uv_bin(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([find_uv_bin(), "pip", "install", "--quiet", "--python", str(interpreters.venv_python(venv)),
                    str(ROOT / "app_gui")], check=True)
    return venv


def _loaded(venv: Path, env: dict[str, str]) -> dict[str, list[str]]:
    result = subprocess.run([str(interpreters.venv_python(venv)), "-c", TRACER], capture_output=True, text=True,
                            env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events] == ["ready", "loaded"]
    return events[1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
@pytest.mark.parametrize("display", ["offscreen", pytest.param("x11", marks=requires(tool_missing("Xvfb"), HOST_DEPS))])
def test_everything_the_app_loads_is_kept_by_the_trimmed_spec(gui_venv: Path, display: str) -> None:
    trim = _trim()
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    if display == "offscreen":
        loaded = _loaded(gui_venv, {**env, "QT_QPA_PLATFORM": "offscreen"})
    else:
        with xserver.xvfb() as x_display:
            loaded = _loaded(gui_venv, {**env, "DISPLAY": x_display})

    modules = {m.split(".")[1] for m in loaded["modules"] if m.startswith("PySide6.Qt")}
    assert modules <= set(trim.QT_MODULES), f"app_gui now imports {modules - set(trim.QT_MODULES)}: update trim.py"
    for excluded in trim.QT_EXCLUDES:
        assert excluded not in loaded["modules"]

    plugins = [p.split("/plugins/", 1)[1] for p in loaded["libraries"] if "/plugins/" in p]
    assert plugins, "no Qt platform plugin was loaded?"
    for plugin in plugins:
        assert any(fnmatch.fnmatch(plugin, keep) for keep in trim.QT_PLUGINS["linux"]), (
            f"app_gui loads the plugin {plugin}, which the trimmed spec drops")

    qt_libs = [Path(p).name for p in loaded["libraries"] if "/Qt/lib/" in p]
    for library in qt_libs:
        stem = library.removeprefix("lib").split(".")[0]
        assert any(fnmatch.fnmatch(stem, keep) for keep in trim.QT_LIBS), (
            f"app_gui loads {library}, which the trimmed spec drops")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the stub replaces a Linux library")
@requires(tool_missing("cc"), HOST_DEPS)
def test_the_icu_stub_builds_and_exports_the_data_symbol(tmp_path: Path) -> None:
    trim = _trim()
    out = trim.replace_icu_data([("PySide6/Qt/lib/libicudata.so.73", "/nonexistent", "BINARY")], str(tmp_path))
    stub = Path(out[0][1])
    assert stub.stat().st_size < 100_000
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(stub)], capture_output=True, text=True).stdout
    assert "icudt73_dat" in symbols
