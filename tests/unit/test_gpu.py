"""GPU rows: recorded as skipped with the reason on hosts without a GPU; ratios and the report's GPU table."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from shipbench import gpu, gpu_sweep, record
from shipbench.reporting import write_report
from shipbench.strategies import bake


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this host has a GPU")
def test_without_a_gpu_every_gpu_row_is_skipped_with_the_reason(tmp_path: Path) -> None:
    records = gpu.run(tmp_path, sys.executable, ROOT)
    rows = [("venv", "uv-gpu"), ("pyinstaller", "onedir-default-gpu"), ("bake", "cuda-gpu")]
    assert [(s.name, gpu.offline_variant(s)) for s in gpu.gpu_strategies()] == rows  # what their modules say
    assert [(r["strategy"], r["variant"]) for r in records] == rows
    for rec in records:
        assert rec["status"] == "skipped" and rec["reason"].startswith("no CUDA device")
        assert "gpu" not in rec["metrics"] and "samples_per_s" not in rec["metrics"]  # never a CPU number
    assert len(list(tmp_path.glob("*.json"))) == 3


def _gpu_metrics(samples: dict[int, float]) -> dict:
    return {"status": "ok", "device_name": "NVIDIA H100 80GB HBM3", "amp": "bf16", "hidden": 4096, "steps": 100,
            "startup_s": {"median": 9.0, "min": 8.0, "max": 10.0, "n": 3},
            "batches": [{"batch_size": size, "samples_per_s": {"median": value, "min": value, "max": value, "n": 3},
                         "tflops": 100.0, "peak_tflops": 700.0, "mfu": 100 / 700, "median_step_s": 0.01,
                         "loss_last": 0.1} for size, value in samples.items()]}


def test_ratios_are_per_batch_size_against_the_venv() -> None:
    venv = _gpu_metrics({256: 100.0, 4096: 1000.0})
    bundle = _gpu_metrics({256: 90.0, 4096: 1000.0})
    gpu_sweep.ratios(bundle, venv)
    assert [b["ratio_to_venv"] for b in bundle["batches"]] == [0.9, 1.0]


def test_the_report_draws_gpu_rows_and_says_why_cells_are_empty(tmp_path: Path, make_record) -> None:
    measured = make_record(strategy="venv", variant="gpu", app="dl")
    measured["metrics"] = {"gpu": _gpu_metrics({4096: 123456.0}), "device": "cuda"}
    skipped = make_record("skipped", strategy="bake", variant="dl-cuda-gpu", app="dl")
    skipped["reason"] = "docker is not installed"
    for rec in (measured, skipped):
        record.write(rec, tmp_path / "results")
    write_report([tmp_path / "results"], tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Training on the GPU" in md
    assert "| venv/gpu dl py3.12 linux | NVIDIA H100 80GB HBM3 (bf16) | 4,096 | 123,456 (123,456 – 123,456, n=3) |" \
           " 100.0 | 14% of 700 TFLOP/s | – |" in md
    assert "| bake/dl-cuda-gpu dl py3.12 linux | skipped | docker is not installed |" in md


def test_the_gpu_script_says_what_is_missing_instead_of_failing_later(tmp_path: Path) -> None:
    """`bash scripts/gpu-bench.sh` with an interpreter that has no torch: a one-line reason, no traceback."""
    import subprocess

    result = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-bench.sh"), str(tmp_path)], capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable}, timeout=120,
                            check=False)
    assert result.returncode != 0
    assert "has no torch" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- GPU measured in a strategy's own measure step ---------------------------------------------------------------
_SWEEP = """
import json, sys
device = sys.argv[1]
for size in (256, 4096):
    print(json.dumps({"event": "result", "device": device, "device_name": "Fake GPU", "batch_size": size,
                      "samples_per_s": size * 10.0, "tflops": 1.0, "peak_tflops": 2.0, "mfu": 0.5,
                      "median_step_s": 0.01, "loss_last": 0.1, "torch": "2.9"}))
"""


def _measure_gpu_of(device: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    from shipbench import apps, console, measure
    from shipbench.strategies.base import Artifact, Context

    monkeypatch.setattr(gpu_sweep, "no_device_reason", lambda: None)  # as on a host with a driver
    app = apps.get("dl", ROOT)
    key = record.Key("venv", "uv", "dl", "3.11")
    rec = record.new_record(key)
    artifact = Artifact(path=tmp_path, kind="test", launcher=(sys.executable, "-c", _SWEEP, device))
    with console.steps("gpu", 1) as steps:
        measure.gpu(Context(key, app, ROOT, tmp_path, tmp_path, rec, steps), artifact)
    return rec["metrics"]["gpu"]


def test_a_strategy_measures_the_gpu_in_its_own_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = _measure_gpu_of("cuda", tmp_path, monkeypatch)
    assert metrics["status"] == "ok" and metrics["device_name"] == "Fake GPU"
    assert [b["batch_size"] for b in metrics["batches"]] == [256, 4096]
    assert metrics["batches"][1]["samples_per_s"]["median"] == 40960.0


def test_a_cpu_build_of_torch_is_a_reason_not_a_gpu_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = _measure_gpu_of("cpu", tmp_path, monkeypatch)
    assert metrics["status"] == "skipped" and "a CPU build" in metrics["reason"] and "batches" not in metrics


def test_the_offline_path_runs_each_strategys_own_gpu_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """scripts/gpu-bench.sh's rows: each GPU-reaching strategy's artifact (here a stand-in sweep), measured by that
    strategy's measure_gpu, with ratios to the venv row."""
    from shipbench.strategies.base import Artifact

    monkeypatch.setattr(gpu_sweep, "no_device_reason", lambda: None)
    monkeypatch.setattr(gpu, "cuda_facts", lambda python: {"torch": "2.9", "cuda": "12.8"})
    monkeypatch.setattr(bake, "gpu_runtime_reason", lambda: None)  # as with the NVIDIA Container Toolkit
    # the image's stand-in: the bake step puts `--gpus all` before the image's name, where a CUDA device appears
    image_sweep = _SWEEP.replace("device = sys.argv[1]", "device = 'cuda' if sys.argv[1:3] == ['--gpus', 'all'] "
                                                         "else 'cpu'")
    stepped: list[str] = []
    for strategy in gpu.gpu_strategies():
        def artifact(ctx: object, python: str, name: str = strategy.name) -> Artifact:
            if name == "bake":
                return Artifact(path=Path("image"), kind=name, launcher=(sys.executable, "-c", image_sweep, "image"))
            return Artifact(path=tmp_path, kind=name, launcher=(sys.executable, "-c", _SWEEP, "cuda"))

        def measured(ctx: object, art: Artifact, step=strategy.measure_gpu, name: str = strategy.name) -> None:
            stepped.append(name)
            step(ctx, art)  # type: ignore[arg-type]

        monkeypatch.setattr(strategy, "offline_gpu_artifact", artifact)
        monkeypatch.setattr(strategy, "measure_gpu", measured)
    records = gpu.run(tmp_path, sys.executable, ROOT)
    assert stepped == ["venv", "pyinstaller", "bake"]
    assert [r["status"] for r in records] == ["ok"] * 3
    assert all(r["metrics"]["device_name"] == "Fake GPU" for r in records)
    assert [b["ratio_to_venv"] for b in records[1]["metrics"]["gpu"]["batches"]] == [1.0, 1.0]
