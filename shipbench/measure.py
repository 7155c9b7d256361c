"""Measurements every strategy shares: start-up (cold, then warm runs), throughput, a screenshot, sizes.

What is run comes from the app's description: its probe arguments, how readiness shows, its throughput
command and how to read its figure. A strategy supplies only the Artifact: how to start what it built.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import gpu_sweep, hostload, loadgen, settings, x11_window, xserver
from .apps import App
from .errors import Failure
from .fsutil import PNG_SIGNATURE, atomic_move, is_png
from .relay import STOP_AT_READY  # a relay beside the app (a VM's) reads it: it stops the app at ready itself
from .run_leftovers import partial_name
from .runner import NOT_FOR_APPS, ProcessRun, Ready, run_app, short_command
from .stats import summarize

if TYPE_CHECKING:  # the strategies build on this module; it needs only their types
    from .strategies.base import Artifact, Context

# The first-frame probe (a sitecustomize.py): on the PYTHONPATH of an app whose ready is its first frame.
INJECT_DIR = Path(__file__).resolve().parent / "inject"


EVIDENCE_LINGER_S = 5.0  # an evidence run of an app stopped at ready: what it may still load before it is stopped


def ready_signal(app: App, evidence: bool = False) -> Ready:
    """How the runner sees this app become ready (runner.run_app's `ready`), and whether it is stopped then
    (kinds.py: an app that does not know shipbench may never end by itself). An evidence run (what the app loads,
    for trimmed bundles) gives such an app EVIDENCE_LINGER_S to end by itself first, unless it is a service or a
    window, which never do."""
    stop = app.stops_at_ready
    linger = EVIDENCE_LINGER_S if evidence and stop and not (app.service or app.window_on_x) else 0.0
    if app.ready == "pattern":
        assert app.ready_pattern is not None
        return Ready("pattern", pattern=re.compile(app.ready_pattern), stop=stop, linger_s=linger)
    if app.ready == "port":
        return Ready("port", port=app.ready_port, stop=stop)
    if app.window_on_x:
        display = xserver.current_display()
        if display is None:
            raise Failure(f"{app.name}'s first frame is seen on an X server, and none runs for this row "
                          f"({xserver.MISSING})")
        return Ready("window", display=display, stop=stop)
    return Ready("exit" if app.ready == "exit" else "event")  # the injected first-frame probe prints an event


def probe_env(app: App) -> dict[str, str]:
    """What an app run needs besides the user's environment: the Qt platform, the first-frame probe's switch,
    the X display a window of another toolkit is watched on."""
    # every line the app prints arrives as printed, as under a terminal (a pipe would hold a ready line in its
    # buffer until it fills): frozen programs honour it too (pyinstaller/unbuffered.py)
    env = {"PYTHONUNBUFFERED": "1"}
    if app.shows_window:  # a Qt window seen on the X server must be drawn there
        env["QT_QPA_PLATFORM"] = "xcb" if app.window_on_x else settings.qt_platform()
    if app.first_frame:
        env["SHIPBENCH_FIRST_FRAME"] = "1"
    display = xserver.current_display()
    if app.window_on_x and display:
        env["DISPLAY"] = display
    return env


def app_env(artifact: Artifact, app: App, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured app run: the user's, minus what would leak the harness's Python in."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_APPS}
    env.update(app.environment)
    env.update(probe_env(app))
    env.update(artifact.env)
    env.update(extra or {})
    return env


def start(artifact: Artifact, app: App, args: tuple[str, ...] | list[str], timeout: float,
          extra_env: Mapping[str, str] | None = None, need_ready: bool = True,
          on_ready: Callable[[], None] | None = None, evidence: bool = False) -> ProcessRun:
    """One run of the app from the artifact; extra_env reaches the app wherever it runs (container, guest).

    A run that must be ready is a start-up run and gets the description's probe-args; one that need not (a
    throughput run) gets only `args`. An app stopped at ready (kinds.py) is stopped after `on_ready`; where a
    relay beside it starts it (a VM), the relay stops it, and this side waits for the relay to end."""
    signal = ready_signal(app, evidence)
    extra = dict(extra_env or {})
    if artifact.with_env is not None and signal.stop and need_ready:
        extra[STOP_AT_READY] = "1"
        signal = dataclasses.replace(signal, stop=False)
    launcher = artifact.with_env(extra) if artifact.with_env and extra else artifact.launcher
    try:
        return run_app([*launcher, *app.probe_args, *args] if need_ready else [*launcher, *args],
                       env=app_env(artifact, app, extra), cwd=str(artifact.cwd or app.workdir_path),
                       timeout=timeout, need_ready=need_ready, ready=signal, on_ready=on_ready)
    finally:
        if artifact.after_run is not None:
            artifact.after_run()


def standard_steps(app: App) -> int:
    return 2 + (1 if app.shows_window else 0) + (1 if app.throughput else 0) + (1 if settings.instruction_runs() else 0)


def standard(ctx: Context, artifact: Artifact) -> None:
    """Cold start, warm starts, then a screenshot (window apps) and the throughput runs (apps that compute)."""
    app = ctx.app
    timeout = settings.app_timeout_s() * artifact.slowdown
    runs: list[ProcessRun] = []

    with ctx.steps.step("start-up, cold (first run after the build)"), hostload.watch(ctx.metrics, "startup_cold"):
        runs.append(start(artifact, app, (), timeout))
    paces: list[float | None] = []
    with ctx.steps.step(f"start-up, warm ({settings.warm_runs()} runs)"), hostload.watch(ctx.metrics, "startup"):
        for _ in range(settings.warm_runs()):
            paces.append(hostload.reference_s())  # the host's pace right before each run: see hostload.py
            runs.append(start(artifact, app, (), timeout))
    hostload.record_pace(ctx.metrics, "startup", paces)
    ready = [run.ready_s for run in runs if run.ready_s is not None]
    ctx.metrics["startup_s"] = {"cold": ready[0], "warm": summarize(ready[1:])}
    ctx.metrics["ready"] = app.ready
    if settings.instruction_runs():
        _instructions(ctx, artifact, timeout)
    first_ready = runs[0].event("ready") or {}
    if app.shows_window:
        ctx.metrics["qt_platform"] = str(first_ready.get("qt_platform", ""))
        with ctx.steps.step("screenshot"):
            shot = screenshot(ctx, artifact, timeout)
            if shot:
                ctx.metrics["screenshot"] = shot

    if app.throughput:
        what = f"{app.throughput.http} over loopback" if app.throughput.http else "throughput"
        with ctx.steps.step(f"{what} ({settings.throughput_runs()} runs)"), \
                hostload.watch(ctx.metrics, "throughput"):
            args = artifact.throughput_args or app.throughput.args
            runs.extend(_throughput(ctx, artifact, args, timeout))
    if artifact.rss_from_app:
        rss = [event["peak_rss_bytes"] for run in runs for event in run.events if event.get("peak_rss_bytes")]
    else:
        rss = [run.peak_rss_bytes for run in runs if run.peak_rss_bytes is not None]
    if rss:
        ctx.metrics["peak_rss_bytes"] = max(rss)


def _instructions(ctx: Context, artifact: Artifact, timeout: float) -> None:
    """The gate metric (instructions.py): a start-up run's instructions, counted `instruction-runs` times, so the
    record shows how repeatable the count is. Not counted where the app runs in a container or guest, said."""
    from . import instructions

    runs = settings.instruction_runs()
    if artifact.rss_from_app:  # the launcher is a wrapper (docker run, vagrant ssh): the app is not on this host
        ctx.note("instructions not counted: the app runs inside a container or guest, where valgrind is not")
        return
    if instructions.available() is None:
        ctx.note(f"instructions not counted: valgrind is not installed ({instructions.INSTALL})")
        return
    app = ctx.app
    with ctx.steps.step(f"instructions, spawn to exit (callgrind, {runs} runs)"):
        counts = [instructions.count([*artifact.launcher, *app.probe_args], app_env(artifact, app),
                                     str(artifact.cwd or app.workdir_path), timeout, ready_signal(app))
                  for _ in range(runs)]
    ctx.metrics["instructions"] = summarize([float(c) for c in counts])


def baseline(ctx: Context, reference: Artifact, what: str) -> None:
    """Measure a reference (the same app in a venv) right after the artifact, so ratios compare like with like.

    Start-up and throughput drift by tens of percent between runs minutes apart on a shared machine; a ratio
    against a record from another moment would mostly measure that drift.
    """
    if settings.quick():
        return
    app = ctx.app
    timeout = settings.app_timeout_s()
    result: dict[str, Any] = {"what": what}
    with ctx.steps.step(f"baseline: {what}"):
        with hostload.watch(ctx.metrics, "baseline_startup"):
            runs = [start(reference, app, (), timeout) for _ in range(settings.warm_runs())]
        result["startup_s"] = summarize([run.ready_s for run in runs if run.ready_s is not None])
        if app.throughput:
            with hostload.watch(ctx.metrics, "baseline_throughput"):
                figures = [figure(app, start(reference, app, app.throughput.args, timeout * 5, need_ready=False))[0]
                           for _ in range(settings.throughput_runs())]
            result["throughput"] = summarize(figures)
    ctx.metrics["baseline"] = result
    warm = ctx.metrics.get("startup_s", {}).get("warm", {}).get("median")
    if warm:
        ctx.metrics["startup_ratio_to_baseline"] = warm / result["startup_s"]["median"]
    if ctx.metrics.get("throughput") and result.get("throughput"):
        ctx.metrics["throughput_ratio_to_baseline"] = (ctx.metrics["throughput"]["median"]
                                                       / result["throughput"]["median"])


def x11(ctx: Context, artifact: Artifact, display: str) -> None:
    """The window app against a real X server: the artifact's launcher already points the app at it."""
    with ctx.steps.step(f"start-up over X11 ({display}), cold and warm"):
        timeout = settings.app_timeout_s() * artifact.slowdown
        x = {"QT_QPA_PLATFORM": "xcb"}
        runs = [start(artifact, ctx.app, (), timeout, extra_env=x) for _ in range(1 + settings.warm_runs())]
        ready = [run.ready_s for run in runs if run.ready_s is not None]
        platform = (runs[0].event("ready") or {}).get("qt_platform")
        if platform is not None and platform != "xcb":
            raise Failure(f"the app did not use X11 (Qt platform {platform!r})")
        shot = screenshot(ctx, artifact, timeout, suffix="-x11", extra_env=x)
        ctx.metrics["x11"] = {"status": "ok", "startup_s": {"cold": ready[0], "warm": summarize(ready[1:])},
                              **({"screenshot": shot} if shot else {})}


def screenshot(ctx: Context, artifact: Artifact, timeout: float, suffix: str = "",
               extra_env: Mapping[str, str] | None = None) -> str | None:
    """Have the app (or the injected probe) save what it painted; the PNG's path relative to the results folder.

    None, with a note, where the app has no screenshot arguments and no first-frame probe to take one.
    """
    app = ctx.app
    if app.screenshot_args is None and not app.first_frame:
        ctx.note("no screenshot: the description has no screenshot-args and ready is not first-frame")
        return None
    relative = Path("screenshots") / (ctx.key.filename.removesuffix(".json") + suffix + ".png")
    target = (ctx.results_dir / relative).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    # the app writes to a temporary name; only a whole PNG is moved to the record's name (a full disk or a crash
    # mid-write leaves nothing there)
    partial = partial_name(target.stem) + "partial.png"  # still .png: Qt picks the image format from the suffix
    if app.window_on_x and app.screenshot_args is None:  # read from the X server, wherever the app runs
        written = target.with_name(partial)
        display = xserver.current_display()
        assert display is not None  # ready_signal raised before this otherwise
        try:
            def take() -> None:
                x11_window.screenshot(display, written)

            start(artifact, app, (), timeout, extra_env=extra_env, on_ready=take)
            if not is_png(written):
                raise Failure(f"the app's window was mapped on {display}, but no window was there to read back")
            atomic_move(written, target)
        finally:
            written.unlink(missing_ok=True)
        return relative.as_posix()
    if artifact.share is None:
        written, seen_as = target.with_name(partial), str(target.with_name(partial))
    else:
        host_dir, app_dir = artifact.share
        written, seen_as = host_dir / partial, f"{app_dir}/{partial}"
    written.unlink(missing_ok=True)
    env = dict(extra_env or {})
    args: list[str] = []
    if app.screenshot_args is not None:
        args = [part.replace("{path}", seen_as) for part in app.screenshot_args]
    else:
        env["SHIPBENCH_SCREENSHOT"] = seen_as
    try:
        start(artifact, app, args, timeout, extra_env=env)
        if artifact.fetch is not None and artifact.share is not None:
            artifact.fetch(seen_as, written)
        if not is_png(written) or written.stat().st_size <= len(PNG_SIGNATURE):
            raise Failure(f"the app said ready but wrote no PNG screenshot to {seen_as}")
        atomic_move(written, target)
    finally:
        written.unlink(missing_ok=True)
    return relative.as_posix()


def figure(app: App, run: ProcessRun) -> tuple[float, dict[str, Any]]:
    """The throughput figure of one run, as the description says to read it, and the event it came from."""
    spec = app.throughput
    assert spec is not None
    if spec.pattern is not None:
        for line in run.output.splitlines():
            match = re.search(spec.pattern, line)
            if match:
                try:
                    return float(match.group(1).replace(",", "")), {}
                except ValueError:
                    break
        raise Failure(f"no line of {short_command(run.argv)} matched the throughput pattern {spec.pattern!r}",
                      run.output.splitlines()[-20:])
    event = run.event(spec.event or "result") or {}
    value = event.get(spec.key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise Failure(f"no {spec.event} event with a positive {spec.key!r} from {short_command(run.argv)}",
                      run.output.splitlines()[-20:])
    return float(value), event


def _service_throughput(ctx: Context, artifact: Artifact, timeout: float) -> list[ProcessRun]:
    """A service's throughput: started as for a start-up, and once ready, loaded by the load generator
    (loadgen.py, a process of its own) with the described request; stopped after each run."""
    app = ctx.app
    spec = app.throughput
    assert spec is not None and spec.http is not None and spec.port is not None
    if not artifact.shares_loopback:
        ctx.metrics["throughput_skipped"] = (f"{spec.http} not sent: the service runs where this host's loopback "
                                             f"does not reach ({artifact.kind}); start-up is measured there")
        return []
    runs: list[ProcessRun] = []
    results: list[dict[str, Any]] = []
    for _ in range(settings.throughput_runs()):
        result: dict[str, Any] = {}

        def load(into: dict[str, Any] = result) -> None:
            into.update(loadgen.against(spec))

        runs.append(start(artifact, app, spec.args, timeout + 2 * spec.seconds + 60, on_ready=load))
        if not result.get("completed") or result.get("errors"):
            raise Failure(f"{result.get('errors', 0)} of the requests {spec.http} to 127.0.0.1:{spec.port} failed: "
                          f"{result.get('first_error') or 'none completed'}", runs[-1].output.splitlines()[-20:])
        results.append(result)
    ctx.metrics["throughput"] = summarize([r["requests_per_s"] for r in results])
    ctx.metrics["throughput_unit"] = spec.unit
    ctx.metrics["latency_ms"] = {name: summarize([r["latency_ms"][name] for r in results]) for name in ("p50", "p99")}
    ctx.metrics["http"] = {"request": spec.http, "port": spec.port, "connections": spec.connections,
                           "requests": spec.requests, "completed": [r["completed"] for r in results],
                           "client_cpu_s": [r["client_cpu_s"] for r in results], "generator": loadgen.NAME}
    return runs


def _throughput(ctx: Context, artifact: Artifact, args: tuple[str, ...], timeout: float) -> list[ProcessRun]:
    app = ctx.app
    assert app.throughput is not None
    if app.throughput.http:
        return _service_throughput(ctx, artifact, timeout)
    runs = [start(artifact, app, args, timeout * 5, need_ready=False) for _ in range(settings.throughput_runs())]
    read = [figure(app, run) for run in runs]
    ctx.metrics["throughput"] = summarize([value for value, _ in read])
    ctx.metrics["throughput_unit"] = app.throughput.unit
    middle = sorted(read, key=lambda item: item[0])[len(read) // 2][1]
    # what a training app may add to its result event (app_dl does): the device, the work done, the loss
    for key in ("tflops", "device", "device_name", "loss_first", "loss_last"):
        if middle.get(key) is not None:
            ctx.metrics[key] = middle[key]
    if middle.get("torch"):
        ctx.versions["torch"] = middle["torch"]
    if isinstance(middle.get("loss_first"), (int, float)) and isinstance(middle.get("loss_last"), (int, float)) \
            and middle["loss_last"] >= middle["loss_first"]:
        raise Failure(f"the loss did not fall ({middle['loss_first']:.3f} → {middle['loss_last']:.3f})")
    return runs


def gpu(ctx: Context, artifact: Artifact, launcher: tuple[str, ...] | None = None) -> None:
    """A strategy that can reach a GPU measures it here: the app's gpu-args sweep, into metrics.gpu (ok with the
    numbers, or skipped/failed with the reason). Apps without gpu-args have no GPU figure to take."""
    from .errors import Skip

    if not ctx.app.gpu_args:
        return
    reason = gpu_sweep.no_device_reason()
    if reason:
        ctx.metrics["gpu"] = {"status": "skipped", "reason": reason}
        return
    with ctx.steps.step("throughput on the GPU (the app's gpu-args)"):
        try:
            ctx.metrics["gpu"] = gpu_sweep.measure_gpu(ctx.app, launcher or artifact.launcher,
                                                   app_env(artifact, ctx.app))
        except Skip as skip:
            ctx.metrics["gpu"] = {"status": "skipped", "reason": skip.reason}
        except Failure as failure:
            ctx.metrics["gpu"] = {"status": "failed", "reason": failure.reason}
