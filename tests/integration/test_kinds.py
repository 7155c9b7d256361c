"""Kinds of app not shaped like the samples (issue 33), each a fixture of its own through the rows that prove it:
a script with no dependencies at all, an ASGI service (uvicorn, ready on its port) and a WSGI one (a dependency's
command serving it, ready on a logging line), measured under load and stopped with nothing left running, and a
torch training script reading a data file, trimmed. Windows of three more kinds are in test_windows.py.

CI runs the quick profile of each row here (no portability check, no baseline: the samples' rows prove those);
`nox -s integration` runs the torch script's trimmed bundle too (beyond_ci)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from conftest import HOST_DEPS, PYTHONS, TORCH, ok_metrics, python_missing, requires, run_fixture, torch_missing

from shipbench import docker, interpreters, runner
from shipbench.strategies.pyinstaller import shared_library_missing

QUICK = ("--profile", "quick")
NO_DOCKER = requires(docker.unavailable_reason(), "bash scripts/install-docker.sh")


def _libpython_missing() -> str | None:
    return python_missing("3.11") or shared_library_missing(interpreters.find("3.11"))


pytestmark = [requires(python_missing("3.11"), PYTHONS)]
FROZEN = requires(None if python_missing("3.11") else _libpython_missing(), HOST_DEPS)


def _nothing_left(port: int, script: str) -> None:
    """No process of the service and no container of this harness's starts are left, and the port is free."""
    assert not runner.port_accepts(port), f"something still listens on 127.0.0.1:{port}"
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert not [line for line in processes.splitlines() if script in line and "pytest" not in line], processes
    if docker.unavailable_reason() is None:
        left = subprocess.run(["docker", "ps", "--all", "--quiet", "--filter", f"label={docker.START_LABEL}"],
                              capture_output=True, text=True, check=False).stdout
        assert not left.strip(), f"containers left: {left}"


def _service_figures(metrics: dict[str, Any]) -> None:
    assert metrics["throughput_unit"] == "requests/s" and metrics["throughput"]["median"] > 0
    assert metrics["throughput"]["n"] == len(metrics["http"]["completed"])
    assert 0 < metrics["latency_ms"]["p50"]["median"] <= metrics["latency_ms"]["p99"]["median"]
    assert metrics["startup_s"]["warm"]["n"] == 3


# --- a script and nothing else -----------------------------------------------------------------------------------
@FROZEN
def test_a_script_with_no_dependencies_ships_as_a_venv_a_zipapp_and_a_bundle() -> None:
    for strategy, variant in (("venv", "uv"), ("zipapp", "shiv"), ("pyinstaller", "onedir-trimmed")):
        metrics = ok_metrics(run_fixture(strategy, "hello", *QUICK, variants=(variant,))[variant])
        assert metrics["ready"] == "exit" and metrics["startup_s"]["warm"]["median"] > 0


@NO_DOCKER
def test_a_script_with_no_dependencies_gets_an_image() -> None:
    """Issue 33: it was skipped, 'declares its dependencies dynamically', though it declares none."""
    rec = run_fixture("bake", "hello", *QUICK, variants=("cpu",))["cpu"]
    assert ok_metrics(rec)["ready"] == "exit" and rec["versions"]["image_user"] == "app"


# --- services ------------------------------------------------------------------------------------------------------
def test_an_asgi_service_is_ready_on_its_port_loaded_and_stopped_in_a_venv() -> None:
    metrics = ok_metrics(run_fixture("venv", "asgiservice", *QUICK, variants=("uv",))["uv"])
    assert metrics["ready"] == "port"
    _service_figures(metrics)
    assert metrics["http"]["request"] == "GET /items?limit=5"
    _nothing_left(8731, "serve.py")


@NO_DOCKER
def test_an_asgi_service_in_its_image_is_loaded_and_its_container_removed() -> None:
    """The container shares the host's network (its port on loopback is the host's) and runs under an init, so
    that SIGTERM reaches uvicorn; nothing of it is left."""
    rec = run_fixture("bake", "asgiservice", *QUICK, variants=("cpu",))["cpu"]
    _service_figures(ok_metrics(rec))
    _nothing_left(8731, "serve.py")


@FROZEN
def test_a_wsgi_service_served_by_a_dependencys_command_is_frozen_with_its_hidden_import() -> None:
    """waitress-serve imports "wsgishop:app" by name: the description's hidden import puts it in the bundle,
    and the missing-modules check finds none of the app's own missing."""
    rec = run_fixture("pyinstaller", "wsgiservice", *QUICK, variants=("onedir-trimmed",))["onedir-trimmed"]
    metrics = ok_metrics(rec)
    assert metrics["ready"] == "pattern"
    _service_figures(metrics)
    assert metrics["missing_modules"]["own"] == []
    _nothing_left(8732, "waitress-serve")


# --- torch, trimmed ------------------------------------------------------------------------------------------------
@FROZEN
@requires(torch_missing(), TORCH)
@pytest.mark.beyond_ci("the torch script's trimmed bundle: torch frozen twice (cold, warm), ~5 min here; in CI the "
                       "unit tier proves the rule that keeps libtorch_global_deps.so (test_trimming.py) and "
                       "app_dl's venv and image rows run torch")
def test_a_torch_script_reading_a_data_file_survives_the_trimmed_bundle() -> None:
    """Issue 33: every torch app's trimmed bundle failed with libtorch_global_deps.so: cannot open shared object
    file (loaded with ctypes, which no library links, so it was dropped as an orphan)."""
    rec = run_fixture("pyinstaller", "torchfit", *QUICK, variants=("onedir-trimmed",))["onedir-trimmed"]
    metrics = ok_metrics(rec)
    assert metrics["throughput"]["median"] > 0 and metrics["missing_modules"]["own"] == []
