"""The README's two commands on fresh machines: clean Debian 12 and Debian 13 containers with nothing but python3,
as root and as a user with sudo.

Each image is Debian from packages (debootstrap --variant=minbase and `docker import`, by
scripts/build-base-image.sh; then python3, ca-certificates and sudo added by apt), so no registry is needed. The
checkout is copied in as a clone would have it (the files git tracks or would track), and inside the two commands
run exactly as the README writes them: first the tests, then the main job. noxw.py must install the host
packages (through sudo for the user) and its own nox; PEP 668 refuses any pip install into Debian's python3, so a
command that tried would fail here. Every strategy builds with the distribution's own Python (3.11 on Debian 12,
3.13 on Debian 13): the python setting's default.

Only this project's own hosts sit behind a TLS-intercepting proxy: the host's CA bundle is mounted and
SSL_CERT_FILE points at it. A user's machine needs neither.

What CI runs (its budget): Debian 13 as root and Debian 12 as a sudo user, each with the tests command and a main
job narrowed to app_gui and one variant of venv and PyInstaller, both tool installers (and locked on Debian 13):
the set-up as root and through sudo, the release's own Python, Python's shared library for the bundle (about 4
and 6 minutes here). The full check, every one of venv, locked, wheel, zipapp, PyInstaller, Nuitka and cx_Freeze
for app_gui on both releases (Debian 12 as root, Debian 13 as a sudo user), is marked beyond_ci: about 10 minutes
a release on 2 cores.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import HOST_DEPS, ROOT, requires, tool_missing

from shipbench import docker, host, record

ARTIFACTS = ROOT / "test-artifacts"  # the container's whole log, with each command's time
HOST_CA = "/etc/ssl/host-ca.pem"
# The README's commands, verbatim (test_the_readme_shows_these_commands keeps the two in step).
TESTS = "python3 noxw.py -s tests"
MAIN_JOB = "python3 noxw.py"
# app_dl needs torch, for which these containers have no wheel or index: its rows come out skipped, with the
# reason, and the test checks that they do. Left out by SHIPBENCH_SKIP besides (recorded as skipped, naming it):
FULL_SKIP = ("venv/pip/gui", "venv/tox-uv/gui", "locked/pylock/gui", "zipapp/pex-packed/gui", "zipapp/shiv/gui",
             "pyinstaller/onefile-*/gui", "pyinstaller/onedir-trimmed/gui", "nuitka/standalone-trimmed/gui",
             "nuitka/onefile-trimmed/gui", "nuitka/deploy/gui", "cxfreeze/trimmed/gui")
CI_SKIP = (*FULL_SKIP, "zipapp/*/gui", "cxfreeze/*/gui", "nuitka/*/gui")
FULL_STRATEGIES = ("venv", "locked", "wheel", "zipapp", "pyinstaller", "nuitka", "cxfreeze")


@dataclass(frozen=True)
class Machine:
    suite: str
    python: str  # the release's own python3
    release: str  # as /etc/os-release names it
    user: str  # "root", or a user with sudo
    skip: tuple[str, ...]
    strategies: tuple[str, ...]  # those that must have an ok app_gui row
    job: str = MAIN_JOB  # what runs after the tests command (QUICK: the quick session alone, no tests first)

    @property
    def name(self) -> str:
        return f"{self.suite}-{self.user}"


MACHINES = {
    "debian-13-root": Machine("trixie", "3.13", "Debian GNU/Linux 13", "root", CI_SKIP,
                              ("venv", "locked", "wheel", "pyinstaller")),
    "debian-12-sudo": Machine("bookworm", "3.11", "Debian GNU/Linux 12", "dev", (*CI_SKIP, "locked/*/gui"),
                              ("venv", "wheel", "pyinstaller")),
}
FULL = {
    "debian-12-full": Machine("bookworm", "3.11", "Debian GNU/Linux 12", "root", FULL_SKIP, FULL_STRATEGIES),
    "debian-13-full": Machine("trixie", "3.13", "Debian GNU/Linux 13", "dev", FULL_SKIP, FULL_STRATEGIES),
}
# The quick session on a fresh Debian 13 without Docker: both samples within its time budget, its plan against the
# wall (issue 36: under 10 minutes). The log's laps give the set-up's and the run's time apart.
QUICK = "python3 noxw.py -s quick"
QUICK_MACHINE = Machine("trixie", "3.13", "Debian GNU/Linux 13", "root", (), (), QUICK)
_WHY_FULL = ("every strategy's app_gui row on the release's own Python: ~10 min a release here; CI runs Debian 13 "
             "as root and Debian 12 as a sudo user with venv and PyInstaller (and locked on 13)")
CASES = [*(pytest.param(m, id=name) for name, m in MACHINES.items()),
         *(pytest.param(m, id=name, marks=pytest.mark.beyond_ci(_WHY_FULL)) for name, m in FULL.items())]

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


def _run(machine: Machine, folder: Path) -> dict[str, object]:
    image = docker.build_base(machine.suite, f"shipbench/fresh:{machine.suite}-sudo", ROOT,
                              "python3,ca-certificates,sudo")
    checkout = folder / "shipbench"
    _clone(checkout)
    ca = host.ca_bundle()
    mounts = ["-v", f"{checkout}:/src/shipbench"] + (["-v", f"{ca}:{HOST_CA}:ro"] if ca else [])
    certs = f"SSL_CERT_FILE={HOST_CA} PIP_CERT={HOST_CA} " if ca else ""
    # each command timed; the two commands as the README has them, the main job narrowed by SHIPBENCH_SKIP
    timed = 'lap() { echo "fresh-machine: $1 took $(( $(date +%s) - t )) s"; t=$(date +%s); }; t=$(date +%s)'
    tests = f"{TESTS} && lap tests && " if machine.job == MAIN_JOB else ""
    commands = (f"{timed}; set -x; cd /src/shipbench && {tests}SHIPBENCH_SKIP='"
                f"{','.join(machine.skip)}' {machine.job} && lap '{machine.job}'")
    if machine.user == "root":
        script = f"export {certs}; {commands}" if certs else commands
    else:  # a user who may use sudo (what an administrator gives a developer), in a home of their own
        user = machine.user
        script = (f"useradd --create-home --shell /bin/bash {user} && echo '{user} ALL=(ALL) NOPASSWD:ALL' "
                  f"> /etc/sudoers.d/{user} && chown -R {user}: /src/shipbench && "
                  f"runuser -u {user} -- env HOME=/home/{user} {certs}bash -c {_quote(commands)}")
    result = subprocess.run(["docker", "run", "--rm", *mounts, "--env=LANG=C.UTF-8", image, "bash", "-c", script],
                            capture_output=True, text=True, timeout=3600, check=False)
    log = result.stdout + result.stderr
    ARTIFACTS.mkdir(exist_ok=True)
    suffix = "-quick" if machine.job == QUICK else ""
    (ARTIFACTS / f"fresh-machine-{machine.name}{suffix}.log").write_text(log, encoding="utf-8")
    records = [json.loads(path.read_text()) for path in sorted((checkout / "results").glob("*.json"))]
    return {"result": result, "checkout": checkout, "log": log, "records": records}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


_RUNS: dict[str, dict[str, object]] = {}


@pytest.fixture(params=CASES)
def fresh_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Machine, dict]:
    machine: Machine = request.param
    if machine.name not in _RUNS:
        _RUNS[machine.name] = _run(machine, tmp_path_factory.mktemp(machine.name))
    return machine, _RUNS[machine.name]


def test_the_readme_shows_these_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"\n{TESTS}\n" in readme and f"\n{MAIN_JOB}\n" in readme


def test_both_commands_exit_0(fresh_run: tuple[Machine, dict]) -> None:
    machine, run = fresh_run
    result = run["result"]
    assert result.returncode == 0, str(run["log"])[-6000:]
    log = str(run["log"])
    assert "externally-managed-environment" not in log and "break-system-packages" not in log
    assert " passed" in log  # pytest's closing line from the tests command
    assert log.count("install-host-deps: installing") == 1  # the main job found them installed
    assert log.count("noxw: making the tool environment") == 1


def test_every_strategy_that_needs_only_the_set_up_is_ok_on_the_releases_python(
        fresh_run: tuple[Machine, dict]) -> None:
    machine, run = fresh_run
    records = run["records"]
    assert isinstance(records, list)
    gui = [r for r in records if r["app"] == "gui" and "left out of this run" not in str(r["reason"])]
    ok = {r["strategy"] for r in gui if r["status"] == "ok"}
    assert all(r["python"] == machine.python for r in records), {r["python"] for r in records}
    assert set(machine.strategies) <= ok, [(r["strategy"], r["variant"], r["reason"]) for r in gui
                                           if r["status"] != "ok"]
    assert not [r for r in gui if r["status"] == "failed"], [(r["strategy"], r["variant"], r["reason"]) for r in gui]
    # every skip was known before the first build (no Docker, no Vagrant, no torch wheel here): the plan was true
    assert not [_name(r) for r in records if record.skipped_unplanned(r)]
    assert machine.release in gui[0]["host"]["os_release"]
    dl = next(r for r in records if (r["strategy"], r["variant"], r["app"]) == ("venv", "uv", "dl"))
    assert dl["status"] == "skipped" and "SHIPBENCH_TORCH" in dl["reason"]
    for strategy in ("bake", "vagrant"):
        skipped = [r for r in records if r["strategy"] == strategy and not r["variant"].endswith("-gpu")]
        assert skipped and all(r["status"] == "skipped" and "scripts/install-" in r["reason"] for r in skipped)
    checkout = run["checkout"]
    assert isinstance(checkout, Path)
    report = (checkout / "report" / "report.md").read_text(encoding="utf-8")
    assert f"Overview (Python {machine.python})" in report


def _name(rec: dict) -> str:
    return f"{rec['strategy']}/{rec['variant']} {rec['app']}: {rec['reason']}"


@pytest.mark.beyond_ci("the quick session of both samples in a fresh Debian 13 container: about 10 minutes of "
                       "rows plus the set-up; CI's fresh machines run the main job, which checks the same plan")
def test_a_quick_run_on_a_fresh_machine_plans_what_it_runs(tmp_path: Path) -> None:
    run = _run(QUICK_MACHINE, tmp_path)
    result = run["result"]
    assert isinstance(result, subprocess.CompletedProcess) and result.returncode == 0, str(run["log"])[-6000:]
    records = run["records"]
    assert isinstance(records, list) and any(r["status"] == "ok" for r in records)
    assert all(r["profile"] == "quick" for r in records)
    assert not [_name(r) for r in records if r["status"] == "failed"]
    assert not [_name(r) for r in records if record.skipped_unplanned(r)]
