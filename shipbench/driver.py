"""Run one strategy for one app and Python: every variant becomes exactly one record, whatever happens."""

from __future__ import annotations

import fnmatch
import traceback
from pathlib import Path
from typing import Any

from . import apps, console, interpreters, record, settings, strategies
from .errors import Failure, Skip, UsageError
from .strategies.base import Context


def run(
    strategy_name: str,
    app_name: str,
    python: str,
    variants: list[str] | None = None,
    results_dir: Path | None = None,
    command: str | None = None,
) -> list[dict[str, Any]]:
    strategy = strategies.get(strategy_name)
    app = apps.get(app_name)
    interpreters.check_version(python)
    known = strategy.variants_for(app)
    unknown = [v for v in variants or () if v not in known]
    if unknown:
        raise UsageError(f"unknown variant(s) {', '.join(unknown)} of {strategy.name} for {app.name}: "
                         f"choose from {', '.join(known)}")
    results_dir = results_dir or settings.results_dir()
    record.check_writable(results_dir)
    root = settings.project_root()
    written = []
    for variant in variants or known:
        key = record.Key(strategy.name, variant, app.name, python)
        rec = record.new_record(key, command)
        rec["versions"]["shipbench"] = _shipbench_version()
        row = f"{strategy.name}/{variant}/{app.name}"
        skipped_by = [pattern for pattern in settings.skip_patterns() if fnmatch.fnmatch(row, pattern)]
        if skipped_by:
            rec.update(status="skipped", reason=f"left out of this run by SHIPBENCH_SKIP ({', '.join(skipped_by)})")
            _say(rec, record.write(rec, results_dir))
            written.append(rec)
            continue
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
                rec.update(status="failed", reason=failure.reason, log_tail=failure.log_tail)
            except Exception as error:  # a bug of ours must still leave a record, and say where it happened
                rec.update(status="failed", reason=f"shipbench error: {type(error).__name__}: {error}",
                           log_tail=traceback.format_exc().splitlines()[-15:])
        path = record.write(rec, results_dir)
        _say(rec, path)
        written.append(rec)
    return written


def _say(rec: dict[str, Any], path: Path) -> None:
    color = {"ok": "green", "skipped": "yellow", "failed": "red"}[rec["status"]]
    reason = f": {rec['reason']}" if rec["reason"] else ""
    console.console.print(f"[{color}]{rec['status']}[/] {path}{reason}")
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
