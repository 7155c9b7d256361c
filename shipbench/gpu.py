"""GPU throughput: a torch app's gpu-args sweep on CUDA, against the card's peak.

Each strategy that can reach a GPU measures it in its own measure step (measure.gpu → sweep here): the venv's
torch, the PyInstaller onedir bundle, the CUDA image with --gpus all; the numbers land in that row's
metrics.gpu, or the reason they could not. `run` below is the offline path of `scripts/gpu-bench.sh`, for a GPU
machine where nothing may be installed: the same sweep over the machine's own Python and PyTorch, a bundle
built there and a CUDA image already present, one record each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import apps, console, docker, measure, pyinstaller_spec, record, settings
from .description import App
from .errors import Failure, Skip
from .fsutil import tree_size
from .runner import run_app, run_tool
from .stats import summarize

ROWS = (("venv", "gpu"), ("pyinstaller", "onedir-gpu"), ("bake", "cuda-gpu"))


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


def _ratios(gpu: dict[str, Any], reference: dict[str, Any] | None) -> None:
    if not reference or reference.get("status") != "ok":
        return
    base = {b["batch_size"]: b["samples_per_s"]["median"] for b in reference["batches"]}
    for batch in gpu["batches"]:
        if batch["batch_size"] in base:
            batch["ratio_to_venv"] = batch["samples_per_s"]["median"] / base[batch["batch_size"]]


def run(results_dir: Path, python: str, root: Path, command: str | None = None) -> list[dict[str, Any]]:
    """Write one record per GPU row (venv, PyInstaller onedir, CUDA image) of each torch app with gpu-args."""
    record.check_writable(results_dir)
    written = []
    for app in apps.all_apps(root).values():
        if app.uses_torch and app.gpu_args:
            written += _app_rows(app, results_dir, python, command)
    return written


def _app_rows(app: App, results_dir: Path, python: str, command: str | None) -> list[dict[str, Any]]:
    python_version = _python_version(python)
    written = []
    try:
        facts = cuda_facts(python)
        reason = None
    except Skip as skip:
        facts, reason = {}, skip.reason
    venv_gpu: dict[str, Any] | None = None
    for strategy, variant in ROWS:
        rec = record.new_record(record.Key(strategy, variant, app.name, python_version), command)
        rec["versions"].update(python=python_version, torch=facts.get("torch"), torch_cuda=facts.get("cuda"))
        try:
            if reason:
                raise Skip(reason)
            with console.steps(f"{strategy}/{variant} {app.name} on CUDA", total=1) as steps, \
                    steps.step("GPU sweep"):
                gpu = _row(app, strategy, python, rec)
            _ratios(gpu, venv_gpu)
            if strategy == "venv":
                venv_gpu = gpu
            rec["metrics"].update(gpu=gpu, device="cuda", device_name=gpu["device_name"])
        except Skip as skip:
            rec.update(status="skipped", reason=skip.reason)
        except Failure as failure:
            rec.update(status="failed", reason=failure.reason, log_tail=failure.log_tail)
        path = record.write(rec, results_dir)
        console.console.print(f"{rec['status']} {path}" + (f": {rec['reason']}" if rec["reason"] else ""),
                              markup=False)
        written.append(rec)
    return written


def _row(app: App, strategy: str, python: str, rec: dict[str, Any]) -> dict[str, Any]:
    # the GPU host's own Python and PyTorch run the app from its folder: nothing is installed
    path = os.pathsep.join(filter(None, [str(app.folder), str(app.folder / "src"), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    if strategy == "venv":
        rec["artifact"] = {"path": sys.prefix if python == sys.executable else python, "kind": "python environment",
                           "description": "the GPU host's own Python and PyTorch"}
        return measure_gpu(app, app.command(python, os.path.dirname(python), str(app.folder)), env)
    if strategy == "pyinstaller":
        check = subprocess.run([python, "-c", "import PyInstaller"], capture_output=True, check=False)
        if check.returncode != 0:
            raise Skip(f"PyInstaller is not installed for {python} (pip install -r pyinstaller/requirements.txt)")
        build = settings.build_dir() / "gpu" / app.name
        shutil.rmtree(build, ignore_errors=True)
        spec = app.pyinstaller_spec or pyinstaller_spec.write(app, build / "spec", settings.harness_root(),
                                                              measure.INJECT_DIR / "sitecustomize.py")[0]
        seconds, _ = run_tool([python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath",
                               build / "dist", "--workpath", build / "work", spec,
                               "--", "--mode", "onedir", "--profile", "default"], env=env, cwd=app.project,
                              what="PyInstaller (onedir, default) on the GPU host", timeout=1800)
        from .strategies.pyinstaller import bundle_path

        bundle, program = bundle_path(build / "dist", "onedir")
        rec["metrics"].update(setup_s={"cold": seconds}, size_bytes=tree_size(bundle))
        rec["artifact"] = {"path": str(bundle), "kind": "pyinstaller onedir",
                           "description": f"built on the GPU host from {spec.name} (default)"}
        return measure_gpu(app, [str(program), *app.args], dict(os.environ))
    unavailable = docker.unavailable_reason()
    if unavailable:
        raise Skip(unavailable)
    from .strategies.bake import gpu_runtime_reason

    no_gpu = gpu_runtime_reason()
    if no_gpu:
        raise Skip(no_gpu)
    image = os.environ.get("SHIPBENCH_CUDA_IMAGE", f"shipbench/{app.name}:bench-cuda")
    if not docker.image_exists(image):
        raise Skip(f"no CUDA image {image} here (nox -s \"bake(variant='cuda')\" builds it)")
    rec["artifact"] = {"path": image, "kind": "docker image", "description": "the CUDA image, --gpus all"}
    return measure_gpu(app, ["docker", "run", "--rm", "--gpus", "all", image, *app.args], dict(os.environ))


def _python_version(python: str) -> str:
    out = subprocess.run([python, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
                         capture_output=True, text=True, check=False).stdout.strip()
    return out or f"{sys.version_info[0]}.{sys.version_info[1]}"
