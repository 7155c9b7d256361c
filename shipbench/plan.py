"""What a run will do, said before it does it: every row it will build, reuse or skip (with the reason), and how
long each will take (row_estimates.py), and, within a time budget, which rows answer most. The driver takes its
decisions from here too (decide), so the plan and the run cannot disagree.

A row whose cold build is known to need more than the build-timeout setting (its last build here ran out of
time, or the strategy states it, as Nuitka does for torch on few cores) is planned as skipped, with the estimate
and the setting that lets it run: an hour burnt to learn what was known is not a measurement.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from rich.table import Table

from . import artifact_fingerprint, record, row_estimates, settings
from .apps import App
from .errors import Skip
from .inputs import Inputs
from .stats import duration
from .strategies.base import Strategy

RUN, REUSE, SKIP = "run", "reuse", "skip"


@dataclass(frozen=True)
class Row:
    """One planned row: what will happen to it, why, and how long it is expected to take."""

    strategy: Strategy
    app: App
    key: record.Key
    inputs: Inputs
    action: str  # RUN, REUSE or SKIP
    reason: str  # why it is skipped, measured again or reused
    estimate_s: float  # 0 for a reused or skipped row
    estimate_from: str  # "last run here <date>", or "stated (<kind> app)": the strategy's figure for a 2-core host


def decide(strategy: Strategy, app: App, key: record.Key, row_inputs: Inputs, previous: dict[str, Any] | None,
           fresh: bool, profile: str) -> tuple[str, str]:
    """(action, reason) for one row: reuse an ok record whose inputs are unchanged, skip what a setting, the
    description or the strategy leaves out, skip what cannot finish within the build timeout, else run."""
    gone = None
    if not fresh and reusable(previous, row_inputs):
        assert previous is not None
        gone = artifact_fingerprint.changed(previous.get("artifact"), settings.harness_root())
        if gone is None:
            return REUSE, f"measured {previous['created'][:16]}, inputs unchanged"
    skipped_by = [pattern for pattern in settings.skip_patterns() if skip_matches(pattern, key)]
    if skipped_by:
        return SKIP, f"left out of this run by the skip setting ({', '.join(skipped_by)})"
    if not app.wants(strategy.name, key.variant):
        return SKIP, f"not among the app's strategies ({', '.join(app.strategies)}) in its description"
    try:
        planned = (strategy.python_skip(key) or strategy.planned_skip(app, key, profile)
                   or strategy.torch_skip(app, key))
    except Skip as skip:
        planned = skip.reason
    if planned:
        return SKIP, planned
    too_long = beyond_build_timeout(strategy, app, key.variant, previous)
    if too_long:
        return SKIP, too_long
    if previous and previous["status"] == "ok":
        return RUN, "--fresh" if fresh else gone or "changed: " + ", ".join(row_inputs.changed_since(
            previous.get("inputs")))
    return RUN, "no record yet" if previous is None else f"last run {previous['status']}"


def reusable(previous: dict[str, Any] | None, row_inputs: Inputs) -> bool:
    """An ok record of this host whose inputs are the same as now: measuring again would measure the same."""
    return bool(previous and previous["status"] == "ok"
                and (previous.get("inputs") or {}).get("digest") == row_inputs.digest)


def skip_matches(pattern: str, key: record.Key) -> bool:
    """A skip pattern names strategy/variant/app, and optionally the Python as a fourth part (`venv/*/*/py3.13`)."""
    row = f"{key.strategy}/{key.variant}/{key.app}"
    return fnmatch.fnmatch(f"{row}/py{key.python}" if pattern.count("/") >= 3 else row, pattern)


_RAN_OUT = re.compile(r"no end within (\d+(?:\.\d+)?) s")


def beyond_build_timeout(strategy: Strategy, app: App, variant: str, previous: dict[str, Any] | None) -> str | None:
    """Why this row's cold build cannot end within the build-timeout setting, or None (it may)."""
    timeout = settings.build_timeout_s()
    ran_out = _RAN_OUT.search(str((previous or {}).get("reason") or "")) if row_estimates.same_host(previous) else None
    if ran_out and float(ran_out.group(1)) >= timeout:
        assert previous is not None
        why = f"its last cold build here ran out of the {float(ran_out.group(1)) / 60:.0f}-minute build timeout " \
              f"({previous['created'][:16]})"
        needed = 2 * float(ran_out.group(1))
    else:
        stated = strategy.cold_build_estimate_s(app, variant)
        if stated is None or stated <= timeout:
            return None
        why = f"its cold build takes about {duration(stated)} here ({strategy.name}'s stated figure for this app " \
              f"on {os.cpu_count() or 1} cores)"
        needed = 1.5 * stated
    setting = settings.BY_NAME["build-timeout"]
    seconds = int(math.ceil(needed / 600) * 600)
    return (f"planned as skipped: {why}, more than the build timeout of {duration(timeout)}; "
            f"{setting.flag} {seconds} (or {setting.env}={seconds}) lets it run")


def variants(strategy: Strategy, app: App, profile: str, wanted: Sequence[str] | None) -> list[str]:
    """The rows of this strategy for this app under the profile, narrowed to `wanted` (--variant) if given."""
    chosen = strategy.quick_variants(app) if profile == "quick" else strategy.variants_for(app)
    return [variant for variant in chosen if not wanted or variant in wanted]


def make(strategy: Strategy, app: App, key: record.Key, row_inputs: Inputs, previous: dict[str, Any] | None,
         fresh: bool, profile: str, others: Sequence[dict[str, Any]] = ()) -> Row:
    """One row's plan; `others`: the records an estimate may learn from (row_estimates.py)."""
    action, reason = decide(strategy, app, key, row_inputs, previous, fresh, profile)
    seconds, source = row_estimates.estimate(strategy, app, key.variant, key.python, previous, profile, others) \
        if action == RUN else (0.0, "")
    return Row(strategy, app, key, row_inputs, action, reason, seconds, source)


def within_budget(rows: Sequence[Row], budget_s: float) -> list[Row]:
    """The rows that answer most within a time budget: per app, the cheapest row of each family (an environment,
    an archive, a frozen bundle, an image, ...) first, then the cheapest of the rest, as far as their estimates fit;
    a row that does not fit is planned as skipped, by name, with its estimate and the command that measures it.
    Reused rows cost nothing, and count for their family."""
    running = sorted((row for row in rows if row.action == RUN), key=lambda row: row.estimate_s)
    covered = {(row.app.name, row.strategy.family) for row in rows if row.action == REUSE}
    kept: set[int] = set()
    spent = 0.0
    for first_of_family in (True, False):
        for row in running:
            family = (row.app.name, row.strategy.family)
            if id(row) in kept or first_of_family and family in covered:
                continue
            if spent + row.estimate_s <= budget_s:
                kept.add(id(row))
                covered.add(family)
                spent += row.estimate_s
    return [row if row.action != RUN or id(row) in kept else _left_out(row, budget_s) for row in rows]


def _left_out(row: Row, budget_s: float) -> Row:
    key = row.key
    reason = (f"left out of the {duration(budget_s)} time budget (about {duration(row.estimate_s)} here, "
              f"{row.estimate_from}): `shipbench run {key.strategy} --app {key.app} --variant {key.variant} "
              f"--python {key.python} --profile quick` measures it")
    return dataclasses.replace(row, action=SKIP, reason=reason, estimate_s=0.0, estimate_from="")


def table(rows: Sequence[Row], profile: str) -> Table:
    """The plan as the console shows it before the first build, with the total."""
    runs = [row for row in rows if row.action == RUN]
    total = sum(row.estimate_s for row in runs)
    grid = Table(title=f"shipbench plan ({profile} profile): {len(runs)} to measure (about {duration(total)}), "
                       f"{sum(r.action == REUSE for r in rows)} reused, {sum(r.action == SKIP for r in rows)} skipped")
    for column in ("row", "plan", "estimate", "from", "why"):
        grid.add_column(column, justify="right" if column == "estimate" else "left", no_wrap=column != "why",
                        overflow="fold")
    colors = {RUN: "green", REUSE: "cyan", SKIP: "yellow"}
    for row in rows:
        key = row.key
        grid.add_row(escape(f"{key.strategy}/{key.variant} {key.app} py{key.python}"),
                     f"[{colors[row.action]}]{row.action}[/]", duration(row.estimate_s) if row.action == RUN else "–",
                     escape(row.estimate_from), escape(row.reason))
    grid.caption = ("estimate from: this host's last record of the row under the same profile; else the row's usual "
                    "time here for the app's kind (other apps' records) or the strategy's stated figure for the kind "
                    "(rough), times how the app's other rows here ran against theirs (row_estimates.py)")
    return grid


def left(rows: Sequence[Row], done: Sequence[Row]) -> str:
    """What a run still has to do, for the report page while it is going: strategies, rows and time. An
    interrupted row is still to do: its record says only that it was interrupted."""
    todo = [row for row in rows if row.action == RUN and not any(row is finished for finished in done)]
    strategies = list(dict.fromkeys(row.key.strategy for row in todo))
    if not todo:
        return "nothing left to measure"
    return (f"left: {', '.join(strategies)} ({len(todo)} row{'s' if len(todo) != 1 else ''} to measure, about "
            f"{duration(sum(row.estimate_s for row in todo))})")
