"""The GPU sweep: a torch app's gpu-args runs on CUDA, per batch size its samples/s against the card's peak.

What every strategy that can reach a GPU calls from its measure step (measure.gpu), and what the offline path of
scripts/gpu-bench.sh (gpu.py) calls for its rows: one place for how a GPU figure is taken. It knows no strategy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

from . import settings
from .description import App
from .errors import Skip
from .runner import run_app
from .stats import samples_verdict, summarize


def cuda_facts(python: str) -> dict[str, Any]:
    """What this interpreter's torch sees, or raise Skip saying why there is no GPU row."""
    reason = no_device_reason()
    if reason:
        raise Skip(reason)
    code = ("import json, torch; print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda, "
            "'available': torch.cuda.is_available(), 'name': torch.cuda.get_device_name(0) "
            "if torch.cuda.is_available() else None}))")
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    except OSError as error:
        raise Skip(f"cannot run {python}: {error}") from None
    if out.returncode != 0:
        raise Skip(f"{python} has no usable torch: {out.stderr.strip().splitlines()[-1:] or out.returncode}")
    facts: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if not facts["available"]:
        raise Skip(f"no CUDA device: torch {facts['torch']} sees none")
    return facts


def no_device_reason() -> str | None:
    """Why no CUDA device can be here at all (no driver), or None."""
    return None if shutil.which("nvidia-smi") else "no CUDA device: nvidia-smi is not on this host"


def measure_gpu(app: App, launcher: Sequence[str], env: dict[str, str]) -> dict[str, Any]:
    """Several runs of the app's GPU sweep (gpu-args); per batch size the median (min–max) samples/s and more.

    Skip where the app's torch trained on something else (a CPU build of torch cannot reach the GPU)."""
    argv = [*launcher, *(app.gpu_args or ())]  # the launcher carries the app's own args
    runs = [run_app(argv, env=env, timeout=900, need_ready=False) for _ in range(settings.throughput_runs())]
    per_size: dict[int, list[dict[str, Any]]] = {}
    for run in runs:
        for event in run.events:
            if event.get("event") == "result":
                if event.get("device") != "cuda":
                    raise Skip(f"this build's torch ran on {event.get('device')!r}, not CUDA (a CPU build; the torch "
                               "setting pypi installs PyPI's CUDA build)")
                per_size.setdefault(event["batch_size"], []).append(event)
    batches = []
    for size, events in sorted(per_size.items()):
        middle = sorted(events, key=lambda e: e["samples_per_s"])[len(events) // 2]
        batches.append({
            "batch_size": size,
            "samples_per_s": summarize([e["samples_per_s"] for e in events]),
            "tflops": middle["tflops"],
            "peak_tflops": middle["peak_tflops"],
            "mfu": middle["mfu"],
            "median_step_s": middle["median_step_s"],
            "loss_last": middle["loss_last"],
        })
    first = runs[0].event("result") or {}
    ready = [r.ready_s for r in runs if r.ready_s is not None]
    return {"status": "ok", "device_name": first.get("device_name"), "torch": first.get("torch"),
            "torch_cuda": first.get("torch_cuda"), "args": list(app.gpu_args or ()), "batches": batches,
            **({"startup_s": summarize(ready)} if ready else {})}


def ratios(gpu: dict[str, Any], reference: dict[str, Any] | None) -> None:
    if not reference or reference.get("status") != "ok":
        return
    base = {b["batch_size"]: b["samples_per_s"] for b in reference["batches"]}
    for batch in gpu["batches"]:
        if batch["batch_size"] in base:
            batch["ratio_to_venv"] = batch["samples_per_s"]["median"] / base[batch["batch_size"]]["median"]
            # a ratio of two medians of a few runs: whether their samples tell them apart, said beside it
            batch["ratio_verdict"] = samples_verdict(batch["samples_per_s"].get("samples"),
                                                     base[batch["batch_size"]].get("samples"))
