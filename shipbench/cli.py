"""The command line the nox sessions call: `python -m shipbench run|report|list`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from . import apps, console, driver, strategies
from .errors import UsageError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shipbench", description="Measure ways of shipping Python apps.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="build one app with one strategy, measure it, write records")
    run.add_argument("strategy", help=f"one of: {', '.join(strategies.STRATEGIES)}")
    run.add_argument("--app", required=True, help=f"one of: {', '.join(apps.APPS)}")
    run.add_argument("--python", required=True, help="MAJOR.MINOR, e.g. 3.12")
    run.add_argument("--variant", action="append", help="only this variant (repeatable); default: all")
    run.add_argument("--results", type=Path, help="records folder (default: $SHIPBENCH_RESULTS or results/)")
    run.add_argument("--fresh", action="store_true", default=None,
                     help="measure again even where a row's inputs are unchanged since its last ok record "
                          "(default: $SHIPBENCH_FRESH)")

    report = sub.add_parser("report", help="read every record and write report/report.md and report/index.html")
    report.add_argument("--results", type=Path, action="append", help="records folder(s), searched recursively")
    report.add_argument("--out", type=Path, default=Path("report"), help="output folder (default: report/)")

    gpu = sub.add_parser("gpu", help="app_dl on CUDA through every strategy that reaches the GPU (else skipped)")
    gpu.add_argument("--results", type=Path, help="records folder (default: $SHIPBENCH_RESULTS or results/)")
    gpu.add_argument("--python", default=sys.executable,
                     help="the interpreter whose PyTorch to use (default: this one)")

    sub.add_parser("list", help="the strategies, their variants and the apps")
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # A CI timeout or a killed nox sends SIGTERM: unwind like Ctrl-C, so every `finally` runs and no VM,
    # container or app process outlives the run.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if args.command == "run":
            command = os.environ.get("SHIPBENCH_COMMAND") or "python -m shipbench " + " ".join(
                sys.argv[1:] if argv is None else argv
            )
            records = driver.run(args.strategy, args.app, args.python, args.variant, args.results, command,
                                 fresh=args.fresh)
            console.console.print(console.summary_table(records))
            return 1 if any(r["status"] == "failed" for r in records) else 0
        if args.command == "gpu":
            from . import gpu, settings

            command = os.environ.get("SHIPBENCH_COMMAND") or "python -m shipbench gpu"
            records = gpu.run(args.results or settings.results_dir(), args.python, settings.project_root(), command)
            console.console.print(console.summary_table(records))
            return 1 if any(r["status"] == "failed" for r in records) else 0
        if args.command == "report":
            from .reporting import write_report

            return write_report(args.results or [Path(os.environ.get("SHIPBENCH_RESULTS") or "results")], args.out)
        for strategy in strategies.STRATEGIES.values():
            print(f"{strategy.name}: {strategy.summary} (variants: {', '.join(strategy.variants)})")
        print(f"apps: {', '.join(apps.APPS)}")
        return 0
    except UsageError as error:
        console.console.print(f"[red]shipbench: error:[/] {error}")
        return 2
    except KeyboardInterrupt:
        console.console.print("[red]interrupted[/]")
        return 130
