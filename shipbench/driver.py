"""Run one strategy for the project's apps and one Python: every variant becomes exactly one record, whatever
happens (ok, skipped with the reason, or failed with the log's tail)."""

from __future__ import annotations

import fnmatch
import json
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.markup import escape

from . import (
    active_runs,
    apps,
    console,
    host,
    host_libraries,
    inputs,
    interpreters,
    record,
    settings,
    strategies,
    torch_source,
)
from .apps import App
from .errors import Failure, Skip, UsageError
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
    """The records of every (app, variant, Python): the named apps, or all the project describes, for each of
    `pythons` (default: the python setting). Everything the run needs (the description, every setting, the
    variants) is checked before the first build starts."""
    strategy = strategies.get(strategy_name)
    settings.check_all()
    versions = [pythons] if isinstance(pythons, str) else list(pythons or settings.pythons())
    for version in versions:
        interpreters.check_version(version)
    described = apps.all_apps()
    chosen = [apps.get(name) for name in dict.fromkeys(app_names)] if app_names else list(described.values())
    unknown = [v for v in variants or () if v not in strategy.variants]
    if unknown:
        raise UsageError(f"unknown variant(s) {', '.join(unknown)} of {strategy.name}: choose from "
                         f"{', '.join(strategy.variants)}")
    results_dir = results_dir or settings.results_dir()
    record.check_writable(results_dir)
    fresh = settings.fresh() if fresh is None else fresh
    written = []
    with active_runs.registered(f"shipbench run {strategy.name} --python {','.join(versions)}"):
        for python in versions:
            for app in chosen:
                wanted = [v for v in strategy.variants_for(app) if not variants or v in variants]
                written += _run_app(strategy, app, python, wanted, results_dir, command, fresh)
    return written


def _run_app(strategy: Strategy, app: App, python: str, variants: list[str], results_dir: Path,
             command: str | None, fresh: bool) -> list[dict[str, Any]]:
    """One record per variant. A variant whose inputs are unchanged since its last ok record is reused, not
    rebuilt, unless `fresh`."""
    root = settings.harness_root()
    row_inputs = _inputs(strategy, app, python, root)
    written = []
    for variant in variants:
        key = record.Key(strategy.name, variant, app.name, python)
        lock = settings.build_dir().resolve() / "locks" / key.filename.replace(".json", ".lock")
        with active_runs.row_lock(lock, key.label(), lambda text: console.console.print(text, markup=False)):
            written.append(_run_row(strategy, app, key, row_inputs, root, results_dir, command, fresh))
    return written


def _run_row(strategy: Strategy, app: App, key: record.Key, row_inputs: inputs.Inputs, root: Path,
             results_dir: Path, command: str | None, fresh: bool) -> dict[str, Any]:
    """One row's record: reused, skipped, or built and measured (under the row's lock: see active_runs.py)."""
    variant = key.variant
    previous = record.read(results_dir / key.filename)
    if not fresh and _reusable(previous, row_inputs):
        assert previous is not None
        _say_reused(previous, record.mark_reused(previous, results_dir))
        return previous
    if previous and previous["status"] == "ok":
        why = "--fresh" if fresh else "changed: " + ", ".join(row_inputs.changed_since(previous.get("inputs")))
        console.console.print(f"  {key.label()}: measuring again ({why})", markup=False)
    rec = record.new_record(key, command)
    rec["versions"]["shipbench"] = _shipbench_version()
    rec["inputs"] = row_inputs.as_record()
    rec["capabilities"] = sorted(app.capabilities)
    if previous:
        rec["previously"] = {"status": previous["status"], "created": previous["created"]}
    skipped_by = [pattern for pattern in settings.skip_patterns() if skip_matches(pattern, key)]
    not_wanted = not app.wants(strategy.name, variant)
    if skipped_by or not_wanted:
        reason = (f"left out of this run by the skip setting ({', '.join(skipped_by)})" if skipped_by else
                  f"not among the app's strategies ({', '.join(app.strategies)}) in its description")
        rec.update(status="skipped", reason=reason)
        if previous and previous["status"] == "ok":  # a skip says nothing new: never lose measured numbers
            console.console.print(f"  {key.label()}: {reason}; its ok record of {previous['created'][:16]} "
                                  "is kept", markup=False)
        else:
            _say(rec, record.write(rec, results_dir))
        return rec
    with console.steps(key.label(), total=strategy.planned_steps(app)) as steps:
        ctx = Context(key, app, root, settings.build_dir().resolve() / strategy.name, results_dir, rec, steps)
        try:
            artifact = strategy.build(ctx)
            rec["artifact"] = {"path": _display_path(artifact.path, root), "kind": artifact.kind,
                               "description": artifact.description}
            strategy.measure(ctx, artifact)
        except Skip as skip:
            rec.update(status="skipped", reason=skip.reason)
        except Failure as failure:
            missing = host_libraries.missing_library([failure.reason, *failure.log_tail]) \
                if strategy.runs_on_host else None
            if missing:  # the host lacks an OS library: nothing about this way of shipping was measured
                rec.update(status="skipped", reason=host_libraries.skip_reason(missing), log_tail=failure.log_tail)
            else:
                rec.update(status="failed", reason=failure.reason, log_tail=failure.log_tail)
        except Exception as error:  # a bug of ours must still leave a record, and say where it happened
            rec.update(status="failed", reason=f"{SHIPBENCH_ERROR}: {type(error).__name__}: {error}",
                       log_tail=traceback.format_exc().splitlines()[-15:])
    path = record.write(rec, results_dir)
    _say(rec, path)
    return rec


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


def skip_matches(pattern: str, key: record.Key) -> bool:
    """A skip pattern names strategy/variant/app, and optionally the Python as a fourth part (`venv/*/*/py3.13`)."""
    row = f"{key.strategy}/{key.variant}/{key.app}"
    return fnmatch.fnmatch(f"{row}/py{key.python}" if pattern.count("/") >= 3 else row, pattern)


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


def _reusable(previous: dict[str, Any] | None, row_inputs: inputs.Inputs) -> bool:
    """An ok record of this host whose inputs are the same as now: measuring again would measure the same."""
    return bool(previous and previous["status"] == "ok"
                and (previous.get("inputs") or {}).get("digest") == row_inputs.digest)


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
