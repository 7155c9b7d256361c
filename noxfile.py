"""shipbench: a project's apps shipped every way, measured. `nox` runs every strategy, then the report.

The project is the folder `python3 noxw.py` was started from (SHIPBENCH_PROJECT): its pyproject.toml
describes the apps in [tool.shipbench] (this repository's describes the two samples). Each strategy session
writes one JSON record per (variant, app, python) under the project's results/; `report` turns all of them into
report/report.md and report/index.html. The work itself lives in shipbench/; this file only says which sessions
exist and what they run. On a machine with only its distribution's python3, `python3 noxw.py` brings nox along.
"""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "uv|virtualenv"
# the sessions' environments hold only the harness and test tools: keep them between runs (a repeated `nox`
# whose rows are all reused then takes seconds a session, not a fresh environment each)
nox.options.reuse_venv = "yes"
# the main job: every strategy this host supports, one plan for all of them, the report after each
nox.options.sessions = ["all"]

HERE = Path(__file__).parent
# the measured installers' versions, the same in every session (their file says why)
INSTALLERS = ("-c", str(HERE / "shipbench" / "tools" / "installers.txt"))


def ci(strategy: str) -> list[str]:
    """The session's tags: `strategies`; `ci:<os>` for each OS the strategy's module says it runs on (its `oses`);
    `ci-minutes:<n>`, its CI job's time limit (`ci_minutes`); `ci-pythons:<a>,<b>` where only some Pythons can
    make its rows (`ci_pythons`: a .deb is built for a Debian release's own python3). The workflow reads them
    through `nox --list --json` (scripts/ci_matrix.py), so what a strategy needs in CI is said once, in its module.
    Read with ast: this file runs where the harness's dependencies are not installed."""
    tree = ast.parse((HERE / "shipbench" / "strategies" / f"{strategy}.py").read_text(encoding="utf-8"))
    stated = {node.target.id: ast.literal_eval(node.value) for node in ast.walk(tree)
              if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None
              and node.target.id in ("oses", "ci_minutes", "ci_pythons")}
    if not {"oses", "ci_minutes"} <= set(stated):
        raise LookupError(f"shipbench/strategies/{strategy}.py states no `oses` or no `ci_minutes`")
    pythons = [f"ci-pythons:{','.join(stated['ci_pythons'])}"] if "ci_pythons" in stated else []
    return ["strategies", *(f"ci:{name}" for name in stated["oses"]), f"ci-minutes:{stated['ci_minutes']}", *pythons]


# Tags of single sessions, for CI: `ci-full` runs on pushes to main and the weekly schedule only, not for pull
# requests (a VM, the CUDA image); `ci-free-disk` gets the runner's unused toolchains removed first.
FULL_ONLY = "ci-full"
FREE_DISK = "ci-free-disk"
# the Pythons the fast tier is run on (`tests-on-X.Y`); what the strategies build for is the `python` setting
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


def _harness(session: nox.Session, *args: str) -> None:
    """Run the shipbench CLI in this session's environment; the command behind each record is the nox one.
    On Ctrl-C nox waits for it (not its default half second) so that the row's cleanup (a container, a VM, a
    build's own trap) runs and the interrupted row's record is written."""
    session.install("-e", ".", *INSTALLERS)
    typed = shlex.join(["nox", "-s", session.name, *(["--", *session.posargs] if session.posargs else [])])
    session.run("python", "-m", "shipbench", *args, env={"SHIPBENCH_COMMAND": typed},
                interrupt_timeout=120, terminate_timeout=30)


@nox.session(name="all")
def all_strategies(session: nox.Session) -> None:
    """The main job: a plan of every row, then every strategy, the report rewritten after each (the sessions below
    run one strategy each; `-- --profile quick` is the quick session)."""
    _harness(session, "run", "all", *session.posargs)


@nox.session
def quick(session: nox.Session) -> None:
    """A first answer in 10 minutes: one representative row per strategy and app, within a time budget (the
    cheapest of each kind of artifact first), no VM under software emulation, 3 warm start-ups, the report after
    each strategy (the profile setting's `quick`; `-- --time-budget none` measures every quick row)."""
    # 9 of the 10 minutes for the rows: the plan, the report after each strategy and the starts take about half a
    # minute of a run here (617 s of wall for 592 s of rows, 2026-12-07)
    _harness(session, "run", "all", "--profile", "quick", "--time-budget", "9m", *session.posargs)


@nox.session
def plan(session: nox.Session) -> None:
    """What the main job would do, without doing it: each row to measure, reuse or skip, its estimate, the total
    (`-- --profile quick` for the quick session's)."""
    _harness(session, "plan", "all", *session.posargs)


# Each strategy session runs every app of the project (`-- --app NAME` picks one) for each Python of the `python`
# setting (default: the one nox runs on; `-- --python 3.11,3.13` names others); posargs reach the harness, so
# every setting works as a flag too: `nox -s venv -- --warm-runs 3`.
@nox.session(tags=ci("venv"))
def venv(session: nox.Session) -> None:
    """Ship as a virtual environment: set up with uv, pip and tox-uv (cold and warm cache), start, measure."""
    _harness(session, "run", "venv", *session.posargs)


@nox.session(tags=ci("pyinstaller"))
@nox.parametrize("mode", ["onedir", "onefile"])
def pyinstaller(session: nox.Session, mode: str) -> None:
    """Ship as a frozen executable: PyInstaller default and trimmed specs, built on this OS, measured."""
    variants = [f"--variant={mode}-{profile}" for profile in ("default", "trimmed")]
    _harness(session, "run", "pyinstaller", *variants, *session.posargs)


@nox.session(tags=ci("locked"))
def locked(session: nox.Session) -> None:
    """Ship as a locked environment: uv lock, uv sync --frozen and pip from pylock.toml; reproducibility checked."""
    _harness(session, "run", "locked", *session.posargs)


@nox.session(tags=ci("deb"))
def deb(session: nox.Session) -> None:
    """Ship as a Debian package holding a venv (dh-virtualenv): built, apt-installed in a clean Debian, started."""
    _harness(session, "run", "deb", *session.posargs)


@nox.session(tags=ci("wheel"))
def wheel(session: nox.Session) -> None:
    """Ship as a wheel installed as a command-line tool: uv tool install and pipx, cold and warm cache, its shim."""
    _harness(session, "run", "wheel", *session.posargs)


@nox.session(tags=ci("zipapp"))
def zipapp(session: nox.Session) -> None:
    """Ship as one archive run by the target's Python: pex (--venv, packed) and shiv; cold and warm unpacking."""
    _harness(session, "run", "zipapp", *session.posargs)


@nox.session(tags=ci("nuitka"))
def nuitka(session: nox.Session) -> None:
    """Ship as a compiled executable: Nuitka standalone and onefile, trimmed, Qt apps also via pyside6-deploy."""
    _harness(session, "run", "nuitka", *session.posargs)


@nox.session(tags=ci("cxfreeze"))
def cxfreeze(session: nox.Session) -> None:
    """Ship as a frozen executable: cx_Freeze build_exe, default and trimmed."""
    _harness(session, "run", "cxfreeze", *session.posargs)


@nox.session(tags=ci("bake"))
@nox.parametrize("variant", ["cpu", "distroless", nox.param("cuda", tags=[FULL_ONLY, FREE_DISK])])
def bake(session: nox.Session, variant: str) -> None:
    """Ship as a container image: docker buildx bake (cold, warm), run offscreen, over X11, on the CPU and GPU."""
    _harness(session, "run", "bake", "--variant", variant, *session.posargs)


@nox.session(tags=[*ci("vagrant"), FULL_ONLY])
def vagrant(session: nox.Session) -> None:
    """Ship as a virtual machine: a box built from Debian packages, vagrant up, the app run in the guest, destroy."""
    _harness(session, "run", "vagrant", *session.posargs)


@nox.session(name="list")
def list_everything(session: nox.Session) -> None:
    """The strategies and their variants, the project's apps as read and every setting with where its value came
    from (the description, the environment, a flag, the default)."""
    _harness(session, "list", *session.posargs)


@nox.session
def report(session: nox.Session) -> None:
    """Read the project's records (results/ and its evidence folders) and write report/report.md and index.html."""
    _harness(session, "report", *session.posargs)


@nox.session
def compare(session: nox.Session) -> None:
    """Two runs row by row with a test on the raw samples (`-- BASE HEAD`, results folders); fails when a budget of
    [tool.shipbench.budgets] is broken by a significant change."""
    _harness(session, "compare", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The fast tier: unit tests, hermetic (no Docker, VM, browser or network; nothing read from build/)."""
    _unit_tests(session)


@nox.session(name="tests-on", python=PYTHONS)
def tests_on(session: nox.Session) -> None:
    """The fast tier on each supported Python found here (`-s tests-on-3.13`): it must hold on all of them."""
    _unit_tests(session)


def _unit_tests(session: nox.Session) -> None:
    session.install("-e", ".[test]", *INSTALLERS)
    session.run("pytest", "tests/unit", *session.posargs)


# one group per file prefix in tests/integration: test_<group>*.py
INTEGRATION = HERE / "tests" / "integration"
GROUPS = sorted({path.stem.split("_")[1] for path in INTEGRATION.glob("test_*.py")})


@nox.session
@nox.parametrize("group", GROUPS, ids=GROUPS)
def integration(session: nox.Session, group: str) -> None:
    """The integration tier: the real tools (uv, Qt, torch, PyInstaller, Docker, a VM, Chromium, a clean Debian)."""
    session.install("-e", ".[test]", *INSTALLERS)
    files = sorted(str(path) for path in INTEGRATION.glob(f"test_{group}*.py"))
    session.run("pytest", *files, *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site from docs/ (MkDocs with Material) into build/site/; any warning fails it."""
    session.install("mkdocs==1.6.1", "mkdocs-material==9.8.2")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy over the harness, the apps and the tests."""
    session.install("-e", ".", "ruff", "mypy", *INSTALLERS)
    session.run("ruff", "check", "shipbench", "app_gui", "app_dl", "pyinstaller", "scripts", "tests", "noxfile.py",
                "noxw.py")
    session.run("mypy", "shipbench")
