"""The venv strategy for real: uv, pip and tox-uv building app_gui and app_dl on 3.11 (the main job's Python
here; other Pythons are the fresh machines' own: test_fresh_machine.py builds on Debian 12's 3.11 and 13's 3.13).

Needs python3.11 on PATH (see the README, "Which Pythons") and, for app_dl, a CPU torch source (SHIPBENCH_TORCH,
or a torch wheel in one of pip's find-links folders).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    HOST_DEPS,
    PYTHONS,
    ROOT,
    TORCH,
    python_missing,
    requires,
    run_cli,
    run_rows,
    sample_warm_runs,
    tool_missing,
    torch_missing,
)

from shipbench import interpreters, record

TARGETS = [("gui", "3.11"), ("dl", "3.11")]
NEEDS_311 = requires(python_missing("3.11"), PYTHONS)
NEEDS_TORCH = requires(torch_missing("3.11"), TORCH)


INSTALLERS = ("uv", "pip", "tox-uv")
# app_dl through pip and tox-uv is left out of CI (its time budget)
DL_INSTALLERS_BEYOND_CI = pytest.mark.beyond_ci(
    "app_dl set up by pip and by tox-uv: torch installed and trained twice more, about 4 min here; in CI app_dl "
    "is set up by uv and trained, and all three installers set up app_gui")


def _row(variant: str, app: str, python: str) -> object:
    marks = [requires(python_missing(python), PYTHONS)] + ([NEEDS_TORCH] if app == "dl" else [])
    if app == "dl" and variant != "uv":
        marks.append(DL_INSTALLERS_BEYOND_CI)
    return pytest.param(variant, app, python, marks=marks, id=f"{variant}-{app}-{python}")


@pytest.fixture(scope="module")
def venv_run() -> dict[str, Any]:
    """The main job's venv rows of both samples (gui by all installers; dl by uv), in the checkout's
    results/ and build/; a test that asks for another row measures it then (see _ok)."""
    records = {}
    for app, python in TARGETS:
        if python_missing(python) or (app == "dl" and torch_missing(python)):
            continue
        rows = run_rows("venv", ROOT, ROOT / "results", ROOT / "build", app=app, python=python,
                        variants=("uv",) if app == "dl" else ())
        records.update({(variant, app, python): rec for variant, rec in rows.items()})
    return {"base": ROOT, "records": records}


def _ok(venv_run: dict[str, Any], variant: str, app: str, python: str) -> dict[str, Any]:
    if (variant, app, python) not in venv_run["records"]:
        rows = run_rows("venv", ROOT, ROOT / "results", ROOT / "build", app=app, python=python, variants=(variant,))
        venv_run["records"].update({(name, app, python): rec for name, rec in rows.items()})
    rec = venv_run["records"].get((variant, app, python))
    assert rec is not None, f"no record for {variant} {app} {python}"
    assert rec["status"] == "ok", f"{rec['reason']}\n" + "\n".join(rec.get("log_tail", []))
    return rec


@pytest.mark.parametrize(("variant", "app", "python"),
                         [_row(variant, app, python) for app, python in TARGETS for variant in INSTALLERS])
def test_every_target_and_installer_measured(venv_run: dict[str, Any], variant: str, app: str, python: str) -> None:
    rec = _ok(venv_run, variant, app, python)
    metrics = rec["metrics"]
    assert metrics["size_bytes"] > 10_000_000  # a venv with Qt or torch in it
    assert metrics["setup_s"]["cold"] > 0 and metrics["setup_s"]["warm"] > 0
    warm = metrics["startup_s"]["warm"]
    assert metrics["startup_s"]["cold"] > 0
    assert 0 < warm["min"] <= warm["median"] <= warm["max"] and warm["n"] == sample_warm_runs()
    assert metrics["peak_rss_bytes"] > 0
    assert rec["versions"]["python"].startswith(python + ".")
    assert Path(venv_run["base"] / "build" / "venv").is_dir()


@NEEDS_311
def test_gui_screenshot_is_a_real_png(venv_run: dict[str, Any]) -> None:
    rec = _ok(venv_run, "uv", "gui", "3.11")
    assert rec["metrics"]["qt_platform"] == "offscreen"
    png = (venv_run["base"] / "results" / rec["metrics"]["screenshot"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 600 and height >= 400
    assert rec["versions"]["PySide6-Essentials"]


@NEEDS_311
def test_the_gui_venvs_sbom_names_qts_lgpl_and_the_undeclared_app(venv_run: dict[str, Any]) -> None:
    """cyclonedx-bom over the real venv: PySide6's licence choice read as weak copyleft, the sample without one."""
    found = _ok(venv_run, "uv", "gui", "3.11")["metrics"]["licenses"]
    assert found["status"] == "ok", found
    copyleft = {entry["name"].lower(): entry for entry in found["copyleft"]}
    assert copyleft["pyside6_essentials"]["kind"] == "weak copyleft" and "LGPL" in copyleft["shiboken6"]["license"]
    assert "shipbench-app-gui" in found["unknown"] and found["runtime"] == []
    sbom = json.loads((venv_run["base"] / "results" / found["sbom"]).read_text(encoding="utf-8"))
    assert sbom["bomFormat"] == "CycloneDX" and len(sbom["components"]) == found["distributions"]


@NEEDS_TORCH
def test_dl_trains_on_the_cpu_and_the_loss_falls(venv_run: dict[str, Any]) -> None:
    rec = _ok(venv_run, "uv", "dl", "3.11")
    metrics = rec["metrics"]
    assert metrics["device"] == "cpu"
    assert metrics["loss_last"] < 0.5 * metrics["loss_first"]
    samples = metrics["throughput"]
    assert 0 < samples["min"] <= samples["median"] <= samples["max"] and samples["n"] >= 3
    assert metrics["tflops"] > 0
    assert rec["versions"]["torch"] and rec["versions"]["torch_source"]


@NEEDS_311
@requires(tool_missing("xvfb-run"), HOST_DEPS)
def test_the_venv_gui_runs_under_a_real_x_server(venv_run: dict[str, Any], tmp_path: Path) -> None:
    python = interpreters.venv_python(venv_run["base"] / "build" / "venv" / "uv" / "gui-py3.11" / "venv")
    shot = tmp_path / "x11.png"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", str(python), "-m", "app_gui", "--probe", "--screenshot",
         str(shot)], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    ready = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(ready) == 1 and ready[0]["event"] == "ready" and ready[0]["qt_platform"] == "xcb"
    assert shot.read_bytes()[:4] == b"\x89PNG"


@NEEDS_311
@NEEDS_TORCH
def test_report_from_the_real_records(venv_run: dict[str, Any], tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "results"  # these records alone (results/ holds every group's)
    for rec in venv_run["records"].values():
        (folder / "screenshots").mkdir(parents=True, exist_ok=True)
        shutil.copy2(rec["_source"], folder)
        shot = rec["metrics"].get("screenshot")
        if shot:
            shutil.copy2(ROOT / "results" / shot, folder / shot)
    result = run_cli("report", "--results", str(folder), "--evidence", "", "--out", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    md = (tmp_path / "report" / "report.md").read_text()
    count = len(venv_run["records"])  # 4, or 6 where app_dl's pip and tox-uv rows ran too
    assert count >= 4 and f"{count} records from 1 host: {count} ok" in md
    assert "| venv | uv | gui | 3.11 |" in md


@NEEDS_311
def test_the_tox_uv_row_keeps_the_tox_ini_it_generated(venv_run: dict[str, Any]) -> None:
    """What a team on tox would keep: one environment with the app as its description installs it."""
    rec = _ok(venv_run, "tox-uv", "gui", "3.11")
    config = venv_run["base"] / "build" / "venv" / "tox-uv" / "gui-py3.11" / "venv" / "tox.ini"
    text = config.read_text()
    assert "[testenv:app]" in text and str(ROOT / "app_gui") in text and "base_python = python3.11" in text
    assert [f["path"] for f in rec["maintained_files"]][0] == "app_gui/pyproject.toml"


@NEEDS_TORCH
def test_dl_sweeps_batch_sizes_with_a_peak_probe(venv_run: dict[str, Any]) -> None:
    """The options the GPU rows use, on the CPU: one result per batch size, each with its fraction of peak."""
    python = interpreters.venv_python(venv_run["base"] / "build" / "venv" / "uv" / "dl-py3.11" / "venv")
    result = subprocess.run([str(python), "-m", "app_dl", "--device", "cpu", "--steps", "20", "--batch-size", "64,128",
                             "--amp", "bf16", "--peak-probe"], capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events] == ["ready", "result", "result"]
    assert [e["batch_size"] for e in events[1:]] == [64, 128]
    for event in events[1:]:
        assert event["amp"] == "bf16" and event["mfu"] > 0 and event["peak_tflops"] > 0


def test_a_killed_harness_leaves_no_app_running(tmp_path: Path) -> None:
    """SIGKILL runs no `finally`: the apps must end by themselves once nobody reads their output (they exit on
    a broken pipe), so nothing is left behind after a few seconds."""
    import signal
    import sys
    import time

    marker = f"shipbench-kill-test-{os.getpid()}"  # in the apps' environment: finds exactly this run's apps
    env = {**os.environ, "SHIPBENCH_PROJECT": str(ROOT), "SHIPBENCH_RESULTS": str(tmp_path / "results"),
           "SHIPBENCH_WARM_RUNS": "200", "SHIPBENCH_KILL_TEST": marker}
    harness = subprocess.Popen([sys.executable, "-m", "shipbench", "run", "venv", "--app", "gui", "--python", "3.11",
                                "--variant", "uv", "--fresh"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    assert harness.stderr is not None
    deadline = time.monotonic() + 600
    for line in harness.stderr:  # wait for the warm start-up runs, then kill mid-run
        if "start-up, cold" in line or time.monotonic() > deadline:
            break
    time.sleep(3)
    harness.send_signal(signal.SIGKILL)
    harness.wait(timeout=30)

    def apps() -> list[int]:
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and marker.encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
        return found

    for _ in range(30):
        if not apps():
            break
        time.sleep(0.5)
    left = apps()
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"app processes still running 15 s after the harness was killed: {left}"


def test_a_measurement_beside_cpu_burners_is_flagged_and_never_over_the_hosts_cores(tmp_path: Path) -> None:
    """A real venv row measured while other processes keep every core busy: its record and the report say so,
    and no phase claims more outside load than the host has cores (the figure is bounded, see hostload.py).
    One burner per core, not one: the claim must not hang on how the scheduler shares two cores between a burner
    and the measured app."""
    import signal
    import sys

    cores = os.cpu_count() or 1
    burners = []
    for _ in range(cores):
        shell = subprocess.run(["sh", "-c", f"{sys.executable} -c 'while True: pass' >/dev/null 2>&1 & echo $!"],
                               capture_output=True, text=True, check=True)
        burners.append(int(shell.stdout.strip()))
    try:
        result = run_cli("run", "venv", "--app", "gui", "--python", "3.11", "--variant", "uv", "--fresh",
                         "--results", str(tmp_path / "results"), "--build", str(tmp_path / "build"),
                         env={"SHIPBENCH_PROJECT": str(ROOT), "SHIPBENCH_WARM_RUNS": "3"})
    finally:
        for burner in burners:
            os.kill(burner, signal.SIGKILL)
    (rec,) = record.load_all([tmp_path / "results"])[0]
    assert rec["status"] == "ok", result.stderr[-3000:]
    load = rec["metrics"]["host_load"]
    assert all(0 <= phase["outside_cores"] <= cores for phase in load.values()), load
    assert any(phase["busy"] for phase in load.values()), load
    report = run_cli("report", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    assert "## Measured on a busy host" in (tmp_path / "report" / "report.md").read_text()


def test_real_phases_beside_a_burner_count_its_cpu_and_stay_within_the_host() -> None:
    """The accounting against a real process: whatever CPU the burner got during a phase (read from its own
    counters), the outside figure counts at least that, and never more than the host's cores. The phase lasts
    until the burner has used 0.3 s, however long the scheduler takes to give it that: nothing here is timed."""
    import signal
    import sys
    import time

    from shipbench import hostload

    shell = subprocess.run(["sh", "-c", f"{sys.executable} -c 'while True: pass' >/dev/null 2>&1 & echo $!"],
                           capture_output=True, text=True, check=True)
    burner = int(shell.stdout.strip())
    try:
        before = hostload.snapshot()
        start = time.perf_counter()
        deadline = start + 600
        while (hostload.snapshot().processes[burner].cpu_s - before.processes[burner].cpu_s < 0.3
               and time.perf_counter() < deadline):
            time.sleep(0.05)
        after = hostload.snapshot()
        wall = time.perf_counter() - start
    finally:
        os.kill(burner, signal.SIGKILL)
    used = after.processes[burner].cpu_s - before.processes[burner].cpu_s
    assert used >= 0.3, "the burner got no CPU in 10 minutes"
    assert hostload.outside_cpu_s(before.processes, after.processes, os.getpid()) >= used
    cores = hostload.outside_cores(before, after, os.getpid(), wall, os.cpu_count() or 1)
    assert used / wall * 0.8 <= cores <= (os.cpu_count() or 1)  # a few clock ticks apart: the reads are not atomic


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_a_run_stopped_during_set_up_leaves_a_whole_record_or_none(tmp_path: Path, signal_name: str) -> None:
    """Ctrl-C and a CI timeout unwind (exit 130) and leave the row a `skipped` record that says where it was
    interrupted (issue 23); SIGKILL cannot unwind, and still no half-written record is left."""
    import signal
    import sys
    import time

    results = tmp_path / "results"
    env = {**os.environ, "SHIPBENCH_PROJECT": str(ROOT), "SHIPBENCH_RESULTS": str(results),
           "SHIPBENCH_BUILD": str(tmp_path / "build")}  # an empty build folder: the set-up takes a while
    # Ctrl-C as in a terminal: a process started in the background of a non-interactive shell (CI's lanes) has
    # SIGINT ignored, and Python then leaves it ignored, as POSIX intends; the harness starts with it restored
    harness = subprocess.Popen([sys.executable, "-m", "shipbench", "run", "venv", "--app", "gui", "--python", "3.11",
                                "--variant", "pip"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(4)
    harness.send_signal(getattr(signal, signal_name))
    _, err = harness.communicate(timeout=120)
    assert list(results.glob(".*")) == []  # no temporary file of a half-written record
    if signal_name == "SIGKILL":
        assert list(results.glob("*.json")) == []
        return
    assert harness.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    recs, invalid = record.load_all([results])
    assert invalid == []
    # the signal lands in the row's set-up (4 s in); were it earlier, in the checks, no row would have begun
    for rec in recs:
        assert rec["status"] == "skipped" and rec["reason"].startswith("interrupted after "), rec["reason"]


def test_two_runs_of_the_same_row_at_once_both_end_ok(tmp_path: Path) -> None:
    """The second waits for the first (the row's lock) instead of tripping over its half-made venv."""
    import sys

    env = {**os.environ, "SHIPBENCH_PROJECT": str(ROOT), "SHIPBENCH_RESULTS": str(tmp_path / "results"),
           "SHIPBENCH_BUILD": str(tmp_path / "build"), "SHIPBENCH_WARM_RUNS": "2"}
    argv = [sys.executable, "-m", "shipbench", "run", "venv", "--app", "gui", "--python", "3.11", "--variant", "uv",
            "--fresh"]
    runs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    errors = [run.communicate(timeout=900)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    assert any("waiting for pid" in err for err in errors), errors
    (rec,) = record.load_all([tmp_path / "results"])[0]
    assert rec["status"] == "ok"
    # the last record is the second run's, measured after the first ended: the first never counted against it
    # (runs of other groups may share the host in CI's other lane, venv rows too: only this test's two runs are
    # looked for, by pid, as records name other runs)
    for load in rec["metrics"]["host_load"].values():
        assert not any(f"(pid {run.pid})" in what for run in runs for what in load.get("other_runs_seen", [])), load
