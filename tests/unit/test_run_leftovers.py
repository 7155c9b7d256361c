"""What a killed run leaves is removed by the next (run_leftovers.py): processes carrying a dead run's token,
its temporary folders and partial files; never a live run's, never another namespace's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipbench import fsutil, run_leftovers

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="judged through /proc (Linux)")


def _dead_token() -> str:
    """A token of this namespace whose process is gone: this pid with a start time it never had."""
    return f"{os.getpid()}.1.{run_leftovers.token().split('.')[2]}"


def test_a_token_names_this_process_and_is_judged_by_pid_start_and_namespace() -> None:
    mine = run_leftovers.token()
    pid, ticks, namespace = mine.split(".")
    assert int(pid) == os.getpid() and ticks.isdigit() and len(namespace) == 8
    assert not run_leftovers.dead(mine)
    assert run_leftovers.dead(_dead_token())
    assert not run_leftovers.dead(f"{pid}.1.00000000")  # another namespace's: never judged here
    assert not run_leftovers.dead("garbage") and not run_leftovers.dead("1.2")


def test_a_process_of_a_dead_run_is_killed_and_a_live_runs_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
    orphan = subprocess.Popen(sleep, env={**os.environ, run_leftovers.ENV: _dead_token()})
    alive = subprocess.Popen(sleep, env={**os.environ, run_leftovers.ENV: run_leftovers.token()})
    stranger = subprocess.Popen(sleep, env={k: v for k, v in os.environ.items() if k != run_leftovers.ENV})
    try:
        for part in ("_containers", "_temp_folders"):  # no engine in the fast tier; the host's /tmp is not the test's
            monkeypatch.setattr(run_leftovers, part, lambda: 0)
        said = run_leftovers.clean([]) or ""
        assert orphan.wait(timeout=600) == -9  # the condition, not a time: killed by SIGKILL
        assert alive.poll() is None and stranger.poll() is None
        assert said.startswith("removed what runs that died left: ") and " process" in said, said
    finally:
        for proc in (orphan, alive, stranger):
            proc.kill()
            proc.wait()


def test_a_dead_runs_temporary_folders_and_partial_files_are_removed(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(run_leftovers, "temp_bases", lambda: [tmp_path])  # the host's /tmp is not the test's
    monkeypatch.setattr(run_leftovers, "_containers", lambda: 0)
    monkeypatch.setattr(run_leftovers, "_processes", lambda: 0)
    dead = _dead_token()
    (tmp_path / f"shipbench-shots-{dead}-abc").mkdir()
    (tmp_path / f"shipbench-shots-{dead}-abc" / "shot.png").write_bytes(b"x")
    mine = run_leftovers.temp_folder("shots")
    assert mine.parent == tmp_path and mine.name.startswith(f"shipbench-shots-{run_leftovers.token()}-")
    results = tmp_path / "results"
    results.mkdir()
    (results / f".report.md.{dead}.k2j3.tmp").write_text("half")
    (results / f".sbom.json.{dead}.partial").write_text("")
    (results / ".report.md.12.tmp").write_text("not ours: no token")
    (results / "venv-uv-gui.json").write_text("{}")
    fsutil.atomic_write_text(results / "kept.txt", "whole")  # this run's own atomic write leaves nothing
    said = run_leftovers.clean([results])
    assert said == "removed what runs that died left: 1 temporary folder, 2 partial files"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["results", mine.name])
    assert sorted(p.name for p in results.iterdir()) == [".report.md.12.tmp", "kept.txt", "venv-uv-gui.json"]
    assert run_leftovers.clean([results]) is None  # nothing more to say
