"""What a onefile program leaves in the temporary folder when it is stopped at ready.

A onefile program (PyInstaller, Nuitka) unpacks its libraries into a fresh folder below TMPDIR on every start and
deletes it when the app exits. Stopped from outside, it may not: SIGTERM reaches the launcher, which can pass it
on and clean up; SIGKILL (the OOM killer, `kill -9`, a CI job's timeout) ends the launcher before it can, and the
unpacked copy stays, one per start, until /tmp is cleaned (pyinstaller#2379, #6040, Nuitka's --onefile-tempdir-spec
discussions). Users see it as a full /tmp on a long-running machine.

The check starts the program as the start-up runs do, with TMPDIR pointed at an empty folder of its own, sends the
signal to the program the user started (not its group: the launcher's own handling is what is measured) once the
app says ready, then ends whatever is still running, and counts the files and bytes left in that folder. An app
whose ready is its exit is run once to its end instead: what a normal exit leaves.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import measure, runner, settings
from .errors import Failure
from .fsutil import tail

SIGNALS = {"sigterm": signal.SIGTERM, "sigkill": signal.SIGKILL}
GRACE_S = 15.0  # how long the launcher may take to clean up after SIGTERM before the rest of its group is killed
SHOWN = 5
STEP = "temporary files left: onefile stopped at ready by SIGTERM and SIGKILL"


def leftovers(folder: Path) -> dict[str, Any]:
    """{"files", "bytes", "entries": the first names directly in the folder}: what is below it now."""
    files = [path for path in folder.rglob("*") if path.is_file() and not path.is_symlink()]
    return {"files": len(files), "bytes": sum(path.stat().st_size for path in files),
            "entries": sorted(path.name for path in folder.iterdir())[:SHOWN]}


def stop_at_ready(argv: list[str], env: Mapping[str, str], cwd: str, timeout: float,
                  ready: runner.ReadyLike, signum: int) -> bool:
    """Start argv, send `signum` to it once it says ready, give it GRACE_S to end, then end its group; whether it
    was still running when the signal went (an app may end by itself right after ready). Raises Failure when it
    never says ready."""
    output: list[str] = []
    said_ready, done, watching = threading.Event(), threading.Event(), threading.Event()
    runner.watch(ready, said_ready.set, watching)  # a port, an X window: seen outside the output
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, encoding="utf-8", errors="replace", env=dict(env), cwd=cwd,
                            **runner.new_group_kwargs(sys.platform))

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if runner.says_ready(line, ready):
                said_ready.set()
        done.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while not said_ready.wait(0.05) and not done.is_set() and time.monotonic() < deadline:
            pass
        if not said_ready.is_set():
            what = "exited without being ready" if done.is_set() else f"not ready within {timeout:g} s"
            raise Failure(f"{what}, so not stopped at ready: {runner.short_command(argv)}", tail("".join(output)))
        running = proc.poll() is None
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=GRACE_S)
        return running
    finally:
        watching.set()
        runner.kill_tree(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=GRACE_S)


def check(artifact: Any, app: Any, scratch: Path, timeout: float) -> dict[str, Any]:
    """metrics.temp_left of a onefile artifact (a measure.Artifact), each run with a TMPDIR of its own."""
    ready = measure.ready_signal(app)
    runs: dict[str, Any] = {}
    for name, signum in ({"exit": 0} if ready.kind == "exit" else SIGNALS).items():
        folder = scratch / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        env = measure.app_env(artifact, app, {"TMPDIR": str(folder), "SHIPBENCH_PROBE_QUIT": "0"})
        argv = [*artifact.launcher, *app.probe_args]
        cwd = str(artifact.cwd or app.workdir_path)
        if signum:
            running = stop_at_ready(argv, env, cwd, timeout, ready, signum)
        else:
            runner.run_app(argv, env=env, cwd=cwd, timeout=timeout, ready=ready)
            running = False
        runs[name] = {**leftovers(folder), "stopped_while_running": running}
        shutil.rmtree(folder, ignore_errors=True)
    return {"status": "ok", "after": runs}


def record(ctx: Any, artifact: Any) -> None:
    """The check as one progress step of a onefile row (a strategy's Context), into metrics.temp_left."""
    with ctx.steps.step(STEP):
        try:
            timeout = settings.app_timeout_s() * artifact.slowdown
            ctx.metrics["temp_left"] = check(artifact, ctx.app, ctx.build_dir / "temp-left", timeout)
        except Failure as failure:
            ctx.metrics["temp_left"] = {"status": "failed", "reason": str(failure)[:500]}
