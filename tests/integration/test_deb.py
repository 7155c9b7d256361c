"""Debian packages holding a venv for real: dh-virtualenv builds the GUI sample and a console-script fixture in a
Debian builder container of the row's release, apt installs each into a clean container of that release, the app
starts there as an unprivileged user, and apt removes it again."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import ROOT, ok_metrics, requires, run_fixture, run_sample, tool_missing

from shipbench import docker

pytestmark = [requires(docker.unavailable_reason(), "bash scripts/install-docker.sh"),
              requires(tool_missing("debootstrap"), "sudo apt-get install debootstrap")]


@pytest.fixture(scope="module")
def gui() -> dict[str, Any]:
    return run_sample("deb", "gui", "dh-virtualenv")["dh-virtualenv"]


def test_the_gui_is_packaged_installed_started_and_removed(gui: dict[str, Any]) -> None:
    metrics = ok_metrics(gui)
    assert 0 < metrics["download_bytes"] < metrics["size_bytes"]  # the .deb is compressed; the venv installed is not
    assert metrics["setup_s"]["cold"] > 0 and metrics["install_s"] > 0
    assert metrics["startup_s"]["warm"]["n"] >= 3 and metrics["screenshot"]
    assert metrics["remove"]["seconds"] > 0 and metrics["remove"]["files_left"] == 0
    assert metrics["binaries"]["status"] == "ok" and metrics["licenses"]["status"] == "ok"
    assert gui["versions"]["debian"] == "bookworm"
    control = (ROOT / "build" / "deb" / "gui-py3.11" / "src" / "debian" / "control").read_text(encoding="utf-8")
    assert "libxcb-cursor0" in control and "dh-virtualenv" in control


def test_a_console_script_project_is_packaged_and_runs_from_usr_bin() -> None:
    metrics = ok_metrics(run_fixture("deb", "wordcount")["dh-virtualenv"])
    assert metrics["ready"] == "exit" and metrics["startup_s"]["warm"]["n"] == 3
    assert metrics["remove"]["files_left"] == 0
