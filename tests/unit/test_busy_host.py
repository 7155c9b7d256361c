"""Numbers taken on a busy host say so: the outside load of a timed phase (hostload.py), the host-wide list of
active runs, one run per row at a time (active_runs.py), and the report's marks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipbench import active_runs, hostload
from shipbench.hostload import _Process
from shipbench.reporting import write_report

LINUX = pytest.mark.skipif(not Path("/proc/stat").is_file(), reason="outside load is read from /proc (Linux)")


@pytest.fixture
def burner() -> Iterator[int]:
    """A CPU burner that is not this process's descendant (its shell parent exits at once), as another user's
    job would be."""
    shell = subprocess.run(["sh", "-c", f"{sys.executable} -c 'while True: pass' >/dev/null 2>&1 & echo $!"],
                           capture_output=True, text=True, check=True)
    pid = int(shell.stdout.strip())
    time.sleep(0.3)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGKILL)


def test_others_cpu_counts_and_ours_and_the_engines_do_not() -> None:
    me = 100
    before = {me: _Process(1, "python", 1.0), 101: _Process(me, "app", 0.0), 200: _Process(1, "burner", 5.0),
              300: _Process(1, "dockerd", 2.0)}
    after = {me: _Process(1, "python", 9.0), 101: _Process(me, "app", 4.0), 200: _Process(1, "burner", 7.5),
             300: _Process(1, "dockerd", 6.0), 400: _Process(1, "newcomer", 3.0)}
    assert hostload.outside_cpu_s(before, after, me) == pytest.approx(2.5)  # the burner's 2.5 s only


@LINUX
def test_a_phase_beside_a_cpu_burner_is_flagged(burner: int) -> None:
    metrics: dict[str, Any] = {}
    with hostload.watch(metrics, "startup"):
        time.sleep(1.5)
    load = metrics["host_load"]["startup"]
    assert load["outside_cores"] > hostload.BUSY_CORES and load["busy"] is True


def test_another_active_run_is_seen_and_a_dead_one_is_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(active_runs, "FOLDER", tmp_path / "active")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with active_runs.registered("test run"):
            (tmp_path / "active" / f"{sleeper.pid}.json").write_text(json.dumps({"pid": sleeper.pid, "what": "x"}))
            (tmp_path / "active" / "999999999.json").write_text("{}")  # a crashed run's leftover
            assert [entry["pid"] for entry in active_runs.others()] == [sleeper.pid]
            metrics: dict[str, Any] = {}
            with hostload.watch(metrics, "setup_cold"):
                pass
            assert metrics["host_load"]["setup_cold"] == {**metrics["host_load"]["setup_cold"], "other_runs": 1,
                                                          "busy": True}
        assert not (tmp_path / "active" / f"{os.getpid()}.json").exists()
    finally:
        sleeper.kill()


@pytest.mark.skipif(active_runs.fcntl is None, reason="rows are locked with fcntl (not on Windows)")
def test_a_second_run_of_the_same_row_waits_for_the_first(tmp_path: Path) -> None:
    lock, said, order = tmp_path / "row.lock", [], []
    entered = threading.Event()

    def first() -> None:
        with active_runs.row_lock(lock, "venv/uv gui", said.append):
            entered.set()
            time.sleep(0.5)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    entered.wait(5)
    # flock is per open file: a second open, as a second process would make, waits
    with active_runs.row_lock(lock, "venv/uv gui", said.append):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]
    assert said and "waiting for pid" in said[0]


def test_the_report_marks_busy_figures_and_never_ranks_them(tmp_path: Path, make_record: Any) -> None:
    from shipbench import record

    results = tmp_path / "results"
    quiet = make_record(variant="uv")
    busy = make_record(variant="pip")
    busy["metrics"]["startup_s"]["warm"].update(median=0.1, min=0.09, max=0.11)  # faster, beside other work
    busy["metrics"]["host_load"] = {"startup": {"outside_cores": 1.02, "load_avg_1m": 2.1, "other_runs": 0,
                                                "busy": True}}
    for rec in (quiet, busy):
        record.write(rec, results)
    assert write_report([results], tmp_path / "report") == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "0.100 s ~" in markdown and "**0.100 s**" not in markdown
    assert "other processes used 1.02 cores" in markdown and "## Measured on a busy host" in markdown
    warm_table = markdown.split("### Start-up, warm")[1].split("###")[0]
    assert "0.100 s (0.090 s – 0.110 s, n=5) ~" in warm_table  # marked in the metric's own table too
