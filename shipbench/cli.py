"""The command line the nox sessions call: `python -m shipbench run|plan|report|compare|gpu|list`.

Every setting of settings.OPTIONS is also a flag of every command (`--warm-runs 3`), above the environment and
pyproject.toml in precedence; `--project DIR` names the project whose pyproject.toml describes the apps.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape

from . import apps, console, driver, settings, strategies
from .errors import UsageError


def _settings_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (also SHIPBENCH_<NAME> or [tool.shipbench] in pyproject.toml)")
    group.add_argument("--project", type=Path, help="the folder whose pyproject.toml describes the apps "
                       "(default: $SHIPBENCH_PROJECT, else the current folder)")
    for option in settings.OPTIONS:
        if option.parse is settings._flag:
            group.add_argument(option.flag, dest=option.dest, action="store_const", const=True, default=None,
                               help=option.help)
        else:
            group.add_argument(option.flag, dest=option.dest, metavar="VALUE", help=option.help)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shipbench", description="Measure ways of shipping Python apps.")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, what in (("run", "build the project's apps with these strategies, measure them, write records (with "
                                "more than one, the report after each)"),
                       ("plan", "show what `run` would do: each row to measure, reuse or skip, and its estimate")):
        command = sub.add_parser(name, help=what)
        command.add_argument("strategy", nargs="+",
                             help=f"`all`, or one or more of: {', '.join(strategies.STRATEGIES)}")
        command.add_argument("--app", action="append", help="only this app of the description (repeatable); "
                             "default: all")
        command.add_argument("--variant", action="append", help="only this variant (repeatable); default: all of "
                             "the profile's")
        _settings_flags(command)

    report = sub.add_parser("report", help="read every record and write report.md and index.html")
    report.add_argument("--out", type=Path, help="output folder (default: the report setting, report/)")
    report.add_argument("--since", type=Path, metavar="BASE", help="a base run's results folder: the report says "
                        "what changed since (as `compare` does)")
    report.add_argument("--history", type=Path, nargs="+", metavar="SET", help="earlier result sets, oldest first "
                        "(the records of successive CI runs, each folder named for its commit): the report draws "
                        "each row's size, start-up and instructions across them and this run's results, marking "
                        "the significant steps")
    _settings_flags(report)

    compare = sub.add_parser("compare", help="compare two runs' records row by row, with a test on the raw samples; "
                             "exit 1 when a budget of [tool.shipbench.budgets] is broken by a significant change")
    compare.add_argument("base", type=Path, help="the base run's results folder (or an unpacked records artifact)")
    compare.add_argument("head", type=Path, help="the run to judge")
    compare.add_argument("--markdown", type=Path, help="also write the table here (a job summary, a PR comment)")
    compare.add_argument("--json", type=Path, help="also write the comparison as JSON here")
    _settings_flags(compare)

    gpu = sub.add_parser("gpu", help="torch apps on CUDA through every strategy that reaches the GPU (else skipped)")
    gpu.add_argument("--interpreter", default=sys.executable,
                     help="the interpreter whose PyTorch to use (default: this one)")
    _settings_flags(gpu)

    listing = sub.add_parser("list", help="the strategies, their variants, the apps and the settings")
    _settings_flags(listing)
    return parser


def _report_folders() -> list[Path]:
    """The records a report reads: the results, and the evidence folders where there is a project."""
    folders = [settings.results_dir()]
    with contextlib.suppress(UsageError):  # no project here: the records given are the whole report
        folders += settings.evidence_dirs()
    return folders


def _report_writer() -> Callable[[str | None], None]:
    """The report every run writes after each strategy (progress: what is left) and at its end: a one-strategy
    session too, so report/ always shows the records results/ holds."""
    from .reporting import write_report

    def write(progress: str | None) -> None:
        if write_report(_report_folders(), settings.report_dir(), progress) != 0:
            raise UsageError(f"the report could not be written to {settings.report_dir()}")

    return write


def _compare(base: Path, head: Path, markdown_out: Path | None, json_out: Path | None) -> int:
    """Print the comparison (Markdown), write it where asked, and exit 1 on a broken budget, naming each."""
    import json

    from . import budgets
    from .fsutil import write_text_or_say
    from .reporting import compare, document, markdown

    for folder in (base, head):
        if not folder.is_dir():
            raise UsageError(f"no results folder at {folder}")
    rules = budgets.from_project(settings.table())  # bad budgets are refused before anything is read
    comparison = compare.compare(base, head, rules)
    text = markdown.render(document.comparison_document(comparison))
    print(text)
    if markdown_out:  # a path that cannot be written: "cannot write PATH: <why>", exit 2, nothing half-written
        write_text_or_say(markdown_out, text)
    if json_out:
        write_text_or_say(json_out, json.dumps(comparison.as_json(), indent=1) + "\n")
    for line in comparison.breaches:  # one plain line each, unwrapped: what CI's log shows as the failure
        print(line)
    changed = sum(change.significant for change in comparison.changes)
    print(f"compare: {len(comparison.changes)} metric(s) of {len({c.row for c in comparison.changes})} row(s), "
          f"{changed} significant, {len(comparison.breaches)} budget(s) broken")
    return 1 if comparison.breaches else 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings.set_command_line({option.name: getattr(args, option.dest) for option in settings.OPTIONS},
                              project=args.project)
    # A CI timeout or a killed nox sends SIGTERM: unwind like Ctrl-C, so every `finally` runs and no VM,
    # container or app process outlives the run.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if args.command in ("run", "plan"):
            command = os.environ.get("SHIPBENCH_COMMAND") or "python -m shipbench " + " ".join(
                sys.argv[1:] if argv is None else argv
            )
            names = list(strategies.STRATEGIES) if args.strategy == ["all"] else args.strategy
            records = driver.run_all(names, args.app, None, args.variant, None, command,
                                     report=_report_writer(),
                                     plan_only=args.command == "plan")
            if args.command == "plan":
                return 0
            console.console.print(console.summary_table(records))
            code, why = driver.exit_status(records)
            console.console.print(why, markup=False)
            return code
        if args.command == "gpu":
            from . import gpu

            command = os.environ.get("SHIPBENCH_COMMAND") or "python -m shipbench gpu"
            records = gpu.run(settings.results_dir(), args.interpreter, settings.project_root(), command)
            console.console.print(console.summary_table(records))
            code, why = driver.exit_status(records)
            console.console.print(why, markup=False)
            return code
        if args.command == "report":
            from .reporting import write_report

            return write_report(_report_folders(), args.out or settings.report_dir(), since=args.since,
                                history=args.history)
        if args.command == "compare":
            return _compare(args.base, args.head, args.markdown, args.json)
        for strategy in strategies.STRATEGIES.values():
            print(f"{strategy.name}: {strategy.summary} (variants: {', '.join(strategy.variants)})")
        for name, app in apps.all_apps().items():
            print(f"app {name}: {app.folder} ({', '.join(sorted(app.capabilities)) or 'no capabilities'}; "
                  f"ready: {app.ready})")
        for option in settings.OPTIONS:
            value, source = settings.resolve(option.name)
            print(f"setting {option.name} = {value!r} ({source})")
        return 0
    except UsageError as error:
        # one line, unwrapped at any width: what a CI log or a test shows as the whole reason
        console.console.print(f"[red]shipbench: error:[/] {escape(str(error))}", soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.console.print("[red]interrupted[/]")
        return 130
