"""Summaries of repeated measurements: median with min and max, never a lone mean."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def summarize(values: Sequence[float]) -> dict[str, float | int]:
    if not values:
        raise ValueError("cannot summarize no measurements")
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }
