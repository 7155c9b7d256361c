"""Summaries of repeated measurements (median with min and max, never a lone mean, and the raw samples) and the
one test that compares two sets of them."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Median, min, max and n, and the raw samples in the order taken: two runs are compared with a test on
    those (compare.py), not by their medians."""
    if not values:
        raise ValueError("cannot summarize no measurements")
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
        "samples": [float(value) for value in values],
    }


# Two-sided Mann-Whitney U: exact (every split of the pooled values) up to this many splits, else the normal
# approximation with the tie correction. 5+5 samples are 252 splits, 10+10 184,756.
EXACT_SPLITS = 200_000
ALPHA = 0.05  # the significance level every verdict uses


def _ranks(values: Sequence[float]) -> list[float]:
    """Mid-ranks, 1-based: tied values share the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda index: values[index])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sided p-value of the Mann-Whitney U test that a and b come from the same distribution. Chosen
    because start-up and throughput samples are skewed (a slow outlier, not a bell): the test uses ranks only.
    Exact for small samples: with n values a side the smallest p it can give is 2/C(2n, n), so 3 against 3 can
    never be significant (0.1): fewest_for_significance says how many it takes."""
    if not a or not b:
        raise ValueError("the test needs samples on both sides")
    pooled = [*a, *b]
    ranks = _ranks(pooled)
    n_a, n_b = len(a), len(b)
    rank_sum = sum(ranks[:n_a])
    mean = n_a * (n_a + n_b + 1) / 2
    observed = abs(rank_sum - mean)
    if math.comb(n_a + n_b, n_a) <= EXACT_SPLITS:
        extreme = total = 0
        for chosen in itertools.combinations(range(n_a + n_b), n_a):
            total += 1
            if abs(sum(ranks[index] for index in chosen) - mean) >= observed - 1e-9:
                extreme += 1
        return extreme / total
    n = n_a + n_b
    ties = sum(count ** 3 - count for count in Counter(pooled).values())
    variance = n_a * n_b / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = (observed - 0.5) / math.sqrt(variance)  # continuity correction
    return max(0.0, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2))))


def fewest_for_significance(alpha: float = ALPHA) -> int:
    """The fewest samples a side (equal sides) with which the exact test can reach p < alpha: 4 for 0.05."""
    n = 1
    while 2 / math.comb(2 * n, n) >= alpha:
        n += 1
    return n


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    """The lower and upper quartile (the inclusive method: defined for two values and more)."""
    if len(values) < 2:
        raise ValueError("quartiles need two values or more")
    lower, _median, upper = statistics.quantiles(values, n=4, method="inclusive")
    return lower, upper


def middle_spread(values: Sequence[float]) -> float | None:
    """How far apart the middle half of the runs lies: upper quartile over lower. The odd slow run (a page
    fault, a timer tick) does not move it, as it does not move a rank test; a host that is noisy run after run
    does. None where it cannot be told (fewer than two values, or a lower quartile of 0)."""
    if len(values) < 2:
        return None
    lower, upper = quartiles(values)
    return upper / lower if lower > 0 else None


def samples_verdict(ours: Any, theirs: Any) -> str:
    """Whether two sides' raw samples tell them apart (two-sided Mann-Whitney U at ALPHA): every ratio the
    report prints says it, GPU ratios included."""
    if not (isinstance(ours, list) and isinstance(theirs, list) and ours and theirs
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in [*ours, *theirs])):
        return "no raw samples to test"
    fewest = fewest_for_significance()
    if len(ours) + len(theirs) < 2 * fewest and 2 / math.comb(len(ours) + len(theirs), len(ours)) >= ALPHA:
        return f"too few runs to tell: n={len(ours)}+{len(theirs)}, {fewest} a side needed"
    p = mann_whitney_p(ours, theirs)
    return f"significant: p={p:.3f}" if p < ALPHA else f"too close to call: p={p:.2f}"


def duration(seconds: float) -> str:
    """A human figure for an estimate: 40 s, 2.5 min, 14 min, 2.1 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 600:
        return f"{seconds / 60:.1f}".removesuffix(".0") + " min"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
