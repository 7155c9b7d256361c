"""Images of apps not shaped like the samples, from the generated bake file and the one parameterised
Dockerfile: a setuptools project with a console script, a silent Qt app (the probe mounted, never built in),
a script with a requirements file."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from conftest import ok_metrics, requires, run_fixture

from shipbench import docker

pytestmark = requires(docker.unavailable_reason(), "bash scripts/install-docker.sh")


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, Any]]:
    names = ("wordcount", "quietwindow", "trainer")
    return {name: run_fixture("bake", name, variants=("cpu",))["cpu"] for name in names}


@pytest.mark.parametrize("name", ["wordcount", "trainer"])
def test_a_console_script_and_a_script_with_data_run_from_a_distroless_image(
        rows: dict[str, dict[str, Any]], name: str) -> None:
    """No shell to run the start command: docker/app-start.py starts wordcount by its entry point and trainer
    from /app (its sibling module, labels.txt beside it, settings.ini in its folder, numpy's own libraries)."""
    rec = run_fixture("bake", name, variants=("distroless",))["distroless"]
    metrics, cpu = ok_metrics(rec), ok_metrics(rows[name])
    assert metrics["shell"] is False and cpu["shell"] is True
    assert 0 < metrics["debian_packages"] < cpu["debian_packages"] and metrics["size_bytes"] < cpu["size_bytes"]
    assert rec["versions"]["image_user"] == "app"
    if name == "trainer":
        assert metrics["throughput"]["median"] > 0


@pytest.mark.parametrize("name", ["wordcount", "quietwindow", "trainer"])
def test_each_fixture_image_builds_runs_and_runs_unprivileged(rows: dict[str, dict[str, Any]], name: str) -> None:
    metrics = ok_metrics(rows[name])
    assert metrics["setup_s"]["warm"] < metrics["setup_s"]["cold"]  # a code change rebuilds one small layer
    assert rows[name]["versions"]["image_user"] not in ("", "root", "0")
    assert {f["path"] for f in rows[name]["maintained_files"]} == {"app.Dockerfile", "docker-bake.hcl", "app.hcl"}


def test_the_silent_qt_app_is_seen_in_the_container_and_over_x11(rows: dict[str, dict[str, Any]]) -> None:
    metrics = ok_metrics(rows["quietwindow"])
    assert metrics["ready"] == "first-frame" and metrics["screenshot"]
    assert metrics["x11"]["status"] in ("ok", "skipped")


def test_the_probe_is_not_in_the_image(rows: dict[str, dict[str, Any]]) -> None:
    tag = rows["quietwindow"]["artifact"]["path"]
    # any sitecustomize.py carrying the probe's switch, wherever it was put (mounted only while measuring)
    found = subprocess.run(["docker", "run", "--rm", "--entrypoint", "sh", tag, "-c",
                            "find / -xdev -name 'sitecustomize*.py' -exec grep -l SHIPBENCH_FIRST_FRAME {} + "
                            "2>/dev/null; echo searched"], capture_output=True, text=True, check=False).stdout
    assert found.strip() == "searched"


def test_the_script_app_throughput_in_the_container(rows: dict[str, dict[str, Any]]) -> None:
    metrics = ok_metrics(rows["trainer"])
    assert metrics["throughput"]["n"] == 3 and metrics["throughput_ratio_to_baseline"] > 0
