"""Nuitka for real: a console script with a data file compiled standalone and trimmed (cold with empty caches,
warm with ccache), and a silent Qt app, which Nuitka's programs cannot show to the first-frame probe."""

from __future__ import annotations

from conftest import HOST_DEPS, PYTHONS, ok_metrics, python_missing, requires, run_fixture

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


def test_a_first_frame_app_is_skipped_with_the_reason() -> None:
    rows = run_fixture("nuitka", "quietwindow", variants=("standalone-default",))
    rec = rows["standalone-default"]
    assert rec["status"] == "skipped" and "first-frame probe" in rec["reason"]
