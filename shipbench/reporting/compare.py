"""Two runs compared row by row, as `asv compare` and pyperf's `compare_to` do: for each metric the base, the head,
their ratio and a verdict that says whether the change is real.

- Exact metrics (size, download size) need no test: any difference is a change.
- Sampled metrics (warm start-up, throughput) are tested on their raw samples with the two-sided Mann-Whitney U
  test (stats.mann_whitney_p, ALPHA 0.05): ranks only, because such samples are skewed by the odd slow run.
  A side measured on a busy host, or the middle half of whose runs (quartile to quartile) spread more than
  hostload.SPREAD, is "too noisy to tell"; one slow run among steady ones is not noise to a rank test. Sides
  with fewer samples than the test needs to reach ALPHA are "too few samples to tell". Two runs whose host ran
  at a different pace (hostload.pace_reason: a fixed reference run timed beside each start-up moved
  significantly, by more than 5%) are too noisy to tell too: an idle process table does not mean a steady host.
- Instruction counts (instructions.py) are nearly deterministic: a change is real when the two sides' ranges lie
  further apart than the metric's floor (0.5%), whatever the host's load.
- Single figures (a cold start, a cold build) are shown with their ratio, never called significant.
- Records from before raw samples were kept are compared by their summaries only, and say so.

Nothing here reads outside the two folders, and a record that fails the schema is left out and counted.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import budgets as budget_rules
from .. import hostload, record, stats
from ..metric_kinds import BY_NAME, METRICS, MetricKind
from .tables import fmt_bytes, fmt_rate, fmt_seconds, row_name


@dataclass(frozen=True)
class Change:
    row: str
    metric: str
    base: float
    head: float
    ratio: float | None  # head / base; None where base is 0
    verdict: str
    significant: bool  # a real change: exact and different, or the test's p below ALPHA
    worse: bool  # in the metric's bad direction
    p: float | None = None
    samples: tuple[int, int] | None = None  # n base, n head where tested


@dataclass
class Comparison:
    base: str
    head: str
    changes: list[Change] = field(default_factory=list)
    only_base: list[str] = field(default_factory=list)
    only_head: list[str] = field(default_factory=list)
    breaches: list[str] = field(default_factory=list)
    invalid: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"base": self.base, "head": self.head, "alpha": stats.ALPHA, "test": "two-sided Mann-Whitney U",
                "changes": [asdict(change) for change in self.changes], "only_base": self.only_base,
                "only_head": self.only_head, "budget_breaches": self.breaches, "invalid_records": self.invalid}


def fmt(kind: MetricKind, value: float) -> str:
    if kind.unit == "bytes" and value < 10e6:  # a small environment's growth must show
        return f"{value / 1e3:,.1f} kB"
    if kind.unit == "count":
        return f"{value / 1e6:,.1f} M"
    return {"bytes": fmt_bytes, "seconds": fmt_seconds, "rate": fmt_rate}[kind.unit](value)


def _records(folder: Path) -> tuple[list[dict[str, Any]], int]:
    """The valid records under one folder (none where it is absent) and how many were invalid."""
    records, invalid = record.load_all([folder]) if folder.is_dir() else ([], [])
    return records, len(invalid)


def latest_ok(folder: Path) -> tuple[dict[str, str], dict[str, dict[str, Any]], int]:
    """(row names by key, the newest ok record per row, how many records were invalid) under one folder."""
    records, invalid = _records(folder)
    return (*_newest_ok(records), invalid)


def _newest_ok(records: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(row names by key, the newest ok record per row)."""
    newest: dict[str, dict[str, Any]] = {}
    for rec in records:
        if rec["status"] != "ok":
            continue
        key = "/".join(str(rec[part]) for part in ("strategy", "variant", "app", "python", "os", "arch"))
        if key not in newest or rec["created"] > newest[key]["created"]:
            newest[key] = rec
    return {key: row_name(rec) for key, rec in newest.items()}, newest


def metric_value(metrics: dict[str, Any], kind: MetricKind) -> Any:
    """What a record holds for a metric: a number, a summary, or None."""
    value: Any = metrics
    for part in kind.path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def median_of(value: Any) -> float | None:
    """A number, or a summary's median; None for anything else."""
    if isinstance(value, dict):
        value = value.get("median")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _samples(value: Any) -> list[float] | None:
    samples = value.get("samples") if isinstance(value, dict) else None
    if isinstance(samples, list) and samples and all(isinstance(s, (int, float)) for s in samples):
        return [float(s) for s in samples]
    return None


def _noise(metrics: dict[str, Any], kind: MetricKind, samples: list[float] | None) -> str | None:
    """Why one side cannot be ranked: its phase ran on a busy host, or the middle half of its runs spread more
    than hostload.SPREAD (the odd slow run does not count, as it does not move a rank test)."""
    busy = hostload.busy_reason(metrics, kind.phase) if kind.phase else None
    spread = stats.middle_spread(samples) if samples else None
    if busy or spread is None or spread <= hostload.SPREAD:
        return busy
    return f"the middle half of its runs spread {spread:.1f}x"


def change(row: str, kind: MetricKind, base_rec: dict[str, Any], head_rec: dict[str, Any]) -> Change | None:
    """One metric of one row in both runs, with its verdict; None where either side lacks it."""
    base_value, head_value = metric_value(base_rec["metrics"], kind), metric_value(head_rec["metrics"], kind)
    base, head = median_of(base_value), median_of(head_value)
    if base is None or head is None:
        return None
    ratio = head / base if base else None
    worse = head > base if kind.more_is_worse else head < base
    direction = {"bytes": ("larger", "smaller"), "seconds": ("slower", "faster"), "rate": ("higher", "lower"),
                 "count": ("more", "fewer")}[kind.unit]
    word = direction[0] if head > base else direction[1]
    if kind.exact:
        verdict = "unchanged" if head == base else f"{word} (exact)"
        return Change(row, kind.name, base, head, ratio, verdict, head != base, worse and head != base)
    if not kind.sampled:
        return Change(row, kind.name, base, head, ratio, "one figure each: not tested", False, worse)
    base_samples, head_samples = _samples(base_value), _samples(head_value)
    noise = [why for rec, samples in ((base_rec, base_samples), (head_rec, head_samples))
             if (why := _noise(rec["metrics"], kind, samples))]
    pace = hostload.pace_reason(base_rec["metrics"], head_rec["metrics"], kind.phase) if kind.phase else None
    noise += [pace] if pace else []
    if base_samples is None or head_samples is None:
        return Change(row, kind.name, base, head, ratio,
                      "summaries only (a record from before raw samples were kept): not tested", False, worse)
    counts = (len(base_samples), len(head_samples))
    if kind.floor:
        apart = min(head_samples) > max(base_samples) * (1 + kind.floor) or \
            max(head_samples) < min(base_samples) * (1 - kind.floor)
        verdict = (f"{word}, beyond the {kind.floor:.1%} floor" if apart
                   else f"no change beyond the {kind.floor:.1%} floor")
        return Change(row, kind.name, base, head, ratio, verdict, apart, worse and apart, samples=counts)
    if noise:
        return Change(row, kind.name, base, head, ratio, f"too noisy to tell ({noise[0]})", False, worse,
                      samples=counts)
    fewest = stats.fewest_for_significance()
    if 2 / math.comb(sum(counts), counts[0]) >= stats.ALPHA:  # the smallest p this many samples can give
        return Change(row, kind.name, base, head, ratio,
                      f"too few samples to tell ({counts[0]} and {counts[1]}; the test needs {fewest} a side to "
                      f"reach p < {stats.ALPHA})", False, worse, samples=counts)
    p = stats.mann_whitney_p(base_samples, head_samples)
    if p < stats.ALPHA:
        return Change(row, kind.name, base, head, ratio, f"{word}, significant (p={p:.3f})", True, worse, p, counts)
    return Change(row, kind.name, base, head, ratio, f"no significant change (p={p:.2f})", False, worse, p, counts)


def _budget_row(rec: dict[str, Any]) -> str:
    return f"{rec['strategy']}/{rec['variant']} {rec['app']}"


def breaches(rules: list[budget_rules.Budget], base: dict[str, dict[str, Any]],
             head: dict[str, dict[str, Any]], names: dict[str, str], changes: list[Change]) -> list[str]:
    """One line per broken budget. Absolute: the head over the limit (every sample, for a sampled metric: its
    min, or its max for throughput). Relative: worse than the base by more than allowed, and significant."""
    found = []
    by_row = {(c.row, c.metric): c for c in changes}
    for key, rec in head.items():
        for rule in (r for r in rules if r.applies_to(_budget_row(rec))):
            kind = BY_NAME[rule.metric]
            value = metric_value(rec["metrics"], kind)
            figure = median_of(value)
            if figure is None:
                continue
            where = f"[tool.shipbench.budgets] {rule.pattern!r} {rule.metric} = {rule.text!r}"
            if rule.limit is not None:
                edge = median_of(value.get("min" if kind.more_is_worse else "max")) if isinstance(value, dict) \
                    else figure
                if edge is not None and (edge > rule.limit if kind.more_is_worse else edge < rule.limit):
                    every = " in every run" if isinstance(value, dict) else ""
                    found.append(f"budget broken: {names[key]}: {rule.metric} {fmt(kind, figure)} "
                                 f"{'over' if kind.more_is_worse else 'under'} {rule.text}{every} ({where})")
            elif key in base and rule.relative is not None:
                moved = by_row.get((names[key], rule.metric))
                if moved and moved.significant and moved.worse and moved.ratio is not None \
                        and abs(moved.ratio - 1) > rule.relative:
                    found.append(f"budget broken: {names[key]}: {rule.metric} {fmt(kind, moved.base)} → "
                                 f"{fmt(kind, moved.head)} ({moved.ratio - 1:+.1%}, {moved.verdict}) beyond "
                                 f"{rule.text} ({where})")
    return found


def compare(base_dir: Path, head_dir: Path, rules: list[budget_rules.Budget] | None = None) -> Comparison:
    """The two folders' rows compared; `rules` checked on the head. A rule whose pattern names no row of either
    folder (any status: a row skipped on this runner is still a row) is a UsageError (budgets.check_patterns)."""
    (base_records, base_invalid), (head_records, head_invalid) = _records(base_dir), _records(head_dir)
    if rules:
        budget_rules.check_patterns(rules, {_budget_row(rec) for rec in [*base_records, *head_records]})
    (base_names, base), (head_names, head) = _newest_ok(base_records), _newest_ok(head_records)
    result = Comparison(str(base_dir), str(head_dir), invalid=base_invalid + head_invalid)
    for key in sorted(set(base) & set(head)):
        for kind in METRICS:
            found = change(head_names[key], kind, base[key], head[key])
            if found:
                result.changes.append(found)
    result.changes.sort(key=lambda c: (not c.significant, -abs(math.log(c.ratio)) if c.ratio else 0.0))
    result.only_base = sorted(base_names[key] for key in set(base) - set(head))
    result.only_head = sorted(head_names[key] for key in set(head) - set(base))
    result.breaches = breaches(rules or [], base, head, head_names, result.changes)
    return result
