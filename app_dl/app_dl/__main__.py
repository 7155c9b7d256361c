"""Entry point: ``python -m app_dl --steps N --batch-size B[,B...] --device auto|cpu|cuda``.

Prints JSON lines: ``ready`` after the first optimizer step (the start-up that shipbench measures), then one
``result`` per batch size with throughput over the timed steps, TFLOP/s and, with --peak-probe, the fraction
of the card's measured matmul peak (MFU).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

# torch warns on import when NumPy is absent; this trainer never uses NumPy, so keep stderr for real problems.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")


def _batch_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("batch sizes must be positive")
    return sizes


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="app_dl", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps per batch size (default 200)")
    parser.add_argument("--batch-size", type=_batch_sizes, default=[256],
                        help="samples per step; a comma-separated list runs each in turn (default 256)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--hidden", type=int, default=512, help="width of the hidden layers (default 512)")
    parser.add_argument("--amp", choices=("none", "bf16"), default="none", help="autocast precision (default none)")
    parser.add_argument("--compile", action="store_true", help="train through torch.compile")
    parser.add_argument("--peak-probe", action="store_true",
                        help="time a large matmul first, to report the fraction of peak (MFU)")
    parser.add_argument(
        "--warmup", type=int, default=None, help="steps left out of the timing (default: a tenth, 1 to 10)"
    )
    args = parser.parse_args(argv)
    if args.steps < 1 or args.hidden < 1:
        parser.error("--steps and --hidden must be positive")
    if args.warmup is None:
        args.warmup = min(10, max(1, args.steps // 10)) if args.steps > 1 else 0
    if not 0 <= args.warmup < args.steps:
        parser.error("--warmup must be at least 0 and less than --steps")
    return args


def _emit(event: dict[str, object]) -> None:
    try:
        print(json.dumps(event), flush=True)
    except BrokenPipeError:  # nobody reads our output any more (the harness is gone): stop training, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(4)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    import torch

    from .task import TaskShape
    from .train import RunConfig, peak_tflops, train

    cuda_available = torch.cuda.is_available()
    if args.device == "cuda" and not cuda_available:
        print("app_dl: --device cuda asked for, but torch sees no CUDA device", file=sys.stderr)
        return 2
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and cuda_available) else "cpu")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name()
    peak = peak_tflops(device, args.amp) if args.peak_probe else None

    ready_sent = False

    def ready(loss: float) -> None:
        nonlocal ready_sent
        if not ready_sent:
            ready_sent = True
            _emit({"event": "ready", "app": "dl", "device": device.type, "loss": loss})

    for batch_size in args.batch_size:
        config = RunConfig(args.steps, args.warmup, batch_size, args.amp, args.compile)
        result = train(TaskShape(hidden=args.hidden), device, config, on_first_step=ready)
        _emit({
            "event": "result",
            "app": "dl",
            "steps": args.steps,
            "warmup_steps": args.warmup,
            "hidden": args.hidden,
            "amp": args.amp,
            "compiled": args.compile,
            **result,
            "peak_tflops": peak,
            "mfu": result["tflops"] / peak if peak and result["tflops"] else None,
            "device": device.type,
            "device_name": device_name,
            "torch": torch.__version__,
            "torch_cuda": torch.version.cuda,
            "cuda_available": cuda_available,
            "threads": torch.get_num_threads(),
            "peak_rss_bytes": _peak_rss_bytes(),
        })
    return 0


def _peak_rss_bytes() -> int | None:
    """This process's peak resident memory, as the app itself sees it (inside a container or VM too): VmHWM, the
    high-water mark of its own address space. getrusage's ru_maxrss would start at the peak of whatever forked
    and exec'd it (Linux keeps the old address space's mark across exec)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
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
