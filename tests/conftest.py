from __future__ import annotations

import contextlib
import copy
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipbench import record

ROOT = Path(__file__).resolve().parents[1]
# apps not shaped like the samples, each a project of its own with a [tool.shipbench] description
FIXTURES = ROOT / "tests" / "fixtures"


def documentation() -> str:
    """The README and every page of docs/, as one text: what a test checks the documentation says."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(page.read_text(encoding="utf-8") for page in pages)


@pytest.fixture(autouse=True)
def hermetic_unit_tier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                       tmp_path_factory: pytest.TempPathFactory) -> None:
    """The fast tier (tests/unit) never reaches the network, whatever the host can reach: PyTorch's index is not
    asked there (tests that need an answer pass their own `answers`); nor does it see the host's other shipbench
    runs in the process table (tests that need some pass their own /proc); nor the checkout's build/ folder,
    where a real run beside it (CI's other lane) may hold a row's lock (tests may set their own)."""
    if ROOT / "tests" / "unit" in Path(request.node.path).parents:
        from shipbench import active_runs, torch_source

        monkeypatch.setenv("SHIPBENCH_BUILD", str(tmp_path_factory.mktemp("build")))
        monkeypatch.setattr(torch_source, "index_answers", lambda url: False)
        real_scan = active_runs._runs_in_process_table
        monkeypatch.setattr(active_runs, "_runs_in_process_table",
                            lambda proc: [] if proc == Path("/proc") else real_scan(proc))


@pytest.fixture
def make_record() -> Any:
    """A valid record to start from; tests change what they are about."""

    def make(status: str = "ok", **changes: Any) -> dict[str, Any]:
        key = record.Key(changes.pop("strategy", "venv"), changes.pop("variant", "uv"), changes.pop("app", "gui"),
                         changes.pop("python", "3.12"), changes.pop("os", "linux"), changes.pop("arch", "x86_64"))
        rec = record.new_record(key, command="nox -s test")
        rec["status"] = status
        rec["reason"] = None if status == "ok" else f"{status} for a test"
        if status == "ok":
            rec["metrics"] = copy.deepcopy({
                "size_bytes": 250_000_000,
                "setup_s": {"cold": 3.0, "warm": 1.0},
                "startup_s": {"cold": 0.3, "warm": {"median": 0.2, "min": 0.15, "max": 0.25, "n": 5}},
                "peak_rss_bytes": 80_000_000,
            })
        rec.update(changes)
        return rec

    return make


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """shipbench as a user runs it. When the test is stopped (pytest-timeout, Ctrl-C) shipbench gets SIGTERM and
    time to unwind, as from nox, so that its VM is destroyed and its containers removed: subprocess.run would
    SIGKILL it and leave a running guest behind (seen: a VM still up after a timed-out test)."""
    proc = subprocess.Popen([sys.executable, "-m", "shipbench", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env={**os.environ, **(env or {})})
    try:
        out, err = proc.communicate(timeout=1800)
    except BaseException:
        proc.terminate()
        try:
            proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write to: chmod for ordinary users, a read-only tmpfs for root (root ignores modes)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True,
                             check=False)
    if mounted.returncode != 0:
        pytest.skip(f"root without mount rights cannot make a read-only folder: {mounted.stderr!r}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def requires(reason: str | None, install: str) -> pytest.MarkDecorator:
    """Integration tests drive real host tools; without one a test is skipped, naming the tool and its install.

    `reason` is why the tool cannot be used here (None: it can); `install` the command that provides it.
    """
    return pytest.mark.skipif(reason is not None, reason=f"{reason}; to install: {install}")


def python_missing(version: str) -> str | None:
    """Why pythonX.Y cannot be used here, or None."""
    from shipbench import interpreters
    from shipbench.errors import Skip

    try:
        interpreters.find(version)
    except Skip as skip:
        return skip.reason
    return None


def tool_missing(*tools: str) -> str | None:
    import shutil

    missing = [tool for tool in tools if shutil.which(tool) is None]
    return f"{', '.join(missing)} not on PATH" if missing else None


HOST_DEPS = "bash scripts/install-host-deps.sh"
PYTHONS = "put pythonX.Y on PATH (README: Which Pythons; here: source scripts/pythons-on-path.sh)"
TORCH = "a CPU torch source: SHIPBENCH_TORCH (README: Where torch comes from)"


def torch_missing(python: str = "3.11") -> str | None:
    """Why no CPU torch can be had for pythonX.Y here (the same rule the strategies apply), or None."""
    from shipbench import torch_source
    from shipbench.errors import Skip

    try:
        torch_source.for_this_host(python)
    except Skip as skip:
        return skip.reason
    return None


# The Python the integration tier builds and measures with (the rows the main job at the end of .ci/run reuses).
PYTHON = "3.11"
# Rows that several tests inspect are measured once per CI run, by the same `shipbench run` a user types, into
# folders every integration group shares: the samples' into the checkout's own results/ and build/ (so that the
# main job at the end of .ci/run finds them and reuses each row whose inputs are unchanged), each fixture app's into
# build/integration/<app>/. The driver's reuse is the cache: a row asked for again with the same inputs (the
# digest of inputs.py) is answered from its record in a second; `SHIPBENCH_FRESH=1` measures them all again.
SHARED = ROOT / "build" / "integration"


def run_rows(strategy: str, project: Path, results: Path, build: Path, *args: str, app: str | None = None,
             variants: tuple[str, ...] = (), python: str = PYTHON) -> dict[str, Any]:
    """Run one strategy (only `variants`, if given) for a project's app: its records by variant; the log on failure."""
    chosen = [f"--variant={variant}" for variant in variants] + (["--app", app] if app else [])
    result = run_cli("run", strategy, "--project", str(project), "--python", python, "--results", str(results),
                     "--build", str(build), *chosen, *args)
    records, invalid = record.load_all([results])
    assert not invalid, invalid
    found = {r["variant"]: r for r in records if r["strategy"] == strategy and r["python"] == python
             and (app is None or r["app"] == app) and (not variants or r["variant"] in variants)}
    assert found and result.returncode in (0, 1), result.stdout[-3000:] + result.stderr[-3000:]
    return found


def sample_warm_runs() -> int:
    """The warm start-ups each sample row makes: the main job's setting (environment, pyproject.toml, default)."""
    from shipbench import settings

    settings.set_command_line({}, project=ROOT)
    return settings.warm_runs()


def run_sample(strategy: str, app: str, *variants: str) -> dict[str, Any]:
    """A sample app's rows in the checkout's own results/ and build/, with the main job's settings."""
    return run_rows(strategy, ROOT, ROOT / "results", ROOT / "build", app=app, variants=variants)


def run_fixture(strategy: str, fixture: str, *args: str, base: Path | None = None, project: Path | None = None,
                variants: tuple[str, ...] = ()) -> dict[str, Any]:
    """A fixture app's rows (3 warm runs): in the shared build/integration/<fixture>/, or in `base` for a test whose
    project or settings are its own."""
    folder = base or SHARED / fixture
    return run_rows(strategy, project or FIXTURES / fixture, folder / "results", folder / "build", "--warm-runs", "3",
                    *args, variants=variants)


def fixture_results(fixture: str) -> Path:
    return SHARED / fixture / "results"


def fixture_build(fixture: str) -> Path:
    return SHARED / fixture / "build"


def ok_metrics(rec: dict[str, Any]) -> dict[str, Any]:
    assert rec["status"] == "ok", f"{rec['reason']}\n" + "\n".join(rec.get("log_tail", []))
    metrics: dict[str, Any] = rec["metrics"]
    return metrics


@pytest.fixture
def full_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder on a 64 KB tmpfs that is already full (root only: skipped where nothing can be mounted)."""
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True,
                             check=False)
    if mounted.returncode != 0:
        pytest.skip(f"a full folder needs a tmpfs mount (root): {mounted.stderr!r}")
    try:
        with contextlib.suppress(OSError), open(folder / "filler", "wb") as filler:
            filler.write(b"\0" * 128 * 1024)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
