"""The offline GPU path of scripts/gpu-bench.sh: GPU rows on a machine where nothing may be installed.

Each strategy that can reach a GPU measures it in its own measure step (measure.gpu → gpu_sweep.py): the venv's
torch, the PyInstaller onedir bundle, the CUDA image with --gpus all; the numbers land in that row's
metrics.gpu, or the reason they could not. `run` below is the offline path of `scripts/gpu-bench.sh`, for a GPU
machine where nothing may be installed: the same sweep over the machine's own Python and PyTorch, a bundle
built there and a CUDA image already present, one record each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import apps, console, docker, measure, pyinstaller_spec, record, settings
from .description import App
from .errors import Failure, Skip
from .fsutil import tree_size
from .gpu_sweep import cuda_facts, measure_gpu, ratios
from .runner import run_tool
from .strategies.bake import gpu_runtime_reason
from .strategies.pyinstaller import bundle_path

ROWS = (("venv", "gpu"), ("pyinstaller", "onedir-gpu"), ("bake", "cuda-gpu"))


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
            ratios(gpu, venv_gpu)
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
        bundle, program = bundle_path(build / "dist", "onedir")
        rec["metrics"].update(setup_s={"cold": seconds}, size_bytes=tree_size(bundle))
        rec["artifact"] = {"path": str(bundle), "kind": "pyinstaller onedir",
                           "description": f"built on the GPU host from {spec.name} (default)"}
        return measure_gpu(app, [str(program), *app.args], dict(os.environ))
    unavailable = docker.unavailable_reason()
    if unavailable:
        raise Skip(unavailable)
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
