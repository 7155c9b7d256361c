"""Nothing a run killed by SIGKILL made outlives the next run's start (issue 35): a run is killed during a build
(PyInstaller), during a service's start-up (venv) and during an image's run (bake), each seen leaving something
behind, and after the next run (`shipbench plan`) starts there is no process, no container, no temporary folder
left, and the row whose artifact the killed rebuild emptied is not reused. (What a run's start says it removed is
tested in tests/unit/test_run_leftovers.py: here another lane's run may start and clean up first.)

Each run is watched through what it makes, not through time: its token (run_leftovers.py) is in the environment of
everything it starts and on every container's label."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, HOST_DEPS, PYTHON, PYTHONS, ok_metrics, python_missing, requires, run_cli, run_fixture

from shipbench import docker, interpreters, run_leftovers
from shipbench.strategies.pyinstaller import shared_library_missing

pytestmark = [requires(python_missing(PYTHON), PYTHONS),
              pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="watched through /proc (Linux)")]
BOUND_S = 900  # how long a condition is waited for at most: a bound on a hung run, never a measure
NO_DOCKER = requires(docker.unavailable_reason(), "bash scripts/install-docker.sh")


def _wait_for(condition: Callable[[], object], what: str, run: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + BOUND_S
    while not condition():
        if run.poll() is not None:
            pytest.fail(f"the run ended (exit {run.returncode}) before {what}: {log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {BOUND_S} s")
        time.sleep(0.05)


def _carriers(token: str, word: str = "", launcher: bool = True) -> list[int]:
    """The processes whose environment holds the run's token (and whose command line holds `word`; `launcher`:
    shipbench's launcher of an app too, whose command line names the app before the app runs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"{run_leftovers.ENV}={token}".encode() in environ.split(b"\0") and word.encode() in cmdline \
                and (launcher or b"os.wait4" not in cmdline):
            found.append(int(entry.name))
    return found


def _containers(token: str) -> list[str]:
    listed = subprocess.run(["docker", "ps", "--all", "--quiet", "--filter", f"label={run_leftovers.LABEL}={token}"],
                            capture_output=True, text=True, check=False)
    return listed.stdout.split()


def _temp_folders(token: str) -> list[Path]:
    return sorted(Path("/tmp").glob(f"shipbench-*-{token}-*"))


def _start(tmp_path: Path, project: Path, *args: str) -> tuple[subprocess.Popen[str], str, Path]:
    """`shipbench run` in the background, its token (read while it runs: the pid and its start time) and its log."""
    log = tmp_path / "killed-run.log"
    with open(log, "w") as handle:
        run = subprocess.Popen([sys.executable, "-m", "shipbench", "run", *args, "--project", str(project),
                                "--python", PYTHON, "--profile", "quick", "--results", str(tmp_path / "results"),
                                "--build", str(tmp_path / "build")], stdout=handle, stderr=subprocess.STDOUT,
                               text=True)
    return run, run_leftovers.token(run.pid), log


def _killed(run: subprocess.Popen[str]) -> None:
    run.send_signal(signal.SIGKILL)
    run.wait()


def _next_run(tmp_path: Path, project: Path, *args: str) -> str:
    """`shipbench plan` over the same folders: the next run's start, its clean-up included; what it said."""
    done = run_cli("plan", *args, "--project", str(project), "--python", PYTHON, "--profile", "quick",
                   "--results", str(tmp_path / "results"), "--build", str(tmp_path / "build"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout + done.stderr


def _never_ready(tmp_path: Path) -> Path:
    """The ASGI fixture described as ready on a port it never opens: it is certainly still starting, as far as the
    run knows, when the run is killed (however loaded the host), so what the kill leaves never depends on time.
    An app name of its own: its image never replaces the kinds group's."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "asgiservice", project, ignore=shutil.ignore_patterns("build", "report", "results"))
    text = (project / "pyproject.toml").read_text()
    assert "ready = { port = 8731 }" in text
    text = text.replace("apps.asgiservice", "apps.neverready").replace("port = 8731", "port = 8799")
    (project / "pyproject.toml").write_text(text)
    return project


def _nothing_left(token: str) -> None:
    assert _carriers(token) == [], [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in _carriers(token)]
    assert _temp_folders(token) == []
    if docker.unavailable_reason() is None:
        assert _containers(token) == []


@requires(shared_library_missing(interpreters.find(PYTHON)) if not python_missing(PYTHON) else None, HOST_DEPS)
def test_a_run_killed_in_a_rebuild_leaves_no_builder_and_its_emptied_row_is_not_reused(tmp_path: Path) -> None:
    ok_metrics(run_fixture("pyinstaller", "hello", "--profile", "quick", base=tmp_path,
                           variants=("onedir-trimmed",))["onedir-trimmed"])
    run, token, log = _start(tmp_path, FIXTURES / "hello", "pyinstaller", "--variant", "onedir-trimmed", "--fresh")
    _wait_for(lambda: _carriers(token, "PyInstaller"), "PyInstaller building", run, log)
    with run_leftovers.cleanups_held():  # CI's other lane starts runs too: none cleans up before this is seen
        _killed(run)
        assert _carriers(token, "PyInstaller"), "the builder ended with its run: nothing to clean up"  # the defect
    said = _next_run(tmp_path, FIXTURES / "hello", "pyinstaller", "--variant", "onedir-trimmed")
    _nothing_left(token)  # removed by this run's start, or by another's started meanwhile (CI's other lane)
    assert "reused" not in said.lower() or "0 reused" in said.lower(), said
    assert "no longer there" in said or "changed since it was measured" in said, said


def test_a_run_killed_while_its_service_starts_leaves_no_service(tmp_path: Path) -> None:
    run, token, log = _start(tmp_path, _never_ready(tmp_path), "venv", "--variant", "uv")
    # the service itself, not its launcher (which ends by itself if its run dies before it has started the app)
    _wait_for(lambda: _carriers(token, "serve.py", launcher=False), "the service started", run, log)
    with run_leftovers.cleanups_held():
        _killed(run)
        assert _carriers(token, "serve.py", launcher=False), "the service ended with its run: nothing to clean up"
    said = _next_run(tmp_path, tmp_path / "project", "venv", "--variant", "uv")
    assert "Traceback" not in said, said
    _nothing_left(token)


@NO_DOCKER
def test_a_run_killed_while_its_image_runs_leaves_no_container_and_no_folder(tmp_path: Path) -> None:
    run, token, log = _start(tmp_path, _never_ready(tmp_path), "bake", "--variant", "cpu")
    _wait_for(lambda: _containers(token) and _temp_folders(token), "a container of the image running", run, log)
    with run_leftovers.cleanups_held():
        _killed(run)
        assert _containers(token) and _temp_folders(token)  # what the killed client leaves: the defect
    said = _next_run(tmp_path, tmp_path / "project", "bake", "--variant", "cpu")
    assert "Traceback" not in said, said
    _nothing_left(token)
