"""Entry point: ``python -m app_dl --steps N --batch-size B --device auto|cpu|cuda``.

Prints JSON lines: ``ready`` after the first optimizer step (the start-up that shipbench measures), then one
``result`` with throughput over the timed steps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings

# torch warns on import when NumPy is absent; this trainer never uses NumPy, so keep stderr for real problems.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="app_dl", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps in all (default 200)")
    parser.add_argument("--batch-size", type=int, default=256, help="samples per step (default 256)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--hidden", type=int, default=512, help="width of the hidden layers (default 512)")
    parser.add_argument(
        "--warmup", type=int, default=None, help="steps left out of the timing (default: a tenth, 1 to 10)"
    )
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch_size < 1 or args.hidden < 1:
        parser.error("--steps, --batch-size and --hidden must be positive")
    if args.warmup is None:
        args.warmup = min(10, max(1, args.steps // 10)) if args.steps > 1 else 0
    if not 0 <= args.warmup < args.steps:
        parser.error("--warmup must be at least 0 and less than --steps")
    return args


def _emit(event: dict[str, object]) -> None:
    print(json.dumps(event), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    import torch
    from torch import nn

    from .task import TaskShape, make_dataset, make_model, train_flops_per_sample

    cuda_available = torch.cuda.is_available()
    if args.device == "cuda" and not cuda_available:
        print("app_dl: --device cuda asked for, but torch sees no CUDA device", file=sys.stderr)
        return 2
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and cuda_available) else "cpu")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name()

    shape = TaskShape(hidden=args.hidden)
    inputs, labels = make_dataset(shape)
    inputs, labels = inputs.to(device), labels.to(device)
    model = make_model(shape).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    step_times: list[float] = []
    losses: list[float] = []
    for step in range(args.steps):
        start = (step * args.batch_size) % shape.samples
        index = torch.arange(start, start + args.batch_size, device=device) % shape.samples
        sync()
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs[index]), labels[index])
        loss.backward()
        optimizer.step()
        sync()
        step_times.append(time.perf_counter() - t0)
        losses.append(loss.item())
        if step == 0:
            _emit({"event": "ready", "app": "dl", "device": device.type, "loss": losses[0]})

    timed = step_times[args.warmup :]
    total = sum(timed)
    samples_per_s = len(timed) * args.batch_size / total if total > 0 else None
    flops = train_flops_per_sample(shape) * args.batch_size * len(timed)
    _emit(
        {
            "event": "result",
            "app": "dl",
            "steps": args.steps,
            "warmup_steps": args.warmup,
            "batch_size": args.batch_size,
            "hidden": args.hidden,
            "samples_per_s": samples_per_s,
            "median_step_s": statistics.median(timed),
            "tflops": flops / total / 1e12 if total > 0 else None,
            "device": device.type,
            "device_name": device_name,
            "torch": torch.__version__,
            "torch_cuda": torch.version.cuda,
            "cuda_available": cuda_available,
            "threads": torch.get_num_threads(),
            "loss_first": losses[0],
            "loss_last": _tail_mean(losses),
            "peak_rss_bytes": _peak_rss_bytes(),
        }
    )
    return 0


def _tail_mean(losses: list[float]) -> float:
    """Mean of the last 10% of the losses: one batch's loss is too noisy to say whether training worked."""
    tail = losses[-max(1, len(losses) // 10) :]
    return sum(tail) / len(tail)


def _peak_rss_bytes() -> int | None:
    """This process's peak resident memory, as the app itself sees it (inside a container or VM too)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _cpu_name() -> str:
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main())
