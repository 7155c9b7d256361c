from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from shipbench import runner
from shipbench.errors import Failure

PY = sys.executable


def test_ready_time_is_measured_from_spawn() -> None:
    code = "import json, time; time.sleep(0.2); print(json.dumps({'event': 'ready'}), flush=True)"
    run = runner.run_app([PY, "-c", code], timeout=120)
    assert 0.2 <= run.ready_s <= run.wall_s
    assert run.exit_code == 0
    assert run.event("ready") == {"event": "ready"}


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="peak RSS comes from wait4 on POSIX")
def test_peak_rss_of_the_child_is_reported() -> None:
    code = "import json; b = bytearray(200 * 2**20); print(json.dumps({'event': 'ready'}))"
    run = runner.run_app([PY, "-c", code], timeout=120)
    assert run.peak_rss_bytes is not None and run.peak_rss_bytes > 200 * 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the launcher runs on Linux")
def test_the_peak_is_the_apps_own_not_the_harnesss() -> None:
    """A child forked from a large harness would inherit its high-water mark (142 MB rows of a 98 MB app)."""
    held = b"x" * (400 * 2**20)  # the harness grows past anything a bare interpreter uses
    run = runner.run_app([PY, "-c", "pass"], timeout=120, ready="exit")
    assert run.peak_rss_bytes is not None and run.peak_rss_bytes < 100 * 2**20 < len(held)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signal masks in /proc")
def test_the_app_gets_the_signals_a_direct_spawn_gives() -> None:
    """The launcher ignores SIGTERM/SIGINT, and Python ignores SIGPIPE/SIGXFSZ: none of that reaches the app."""
    run = runner.run_app(["sh", "-c", "grep SigIgn /proc/self/status"], timeout=120, ready="exit")
    ignored = int(run.output.split()[-1], 16)
    for number in (2, 13, 15, 25):  # SIGINT, SIGPIPE, SIGTERM, SIGXFSZ
        assert not ignored & (1 << (number - 1)), number


def test_an_app_killed_by_a_signal_says_which() -> None:
    with pytest.raises(Failure, match="exit code -9"):
        runner.run_app([PY, "-c", "import os; os.kill(os.getpid(), 9)"], timeout=120, ready="exit")


class _Clock:
    """The runner's `time` module, whose clocks a test can move far ahead: a limit then expires at a point of
    the test's choosing (after a line was read), however slow the machine."""

    def __init__(self) -> None:
        self.ahead_s = 0.0

    def perf_counter(self) -> float:
        return time.perf_counter() + self.ahead_s

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead_s

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


def test_no_ready_event_times_out_kills_the_group_and_keeps_the_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app starts a helper, says which, and never ends. Once that line is read the clock jumps past the limit:
    the timeout fires after the line whatever the load (a short real limit fired before a loaded machine's
    interpreter had printed anything); the line is kept, and the helper dies with the app's group."""
    from test_app_shapes import _alive

    code = ("import subprocess, sys, time; "
            "helper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)']); "
            "print('starting up, helper', helper.pid, flush=True); time.sleep(1000)")
    clock = _Clock()
    monkeypatch.setattr(runner, "time", clock)

    def expire_after_the_line(line: str, seconds: float) -> None:
        if line.startswith("starting up"):
            clock.ahead_s = 10_000.0

    with pytest.raises(Failure) as failure:
        runner.run_app([PY, "-c", code], timeout=120, on_line=expire_after_the_line)
    assert 'not ready (no {"event": "ready"} line) within 120 s' in failure.value.reason
    (line,) = failure.value.log_tail
    assert line.startswith("starting up, helper ")
    helper = int(line.split()[-1])
    deadline = time.monotonic() + 120  # SIGKILL is final: only the helper's reaping by init may take a moment
    while _alive(helper) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(helper), "the helper survived the timeout"


def test_a_real_limit_expires_on_an_app_that_never_ends() -> None:
    """The same path on the real clock: the app neither says ready nor ends, so the limit expires however fast or
    slow the machine is (nothing here is timed)."""
    with pytest.raises(Failure, match=r'not ready \(no \{"event": "ready"\} line\) within 1.5 s'):
        runner.run_app([PY, "-c", "import time; time.sleep(1000)"], timeout=1.5)


def test_exit_without_ready_is_a_failure_with_the_log() -> None:
    with pytest.raises(Failure, match="exited without being ready") as failure:
        runner.run_app([PY, "-c", "print('ImportError: no module named PySide6')"], timeout=120)
    assert failure.value.log_tail == ["ImportError: no module named PySide6"]


def test_a_crash_after_ready_is_a_failure() -> None:
    code = "import json, sys; print(json.dumps({'event': 'ready'})); sys.exit(3)"
    with pytest.raises(Failure, match="exit code 3"):
        runner.run_app([PY, "-c", code], timeout=120)


def test_a_missing_program_is_a_failure_not_a_traceback() -> None:
    with pytest.raises(Failure, match="could not start"):
        runner.run_app(["/nonexistent/app"], timeout=120)


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
    # an import whose distribution is named otherwise: the line names what to declare
    ("  File \"datasette/app.py\", line 14\nModuleNotFoundError: No module named 'pkg_resources'\n",
     "No module named 'pkg_resources' (pkg_resources comes with setuptools: declare setuptools<82 among the app's "
     "dependencies"),
    ("ModuleNotFoundError: No module named 'yaml.cyaml'\n", "(yaml.cyaml comes with PyYAML: declare PyYAML"),
    ("ValueError: first\nDuring handling of the above exception, another exception occurred:\n"
     "KeyError: 'second'\n", "KeyError: 'second'"),
])
def test_the_deciding_line_is_the_one_that_says_why(output: str, line: str) -> None:
    from shipbench.runner import deciding_line

    found = deciding_line(output)
    assert found is not None and line in found


def test_a_module_named_as_its_distribution_gets_no_hint() -> None:
    from shipbench.import_names import hint, provider

    assert hint("ModuleNotFoundError: No module named 'requests'") is None  # the line says what to declare
    assert hint("ImportError: cannot import name 'x' from 'yaml'") is None
    assert provider("google.protobuf.message") == "protobuf" and provider("google") is None


def test_a_failure_without_a_telling_line_keeps_its_exit_code_only() -> None:
    from shipbench.runner import failed_because

    assert failed_because("exit code 1: app", "all fine\nbye\n") == "exit code 1: app"
    assert failed_because("exit code 1: app", "NameError: name 'x' is not defined") == (
        "NameError: name 'x' is not defined (exit code 1: app)")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SERVICE = """
import http.server, sys, time
class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
time.sleep(0.3)
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Hello)
print("Serving on port", sys.argv[1], flush=True)
server.serve_forever()
"""


def test_a_service_is_ready_when_its_port_accepts_and_is_stopped_there(tmp_path: Path) -> None:
    """Issue 33: ready = {port = N}: ready without waiting for an exit that never comes; stopped at ready, and
    what `on_ready` does (a load) runs while it serves; nothing of it is left."""
    port = _free_port()
    served: list[bool] = []
    ready = runner.Ready("port", port=port, stop=True)
    run = runner.run_app([PY, "-c", SERVICE, str(port)], timeout=120, ready=ready,
                         on_ready=lambda: served.append(runner.port_accepts(port)))
    assert run.stopped_at_ready and served == [True]
    assert run.ready_s is not None and run.event("ready") == {"event": "ready", "seen": "port"}
    assert not runner.port_accepts(port), "the service still listens"


def test_a_pattern_ready_app_that_never_ends_is_stopped_at_its_line() -> None:
    """Issue 33: the uvicorn case, a line matched and then a process that serves forever."""
    code = "import time; print('Uvicorn running on http://127.0.0.1:1', flush=True); time.sleep(3600)"
    ready = runner.Ready("pattern", pattern=re.compile("running on"), stop=True)
    run = runner.run_app([PY, "-c", code], timeout=120, ready=ready)
    assert run.stopped_at_ready and run.exit_code != 0
    assert run.event("ready") == {"event": "ready", "matched": "Uvicorn running on http://127.0.0.1:1"}


def test_a_busy_port_before_the_spawn_is_named(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(Failure, match=f"127.0.0.1:{port} already accepts connections before the app starts"):
            runner.run_app([PY, "-c", "pass"], timeout=60, ready=runner.Ready("port", port=port, stop=True))


def test_an_evidence_run_lets_a_pattern_app_end_by_itself_first() -> None:
    """An evidence run lingers after ready, so a run that ends by itself ends with its own exit code."""
    code = "print('epoch 1', flush=True); import sys; sys.exit(0)"
    ready = runner.Ready("pattern", pattern=re.compile("^epoch 1"), stop=True, linger_s=60)
    run = runner.run_app([PY, "-c", code], timeout=120, ready=ready)
    assert run.exit_code == 0


@pytest.mark.parametrize("text", ["event", "exit", "pattern:^Serving on", "port:8000"])
def test_a_ready_signal_crosses_to_the_relay_and_back(text: str) -> None:
    assert runner.Ready.from_argument(text).as_argument() == text
