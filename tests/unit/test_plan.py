"""The plan before work, the quick profile, the report after each strategy and what an interrupt leaves."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from pathlib import Path

import pytest
from test_driver import FakeStrategy  # tests/unit is on sys.path (pytest prepends it)

from shipbench import apps, driver, plan, record, settings, strategies
from shipbench.record import Key
from shipbench.reporting import document, markdown
from shipbench.reporting.tables import build
from shipbench.runner import stop_tree
from shipbench.strategies.base import Artifact, Context


class SlowStrategy(FakeStrategy):
    """Its build is interrupted in the middle of a step, as Ctrl-C (or CI's SIGTERM) interrupts a long build."""

    name = "slow"
    variants = ("ready", "interrupted")
    quick_variant = "interrupted"

    def build(self, ctx: Context) -> Artifact:
        if ctx.key.variant == "interrupted":
            with ctx.steps.step("cold build"):
                raise KeyboardInterrupt
        return super().build(ctx)


@pytest.fixture
def two(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setitem(strategies.STRATEGIES, "fake", FakeStrategy())
    monkeypatch.setitem(strategies.STRATEGIES, "slow", SlowStrategy())
    # the stated figures, whatever the rows measured so far (their scaling is test_row_estimates')
    monkeypatch.setattr(driver, "_peers", lambda results_dir, root: [])
    monkeypatch.setenv("SHIPBENCH_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("SHIPBENCH_PROJECT", str(Path(__file__).resolve().parents[2]))
    for name in ("SHIPBENCH_FRESH", "SHIPBENCH_SKIP", "SHIPBENCH_WARM_RUNS", "SHIPBENCH_PROFILE",
                 "SHIPBENCH_BUILD_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "results"


def test_the_quick_profile_runs_each_strategys_quick_variant_with_3_warm_runs(
        two: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.warm_runs() == 5
    monkeypatch.setenv("SHIPBENCH_PROFILE", "quick")
    assert settings.warm_runs() == 3
    monkeypatch.setenv("SHIPBENCH_WARM_RUNS", "7")  # a setting given wins over the profile's default
    assert settings.warm_runs() == 7
    (rec,) = driver.run("fake", ["gui"], "3.12", results_dir=two)
    assert (rec["variant"], rec["status"], rec["profile"]) == ("ready", "ok", "quick")
    assert rec["duration_s"] >= 0 and not record.validation_errors(rec)


def test_a_bad_profile_is_refused_before_any_work(two: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shipbench.errors import UsageError

    monkeypatch.setenv("SHIPBENCH_PROFILE", "fast")
    with pytest.raises(UsageError, match="SHIPBENCH_PROFILE='fast': expected one of full, quick"):
        driver.run("fake", ["gui"], "3.12", results_dir=two)
    assert not two.exists() or not list(two.glob("*.json"))


def test_every_strategy_names_a_quick_variant_and_rough_figures() -> None:
    gui, dl = apps.get("gui"), apps.get("dl")
    for strategy in strategies.STRATEGIES.values():
        assert strategy.quick_variant in strategy.variants, strategy.name
        assert set(strategy.rough_row_s) == set(strategy.rough_quick_s) == {"cli", "window", "torch"}, strategy.name
        assert strategy.quick_variants(gui) == (strategy.quick_variant,), strategy.name
    assert strategies.get("nuitka").quick_variants(dl) == ()  # Nuitka does not follow torch in a quick answer


def test_the_plan_says_what_will_run_be_reused_or_skipped_with_estimates(
        two: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    driver.run("fake", ["gui"], "3.12", variants=["ready"], results_dir=two)  # a record, so reused below
    monkeypatch.setenv("SHIPBENCH_SKIP", "fake/bug/*")
    capsys.readouterr()
    assert driver.run_all(["fake"], ["gui"], "3.12", variants=["ready", "bug", "never-ready"], results_dir=two,
                          plan_only=True) == []
    shown = capsys.readouterr().err
    assert "shipbench plan (full profile): 1 to measure (about 2 s), 1 reused, 1 skipped" in shown
    assert "fake/bug/*" in shown and "inputs unchanged" in shown and "stated (window app)" in shown
    assert not (two / record.Key("fake", "never-ready", "gui", "3.12").filename).exists()  # nothing was run


def test_a_build_known_to_outlast_the_timeout_is_planned_as_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    nuitka, dl, gui = strategies.get("nuitka"), apps.get("dl"), apps.get("gui")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.delenv("SHIPBENCH_BUILD_TIMEOUT", raising=False)
    why = plan.beyond_build_timeout(nuitka, dl, "standalone-default", None)
    assert why is not None and why.startswith("planned as skipped: its cold build takes about 2.0 h here")
    assert "more than the build timeout of 60 min; --build-timeout 10800 (or SHIPBENCH_BUILD_TIMEOUT=10800)" in why
    assert plan.beyond_build_timeout(nuitka, dl, "standalone-nofollow", None) is None  # torch is not compiled
    assert plan.beyond_build_timeout(nuitka, gui, "standalone-default", None) is None
    monkeypatch.setenv("SHIPBENCH_BUILD_TIMEOUT", "10800")  # the setting that lets it run
    assert plan.beyond_build_timeout(nuitka, dl, "standalone-default", None) is None


def test_a_build_that_ran_out_of_time_here_is_not_burnt_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cxfreeze, gui = strategies.get("cxfreeze"), apps.get("gui")
    monkeypatch.delenv("SHIPBENCH_BUILD_TIMEOUT", raising=False)
    previous = {"status": "failed", "created": "2026-12-01T10:00:00+00:00",
                "host": {"name": record.host.facts()["name"]}, "reason": "cx_Freeze (cold): no end within 3600 s"}
    why = plan.beyond_build_timeout(cxfreeze, gui, "trimmed", previous)
    assert why is not None and "ran out of the 60-minute build timeout (2026-12-01T10:00)" in why
    assert "--build-timeout 7200" in why
    monkeypatch.setenv("SHIPBENCH_BUILD_TIMEOUT", "7200")  # raised since: it may end now
    assert plan.beyond_build_timeout(cxfreeze, gui, "trimmed", previous) is None


def test_the_quick_profile_runs_no_vm_under_software_emulation(monkeypatch: pytest.MonkeyPatch) -> None:
    vagrant, gui = strategies.get("vagrant"), apps.get("gui")
    from shipbench.strategies import vagrant as vagrant_module

    monkeypatch.setattr(vagrant_module, "unavailable_reason", lambda: None)  # Vagrant and libvirt here, say
    monkeypatch.setenv("SHIPBENCH_VM_ACCEL", "tcg")
    why = vagrant.planned_skip(gui, Key("vagrant", "libvirt", "gui", "3.11"), "quick")
    assert why is not None and "no VM under software emulation (vm-accel = tcg)" in why
    assert vagrant.planned_skip(gui, Key("vagrant", "libvirt", "gui", "3.11"), "full") is None
    monkeypatch.setenv("SHIPBENCH_VM_ACCEL", "kvm")
    assert vagrant.planned_skip(gui, Key("vagrant", "libvirt", "gui", "3.11"), "quick") is None


def test_an_interrupted_row_leaves_a_skipped_record_and_the_report_says_so(two: Path) -> None:
    progress: list[str | None] = []
    with pytest.raises(KeyboardInterrupt):
        driver.run_all(["fake", "slow"], ["gui"], "3.12", variants=["ready", "interrupted"], results_dir=two,
                       report=progress.append)
    rec = record.read(two / record.Key("slow", "interrupted", "gui", "3.12").filename)
    assert rec is not None and rec["status"] == "skipped"
    # the seconds before the interrupt are the machine's (a loaded one takes more than 0 s to get there)
    assert re.match(r"interrupted after [\d.]+ (s|min|h) in cold build \(of about 2 s\)", rec["reason"]), rec["reason"]
    # after the first strategy the report said what was left; on the interrupt, where it stopped
    assert progress[0] is not None and progress[0].startswith("This run is still going (1 of 2 strategies done)")
    assert "left: slow (2 rows to measure" in progress[0]
    assert progress[-1] is not None and progress[-1].startswith("This run was interrupted during slow")
    assert "left: slow (1 row to measure" in progress[-1]  # its measured row is done, the interrupted one is not
    loaded, _ = record.load_all([two])
    page = markdown.render(document.build(build(loaded, [], [two]), progress[-1]))
    assert "## This run is not finished" in page
    assert re.search(r"interrupted after [\d.]+ (s|min|h) in cold build", page)


def test_a_finished_run_writes_its_last_report_without_the_banner(two: Path) -> None:
    progress: list[str | None] = []
    driver.run_all(["fake", "slow"], ["gui"], "3.12", variants=["ready"], results_dir=two, report=progress.append)
    assert len(progress) == 2 and progress[-1] is None


def test_an_interrupt_keeps_an_ok_record_it_would_have_replaced(two: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = record.Key("slow", "interrupted", "gui", "3.12")
    ok = record.new_record(key)
    record.write(ok, two)
    with pytest.raises(KeyboardInterrupt):
        driver.run("slow", ["gui"], "3.12", variants=["interrupted"], results_dir=two)
    kept = record.read(two / key.filename)
    assert kept is not None and kept["id"] == ok["id"] and kept["status"] == "ok"


def test_a_tool_still_running_gets_sigterm_first_so_its_trap_cleans_up(tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    script = f"trap 'touch {marker}; exit 143' TERM; echo trapped; while :; do sleep 0.05; done"
    proc = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    assert proc.stdout is not None and proc.stdout.readline() == "trapped\n"  # the trap is set: no timing
    stop_tree(proc, grace_s=120)  # the trap only has to run within it: it returns as soon as bash ends
    assert proc.poll() is not None and marker.exists()


def test_the_main_job_and_the_quick_session_run_every_strategy() -> None:
    noxfile = (Path(__file__).resolve().parents[2] / "noxfile.py").read_text()
    assert '_harness(session, "run", "all", "--profile", "quick"' in noxfile
    assert "interrupt_timeout=" in noxfile  # nox waits for the row's cleanup and record on Ctrl-C


def test_every_skip_a_host_or_an_app_decides_is_known_at_plan_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a fresh machine the plan said "46 to measure (about 3.0 h)", counting image, deb and VM rows then skipped
    in seconds; a deb of a torch app and a wheel of a dependency's console script were planned and then skipped."""
    from shipbench import docker
    from shipbench.strategies import vagrant as vagrant_module

    monkeypatch.setattr(docker, "unavailable_reason", lambda: "docker is not installed (scripts/install-docker.sh …)")
    monkeypatch.setattr(vagrant_module, "unavailable_reason", lambda: "vagrant is not installed (scripts/install-…)")
    gui, dl = apps.get("gui"), apps.get("dl")
    for name, variant in (("bake", "cpu"), ("deb", "dh-virtualenv"), ("vagrant", "libvirt")):
        for app in (gui, dl):
            why = strategies.get(name).planned_skip(app, Key(name, variant, app.name, "3.11"), "full")
            assert why and "is not installed" in why or name == "deb" and app is dl, (name, app.name, why)
    monkeypatch.setattr(docker, "unavailable_reason", lambda: None)
    why = strategies.get("deb").planned_skip(dl, Key("deb", "dh-virtualenv", "dl", "3.11"), "full")
    assert why and why.startswith("torch in a .deb")
    # the CUDA image on a disk without room for it (a full main job here: skipped once run, 16 GB free)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0))  # buildx is there
    monkeypatch.setattr(docker, "disk_shortfall", lambda need: "16.0 GB are free under /var/lib/docker")
    why = strategies.get("bake").planned_skip(dl, Key("bake", "cuda", "dl", "3.11"), "full")
    assert why and why.startswith("the CUDA image needs about 28 GB free") and "16.0 GB are free" in why
    assert strategies.get("bake").planned_skip(dl, Key("bake", "cpu", "dl", "3.11"), "full") is None
    tool = dataclasses.replace(gui, start=("console-script", "uvicorn"), entry_point=None)
    why = strategies.get("wheel").planned_skip(tool, Key("wheel", "uv-tool", "gui", "3.11"), "full")
    assert why and "is a dependency's" in why
    window = dataclasses.replace(gui, toolkit="tk", ready="first-frame")
    assert window.window_on_x
    why = strategies.get("vagrant").planned_skip(window, Key("vagrant", "libvirt", "gui", "3.11"), "full")
    assert why and "seen on an X server" in why


def _row(name: str, family: str, seconds: float, app: str = "gui", action: str = plan.RUN) -> plan.Row:
    strategy = type(name, (), {"name": name, "family": family})()
    return plan.Row(strategy, apps.get(app), Key(name, "v", app, "3.11"), None, action, "why",  # type: ignore[arg-type]
                    seconds if action == plan.RUN else 0.0, "stated")


def test_a_time_budget_keeps_one_of_each_kind_of_artifact_first_then_the_cheapest_and_names_the_rest() -> None:
    rows = [_row("venv", "environment", 10), _row("locked", "environment", 5), _row("zipapp", "archive", 30),
            _row("nuitka", "frozen bundle", 100), _row("bake", "image", 200), _row("vagrant", "virtual machine", 0,
                                                                                     action=plan.SKIP),
            _row("pyinstaller", "frozen bundle", 0, app="dl", action=plan.REUSE), _row("cxfreeze", "frozen bundle", 1,
                                                                                         app="dl")]
    planned = {(row.key.strategy, row.key.app): row for row in plan.within_budget(rows, 150)}
    kept = sorted(name for (name, _app), row in planned.items() if row.action == plan.RUN)
    # dl's frozen bundle is reused: its second one waits for the second pass, and fits there (1 s)
    assert kept == ["cxfreeze", "locked", "nuitka", "venv", "zipapp"]
    left = planned[("bake", "gui")]
    assert left.action == plan.SKIP and left.estimate_s == 0.0
    assert left.reason == ("left out of the 2.5 min time budget (about 3.3 min here, stated): `shipbench run bake "
                           "--app gui --variant v --python 3.11 --profile quick` measures it")
    assert planned[("vagrant", "gui")].reason == "why" and planned[("pyinstaller", "dl")].action == plan.REUSE
    assert sum(row.estimate_s for row in planned.values()) <= 150


def test_a_row_the_budget_left_out_is_recorded_as_skipped_not_measured(two: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPBENCH_TIME_BUDGET", "3")  # the fake's rows are stated at 2 s each: one fits
    records = {r["variant"]: r for r in driver.run("fake", ["gui"], "3.12", variants=["ready", "build-breaks"],
                                                    results_dir=two)}
    statuses = sorted(r["status"] for r in records.values())
    assert statuses in (["ok", "skipped"], ["failed", "skipped"])
    (left,) = [r for r in records.values() if r["status"] == "skipped"]
    assert left["reason"].startswith("left out of the 3 s time budget")


def test_a_torch_app_with_no_torch_for_it_or_a_missing_python_is_skipped_at_plan_time(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """On a fresh Debian 13 (no CPU torch wheel for 3.13) the quick plan counted six app_dl rows, each then skipped
    in seconds; a Python that is not there was found only by the build."""
    from shipbench import interpreters
    from shipbench.errors import Skip

    monkeypatch.setenv("SHIPBENCH_TORCH", f"wheels:{tmp_path}")  # a folder with no torch wheel in it
    # the rows' Python is there, whichever this host has (Debian 13 has no 3.11)
    monkeypatch.setattr(interpreters, "find", lambda version, platform="linux": interpreters.Interpreter(
        version=version, executable="/usr/bin/python3", full_version=f"{version}.0"))
    monkeypatch.delenv("SHIPBENCH_SKIP", raising=False)
    dl, gui = apps.get("dl"), apps.get("gui")
    inputs = driver._inputs(strategies.get("venv"), dl, "3.11", settings.harness_root())
    for name, strategy in strategies.STRATEGIES.items():
        for variant in strategy.variants_for(dl):
            action, why = plan.decide(strategy, dl, Key(name, variant, "dl", "3.11"), inputs, None, True, "full")
            if (name, variant) == ("bake", "cuda"):  # PyPI's CUDA build, whatever the setting says
                assert "no CPU torch wheel" not in why, why
            else:
                assert action == plan.SKIP, (name, variant, why)
    venv = strategies.get("venv")
    assert plan.decide(venv, gui, Key("venv", "uv", "gui", "3.11"), inputs, None, True, "full")[0] == plan.RUN

    def no_such_python(version: str, platform: str = "linux") -> object:
        raise Skip(f"no Python {version} on this host")

    monkeypatch.setattr(interpreters, "find", no_such_python)
    assert plan.decide(venv, gui, Key("venv", "uv", "gui", "3.11"), inputs, None, True, "full") == (
        plan.SKIP, "no Python 3.11 on this host")
    bake = strategies.get("bake")  # its Python is the image's
    assert "no Python" not in plan.decide(bake, gui, Key("bake", "cpu", "gui", "3.11"), inputs, None, True, "full")[1]
