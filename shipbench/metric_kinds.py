"""The metrics two runs are compared on (reporting/compare.py) and budgets may limit (budgets.py): where each
lies in a record, its unit, which way is worse, and how it is judged."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricKind:
    name: str  # as budgets, the comparison table and its JSON call it
    path: tuple[str, ...]  # into a record's metrics
    unit: str  # bytes, seconds, rate (the app's own unit)
    more_is_worse: bool
    sampled: bool  # a summary with raw samples (tested), else one figure
    exact: bool = False  # deterministic for the same artifact: any difference is a change
    phase: str = ""  # hostload's phase behind it: a busy one makes it too noisy to tell
    budget: bool = False  # a budget may name it (exact or sampled: one figure cannot gate)
    # counted, not timed: nearly deterministic, so no test on ranks (which would call a 0.001% shift significant)
    # but a floor: a change is real when the two sides' ranges are apart by more than this fraction
    floor: float = 0.0


METRICS = (
    MetricKind("size", ("size_bytes",), "bytes", True, False, exact=True, budget=True),
    MetricKind("download", ("download_bytes",), "bytes", True, False, exact=True, budget=True),
    MetricKind("startup-warm", ("startup_s", "warm"), "seconds", True, True, phase="startup", budget=True),
    MetricKind("throughput", ("throughput",), "rate", False, True, phase="throughput", budget=True),
    # callgrind's count of one start-up run varied 0.013% over 5 runs here (gui venv): 0.5% is far above that
    MetricKind("instructions", ("instructions",), "count", True, True, budget=True, floor=0.005),
    MetricKind("startup-cold", ("startup_s", "cold"), "seconds", True, False, phase="startup_cold"),
    MetricKind("setup-cold", ("setup_s", "cold"), "seconds", True, False, phase="setup_cold"),
    MetricKind("setup-warm", ("setup_s", "warm"), "seconds", True, False, phase="setup_warm"),
    MetricKind("peak-rss", ("peak_rss_bytes",), "bytes", True, False),
)
BY_NAME = {kind.name: kind for kind in METRICS}
BUDGETED = {kind.name: kind for kind in METRICS if kind.budget}
