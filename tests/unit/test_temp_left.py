"""What a onefile program leaves in TMPDIR when stopped at ready: a stand-in launcher that unpacks like PyInstaller's
(a folder below TMPDIR, an app child, clean-up on SIGTERM, none on SIGKILL), and the report's column."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from shipbench import description, temp_left
from shipbench.errors import Failure
from shipbench.reporting.inside import inside_rows
from shipbench.reporting.tables import Report
from shipbench.strategies.base import Artifact

# unpacks into TMPDIR, starts the app (which says ready and waits), passes SIGTERM on and cleans up, as PyInstaller's
# bootloader does; SIGKILL ends it before it can
LAUNCHER = """
import os, shutil, signal, subprocess, sys, tempfile
folder = tempfile.mkdtemp(prefix="_MEI", dir=os.environ["TMPDIR"])
with open(os.path.join(folder, "libapp.so"), "wb") as out:
    out.write(b"x" * 1000)
def stop(signum, frame):
    child.terminate(); os.waitpid(child.pid, 0); shutil.rmtree(folder); os._exit(0)
signal.signal(signal.SIGTERM, stop)
# SIGTERM held until `child` is set (the app's ready line may come at once); the app itself gets it unheld
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
child = subprocess.Popen([sys.executable, "-c", "import time; print('{\\"event\\": \\"ready\\"}', flush=True); "
                          "time.sleep(1000)"],
                         preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM}))
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
child.wait(); shutil.rmtree(folder)
"""


def _app(tmp_path: Path, ready: str = "") -> description.App:
    (tmp_path / "a.py").write_text("", encoding="utf-8")
    (tmp_path / "r.txt").write_text("", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(f'[tool.shipbench.apps.x]\nscript = "a.py"\nrequirements = "r.txt"\n'
                                             f'{ready}', encoding="utf-8")
    return description.load(tmp_path)["x"]


def test_sigkill_at_ready_leaves_the_unpacked_copy_and_sigterm_lets_the_launcher_clean_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(temp_left, "GRACE_S", 120.0)  # the clean-up only has to end in it: none that load can miss
    artifact = Artifact(path=tmp_path / "app", kind="test", launcher=(sys.executable, "-c", LAUNCHER))
    found = temp_left.check(artifact, _app(tmp_path), tmp_path / "scratch", 120)
    assert found["status"] == "ok"
    kill, term = found["after"]["sigkill"], found["after"]["sigterm"]
    assert (kill["files"], kill["bytes"], kill["stopped_while_running"]) == (1, 1000, True)
    assert kill["entries"][0].startswith("_MEI")
    assert (term["files"], term["bytes"], term["entries"], term["stopped_while_running"]) == (0, 0, [], True)
    assert not (tmp_path / "scratch" / "sigkill").exists()  # what it left is removed once counted


def test_an_app_whose_ready_is_its_exit_is_run_to_its_end(tmp_path: Path) -> None:
    code = "import os; open(os.path.join(os.environ['TMPDIR'], 'stale'), 'w').write('abc')"
    artifact = Artifact(path=tmp_path / "app", kind="test", launcher=(sys.executable, "-c", code))
    found = temp_left.check(artifact, _app(tmp_path, 'ready = "exit"\n'), tmp_path / "scratch", 120)
    assert found == {"status": "ok", "after": {"exit": {"files": 1, "bytes": 3, "entries": ["stale"],
                                                        "stopped_while_running": False}}}


def test_a_program_that_never_says_ready_is_a_failure_and_is_not_left_running(tmp_path: Path) -> None:
    artifact = Artifact(path=tmp_path / "app", kind="test", launcher=(sys.executable, "-c", "print('starting')"))
    with pytest.raises(Failure, match="exited without being ready, so not stopped at ready"):
        temp_left.check(artifact, _app(tmp_path), tmp_path / "scratch", 120)


def test_the_report_says_what_each_stop_left(make_record: Any) -> None:
    rec = make_record(strategy="pyinstaller", variant="onefile-trimmed")
    rec["metrics"]["binaries"] = {"status": "skipped", "reason": "readelf not found"}
    rec["metrics"]["temp_left"] = {"status": "ok", "after": {
        "sigterm": {"files": 0, "bytes": 0, "entries": []},
        "sigkill": {"files": 46, "bytes": 31_400_000, "entries": ["_MEIabc"]}}}
    rows = inside_rows(Report([], [rec], [], [], [], []))
    assert rows[0][2] == "SIGTERM: nothing; SIGKILL: 46 files, 31.4 MB"
