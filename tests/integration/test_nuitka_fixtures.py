"""Nuitka for real: a console script with a data file compiled standalone and trimmed (cold with empty caches,
warm with ccache), and a silent Qt app, which Nuitka's programs cannot show to the first-frame probe."""

from __future__ import annotations

import pytest
from conftest import HOST_DEPS, PYTHONS, ok_metrics, python_missing, requires, run_fixture, run_sample

from shipbench import interpreters
from shipbench.strategies.nuitka import headers_missing, tools_missing


def _cannot_compile() -> str | None:
    return python_missing("3.11") or tools_missing() or headers_missing(interpreters.find("3.11"))


pytestmark = [requires(python_missing("3.11"), PYTHONS), requires(_cannot_compile(), HOST_DEPS)]


def test_a_console_script_is_compiled_and_runs() -> None:
    rec = run_fixture("nuitka", "wordcount", variants=("standalone-trimmed",))["standalone-trimmed"]
    metrics = ok_metrics(rec)
    assert metrics["ready"] == "exit"
    assert set(metrics["setup_s"]) == {"cold", "warm"}
    assert any(note.startswith("built with: python -m nuitka --mode=standalone") for note in rec["notes"]), rec["notes"]
    assert rec["versions"]["nuitka"]
    # Nuitka's own report of what it compiled in, against what one run loaded
    assert metrics["missing_modules"]["status"] == "ok" and metrics["missing_modules"]["own"] == []


def test_a_plugin_loaded_by_name_is_compiled_in() -> None:
    """Issue 33: Nuitka compiled a CLI for 33 minutes without a module the app loads by name, and nothing said so
    until its first run. The app's own modules that one run loaded are now named to it (--include-module), and
    its report is checked like the other freezers' bundles."""
    rec = run_fixture("nuitka", "lazyplugin", variants=("standalone-default",))["standalone-default"]
    metrics = ok_metrics(rec)
    assert "--include-module=lazyplugin.plugins.shout" in " ".join(rec["notes"])
    assert metrics["missing_modules"]["status"] == "ok" and metrics["missing_modules"]["count"] == 0


@pytest.mark.beyond_ci("a Qt app compiled by Nuitka: ~6 min here; in CI the Tk window's rows prove the X server's "
                       "first map (test_windows.py) and the unit tier that a Nuitka row sees a Qt window there "
                       "(test_kinds.py)")
def test_a_silent_qt_app_compiled_is_seen_mapped_on_the_x_server() -> None:
    """A compiled program runs no sitecustomize, so the Qt probe cannot see its first paint; its window is seen
    mapped on the row's X server instead (it was skipped before, against the README's word)."""
    rec = run_fixture("nuitka", "quietwindow", "--profile", "quick", variants=("standalone-trimmed",))
    metrics = ok_metrics(rec["standalone-trimmed"])
    assert metrics["ready"] == "first-frame" and metrics["screenshot"]


@pytest.mark.beyond_ci("pyside6-deploy compiles app_gui with Nuitka: ~6 min here; the unit tier checks the main.py "
                       "it gets (test_app_shapes: pyside6-deploy's main script)")
def test_pyside6_deploy_builds_a_package_app_from_a_generated_main_script() -> None:
    """pyside6-deploy ran app_gui's __main__.py as a script: "attempted relative import with no known parent
    package" on every run (issue 22); it now gets a main.py that imports the package and calls its main()."""
    rec = run_sample("nuitka", "gui", "deploy")["deploy"]
    assert ok_metrics(rec)["startup_s"]["warm"]["n"] >= 1
