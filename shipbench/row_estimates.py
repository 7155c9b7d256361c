"""How long a row will take, before it runs: the plan's estimate, from what this host has measured.

In order: this host's last record of the row under the same profile; else the usual time of the row for apps of
the app's kind here (the median of this host's records of the same strategy, variant, Python and profile for other
apps of that kind), else the strategy's stated figure for the kind (a quick row a share of a full one); either of
the two last scaled by how this app ran against its kind's usual in its other rows measured here (`app factor`).

Why the app factor: an app's size decides most of its rows' times (a deb compressing 250 MB, Nuitka compiling a
large dependency tree), and size is not known before a build. Its other rows are. Over 89 quick rows of 12 public
and fixture apps on this host (2026-12-07), each estimated from the others' records: the usual time alone was
within 1.5x of 17 rows, the stated figure of 22, the usual time times the app factor of 52 (within 2x: 33 and 66).

Every figure is scaled by the host's pace now against then where the two differ beyond PACE_BAND.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Sequence
from typing import Any

from . import host, hostload
from .apps import App
from .strategies import STRATEGIES
from .strategies.base import Strategy, app_kind

# What share of a full row a quick one takes (one cold build, three warm starts, no portability, baseline or warm
# build) where a strategy states no quick figure: the samples' quick run took 875 s here where a plan made of full
# rows' figures said about 2,600 s
QUICK_SHARE = 0.35

# The host's pace now scales a record's duration only beyond PACE_BAND, and at most to PACE_RANGE. Measured here
# (2026-12-07): the probe alternated between 0.066 s and 0.117 s within one quick run while the rows' times did not
# move; scaled by it, the second run's estimates were 1.0-2.0x short, unscaled they were within 1.2x of every row.
# What it is for: a host in another state altogether (a throttled CI runner, a laptop on battery).
PACE_BAND = 2.0
PACE_RANGE = (0.33, 3.0)
FACTOR_RANGE = (0.1, 10.0)  # an app factor beyond these says more about one odd row than about the app


def estimate(strategy: Strategy, app: App, variant: str, python: str, previous: dict[str, Any] | None,
             profile: str = "full", others: Sequence[dict[str, Any]] = ()) -> tuple[float, str]:
    """(seconds, where the figure is from) for one row that will run; `others`: the records the plan may learn
    from (the results folders' records, of any row and app)."""
    if timed_here(previous, profile):
        assert previous is not None
        return _at_pace_now(float(previous["duration_s"]), previous, f"last run here {previous['created'][:10]}")
    kind = app_kind(app)
    timed = [rec for rec in others if timed_here(rec, profile)]
    seconds, source = _usual(strategy, variant, python, kind, app.name, profile, timed)
    factor, rows = _app_factor(app.name, kind, profile, timed, (strategy.name, variant, python))
    if rows:
        seconds, source = seconds * factor, f"{source}, x{factor:.1f} as {app.name}'s {rows} other row" \
                                            f"{'s' if rows > 1 else ''} here ran"
    return seconds, source


def _usual(strategy: Strategy, variant: str, python: str, kind: str, not_app: str, profile: str,
           timed: Sequence[dict[str, Any]]) -> tuple[float, str]:
    """The row's usual time for an app of this kind here (other apps' records), else the stated figure."""
    row = (strategy.name, variant, python)
    alike = sorted((rec for rec in timed if rec.get("app") != not_app and record_kind(rec) == kind
                    and (rec.get("strategy"), rec.get("variant"), rec.get("python")) == row),
                   key=lambda rec: float(rec["duration_s"]))
    if alike:
        middle = alike[len(alike) // 2]
        names = ", ".join(sorted({str(rec["app"]) for rec in alike})[:3]) + (", ..." if len(alike) > 3 else "")
        return _at_pace_now(float(middle["duration_s"]), middle,
                            f"like {names} here ({kind} app{'s' if len(alike) > 1 else ''}"
                            f"{f', median of {len(alike)}' if len(alike) > 1 else ''})")
    if profile == "quick":
        quick = getattr(strategy, "rough_quick_s", None) or {}
        if kind in quick:
            return float(quick[kind]), f"stated ({kind} app, quick)"
        return float(strategy.rough_row_s.get(kind, 300.0)) * QUICK_SHARE, f"stated ({kind} app), quick share"
    share = float(getattr(strategy, "rough_variant_share", {}).get(variant, 1.0))
    return (float(strategy.rough_row_s.get(kind, 300.0)) * share,
            f"stated ({kind} app{f'; {variant} x{share:.1f}' if share != 1.0 else ''})")


def _app_factor(app: str, kind: str, profile: str, timed: Sequence[dict[str, Any]],
                this_row: tuple[str, str, str]) -> tuple[float, int]:
    """(median of took/usual over the app's other rows measured here, how many rows): 1.0 and 0 where none."""
    ratios = []
    for rec in timed:
        row = (rec.get("strategy"), rec.get("variant"), rec.get("python"))
        strategy = STRATEGIES.get(str(rec.get("strategy")))
        if rec.get("app") != app or row == this_row or strategy is None:
            continue
        usual, _ = _usual(strategy, str(row[1]), str(row[2]), kind, app, profile, timed)
        if usual > 0:
            ratios.append(float(rec["duration_s"]) / usual)
    if not ratios:
        return 1.0, 0
    return min(max(statistics.median(ratios), FACTOR_RANGE[0]), FACTOR_RANGE[1]), len(ratios)


def timed_here(rec: dict[str, Any] | None, profile: str) -> bool:
    """A record of this host, under the profile, whose row ran (a skip took no real time) and was timed."""
    return bool(same_host(rec) and (rec or {}).get("status") in ("ok", "failed")
                and (rec or {}).get("profile", "full") == profile
                and isinstance((rec or {}).get("duration_s"), (int, float))
                and not isinstance((rec or {}).get("duration_s"), bool)
                and float((rec or {}).get("duration_s", 0)) >= 0)


def same_host(rec: dict[str, Any] | None) -> bool:
    found = (rec or {}).get("host")
    return isinstance(found, dict) and found.get("name") == host.facts()["name"]


def record_kind(rec: dict[str, Any]) -> str:
    """A record's app's kind as app_kind says it (from the capabilities its description gave)."""
    listed = rec.get("capabilities")
    capabilities = listed if isinstance(listed, list) else []
    return "torch" if "torch" in capabilities else "window" if "window" in capabilities else "cli"


def _pace_then(rec: dict[str, Any]) -> float | None:
    """The host's pace beside a record's start-ups (hostload.record_pace): the median of its phases' medians."""
    loads = rec.get("metrics", {}).get("host_load") if isinstance(rec.get("metrics"), dict) else None
    paces = [entry["pace_s"]["median"] for entry in (loads or {}).values() if isinstance(entry, dict)
             and isinstance(entry.get("pace_s"), dict) and isinstance(entry["pace_s"].get("median"), (int, float))]
    return sorted(paces)[len(paces) // 2] if paces else None


@functools.lru_cache(maxsize=1)
def pace_now() -> float | None:
    """The host's pace as the plan is made: the median of three reference runs (hostload.REFERENCE), as a record's
    pace is the median of its runs'."""
    samples = sorted(s for s in (hostload.reference_s() for _ in range(3)) if s is not None)
    return samples[len(samples) // 2] if samples else None


def _at_pace_now(seconds: float, then_rec: dict[str, Any], source: str) -> tuple[float, str]:
    """A recorded duration scaled by the host's pace now against then, where the two differ beyond PACE_BAND."""
    then, now = _pace_then(then_rec), pace_now()
    if then and now:
        factor = min(max(now / then, PACE_RANGE[0]), PACE_RANGE[1])
        if not 1 / PACE_BAND < factor < PACE_BAND:
            return seconds * factor, f"{source}, x{factor:.1f} for the host's pace now"
    return seconds, source
