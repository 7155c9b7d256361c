"""The offline GPU path of scripts/gpu-bench.sh: GPU rows on a machine where nothing may be installed.

Each strategy that can reach a GPU says so in its own module (strategies.base.ReachesGpu): the variant whose
measure step takes the GPU figure, that step, and what it can make or find on a GPU machine without installing
anything (the machine's own PyTorch; a PyInstaller bundle built there; a CUDA image already present). This runs
those same steps, one record per such strategy and torch app with gpu-args; it lists no rows of its own.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import apps, console, record, settings
from .description import App
from .errors import Failure, Skip
from .gpu_sweep import cuda_facts, ratios
from .strategies import STRATEGIES
from .strategies.base import Context, ReachesGpu


def gpu_strategies() -> list[ReachesGpu]:
    """The strategies that can reach a GPU, in the registry's order (the venv first: the others' ratios)."""
    return [strategy for strategy in STRATEGIES.values() if isinstance(strategy, ReachesGpu)]


def offline_variant(strategy: ReachesGpu) -> str:
    """The offline row's variant: the measuring variant's name, marked as the GPU machine's (the report keeps
    rows whose variant ends in `gpu` in its GPU section)."""
    return f"{strategy.gpu_variant}-gpu"


def run(results_dir: Path, python: str, root: Path, command: str | None = None) -> list[dict[str, Any]]:
    """Write one record per GPU-reaching strategy of each torch app with gpu-args."""
    record.check_writable(results_dir)
    written = []
    for app in apps.all_apps(root).values():
        if app.uses_torch and app.gpu_args:
            written += _app_rows(app, results_dir, python, root, command)
    return written


def _app_rows(app: App, results_dir: Path, python: str, root: Path, command: str | None) -> list[dict[str, Any]]:
    python_version = _python_version(python)
    try:
        facts = cuda_facts(python)
        reason = None
    except Skip as skip:
        facts, reason = {}, skip.reason
    venv_gpu: dict[str, Any] | None = None
    written = []
    for strategy in gpu_strategies():
        name = strategy.name
        key = record.Key(name, offline_variant(strategy), app.name, python_version)
        rec = record.new_record(key, command)
        rec["versions"].update(python=python_version, torch=facts.get("torch"), torch_cuda=facts.get("cuda"))
        try:
            if reason:
                raise Skip(reason)
            gpu = _row(strategy, key, app, (root, results_dir), python, rec)
            ratios(gpu, venv_gpu)
            if name == "venv":
                venv_gpu = gpu
        except Skip as skip:
            rec.update(status="skipped", reason=skip.reason)
        except Failure as failure:
            rec.update(status="failed", reason=failure.reason, log_tail=failure.log_tail)
        path = record.write(rec, results_dir)
        console.console.print(f"{rec['status']} {path}" + (f": {rec['reason']}" if rec["reason"] else ""),
                              markup=False)
        written.append(rec)
    return written


def _row(strategy: ReachesGpu, key: record.Key, app: App, folders: tuple[Path, Path], python: str,
         rec: dict[str, Any]) -> dict[str, Any]:
    """The strategy's offline artifact, then its own GPU measure step; the sweep's numbers, or Skip/Failure."""
    with console.steps(f"{key.label()} on CUDA", total=2) as steps:
        root, results_dir = folders
        ctx = Context(key, app, root, settings.build_dir() / "gpu" / key.strategy, results_dir, rec, steps)
        with steps.step("the artifact, from what this machine has"):
            artifact = strategy.offline_gpu_artifact(ctx, python)
        rec["artifact"] = {"path": str(artifact.path), "kind": artifact.kind, "description": artifact.description}
        try:
            strategy.measure_gpu(ctx, artifact)
        finally:
            if artifact.share:
                shutil.rmtree(artifact.share[0], ignore_errors=True)
    gpu: dict[str, Any] = rec["metrics"].get("gpu") or {"status": "skipped", "reason": "the app has no gpu-args"}
    if gpu.get("status") == "skipped":
        raise Skip(gpu["reason"])
    if gpu.get("status") == "failed":
        raise Failure(gpu["reason"])
    rec["metrics"].update(device="cuda", device_name=gpu["device_name"])
    return gpu


def _python_version(python: str) -> str:
    out = subprocess.run([python, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
                         capture_output=True, text=True, check=False).stdout.strip()
    return out or f"{sys.version_info[0]}.{sys.version_info[1]}"
