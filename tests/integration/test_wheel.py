"""Wheels installed as command-line tools for real: uv tool install and pipx, each into a tool home of its own, the
GUI sample (a module app: a generated wheel requires its project's) and fixtures of every other shape: a project's
own console script with a data file, a script with its sibling module and data, a first-frame script behind
pipx's `python -E` shim."""

from __future__ import annotations

import json
import zipfile
from typing import Any

import pytest
from conftest import PYTHONS, ROOT, fixture_build, ok_metrics, python_missing, requires, run_fixture, run_sample

from shipbench.strategies import wheel as wheel_strategy

pytestmark = requires(python_missing("3.11"), PYTHONS)


@pytest.fixture(scope="module")
def gui() -> dict[str, Any]:
    """The main job's rows (results/ and build/ of the checkout), which it then reuses."""
    return run_sample("wheel", "gui", "uv-tool", "pipx")


@pytest.mark.parametrize("variant", ["uv-tool", "pipx"])
def test_the_gui_is_installed_as_a_tool_and_started_from_its_shim(gui: dict[str, Any], variant: str) -> None:
    rec = gui[variant]
    metrics = ok_metrics(rec)
    assert metrics["size_bytes"] > 10_000_000 and 0 < metrics["wheel_bytes"] < 100_000  # Qt in the venv, not the wheel
    assert metrics["setup_s"]["cold"] > 0 and metrics["setup_s"]["warm"] > 0
    assert metrics["startup_s"]["warm"]["n"] >= 3 and metrics["qt_platform"] == "offscreen"
    assert rec["versions"]["uv"] and rec["versions"]["pipx"] and rec["versions"]["PySide6-Essentials"]
    # the row's own tool home, never the user's
    assert (ROOT / rec["artifact"]["path"]).resolve().is_relative_to(ROOT / "build" / "wheel")
    found = metrics["licenses"]
    assert found["status"] == "ok" and any(entry["name"].lower() == "pyside6_essentials"
                                           for entry in found["copyleft"])
    wheel = next((ROOT / "build" / "wheel" / "gui-py3.11" / "dist").glob("shipbench_tool_gui-*.whl"))
    with zipfile.ZipFile(wheel) as archive:  # a generated wheel that requires the project's own
        metadata = archive.read("shipbench_tool_gui-0.dist-info/METADATA").decode()
    assert "Requires-Dist: shipbench-app-gui" in metadata


def test_a_projects_own_console_script_is_its_wheel_as_built() -> None:
    rows = run_fixture("wheel", "wordcount")
    assert set(rows) == {"uv-tool", "pipx"}
    for rec in rows.values():
        metrics = ok_metrics(rec)
        assert metrics["ready"] == "exit" and metrics["startup_s"]["warm"]["n"] == 3
    dist = fixture_build("wordcount") / "wheel" / "wordcount-py3.11" / "dist"
    assert [path.name.split("-")[0] for path in dist.glob("*.whl")] == ["wordcount_fixture"]  # nothing generated


def test_a_script_with_its_sibling_module_data_and_working_folder_runs_as_a_tool() -> None:
    """trainer imports synthetic.py beside it, reads labels.txt beside itself and settings.ini from the folder it
    starts in: the generated wheel carries the first two, the run starts in the app's folder."""
    metrics = ok_metrics(run_fixture("wheel", "trainer", variants=("uv-tool",))["uv-tool"])
    assert metrics["throughput"]["median"] > 0


def test_a_first_frame_script_is_measured_behind_pipxs_python_E_shim() -> None:
    rec = run_fixture("wheel", "quietwindow", variants=("pipx",))["pipx"]
    metrics = ok_metrics(rec)
    assert metrics["ready"] == "first-frame" and metrics.get("screenshot")  # the probe reached the app
    shim = fixture_build("quietwindow") / "wheel" / "quietwindow-py3.11" / "pipx" / "home" / "bin" / "quietwindow"
    said = any("python -E" in note for note in rec["notes"])
    assert said == wheel_strategy._ignores_environment(shim), json.dumps(rec["notes"])  # where pip wrote -E
