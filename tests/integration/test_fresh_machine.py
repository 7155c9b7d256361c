"""The README's two commands on a fresh machine: a clean Debian 12 container with nothing but python3.

The image is Debian 12 from packages (debootstrap --variant=minbase and `docker import`, by
scripts/build-base-image.sh; then python3 and ca-certificates added by apt), so no registry is needed. The
checkout is copied in as a clone would have it (the files git tracks or would track), and inside, as root, the
two commands run exactly as the
README writes them: first the tests, then the main job. noxw.py must install the host packages and its own nox;
PEP 668 refuses any pip install into Debian's python3, so a command that tried would fail here.

Only this project's own hosts sit behind a TLS-intercepting proxy: the host's CA bundle is mounted and
SSL_CERT_FILE points at it. A user's machine needs neither. The main job runs with rows left out by
SHIPBENCH_SKIP (as CI's does) so the test stays within minutes; Docker and Vagrant rows are skipped anyway, since
the container has neither. Takes about 8 minutes on 2 cores, most of it apt, PyPI downloads and one PyInstaller
build.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import HOST_DEPS, ROOT, requires, tool_missing

from shipbench import docker, host

IMAGE = "shipbench/fresh:bookworm"
ARTIFACTS = ROOT / "test-artifacts"  # the container's whole log, with each command's time
HOST_CA = "/etc/ssl/host-ca.pem"
# The README's commands, verbatim (test_the_readme_shows_these_commands keeps the two in step).
TESTS = "python3 noxw.py -s tests"
MAIN_JOB = "python3 noxw.py"
# left out of the main job here: the bundles other than one onedir GUI (each takes minutes; the pyinstaller
# integration tests build them all). app_dl rows need torch, which this container has no wheel or index for: they
# must come out skipped with the reason, and the test checks that they do.
SKIP = "pyinstaller/onefile-*/*,pyinstaller/onedir-trimmed/*,nuitka/*/*,cxfreeze/*/*,zipapp/*/*"

pytestmark = [requires(docker.unavailable_reason(), "bash scripts/install-docker.sh"),
              requires(tool_missing("debootstrap"), HOST_DEPS)]


def _clone(destination: Path) -> None:
    """The checkout as a clone has it: tracked files and new ones git does not ignore (no build/, no .nox)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    docker.build_base("bookworm", IMAGE, ROOT, "python3,ca-certificates")
    checkout = tmp_path_factory.mktemp("fresh") / "shipbench"
    _clone(checkout)
    ca = host.ca_bundle()
    mounts = ["-v", f"{checkout}:/src/shipbench"] + (["-v", f"{ca}:{HOST_CA}:ro"] if ca else [])
    certs = ["-e", f"SSL_CERT_FILE={HOST_CA}", "-e", f"PIP_CERT={HOST_CA}"] if ca else []
    # each command timed; the tests command a second time at the end: it must install nothing again
    timed = 'lap() { echo "fresh-machine: $1 took $(( $(date +%s) - t )) s"; t=$(date +%s); }; t=$(date +%s)'
    script = (f"{timed}; set -x; {TESTS} && lap tests && SHIPBENCH_SKIP='{SKIP}' {MAIN_JOB} && lap 'main job' "
              f"&& {TESTS} && lap 'tests again'")
    result = subprocess.run(["docker", "run", "--rm", *mounts, *certs, "-w", "/src/shipbench", IMAGE, "bash", "-c",
                             script], capture_output=True, text=True, timeout=1800, check=False)
    log = result.stdout + result.stderr
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fresh-machine.log").write_text(log, encoding="utf-8")
    return {"result": result, "checkout": checkout, "log": log}


def test_the_readme_shows_these_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"\n{TESTS}\n" in readme and f"\n{MAIN_JOB}\n" in readme


def test_both_commands_pass_on_a_fresh_debian_12(fresh_run: dict[str, object]) -> None:
    result = fresh_run["result"]
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 0, str(fresh_run["log"])[-6000:]
    log = str(fresh_run["log"])
    assert "externally-managed-environment" not in log and "break-system-packages" not in log
    assert " passed" in log  # pytest's closing line from the tests command


def test_the_main_job_measured_and_reported(fresh_run: dict[str, object]) -> None:
    checkout = fresh_run["checkout"]
    assert isinstance(checkout, Path)
    records = [json.loads(path.read_text()) for path in sorted((checkout / "results").glob("*.json"))]
    rows = {(r["strategy"], r["variant"], r["app"], r["python"]): r for r in records}
    for installer in ("uv", "pip", "tox-uv"):
        assert rows[("venv", installer, "gui", "3.11")]["status"] == "ok", rows[("venv", installer, "gui", "3.11")]
    bundle = rows[("pyinstaller", "onedir-default", "gui", "3.11")]
    assert bundle["status"] == "ok", bundle["reason"]  # libpython3.11 came with the host set-up
    assert "Debian GNU/Linux 12" in bundle["host"]["os_release"]
    locked = rows[("locked", "uv-sync", "gui", "3.11")]
    assert locked["status"] == "ok" and locked["metrics"]["reproducibility"]["status"] == "same", locked["reason"]
    dl = rows[("venv", "uv", "dl", "3.11")]
    assert dl["status"] == "skipped" and "SHIPBENCH_TORCH" in dl["reason"]
    for strategy in ("bake", "vagrant"):
        skipped = [r for r in records if r["strategy"] == strategy and not r["variant"].endswith("-gpu")]
        assert skipped and all(r["status"] == "skipped" and "scripts/install-" in r["reason"] for r in skipped)
    assert (checkout / "report" / "index.html").stat().st_size > 0


def test_a_second_run_installs_nothing_again(fresh_run: dict[str, object]) -> None:
    log = str(fresh_run["log"])
    assert log.count("install-host-deps: installing") == 1
    assert log.count("noxw: making the tool environment") == 1
