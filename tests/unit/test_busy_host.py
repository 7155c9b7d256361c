"""Numbers taken on a busy host say so: the outside load of a timed phase (hostload.py), the host-wide list of
active runs, one run per row at a time (active_runs.py), and the report's marks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from shipbench import active_runs, hostload
from shipbench.hostload import _Process
from shipbench.reporting import write_report


def test_others_cpu_counts_and_ours_and_the_engines_do_not() -> None:
    me = 100
    before = {me: _Process(1, "python", 1.0), 101: _Process(me, "app", 0.0), 200: _Process(1, "burner", 5.0),
              300: _Process(1, "dockerd", 2.0)}
    after = {me: _Process(1, "python", 9.0), 101: _Process(me, "app", 4.0), 200: _Process(1, "burner", 7.5),
             300: _Process(1, "dockerd", 6.0), 400: _Process(1, "newcomer", 3.0)}
    assert hostload.outside_cpu_s(before, after, me) == pytest.approx(2.5)  # the burner's 2.5 s only


def _fake_proc(folder: Path, processes: dict[int, tuple[int, str, float, float]], busy_s: float,
               host: bool = True) -> Path:
    """A /proc with the given processes (pid: parent, name, own CPU s, reaped children's CPU s) and the host's
    busy CPU time: a controlled source of CPU time, so the accounting is tested without any scheduler. `host`:
    the host's own process table (kthreadd in it), else a container's."""
    folder.mkdir(parents=True, exist_ok=True)
    ticks = hostload._TICKS
    if host:
        processes = {2: (0, "kthreadd", 0.0, 0.0), **processes}
    for pid, (parent, name, own, reaped) in processes.items():
        (folder / str(pid)).mkdir()
        fields = ["S", str(parent)] + ["0"] * 9 + [str(round(own * ticks)), "0", str(round(reaped * ticks)), "0"]
        (folder / str(pid) / "stat").write_text(f"{pid} ({name}) {' '.join(fields)} 0 0\n")
    (folder / "stat").write_text(f"cpu  {round(busy_s * ticks)} 0 0 99999 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0\n")
    return folder


def test_a_child_alive_before_the_phase_and_reaped_during_it_counts_only_its_phase(tmp_path: Path) -> None:
    """The bug behind "20.7 cores on a 2-core host": a long-lived child reaped during the phase brought its whole
    life's CPU (600 s) into its parent's counters. Only the 1.5 s it used during the 1 s phase count."""
    me = 100
    before = hostload.snapshot(_fake_proc(tmp_path / "before", {
        me: (1, "python", 1.0, 0.0), 500: (1, "make", 2.0, 0.0), 501: (500, "cc1", 600.0, 0.0)}, busy_s=1000.0))
    after = hostload.snapshot(_fake_proc(tmp_path / "after", {
        me: (1, "python", 1.2, 0.0), 500: (1, "make", 2.0, 601.5)}, busy_s=1002.0))
    assert hostload.outside_cpu_s(before.processes, after.processes, me) == pytest.approx(1.5)
    assert hostload.outside_cores(before, after, me, wall_s=1.0, cores=2) == pytest.approx(1.5)


def test_outside_cores_never_exceed_the_hosts_cores_nor_its_counted_cpu_time(tmp_path: Path) -> None:
    """Whatever the process counters say, the kernel's own count of busy CPU time over the phase (less ours)
    bounds the figure, and the host's cores bound that."""
    me = 100
    before = hostload.snapshot(_fake_proc(tmp_path / "before", {me: (1, "python", 1.0, 0.0),
                                                                 200: (1, "burner", 5.0, 0.0)}, busy_s=500.0))
    # the burner's counters claim 40 s in a 2 s phase: more than 2 cores can give
    after = hostload.snapshot(_fake_proc(tmp_path / "after", {me: (1, "python", 2.0, 0.0),
                                                               200: (1, "burner", 45.0, 0.0)}, busy_s=504.0))
    assert hostload.outside_cores(before, after, me, wall_s=2.0, cores=2) == pytest.approx(1.5)  # (4 - 1) / 2
    no_kernel_count = hostload.Snapshot(before.processes, None)
    assert hostload.outside_cores(no_kernel_count, hostload.Snapshot(after.processes, None), me, 2.0, 2) == 2.0


def test_processes_born_during_the_phase_are_ours_or_the_hosts_never_double_counted(tmp_path: Path) -> None:
    """Our app run, born and reaped during the phase, is ours (in our counters); a stranger born meanwhile is
    seen only through the kernel's count, so the lower estimate is kept."""
    me = 100
    before = hostload.snapshot(_fake_proc(tmp_path / "before", {me: (1, "python", 1.0, 0.0)}, busy_s=100.0))
    after = hostload.snapshot(_fake_proc(tmp_path / "after", {
        me: (1, "python", 1.1, 0.9), 300: (1, "stranger", 0.5, 0.0)}, busy_s=101.5))
    assert hostload.outside_cpu_s(before.processes, after.processes, me) == 0.0
    assert hostload.own_cpu_s(before.processes, after.processes, me) == pytest.approx(1.0)
    assert hostload.outside_cores(before, after, me, wall_s=1.0, cores=2) == 0.0


def test_inside_a_container_the_hosts_cpu_count_decides(tmp_path: Path) -> None:
    """A container lists only its own processes, so a burner elsewhere on the host is invisible to the
    per-process estimate (every CI-container phase read busy: false at load 20): the kernel's count, less
    ours, decides there."""
    me = 100
    before = hostload.snapshot(_fake_proc(tmp_path / "before", {me: (1, "python", 1.0, 0.0)}, busy_s=100.0,
                                          host=False))
    after = hostload.snapshot(_fake_proc(tmp_path / "after", {me: (1, "python", 2.0, 0.0)}, busy_s=104.0,
                                         host=False))
    assert not before.whole_host
    assert hostload.outside_cores(before, after, me, wall_s=2.0, cores=2) == pytest.approx(1.5)  # (4 - 1) / 2
    on_host = [hostload.snapshot(_fake_proc(tmp_path / f"host-{n}", {me: (1, "python", cpu, 0.0)}, busy_s=busy))
               for n, (cpu, busy) in enumerate(((1.0, 100.0), (2.0, 104.0)))]
    assert on_host[0].whole_host
    assert hostload.outside_cores(*on_host, me, wall_s=2.0, cores=2) == 0.0  # no process of others: the lower


def test_a_malformed_stat_line_is_passed_over(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path / "proc", {7: (1, "ok", 1.0, 0.0)}, busy_s=1.0)
    (proc / "8").mkdir()
    (proc / "8" / "stat").write_text("8 (cut")
    (proc / "stat").write_text("intr 1 2 3\n")
    found = hostload.snapshot(proc)
    assert set(found.processes) == {2, 7} and found.host_busy_s is None


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="tells runs apart by /proc (Linux)")
def test_another_active_run_is_seen_and_a_dead_one_is_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(active_runs, "FOLDER", tmp_path / "active")
    # both live until killed below, however long a loaded machine takes to get there
    sleeper = subprocess.Popen(["bash", "-c", "exec -a shipbench sleep 1000"])  # a process named as a run
    cmdline = Path(f"/proc/{sleeper.pid}/cmdline")
    deadline = time.monotonic() + 120  # until bash has exec'd: a condition, with a bound no load reaches
    while not cmdline.read_bytes().startswith(b"shipbench\0") and time.monotonic() < deadline:
        time.sleep(0.01)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)"])
    try:
        with active_runs.registered(["venv"]):
            (tmp_path / "active" / f"{sleeper.pid}.json").write_text(json.dumps({"pid": sleeper.pid, "what": "x"}))
            (tmp_path / "active" / "999999999.json").write_text("{}")  # a crashed or ended run's leftover: removed
            # a run killed with SIGKILL whose pid the kernel gave to another program: stale, and removed
            (tmp_path / "active" / f"{stranger.pid}.json").write_text(json.dumps({"pid": stranger.pid}))
            assert [entry["pid"] for entry in active_runs.others()] == [sleeper.pid]
            assert not (tmp_path / "active" / f"{stranger.pid}.json").exists()
            assert not (tmp_path / "active" / "999999999.json").exists()
            # a run that measured its last row and writes its report is no measurement beside this one
            (tmp_path / "active" / f"{sleeper.pid}.json").write_text(json.dumps(
                {"pid": sleeper.pid, "what": "x", "state": "reporting"}))
            assert active_runs.others() == []
            # another process's entry says more than strategies: only name-shaped strategies and the pid are kept
            (tmp_path / "active" / f"{sleeper.pid}.json").write_text(json.dumps(
                {"pid": sleeper.pid, "what": "shipbench run venv --token hunter2", "strategies": ["venv", "hunter2!"]}))
            metrics: dict[str, Any] = {}
            with hostload.watch(metrics, "setup_cold"):
                pass
            seen = [f"shipbench run venv (pid {sleeper.pid})"]
            assert metrics["host_load"]["setup_cold"] == {**metrics["host_load"]["setup_cold"], "other_runs": 1,
                                                          "busy": True, "other_runs_seen": seen}
        # done, and listed as done until this process exits: never counted as a run still measuring
        assert json.loads((tmp_path / "active" / f"{os.getpid()}.json").read_text())["state"] == "done"
    finally:
        for process in (sleeper, stranger):
            process.kill()
            process.wait()


@pytest.mark.skipif(active_runs.fcntl is None, reason="rows are locked with fcntl (not on Windows)")
def test_a_second_run_of_the_same_row_waits_for_the_first(tmp_path: Path) -> None:
    """The first holds the row until the second says it waits (events, not sleeps: no order left to the
    scheduler); were the lock not exclusive, the second would get in at once and never say so."""
    lock, said, order = tmp_path / "row.lock", [], []
    entered, second_waits = threading.Event(), threading.Event()

    def first() -> None:
        with active_runs.row_lock(lock, "venv/uv gui", said.append):
            entered.set()
            second_waits.wait(120)  # only a broken lock leaves it to this bound
            order.append("first done")

    def say(text: str) -> None:
        said.append(text)
        second_waits.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(120)
    # flock is per open file: a second open, as a second process would make, waits
    with active_runs.row_lock(lock, "venv/uv gui", say):
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
    assert "0.100 s \\~" in markdown and "**0.100 s**" not in markdown  # report.md escapes ~ (strike-through)
    busy_section = markdown.split("## Measured on a busy host")[1].split("## ")[0]
    assert "1.02" in busy_section  # each phase's load, there
    assert markdown.count("measured on a busy host (other processes used the CPU") == 1  # one note, not one a cell
    warm_table = markdown.split("### Start-up, warm")[1].split("###")[0]
    assert "0.100 s (0.090 s – 0.110 s, n=5) \\~" in warm_table  # marked in the metric's own table too


@pytest.mark.skipif(os.name != "posix", reason="the host-wide folder is /tmp on POSIX")
def test_runs_in_sessions_with_their_own_tmpdir_share_one_list(tmp_path: Path) -> None:
    """nox gives every session its own TMPDIR: runs from two sessions (or two projects) must still see each
    other, so the list does not follow TMPDIR."""
    code = "from shipbench import active_runs; print(active_runs.FOLDER)"
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "TMPDIR": str(tmp_path / name)}).stdout.strip()
            for name in ("session-a", "session-b")}
    assert seen == {"/tmp/shipbench-active"}


def test_a_run_that_lists_itself_elsewhere_is_still_seen_in_the_process_table(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A run in a container or under another /tmp writes its entry where this run cannot read it: the process
    table shows it all the same (Linux). Listed runs are not counted twice."""
    monkeypatch.setattr(active_runs, "FOLDER", tmp_path / "active")
    (tmp_path / "active").mkdir()
    proc = tmp_path / "proc"
    for pid, argv in ((4001, ["/usr/bin/python3", "-m", "shipbench", "run", "venv", "--python", "3.13"]),
                      (4002, ["/opt/venv/bin/shipbench", "run", "bake", "--python", "3.11"]),
                      (4003, ["python3", "-m", "shipbench.relay", "--", "python", "-m", "app"]),
                      (4004, ["python", "-m", "shipbench", "report"]),
                      (os.getpid(), ["python", "-m", "shipbench", "run", "venv"])):
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")
    (tmp_path / "active" / f"{os.getpid()}.json").write_text("{}")
    seen = sorted(entry["pid"] for entry in active_runs.others(proc))
    assert seen == [4001, 4002]
    assert active_runs.is_run(["shipbench", "run", "x"]) and not active_runs.is_run(["run", "shipbench"])


def test_the_wrapper_that_started_this_run_is_not_another_run(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`timeout 300 python -m shipbench run …` names a run in its own command line: it is this run's parent."""
    monkeypatch.setattr(active_runs, "FOLDER", tmp_path / "active")
    (tmp_path / "active").mkdir()
    proc = tmp_path / "proc"
    me = os.getpid()
    for pid, parent, argv in [(me, 100, ["python", "-m", "shipbench", "run", "venv"]),
                              (100, 1, ["timeout", "300", "python", "-m", "shipbench", "run", "venv"]),
                              (200, 1, ["python", "-m", "shipbench", "run", "bake"])]:
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "stat").write_text(f"{pid} (x) S {parent} 0 0 0\n")
        (proc / str(pid) / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")
    assert [entry["pid"] for entry in active_runs.others(proc)] == [200]


def test_a_run_seen_in_the_process_table_is_named_by_its_strategies_never_its_arguments(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unlisted run (another container's, another /tmp's) is known only by its command line, which can hold a
    secret: a record keeps the strategies before the first option and the pid, nothing else."""
    monkeypatch.setattr(active_runs, "FOLDER", tmp_path / "active")  # no list: CI's other lane's runs stay out
    proc = tmp_path / "proc"
    (proc / "4242").mkdir(parents=True)
    (proc / "4242" / "cmdline").write_bytes(b"\0".join([b"/usr/bin/python3", b"-m", b"shipbench", b"run", b"venv",
                                                        b"pex", b"--index-url", b"https://user:s3cret@example.org",
                                                        b"--token", b"hunter2"]) + b"\0")
    (seen,) = active_runs.others(proc)
    assert active_runs.named(seen) == "shipbench run venv,pex (pid 4242)"
    assert active_runs.strategies_in(["shipbench", "run", "s3cr3t/../x", "--python", "3.11"]) == []
