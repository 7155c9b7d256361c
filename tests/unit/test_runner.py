from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from shipbench import runner
from shipbench.errors import Failure

PY = sys.executable


def test_ready_time_is_measured_from_spawn() -> None:
    code = "import json, time; time.sleep(0.2); print(json.dumps({'event': 'ready'}), flush=True)"
    run = runner.run_app([PY, "-c", code], timeout=30)
    assert 0.2 <= run.ready_s <= run.wall_s
    assert run.exit_code == 0
    assert run.event("ready") == {"event": "ready"}


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="peak RSS comes from wait4 on POSIX")
def test_peak_rss_of_the_child_is_reported() -> None:
    code = "import json; b = bytearray(200 * 2**20); print(json.dumps({'event': 'ready'}))"
    run = runner.run_app([PY, "-c", code], timeout=30)
    assert run.peak_rss_bytes is not None and run.peak_rss_bytes > 200 * 2**20


def test_no_ready_event_times_out_kills_the_group_and_keeps_the_output(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild-alive"
    grandchild = tmp_path / "grandchild.py"
    grandchild.write_text(f"import time\ntime.sleep(3)\nopen({str(marker)!r}, 'w').close()\n")
    app = tmp_path / "app.py"
    app.write_text(
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, {str(grandchild)!r}])\n"
        "print('starting up', flush=True)\n"
        "time.sleep(60)\n"
    )
    start = time.monotonic()
    with pytest.raises(Failure) as failure:
        runner.run_app([PY, str(app)], timeout=1.5)
    assert time.monotonic() - start < 10
    assert 'not ready (no {"event": "ready"} line) within 1.5 s' in failure.value.reason
    assert failure.value.log_tail == ["starting up"]
    time.sleep(3.5)
    assert not marker.exists(), "the grandchild survived the timeout"


def test_exit_without_ready_is_a_failure_with_the_log() -> None:
    with pytest.raises(Failure, match="exited without being ready") as failure:
        runner.run_app([PY, "-c", "print('ImportError: no module named PySide6')"], timeout=30)
    assert failure.value.log_tail == ["ImportError: no module named PySide6"]


def test_a_crash_after_ready_is_a_failure() -> None:
    code = "import json, sys; print(json.dumps({'event': 'ready'})); sys.exit(3)"
    with pytest.raises(Failure, match="exit code 3"):
        runner.run_app([PY, "-c", code], timeout=30)


def test_a_missing_program_is_a_failure_not_a_traceback() -> None:
    with pytest.raises(Failure, match="could not start"):
        runner.run_app(["/nonexistent/app"], timeout=5)


def test_run_tool_returns_time_and_raises_with_the_log_tail() -> None:
    seconds, output = runner.run_tool([PY, "-c", "print('built')"])
    assert seconds > 0 and output.strip() == "built"
    with pytest.raises(Failure, match="step failed with exit code 2") as failure:
        runner.run_tool([PY, "-c", "import sys; print('boom'); sys.exit(2)"], what="step")
    assert failure.value.log_tail == ["boom"]


def test_process_groups_per_platform() -> None:
    assert runner.new_group_kwargs("linux") == {"start_new_session": True}
    assert runner.new_group_kwargs("darwin") == {"start_new_session": True}
    assert "creationflags" in runner.new_group_kwargs("win32")


def test_rusage_units_per_platform() -> None:
    assert runner._rss_bytes_from_rusage(1000, "linux") == 1024000
    assert runner._rss_bytes_from_rusage(1000, "darwin") == 1000


def test_a_missing_working_folder_is_named_not_the_program(tmp_path: Path) -> None:
    from shipbench.errors import Failure
    from shipbench.runner import run_tool

    with pytest.raises(Failure, match="working folder .* does not exist"):
        run_tool([sys.executable, "-c", "pass"], cwd=tmp_path / "absent", what="a build")


@pytest.mark.parametrize(("output", "line"), [
    ("Traceback (most recent call last):\n  File \"x.py\", line 1\nImportError: libglib-2.0.so.0: cannot open shared "
     "object file: No such file or directory\n", "ImportError: libglib-2.0.so.0: cannot open shared object file"),
    ("  File \"train.py\", line 3\n    from __future__ import annotations\n    ^\nSyntaxError: from __future__ "
     "imports must occur at the beginning of the file\n", "SyntaxError: from __future__ imports must occur"),
    ("WARNING: Retrying (Retry(total=4)) after connection broken by 'SSLError(SSLCertVerificationError(1, "
     "'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed'))'\nERROR: No matching distribution found for "
     "flit_core<4,>=3.9\n", "CERTIFICATE_VERIFY_FAILED"),
    ("Collecting x\nERROR: No matching distribution found for x\n", "ERROR: No matching distribution found for x"),
    ("usage:\n    http [METHOD] URL\n\nerror:\n    Request body (from stdin) and request data cannot be mixed.\n",
     "error: Request body (from stdin) and request data cannot be mixed."),
    ("#12 exporting to image\nERROR: failed to solve: write /var/lib/docker/x: no such file\nError response from "
     "daemon: write /var/lib/docker/tmp/x: No space left on device\n", "No space left on device"),
    ("./app: error while loading shared libraries: libGL.so.1: cannot open shared object file\n", "libGL.so.1"),
    ("ValueError: first\nDuring handling of the above exception, another exception occurred:\n"
     "KeyError: 'second'\n", "KeyError: 'second'"),
])
def test_the_deciding_line_is_the_one_that_says_why(output: str, line: str) -> None:
    from shipbench.runner import deciding_line

    found = deciding_line(output)
    assert found is not None and line in found


def test_a_failure_without_a_telling_line_keeps_its_exit_code_only() -> None:
    from shipbench.runner import failed_because

    assert failed_because("exit code 1: app", "all fine\nbye\n") == "exit code 1: app"
    assert failed_because("exit code 1: app", "NameError: name 'x' is not defined") == (
        "NameError: name 'x' is not defined (exit code 1: app)")
