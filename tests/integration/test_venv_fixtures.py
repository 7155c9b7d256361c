"""Apps not shaped like the samples, through the venv strategy: a console script that is ready when it exits, a
Qt app that prints nothing (ready = its first frame, seen by the injected probe), a plain script with a
requirements file whose readiness and throughput are read from its output by patterns; and a ready pattern
that never matches, which must fail with the output's tail instead of hanging."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, PYTHONS, ok_metrics, python_missing, requires, run_fixture

pytestmark = requires(python_missing("3.11"), PYTHONS)


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, Any]]:
    return {name: run_fixture("venv", name) for name in ("wordcount", "quietwindow", "trainer")}


def test_a_console_script_is_ready_when_it_exits_0(rows: dict[str, dict[str, Any]]) -> None:
    for installer in ("uv", "pip", "tox-uv"):
        metrics = ok_metrics(rows["wordcount"][installer])
        assert metrics["ready"] == "exit" and metrics["startup_s"]["warm"]["n"] == 3
        assert "screenshot" not in metrics and "throughput" not in metrics


def test_a_silent_qt_app_is_ready_at_its_first_frame(rows: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    rec = rows["quietwindow"]["uv"]
    metrics = ok_metrics(rec)
    assert metrics["ready"] == "first-frame" and metrics["qt_platform"] == "offscreen"
    assert rec["capabilities"] == ["window"]
    assert metrics["screenshot"].endswith(".png")
    assert rows["quietwindow"]["pip"]["status"] == "skipped"  # its description asks for venv/uv only
    assert "not among the app's strategies" in rows["quietwindow"]["pip"]["reason"]


def test_a_script_with_requirements_reports_its_throughput_by_pattern(rows: dict[str, dict[str, Any]]) -> None:
    metrics = ok_metrics(rows["trainer"]["uv"])
    assert metrics["ready"] == "pattern" and metrics["throughput_unit"] == "samples/s"
    assert 0 < metrics["throughput"]["min"] <= metrics["throughput"]["median"] <= metrics["throughput"]["max"]


def test_a_ready_pattern_that_never_matches_fails_with_the_tail(tmp_path: Path) -> None:
    project = tmp_path / "never"
    shutil.copytree(FIXTURES / "trainer", project)
    description = (project / "pyproject.toml").read_text().replace('pattern = "^epoch 1 "', 'pattern = "^never"')
    (project / "pyproject.toml").write_text(description)
    rec = run_fixture("venv", "trainer", "--app-timeout", "60", base=tmp_path, project=project, variants=("uv",))["uv"]
    assert rec["status"] == "failed"
    assert "no line matched '^never'" in rec["reason"]
    assert any(line.startswith("throughput:") for line in rec["log_tail"])
