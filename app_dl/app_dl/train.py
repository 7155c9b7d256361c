"""The training loop, timed honestly: warm-up steps left out, CUDA timed with events, one host sync at the end."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .task import TaskShape, make_dataset, make_model, train_flops_per_sample


@dataclass(frozen=True)
class RunConfig:
    steps: int
    warmup: int
    batch_size: int
    amp: str  # "none" or "bf16"
    compile: bool


def train(shape: TaskShape, device: torch.device, config: RunConfig,
          on_first_step: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Train a fresh model (same seed, same data every time) and return throughput and losses."""
    inputs, labels = make_dataset(shape)
    inputs, labels = inputs.to(device), labels.to(device)
    model: nn.Module = make_model(shape).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    forward = torch.compile(model) if config.compile else model
    autocast = (torch.autocast(device_type=device.type, dtype=torch.bfloat16) if config.amp == "bf16"
                else nullcontext())
    cuda = device.type == "cuda"

    losses: list[torch.Tensor] = []
    host_times: list[float] = []
    events: list[tuple[Any, Any]] = []
    for step in range(config.steps):
        start = (step * config.batch_size) % shape.samples
        index = torch.arange(start, start + config.batch_size, device=device) % shape.samples
        if cuda:
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = loss_fn(forward(inputs[index]), labels[index])
        loss.backward()
        optimizer.step()
        if cuda:
            end.record()
            events.append((begin, end))
        host_times.append(time.perf_counter() - t0)
        losses.append(loss.detach())
        if step == 0 and on_first_step is not None:
            on_first_step(float(loss.item()))  # ready: one sync, once
    if cuda:
        torch.cuda.synchronize(device)
        step_times = [begin.elapsed_time(end) / 1000 for begin, end in events]
    else:
        step_times = host_times
    timed = step_times[config.warmup:]
    total = sum(timed)
    values = [float(v) for v in torch.stack(losses).float().cpu()]
    flops = train_flops_per_sample(shape) * config.batch_size * len(timed)
    return {
        "batch_size": config.batch_size,
        "samples_per_s": len(timed) * config.batch_size / total if total > 0 else None,
        "median_step_s": statistics.median(timed),
        "tflops": flops / total / 1e12 if total > 0 else None,
        "loss_first": values[0],
        "loss_last": _tail_mean(values),
    }


def _tail_mean(losses: list[float]) -> float:
    """Mean of the last 10% of the losses: one batch's loss is too noisy to say whether training worked."""
    tail = losses[-max(1, len(losses) // 10):]
    return sum(tail) / len(tail)


def peak_tflops(device: torch.device, amp: str) -> float:
    """The card's achievable matmul rate in the training precision: a short large matmul, timed after warm-up.

    The fraction of this that training reaches is its MFU. On the CPU the probe is smaller.
    """
    n = 8192 if device.type == "cuda" else 1024
    dtype = torch.bfloat16 if amp == "bf16" else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        torch.matmul(a, b)
    repeats = 20 if device.type == "cuda" else 3
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        for _ in range(repeats):
            torch.matmul(a, b)
        end.record()
        torch.cuda.synchronize(device)
        seconds = begin.elapsed_time(end) / 1000
    else:
        t0 = time.perf_counter()
        for _ in range(repeats):
            torch.matmul(a, b)
        seconds = time.perf_counter() - t0
    return 2 * n**3 * repeats / seconds / 1e12
