"""Run one strategy for the project's apps and one Python: every variant becomes exactly one record, whatever
happens (ok, skipped with the reason, or failed with the log's tail)."""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.markup import escape

from . import (
    active_runs,
    apps,
    artifact_fingerprint,
    console,
    host,
    host_libraries,
    inputs,
    interpreters,
    plan,
    record,
    run_leftovers,
    settings,
    strategies,
    torch_source,
    xserver,
)
from .apps import App
from .errors import Failure, Skip, UsageError
from .reporting.tables import plan_against_time
from .stats import duration
from .strategies.base import Context, Strategy


def run(
    strategy_name: str,
    app_names: list[str] | None,
    pythons: Sequence[str] | str | None = None,
    variants: list[str] | None = None,
    results_dir: Path | None = None,
    command: str | None = None,
    fresh: bool | None = None,
) -> list[dict[str, Any]]:
    """The records of one strategy's rows (see run_all)."""
    return run_all([strategy_name], app_names, pythons, variants, results_dir, command, fresh)


def run_all(
    strategy_names: Sequence[str],
    app_names: list[str] | None,
    pythons: Sequence[str] | str | None = None,
    variants: list[str] | None = None,
    results_dir: Path | None = None,
    command: str | None = None,
    fresh: bool | None = None,
    report: Callable[[str | None], None] | None = None,
    plan_only: bool = False,
) -> list[dict[str, Any]]:
    """The records of every (strategy, app, variant, Python): the named apps, or all the project describes, for
    each of `pythons` (default: the python setting), the variants of the profile setting. Everything the run
    needs (the description, every setting, the variants) is checked and the plan shown before the first build
    starts. `report(progress)` is called after each strategy while others are left (progress says what is
    left), at the end (None) and on an interrupt (saying so), so that a report exists while the run goes on."""
    chosen_strategies = [strategies.get(name) for name in dict.fromkeys(strategy_names)]
    settings.check_all()
    versions = [pythons] if isinstance(pythons, str) else list(pythons or settings.pythons())
    for version in versions:
        interpreters.check_version(version)
    described = apps.all_apps()
    chosen = [apps.get(name) for name in dict.fromkeys(app_names)] if app_names else list(described.values())
    known = {variant for strategy in chosen_strategies for variant in strategy.variants}
    unknown = [v for v in variants or () if v not in known]
    if unknown:
        raise UsageError(f"unknown variant(s) {', '.join(unknown)} of {', '.join(s.name for s in chosen_strategies)}: "
                         f"choose from {', '.join(sorted(known))}")
    results_dir = results_dir or settings.results_dir()
    record.check_writable(results_dir)
    fresh = settings.fresh() if fresh is None else fresh
    profile = settings.profile()
    written: list[dict[str, Any]] = []
    run_leftovers.mark_this_run()  # before the first process it starts: they all carry its token
    cleaned = run_leftovers.clean([results_dir, results_dir / "screenshots", results_dir / "sboms",
                                   settings.report_dir()])
    if cleaned:
        console.console.print(f"[yellow]{escape(cleaned)}[/] (killed before they could clean up)")
    with active_runs.registered([strategy.name for strategy in chosen_strategies]):
        rows = _plan(chosen_strategies, chosen, versions, variants, results_dir, fresh, profile)
        console.console.print(plan.table(rows, profile))
        if plan_only:
            return []
        done: list[plan.Row] = []
        measured_now: set[object] = set()  # the records this run measured (not those it reused)
        current = ""
        try:
            for number, strategy in enumerate(chosen_strategies, 1):
                current = strategy.name
                for row in rows:
                    if row.strategy is strategy:
                        written.append(_run_row(row, results_dir, command, fresh, profile, last=row is rows[-1]))
                        if row.action == plan.RUN:
                            measured_now.add(written[-1].get("id"))
                        done.append(row)
                if report is not None and strategy is not chosen_strategies[-1]:
                    report(f"This run is still going ({number} of {len(chosen_strategies)} strategies done); "
                           f"{plan.left(rows, done)}. This page is written again after each strategy.")
        except KeyboardInterrupt:
            if report is not None:
                report(f"This run was interrupted during {current}: its rows so far are below; "
                       f"{plan.left(rows, done)} were not measured.")
            raise
        if report is not None:
            report(None)
    held = plan_against_time([rec for rec in written if rec.get("id") in measured_now])
    if held:
        console.console.print(escape(held))
    unplanned = [rec for rec in written if record.skipped_unplanned(rec)]
    if unplanned:
        console.console.print(f"[yellow]{len(unplanned)} row(s) planned to run were skipped once they ran[/] (the "
                              "plan should have known; its count and total were off): " + escape(", ".join(
                                  f"{r['strategy']}/{r['variant']} {r['app']}" for r in unplanned)))
    return written


def _plan(chosen_strategies: Sequence[Strategy], chosen: Sequence[App], versions: Sequence[str],
          variants: Sequence[str] | None, results_dir: Path, fresh: bool, profile: str) -> list[plan.Row]:
    """Every row of the run, strategy by strategy (so the report can follow each one), with its plan."""
    root = settings.harness_root()
    others = _peers(results_dir, root)
    rows = []
    for strategy in chosen_strategies:
        wanted = [v for v in variants or () if v in strategy.variants]
        if variants and not wanted:
            continue  # --variant named only other strategies' variants
        for python in versions:
            for app in chosen:
                row_inputs = _inputs(strategy, app, python, root)
                for variant in plan.variants(strategy, app, profile, wanted):
                    key = record.Key(strategy.name, variant, app.name, python)
                    rows.append(plan.make(strategy, app, key, row_inputs, record.read(results_dir / key.filename),
                                          fresh, profile, others))
    budget = settings.time_budget_s()
    return plan.within_budget(rows, budget) if budget else rows


def _peers(results_dir: Path, root: Path) -> list[dict[str, Any]]:
    """The records an estimate of a row never run here may learn from (plan.estimate): this run's results folder
    and shipbench's own (the samples measured on this host), for a project's first run."""
    folders = list(dict.fromkeys(folder.resolve() for folder in (results_dir, root / "results") if folder.is_dir()))
    return record.load_all(folders)[0] if folders else []


def _run_row(row: plan.Row, results_dir: Path, command: str | None, fresh: bool, profile: str,
             last: bool = False) -> dict[str, Any]:
    """One row's record, under the row's lock (see active_runs.py): the plan's decision is taken again there,
    since another run may have measured the row meanwhile. After the run's `last` row, still under its lock, the
    run says it measures no more, so the run that takes the row next never counts its report as a measurement."""
    key = row.key
    lock = settings.build_dir().resolve() / "locks" / key.filename.replace(".json", ".lock")
    with active_runs.row_lock(lock, key.label(), lambda text: console.console.print(text, markup=False)):
        written = _measure_row(row, results_dir, command, fresh, profile)
        if last:
            active_runs.measured_all()
        return written


def _measure_row(row: plan.Row, results_dir: Path, command: str | None, fresh: bool, profile: str) -> dict[str, Any]:
    """One row's record: reused, skipped, or built and measured; an interrupt leaves a skipped record saying
    where it stopped, then goes on up (the run ends)."""
    strategy, app, key = row.strategy, row.app, row.key
    previous = record.read(results_dir / key.filename)
    action, why = plan.decide(strategy, app, key, row.inputs, previous, fresh, profile)
    if action == plan.RUN and row.action == plan.SKIP:  # the plan's own reason: the time budget left it out
        action, why = plan.SKIP, row.reason
    if action == plan.REUSE:
        assert previous is not None
        _say_reused(previous, record.mark_reused(previous, results_dir))
        return previous
    if action == plan.RUN and previous and previous["status"] == "ok":
        console.console.print(f"  {key.label()}: measuring again ({why})", markup=False)
    rec = record.new_record(key, command)
    rec["versions"]["shipbench"] = _shipbench_version()
    rec["inputs"] = row.inputs.as_record()
    rec["capabilities"] = sorted(app.capabilities)
    rec["profile"] = profile
    if profile == "quick":
        rec["notes"].append(f"rows of the quick profile (see When each row was measured) were measured without "
                            f"{'; '.join(settings.QUICK_LEAVES_OUT)}: python3 noxw.py, the full profile, measures "
                            "them")
    if previous:
        rec["previously"] = {"status": previous["status"], "created": previous["created"]}
    if row.action == plan.RUN:
        rec["planned"] = {"estimate_s": round(row.estimate_s, 1), "from": row.estimate_from}
    if action == plan.SKIP:
        rec.update(status="skipped", reason=why)
        _write_unless_ok_kept(rec, previous, results_dir)
        return rec
    started = time.monotonic()
    estimate = f"about {duration(row.estimate_s)}" if row.estimate_s else ""
    with console.steps(key.label(), total=strategy.planned_steps(app), estimate=estimate) as steps:
        if app.first_frame and not strategy.runs_probe:  # its window is seen on the X server instead (kinds.py)
            app = dataclasses.replace(app, probe_runs=False)
        ctx = Context(key, app, settings.harness_root(), settings.build_dir().resolve() / strategy.name, results_dir,
                      rec, steps)
        try:
            with xserver.display_for(app):  # a window of a toolkit seen on X: a virtual display for the row
                artifact = strategy.build(ctx)
                rec["artifact"] = {"path": _display_path(artifact.path, ctx.root), "kind": artifact.kind,
                                   "description": artifact.description}
                strategy.measure(ctx, artifact)
                shown = rec["artifact"]
                # the artifact as measured: a later run reuses this record only while it is still this one
                kept = artifact_fingerprint.fingerprint(shown["path"], artifact.kind, ctx.root)
                if kept:
                    shown["fingerprint"] = kept
        except Skip as skip:
            rec.update(status="skipped", reason=skip.reason)
        except Failure as failure:
            missing = host_libraries.missing_library([failure.reason, *failure.log_tail]) \
                if strategy.runs_on_host else None
            if missing:  # the host lacks an OS library: nothing about this way of shipping was measured
                rec.update(status="skipped", reason=host_libraries.skip_reason(missing), log_tail=failure.log_tail)
            else:
                rec.update(status="failed", reason=failure.reason, log_tail=failure.log_tail)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (cli.py): the strategy's own cleanup has run by now
            where = f" in {steps.current}" if steps.current else ""
            of = f" (of {estimate})" if estimate else ""
            rec.update(status="skipped", reason=f"{record.INTERRUPTED} {duration(time.monotonic() - started)}"
                                                f"{where}{of}: run it again to measure it")
            _write_unless_ok_kept(rec, previous, results_dir)
            raise
        except Exception as error:  # a bug of ours must still leave a record, and say where it happened
            rec.update(status="failed", reason=f"{SHIPBENCH_ERROR}: {type(error).__name__}: {error}",
                       log_tail=traceback.format_exc().splitlines()[-15:])
    rec["duration_s"] = round(time.monotonic() - started, 1)
    path = record.write(rec, results_dir)
    _say(rec, path)
    return rec


def _write_unless_ok_kept(rec: dict[str, Any], previous: dict[str, Any] | None, results_dir: Path) -> None:
    """A skip says nothing new about a row measured before: its ok record stays (never lose measured numbers)."""
    if previous and previous["status"] == "ok":
        console.console.print(f"  {rec['strategy']}/{rec['variant']} {rec['app']} py{rec['python']}: {rec['reason']}; "
                              f"its ok record of {previous['created'][:16]} is kept", markup=False)
    else:
        _say(rec, record.write(rec, results_dir))


SHIPBENCH_ERROR = "shipbench error"


def exit_status(records: Sequence[dict[str, Any]]) -> tuple[int, str]:
    """What `shipbench run` (and so the main job) returns, and the line that says why.

    A failed row is a result (the tool's limit, the app's shape): 0, as for ok and skipped rows, so that the
    README's main command passes on a fresh machine. Non-zero (1) for what must stop CI: a failure of shipbench
    itself, or a row that failed where its record before was ok (it worked at its last run)."""
    failed = [r for r in records if r["status"] == "failed"]
    ours = [r for r in failed if str(r["reason"]).startswith(SHIPBENCH_ERROR)]
    regressed = [r for r in failed if (r.get("previously") or {}).get("status") == "ok"]
    if ours or regressed:
        named = ", ".join(dict.fromkeys(f"{r['strategy']}/{r['variant']} {r['app']} py{r['python']}"
                                        for r in ours + regressed))
        return 1, (f"exit 1: {len(ours)} shipbench error(s) and {len(regressed)} row(s) that were ok at their last "
                   f"run now failed: {named}")
    if failed:
        return 0, (f"exit 0: {len(failed)} row(s) failed, none of them ok at its last run and none a shipbench "
                   "error; the reasons are results (see the report)")
    return 0, "exit 0: every row ok or skipped"


skip_matches = plan.skip_matches  # the skip setting's pattern rule (plan.py)


def _inputs(strategy: Strategy, app: App, python: str, root: Path) -> inputs.Inputs:
    """What can change this strategy's rows for this app and Python (see inputs.py)."""
    try:
        full_version: str | None = interpreters.find(python).full_version
    except Skip:
        full_version = None
    torch = None
    if app.uses_torch:
        try:
            torch = torch_source.for_this_host(python).description
        except Skip as skip:
            torch = skip.reason
    return inputs.compute(
        root,
        app=app,
        strategy_paths=strategy.inputs,
        tool_versions=strategy.tool_versions(),
        settings=settings.measuring(),
        target={"python": full_version, "torch": torch, "host": json.dumps(host.facts(), sort_keys=True)},
    )


def _say_reused(rec: dict[str, Any], path: Path) -> None:
    console.console.print(f"[cyan]reused[/] {escape(str(path))}: measured {escape(rec['created'])}, inputs unchanged "
                          "(--fresh or SHIPBENCH_FRESH=1 measures again)")


def _say(rec: dict[str, Any], path: Path) -> None:
    color = {"ok": "green", "skipped": "yellow", "failed": "red"}[rec["status"]]
    reason = f": {rec['reason']}" if rec["reason"] else ""
    console.console.print(f"[{color}]{rec['status']}[/] {escape(str(path))}{escape(reason)}")
    for line in rec.get("log_tail", [])[-10:]:
        console.console.print("    " + line, markup=False, style="dim")


def _display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _shipbench_version() -> str:
    from . import __version__

    return __version__
