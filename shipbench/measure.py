"""Measurements every strategy shares: start-up (cold, then warm runs), throughput, a screenshot, sizes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from . import settings
from .apps import App
from .errors import Failure
from .runner import NOT_FOR_APPS, ProcessRun, run_app, short_command
from .stats import summarize
from .strategies.base import Artifact, Context


def app_env(artifact: Artifact, app: App) -> dict[str, str]:
    """The environment of a measured app run: the user's, minus what would leak the harness's Python in."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_APPS}
    if app.name == "gui":
        env["QT_QPA_PLATFORM"] = settings.qt_platform()
    env.update(artifact.env)
    return env


def standard_steps(app: App) -> int:
    return 3 + (1 if app.throughput_args else 0)


def standard(ctx: Context, artifact: Artifact) -> None:
    """Cold start, warm starts, then throughput (app_dl) or a screenshot (app_gui)."""
    env = app_env(artifact, ctx.app)
    probe = [*artifact.launcher, *ctx.app.probe_args]
    timeout = settings.app_timeout_s() * artifact.slowdown
    runs: list[ProcessRun] = []

    with ctx.steps.step("start-up, cold (first run after the build)"):
        runs.append(run_app(probe, env=env, timeout=timeout))
    with ctx.steps.step(f"start-up, warm ({settings.warm_runs()} runs)"):
        runs.extend(run_app(probe, env=env, timeout=timeout) for _ in range(settings.warm_runs()))
    ready = [run.ready_s for run in runs if run.ready_s is not None]
    ctx.metrics["startup_s"] = {"cold": ready[0], "warm": summarize(ready[1:])}
    first_ready = runs[0].event("ready") or {}
    if ctx.app.name == "gui":
        ctx.metrics["qt_platform"] = str(first_ready.get("qt_platform", ""))
        with ctx.steps.step("screenshot"):
            ctx.metrics["screenshot"] = screenshot(ctx, artifact, probe, env, timeout)

    if ctx.app.throughput_args:
        with ctx.steps.step(f"training throughput ({settings.throughput_runs()} runs)"):
            argv = [*artifact.launcher, *(artifact.throughput_args or ctx.app.throughput_args)]
            runs.extend(_throughput(ctx, argv, env, timeout))
    if artifact.rss_from_app:
        rss = [event["peak_rss_bytes"] for run in runs for event in run.events if event.get("peak_rss_bytes")]
    else:
        rss = [run.peak_rss_bytes for run in runs if run.peak_rss_bytes is not None]
    if rss:
        ctx.metrics["peak_rss_bytes"] = max(rss)


def baseline(ctx: Context, reference: Artifact, what: str) -> None:
    """Measure a reference (the same app in a venv) right after the artifact, so ratios compare like with like.

    Start-up and throughput drift by tens of percent between runs minutes apart on a shared machine; a ratio
    against a record from another moment would mostly measure that drift.
    """
    env = app_env(reference, ctx.app)
    timeout = settings.app_timeout_s()
    result: dict[str, Any] = {"what": what}
    with ctx.steps.step(f"baseline: {what}"):
        probe = [*reference.launcher, *ctx.app.probe_args]
        runs = [run_app(probe, env=env, timeout=timeout) for _ in range(settings.warm_runs())]
        result["startup_s"] = summarize([run.ready_s for run in runs if run.ready_s is not None])
        if ctx.app.throughput_args:
            argv = [*reference.launcher, *ctx.app.throughput_args]
            events = [run_app(argv, env=env, timeout=timeout * 5).event("result") or {}
                      for _ in range(settings.throughput_runs())]
            result["samples_per_s"] = summarize([event.get("samples_per_s") or 0.0 for event in events])
            result["loss_last"] = events[-1].get("loss_last")
    ctx.metrics["baseline"] = result
    warm = ctx.metrics.get("startup_s", {}).get("warm", {}).get("median")
    if warm:
        ctx.metrics["startup_ratio_to_baseline"] = warm / result["startup_s"]["median"]
    if ctx.metrics.get("samples_per_s") and result.get("samples_per_s"):
        ctx.metrics["samples_ratio_to_baseline"] = (ctx.metrics["samples_per_s"]["median"]
                                                    / result["samples_per_s"]["median"])


def x11(ctx: Context, artifact: Artifact, display: str) -> None:
    """The GUI against a real X server: the artifact's launcher already points the app at it."""
    with ctx.steps.step(f"start-up over X11 ({display}), cold and warm"):
        probe = [*artifact.launcher, *ctx.app.probe_args]
        env = app_env(artifact, ctx.app)
        timeout = settings.app_timeout_s() * artifact.slowdown
        runs = [run_app(probe, env=env, timeout=timeout) for _ in range(1 + settings.warm_runs())]
        ready = [run.ready_s for run in runs if run.ready_s is not None]
        platform = (runs[0].event("ready") or {}).get("qt_platform")
        if platform != "xcb":
            raise Failure(f"the GUI did not use X11 (Qt platform {platform!r})")
        shot = screenshot(ctx, artifact, probe, env, timeout, suffix="-x11")
        ctx.metrics["x11"] = {"status": "ok", "startup_s": {"cold": ready[0], "warm": summarize(ready[1:])},
                              "screenshot": shot}


def screenshot(ctx: Context, artifact: Artifact, probe: list[str], env: dict[str, str], timeout: float,
               suffix: str = "") -> str:
    """Have the app save what it painted; returns the PNG's path relative to the results folder."""
    relative = Path("screenshots") / (ctx.key.filename.removesuffix(".json") + suffix + ".png")
    target = (ctx.results_dir / relative).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    if artifact.share is None:
        run_app([*probe, "--screenshot", str(target)], env=env, timeout=timeout)
    else:
        host_dir, app_dir = artifact.share
        (host_dir / target.name).unlink(missing_ok=True)
        run_app([*probe, "--screenshot", f"{app_dir}/{target.name}"], env=env, timeout=timeout)
        if artifact.fetch is not None:
            artifact.fetch(f"{app_dir}/{target.name}", host_dir / target.name)
        if (host_dir / target.name).is_file():
            shutil.move(str(host_dir / target.name), target)
    if not target.is_file() or target.stat().st_size == 0:
        raise Failure(f"the app said ready but wrote no screenshot to {target}")
    return relative.as_posix()


def _throughput(ctx: Context, argv: list[str], env: dict[str, str], timeout: float) -> list[ProcessRun]:
    runs = [run_app(argv, env=env, timeout=timeout * 5) for _ in range(settings.throughput_runs())]
    results: list[dict[str, Any]] = []
    for run in runs:
        result = run.event("result")
        if result is None or not result.get("samples_per_s"):
            raise Failure(f"no result event with samples/s from {short_command(argv)}", run.output.splitlines()[-20:])
        results.append(result)
    middle = sorted(results, key=lambda r: r["samples_per_s"])[len(results) // 2]
    ctx.metrics.update(
        samples_per_s=summarize([r["samples_per_s"] for r in results]),
        tflops=middle["tflops"],
        device=middle["device"],
        device_name=middle["device_name"],
        loss_first=middle["loss_first"],
        loss_last=middle["loss_last"],
    )
    ctx.versions["torch"] = middle["torch"]
    if middle["loss_last"] >= middle["loss_first"]:
        raise Failure(f"the loss did not fall ({middle['loss_first']:.3f} → {middle['loss_last']:.3f})")
    return runs
