"""The driver's promise: every variant ends as exactly one record, whatever the strategy does."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from shipbench import driver, record, settings, strategies
from shipbench.errors import Failure, Skip
from shipbench.runner import run_app
from shipbench.strategies.base import Artifact, Context, Defaults

NO_TOOL = "no fake-tool here: apt-get install fake-tool"


class FakeStrategy(Defaults):
    """A strategy whose 'artifact' is a Python one-liner, so the driver and measurement run for real."""

    name = "fake"
    variants = ("never-ready", "build-breaks", "bug", "ready", "no-glib", "no-tool")
    quick_variant = "ready"
    rough_row_s = {"cli": 1.0, "window": 2.0, "torch": 3.0}
    summary = "for tests"
    family = "environment"
    isolation = "none (a test)"
    target_needs = "this Python"
    inputs = ("fake.cfg",)
    runs_on_host = True

    def __init__(self) -> None:
        self.built: list[str] = []

    def tool_versions(self) -> dict[str, str | None]:
        import os

        return {"fake-tool": os.environ.get("FAKE_TOOL_VERSION")}

    def variants_for(self, app) -> tuple[str, ...]:
        return self.variants

    def planned_steps(self, app) -> int:
        return 3

    def python_skip(self, key) -> str | None:
        return None  # its "artifact" runs on the interpreter running the tests, whatever the row's Python

    def planned_skip(self, app, key, profile: str) -> str | None:
        import os

        return NO_TOOL if key.variant == "no-tool" and os.environ.get("FAKE_PLAN_KNOWS") else None

    def build(self, ctx: Context) -> Artifact:
        self.built.append(ctx.key.variant)
        if ctx.key.variant == "no-tool":
            raise Skip(NO_TOOL)
        if ctx.key.variant == "build-breaks":
            raise Failure("the build failed", ["error: something went wrong", "last line"])
        if ctx.key.variant == "bug":
            raise KeyError("oops")
        if ctx.key.variant == "no-glib":  # what QtCore says where an administrator installed only python3-venv
            raise Failure("exit code 1: python -m app_gui --probe", [
                "Traceback (most recent call last):", "ImportError: libglib-2.0.so.0: cannot open shared object "
                "file: No such file or directory"])
        code = {
            "never-ready": "import time; time.sleep(1000)",  # never ready and never ends: its limit must expire
            "ready": "import json; print(json.dumps({'event': 'ready'}))",
        }[ctx.key.variant]
        ctx.metrics["size_bytes"] = 1
        ctx.build_dir.mkdir(parents=True, exist_ok=True)
        return Artifact(path=ctx.build_dir, kind="test", launcher=(sys.executable, "-c", code))

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        # never-ready never ends, so its limit expires whatever the load and may be short; a ready row only has to
        # end within its limit, which must be one no loaded machine misses (docs/tests.md)
        run = run_app([*artifact.launcher], timeout=2 if ctx.key.variant == "never-ready" else 120)
        seconds = run.ready_s or 0.0
        warm = {"median": seconds, "min": seconds, "max": seconds, "n": 1}
        ctx.metrics["startup_s"] = {"cold": seconds, "warm": warm}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setitem(strategies.STRATEGIES, "fake", FakeStrategy())
    monkeypatch.setenv("SHIPBENCH_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("SHIPBENCH_PROJECT", str(Path(__file__).resolve().parents[2]))
    # the stated figures, never this checkout's own records (test_row_estimates tests learning from records)
    monkeypatch.setattr(driver, "_peers", lambda results_dir, root: [])
    return tmp_path / "results"


def test_each_variant_ends_as_one_record(fake: Path) -> None:
    records = {r["variant"]: r for r in driver.run("fake", ["gui"], "3.12", results_dir=fake)}
    assert len(list(fake.glob("*.json"))) == len(FakeStrategy.variants) == len(records)
    assert records["never-ready"]["status"] == "failed"
    # (that a timed-out run keeps its output is test_runner's: here the tail of a Failure is build-breaks')
    assert records["never-ready"]["reason"].startswith('not ready (no {"event": "ready"} line) within 2 s')
    assert records["build-breaks"]["log_tail"][-1] == "last line"
    assert records["bug"]["reason"] == "shipbench error: KeyError: 'oops'"
    assert records["ready"]["status"] == "ok" and records["ready"]["metrics"]["startup_s"]["cold"] > 0


def test_skip_patterns_leave_a_skipped_record(fake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPBENCH_SKIP", "fake/never-*/gui, other/*")
    records = {r["variant"]: r for r in driver.run("fake", ["gui"], "3.12", variants=["never-ready", "ready"],
                                                    results_dir=fake)}
    assert records["never-ready"]["status"] == "skipped"
    assert "the skip setting (fake/never-*/gui)" in records["never-ready"]["reason"]
    assert records["ready"]["status"] == "ok"


def test_a_skip_pattern_may_name_the_python_too() -> None:
    key = record.Key("venv", "uv", "gui", "3.13")
    assert driver.skip_matches("venv/*/*/py3.13", key) and driver.skip_matches("venv/*/gui", key)
    assert not driver.skip_matches("venv/*/*/py3.12", key) and not driver.skip_matches("bake/*/gui", key)


def test_unknown_variant_is_a_usage_error(fake: Path) -> None:
    from shipbench.errors import UsageError

    with pytest.raises(UsageError, match="unknown variant"):
        driver.run("fake", ["gui"], "3.12", variants=["nope"], results_dir=fake)


# --- re-runs reuse what has not changed ------------------------------------------------------------------------------
@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, FakeStrategy]:
    """A project root of our own, whose app and strategy files a test may change."""
    root = tmp_path / "project"
    for app in ("app_gui", "app_dl"):
        (root / app / app).mkdir(parents=True)
        (root / app / "pyproject.toml").write_text(f"[project]\nname = '{app}'\n")
        (root / app / app / "__init__.py").write_text("VALUE = 1\n")
    (root / "fake.cfg").write_text("setting = 1\n")
    (root / "pyproject.toml").write_text('[tool.shipbench.apps.gui]\npath = "app_gui"\nmodule = "app_gui"\n'
                                         '[tool.shipbench.apps.dl]\npath = "app_dl"\nmodule = "app_dl"\n')
    strategy = FakeStrategy()
    monkeypatch.setitem(strategies.STRATEGIES, "fake", strategy)
    monkeypatch.setenv("SHIPBENCH_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("SHIPBENCH_PROJECT", str(root))
    monkeypatch.setattr(settings, "harness_root", lambda: root)  # the fake strategy's own file is fake.cfg here
    for name in ("SHIPBENCH_FRESH", "SHIPBENCH_SKIP", "SHIPBENCH_WARM_RUNS", "FAKE_TOOL_VERSION"):
        monkeypatch.delenv(name, raising=False)
    return root, strategy


def _ready(results: Path, **kwargs: object) -> dict:
    (rec,) = driver.run("fake", ["gui"], "3.12", variants=["ready"], results_dir=results, **kwargs)  # type: ignore[arg-type]
    return rec


def test_an_unchanged_row_is_reused_not_rebuilt(project: tuple[Path, FakeStrategy], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _root, strategy = project
    first = _ready(tmp_path / "results")
    again = _ready(tmp_path / "results")
    assert strategy.built == ["ready"]
    assert again["id"] == first["id"] and again["created"] == first["created"]
    assert again["reused"]["runs"] == 1 and again["reused"]["last"] >= first["created"]
    on_disk = record.read(tmp_path / "results" / record.Key("fake", "ready", "gui", "3.12").filename)
    assert on_disk is not None and on_disk["reused"]["runs"] == 1
    assert "reused" in capsys.readouterr().err


@pytest.mark.parametrize("change", ["app source", "strategy file", "tool version", "measuring setting"])
def test_a_changed_input_measures_the_row_again(project: tuple[Path, FakeStrategy], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    root, strategy = project
    first = _ready(tmp_path / "results")
    if change == "app source":
        (root / "app_gui" / "app_gui" / "__init__.py").write_text("VALUE = 2\n")
    elif change == "strategy file":
        (root / "fake.cfg").write_text("setting = 2\n")
    elif change == "tool version":
        monkeypatch.setenv("FAKE_TOOL_VERSION", "2.0")
    else:
        monkeypatch.setenv("SHIPBENCH_WARM_RUNS", "7")
    again = _ready(tmp_path / "results")
    assert strategy.built == ["ready", "ready"] and again["id"] != first["id"] and "reused" not in again


def test_what_cannot_change_a_row_does_not_measure_it_again(project: tuple[Path, FakeStrategy], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root, strategy = project
    _ready(tmp_path / "results")
    (root / "app_dl" / "app_dl" / "__init__.py").write_text("VALUE = 2\n")  # another app
    (root / "app_gui" / "app_gui" / "__pycache__").mkdir()
    (root / "app_gui" / "app_gui" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"bytecode")
    monkeypatch.setenv("SHIPBENCH_BUILD", str(tmp_path / "elsewhere"))  # where, not what
    _ready(tmp_path / "results")
    assert strategy.built == ["ready"]


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_fresh_measures_again(project: tuple[Path, FakeStrategy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              how: str) -> None:
    _root, strategy = project
    _ready(tmp_path / "results")
    if how == "argument":
        _ready(tmp_path / "results", fresh=True)
    else:
        monkeypatch.setenv("SHIPBENCH_FRESH", "1")
        _ready(tmp_path / "results")
    assert strategy.built == ["ready", "ready"]


def test_failed_rows_are_not_reused_and_repeated_variants_run_once(project: tuple[Path, FakeStrategy],
                                                                    tmp_path: Path) -> None:
    _root, strategy = project
    for _ in range(2):
        driver.run("fake", ["gui"], "3.12", variants=["build-breaks", "build-breaks"], results_dir=tmp_path / "r")
    assert strategy.built == ["build-breaks", "build-breaks"]


def test_a_skip_pattern_keeps_an_ok_record_whose_inputs_are_unchanged(project: tuple[Path, FakeStrategy],
                                                                       tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    first = _ready(tmp_path / "results")
    monkeypatch.setenv("SHIPBENCH_SKIP", "fake/*/*")
    kept = _ready(tmp_path / "results")
    assert kept["status"] == "ok" and kept["id"] == first["id"]


def test_a_skip_never_overwrites_an_ok_record_even_when_inputs_changed(project: tuple[Path, FakeStrategy],
                                                                      tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = _ready(tmp_path / "results")
    (project[0] / "fake.cfg").write_text("setting = 2\n")  # the row would be measured again...
    monkeypatch.setenv("SHIPBENCH_SKIP", "fake/*/*")  # ...but this run leaves it out
    skipped = _ready(tmp_path / "results")
    assert skipped["status"] == "skipped"
    kept = record.read(tmp_path / "results" / record.Key("fake", "ready", "gui", "3.12").filename)
    assert kept is not None and kept["status"] == "ok" and kept["id"] == first["id"]


def test_markup_in_user_text_is_printed_as_it_is(fake: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SHIPBENCH_SKIP", "fake[/x]ready/*")  # fnmatch: [/x] is one of / or x
    (rec,) = driver.run("fake", ["gui"], "3.12", variants=["ready"], results_dir=fake)
    assert rec["status"] == "skipped"
    assert "fake[/x]ready/*" in capsys.readouterr().err.replace("\n", "")


def test_an_apps_digest_is_the_same_in_every_process() -> None:
    """Another process (the main job after the integration tier) must compute the same digest for an unchanged
    app. A description has sets (capabilities): their order follows string hashing, which differs per process
    with PYTHONHASHSEED, so eight seeds must give one digest for the sample with two capabilities."""
    import os
    import subprocess

    root = Path(__file__).resolve().parents[2]
    code = ("from pathlib import Path; from shipbench import apps, inputs; "
            f"app = apps.get('dl', Path({str(root)!r})); assert len(app.capabilities) > 1; "
            "print(inputs.description_text(app))")
    texts = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                            env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in range(8)}
    assert len(texts) == 1, texts


def test_a_host_library_missing_on_this_host_skips_the_row_with_its_package(fake: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    records = {r["variant"]: r for r in driver.run("fake", ["gui"], "3.12", ["no-glib"], results_dir=fake)}
    rec = records["no-glib"]
    assert rec["status"] == "skipped"
    assert "libglib-2.0.so.0" in rec["reason"] and "apt-get install libglib2.0-0" in rec["reason"]
    # in a container or guest the same line is the image's or box's defect: failed, with the line
    monkeypatch.setattr(FakeStrategy, "runs_on_host", False)
    records = {r["variant"]: r for r in driver.run("fake", ["gui"], "3.12", ["no-glib"], results_dir=fake)}
    assert records["no-glib"]["status"] == "failed"


def test_an_apps_own_library_missing_from_its_bundle_is_no_host_skip() -> None:
    from shipbench import host_libraries

    assert host_libraries.missing_library(["libQt6XcbQpa.so.6: cannot open shared object file"]) is None
    assert host_libraries.missing_library(["./app: error while loading shared libraries: libGL.so.1: cannot open "
                                           "shared object file"]) == "libGL.so.1"


def test_failed_rows_are_results_unless_they_worked_before_or_are_ours(make_record) -> None:
    """The main job exited 1 on a fresh machine because a row that never worked failed (issue 22)."""
    never = make_record("failed", strategy="nuitka", variant="deploy")
    assert driver.exit_status([make_record(), make_record("skipped"), never])[0] == 0
    regressed = make_record("failed", strategy="pyinstaller", variant="onedir-default",
                            previously={"status": "ok", "created": "2026-01-01T00:00:00+00:00"})
    code, why = driver.exit_status([never, regressed])
    assert code == 1 and "pyinstaller/onedir-default" in why and "nuitka" not in why
    ours = make_record("failed", reason="shipbench error: KeyError: 'x'")
    assert driver.exit_status([ours])[0] == 1


def test_a_record_says_how_the_one_it_replaced_ended(fake: Path) -> None:
    driver.run("fake", ["gui"], "3.12", ["ready"], results_dir=fake, fresh=True)
    again = driver.run("fake", ["gui"], "3.12", ["ready"], results_dir=fake, fresh=True)
    assert again[0]["previously"]["status"] == "ok"


@pytest.mark.parametrize("what", ["emptied", "removed", "changed"])
def test_a_row_whose_artifact_is_gone_or_changed_is_measured_again_not_reused(
        project: tuple[Path, FakeStrategy], tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str) -> None:
    """A run killed in a --fresh rebuild left an empty dist/ and the last good record; the next plain run said
    "reused" over nothing and exited 0. The record keeps the artifact's fingerprint; reuse needs it unchanged."""
    _root, strategy = project
    first = _ready(tmp_path / "results")
    artifact = Path(first["artifact"]["path"])
    artifact = artifact if artifact.is_absolute() else _root / artifact
    assert first["artifact"]["fingerprint"].startswith("folder ")
    (artifact / "app.bin").write_bytes(b"built")  # what the row built, say
    if what == "emptied":  # a first build then emptied by a killed rebuild: the record's fingerprint is of the first
        first_again = _ready(tmp_path / "results", fresh=True)
        (artifact / "app.bin").unlink()
        assert first_again["artifact"]["fingerprint"] != first["artifact"]["fingerprint"]
    elif what == "removed":
        shutil.rmtree(artifact)
    else:
        _ready(tmp_path / "results", fresh=True)
        (artifact / "app.bin").write_bytes(b"built, then edited by hand")
    capsys.readouterr()
    again = _ready(tmp_path / "results")
    assert "reused" not in again and strategy.built[-1] == "ready" and len(strategy.built) >= 2
    said = capsys.readouterr().err
    assert ("is no longer there" if what == "removed" else "changed since it was measured") in said, said


def test_a_skip_the_plan_did_not_foresee_is_marked_and_said(fake: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from shipbench.reporting.tables import Report, problem_rows

    [rec] = driver.run("fake", ["gui"], "3.12", ["no-tool"], results_dir=fake)
    assert rec["status"] == "skipped" and rec["reason"] == NO_TOOL and record.skipped_unplanned(rec)
    err = " ".join(capsys.readouterr().err.split())
    assert "1 row(s) planned to run were skipped once they ran" in err and "estimates against" not in err, err
    report = Report(tables=[], records=[], not_ok=[rec], hosts=[], invalid=[], sources=[])
    assert problem_rows(report)[0][1] == "skipped once run (planned to run)"
    # known at plan time, the same skip is planned, and nothing is said of it
    monkeypatch.setenv("FAKE_PLAN_KNOWS", "1")
    [rec] = driver.run("fake", ["gui"], "3.12", ["no-tool"], results_dir=fake)
    assert rec["status"] == "skipped" and not record.skipped_unplanned(rec) and "planned" not in rec
    assert "skipped once they ran" not in " ".join(capsys.readouterr().err.split())


def test_a_run_ends_with_its_plans_total_against_the_rows_time(fake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [rec] = driver.run("fake", ["gui"], "3.12", ["ready"], results_dir=fake)
    assert rec["planned"]["estimate_s"] == FakeStrategy.rough_row_s["window"]
    said = " ".join(capsys.readouterr().err.split())  # as one line, however the console wrapped it
    assert "The plan's estimates against the rows' time: 1 row planned 2 s in all and took" in said, said
    # a second run reuses the row: it measured nothing, so it says nothing of the plan
    [again] = driver.run("fake", ["gui"], "3.12", ["ready"], results_dir=fake)
    said = " ".join(capsys.readouterr().err.split())
    assert again["id"] == rec["id"] and "estimates against" not in said, said
