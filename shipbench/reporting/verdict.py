"""Which way to ship, per audience: the report's first answer, derived from this host's records only.

Each verdict names the way, the two or three figures that decided it with their margin over the runner-up (sizes
are exact; a start-up margin is tested on the raw samples, so it says whether it is significant), and its caveat;
or, where the records cannot decide, the row that would and the command that measures it. A profile's gap is
said as the profile's ("the quick profile starts no bundle in a clean container"), never as the way's. A row is
a candidate only when it is ok, ran for this audience, and holds every module its app loaded (bundle_modules):
"never recommended" needs evidence that the bundle breaks, and nothing else takes a row out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import hostload, stats, strategies
from .advice import lacks_modules
from .tables import capabilities, fmt_bytes, fmt_seconds, variant_name

AUDIENCES = {  # key (the strategies' `audiences`) -> the reader's words
    "desktop": "Linux desktop users",
    "servers": "Servers and containers",
    "python": "Machines that have Python",
    "gpu": "GPU servers",
    "dev": "Reproducing a dev environment",
}
# the session that measures a strategy's rows, for "what would decide it"
_COMMAND = "python3 noxw.py -s {session} -- --app {app}"


@dataclass(frozen=True)
class Verdict:
    audience: str
    app: str
    way: str  # the row shipped with, or "not decided"
    why: str  # the deciding figures, each with its margin over the runner-up
    caveat: str  # what the target needs, what the profile left out; or the command that would decide it


def _undecided(key: str, app: str, why: str, session: str, needs: str = "") -> Verdict:
    """What this host's records cannot decide: why, and the command that measures the row that would."""
    return Verdict(AUDIENCES[key], app, "not decided", why,
                   "measure one: " + _COMMAND.format(session=session, app=app) + (f" ({needs})" if needs else ""))


def _serves(rec: dict[str, Any], audience: str) -> bool:
    known = strategies.STRATEGIES.get(rec["strategy"])
    return known is not None and audience in getattr(known, "audiences", ())


def _candidates(records: list[dict[str, Any]], app: str, audience: str) -> list[dict[str, Any]]:
    return [r for r in records if r["app"] == app and r["status"] == "ok" and _serves(r, audience)
            and not lacks_modules(r) and not r["variant"].endswith("gpu")]


def _warm(rec: dict[str, Any]) -> dict[str, Any] | None:
    warm = rec["metrics"].get("startup_s", {}).get("warm") if isinstance(rec["metrics"].get("startup_s"), dict) \
        else None
    return warm if isinstance(warm, dict) and isinstance(warm.get("median"), (int, float)) else None


def startup_margin(best: dict[str, Any], other: dict[str, Any]) -> str:
    """best's warm start against other's: both medians, the ratio, and whether the raw samples tell them apart
    (two-sided Mann-Whitney U; a busy or noisy side cannot)."""
    mine, theirs = _warm(best), _warm(other)
    if mine is None or theirs is None:
        return "start-up not compared (one side has no warm start-up)"
    text = f"starts in {fmt_seconds(mine['median'])} warm vs {fmt_seconds(theirs['median'])} for {variant_name(other)}"
    noisy = (hostload.caveat(best["metrics"], ("startup",), mine) or hostload.caveat(other["metrics"], ("startup",),
                                                                                       theirs))
    if noisy:
        return f"{text} (too noisy to tell: {noisy})"
    said = stats.samples_verdict(mine.get("samples"), theirs.get("samples"))
    ratio = theirs["median"] / mine["median"] if mine["median"] > 0 else 0.0
    if said.startswith("significant") and ratio:
        return f"{text} ({ratio:.2f}x faster, {said})" if ratio >= 1 else f"{text} ({1 / ratio:.2f}x slower, {said})"
    return f"{text} ({said})"


def _download(rec: dict[str, Any]) -> float | None:
    value = rec["metrics"].get("download_bytes")
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


# Downloads within this fraction of the smallest are a tie on size: start-up decides among them (a onefile 0.4 MB
# smaller than its onedir but three times slower to start is no better choice)
SIZE_TIE = 0.10


def _by_download(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Smallest download first; rows without a download size (a tool wheel's comes from the index) after them.
    Rows whose download ties with the smallest (SIZE_TIE) come first by their warm start-up, fastest first."""
    ranked = sorted(rows, key=lambda r: (_download(r) is None, _download(r) or 0.0))
    smallest = _download(ranked[0]) if ranked else None
    if smallest is None:
        return ranked
    tied = [r for r in ranked if (_download(r) or float("inf")) <= smallest * (1 + SIZE_TIE)]
    tied.sort(key=lambda r: (_warm(r) or {}).get("median", float("inf")))
    return tied + [r for r in ranked if r not in tied]


def runner_up(ranked: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The row the chosen one (ranked[0]) is held against: the smallest download where a tie on size let a faster
    one win, else the next in rank."""
    if len(ranked) < 2:
        return None
    sized = [r for r in ranked[1:] if _download(r) is not None]
    smaller = [r for r in sized if (_download(r) or 0) < (_download(ranked[0]) or 0)]
    return min(smaller, key=lambda r: _download(r) or 0.0) if smaller else ranked[1]


def _size_margin(best: dict[str, Any], ranked: list[dict[str, Any]]) -> str:
    size = _download(best)
    if size is None:
        return ("a wheel whose dependencies come from the index (no download size)" if best["strategy"] == "wheel"
                else "no download size measured")
    text = f"{fmt_bytes(int(size))} to download"
    other = runner_up(ranked)
    if other is not None and _download(other) is not None:
        margin = (_download(other) or 0) - size
        text += (f" ({fmt_bytes(int(margin))} less than {variant_name(other)}; sizes are exact)" if margin >= 0 else
                 f" ({fmt_bytes(int(-margin))} more than {variant_name(other)}, within {SIZE_TIE:.0%}: a tie on size, "
                 "start-up decides)")
    return text


def _quick(rows: list[dict[str, Any]]) -> bool:
    return any(r.get("profile") == "quick" for r in rows)


def _portable(rec: dict[str, Any]) -> tuple[bool | None, list[str], list[str]]:
    """(started in every clean target tried: True, False, or None when none was tried; targets; packages it
    needed there)."""
    found = rec["metrics"].get("portability")
    if not isinstance(found, dict) or not found:
        return None, [], []
    clean = {target: result for target, result in found.items() if isinstance(result, dict)
             and not result.get("condition")}
    if not clean:
        return None, [], []
    needs = sorted({n for result in clean.values() for n in result.get("needs", []) if isinstance(n, str)})
    return all(result.get("status") == "ok" for result in clean.values()), sorted(clean), needs


def _desktop(records: list[dict[str, Any]], app: str) -> Verdict:
    audience = AUDIENCES["desktop"]
    rows = _candidates(records, app, "desktop")
    if not rows:
        return _undecided("desktop", app, "no bundle or .deb of this app measured ok on this host", "pyinstaller")
    proven = [r for r in rows if _portable(r)[0] is True or r["strategy"] == "deb"]
    if not proven:
        best = _by_download(rows)[0]
        tried = any(_portable(r)[0] is False for r in rows)
        gap = ("the quick profile starts no bundle in a clean container" if _quick(rows) else
               "no bundle started in every clean Debian container tried" if tried else
               "no bundle was started in a clean container")
        return Verdict(audience, app, f"{variant_name(best)} (not yet proven elsewhere)",
                       _size_margin(best, _by_download(rows)),
                       f"{gap}: {_COMMAND.format(session=best['strategy'], app=app)} starts it there")
    ranked = _by_download(proven)
    best = ranked[0]
    why = [_size_margin(best, ranked)]
    if (other := runner_up(ranked)) is not None:
        why.append(startup_margin(best, other))
    elif _warm(best):
        why.append(f"starts in {fmt_seconds(_warm(best)['median'])} warm")  # type: ignore[index]
    ok, targets, needs = _portable(best)
    if ok:
        why.append(f"started in clean {', '.join(targets)}")
    caveat = (f"the target needs {', '.join(needs)}" if needs else "the target needs nothing beyond its glibc")
    if best["strategy"] == "deb":
        caveat = strategies.STRATEGIES["deb"].target_needs
    return Verdict(audience, app, variant_name(best), "; ".join(why), caveat)


def _servers(records: list[dict[str, Any]], app: str) -> Verdict:
    audience = AUDIENCES["servers"]
    rows = [r for r in _candidates(records, app, "servers") if r["strategy"] != "deb"] or \
        _candidates(records, app, "servers")
    if not rows:
        said = "no image of this app measured ok on this host"
        skipped = sorted({r["reason"] for r in records if r["app"] == app and r["strategy"] == "bake"
                          and r["status"] != "ok" and r.get("reason")})
        if skipped:
            said += f" ({skipped[0][:160]})"
        return _undecided("servers", app, said, "bake", "needs Docker")
    ranked = _by_download(rows)
    best = ranked[0]
    why = [_size_margin(best, ranked)]
    if (other := runner_up(ranked)) is not None:
        why.append(startup_margin(best, other))
    rate = best["metrics"].get("throughput")
    if isinstance(rate, dict) and isinstance(rate.get("median"), (int, float)):
        why.append(f"{rate['median']:,.0f} {best['metrics'].get('throughput_unit', '')}".rstrip())
    known = strategies.STRATEGIES.get(best["strategy"])
    return Verdict(audience, app, variant_name(best), "; ".join(why), known.target_needs if known else "")


def _with_python(records: list[dict[str, Any]], app: str) -> Verdict:
    audience = AUDIENCES["python"]
    rows = _candidates(records, app, "python")
    if not rows:
        return _undecided("python", app, "no zipapp or tool wheel of this app measured ok on this host", "zipapp")
    ranked = _by_download(rows)
    best = ranked[0]
    why = [_size_margin(best, ranked)]
    cold = best["metrics"].get("startup_s", {}).get("cold")
    if isinstance(cold, (int, float)) and _warm(best):
        first = "first start (unpacking)" if best["strategy"] == "zipapp" else "first start"
        why.append(f"{first} {fmt_seconds(cold)}, then {fmt_seconds(_warm(best)['median'])} warm")  # type: ignore[index]
    runs_on = best["metrics"].get("runs_on")
    if isinstance(runs_on, dict) and runs_on:
        started = [v for v, result in sorted(runs_on.items())
                   if isinstance(result, dict) and result.get("status") == "ok"]
        caveat = f"the target needs Python {', '.join(started) or '(none started)'}"
    else:
        caveat = (f"the target needs Python {best['python']} (the quick profile does not try the archive on other "
                  "Pythons)" if best.get("profile") == "quick" else f"the target needs Python {best['python']}")
    return Verdict(audience, app, variant_name(best), "; ".join(why), caveat)


def _gpu(records: list[dict[str, Any]], app: str) -> Verdict | None:
    if not any("torch" in capabilities(r) for r in records if r["app"] == app):
        return None
    audience = AUDIENCES["gpu"]
    measured = [r for r in records if r["app"] == app and r["status"] == "ok" and not lacks_modules(r)
                and isinstance(r["metrics"].get("gpu"), dict) and r["metrics"]["gpu"].get("batches")]
    if not measured:
        return Verdict(audience, app, "not decided", "no row of this app trained on a GPU on this host",
                       "measure on a machine with an NVIDIA GPU: bash scripts/gpu-bench.sh (records from other "
                       "machines are in their own section below)")

    def largest(rec: dict[str, Any]) -> dict[str, Any]:
        return max(rec["metrics"]["gpu"]["batches"], key=lambda b: b.get("batch_size", 0))

    def rate(rec: dict[str, Any]) -> float:
        value = largest(rec).get("samples_per_s", {}).get("median")
        return float(value) if isinstance(value, (int, float)) else 0.0

    ranked = sorted(measured, key=rate, reverse=True)
    best = ranked[0]
    why = [f"{rate(best):,.0f} samples/s at batch {largest(best).get('batch_size', '?'):,}"]
    if len(ranked) > 1:
        other = ranked[1]
        mine, theirs = (largest(r).get("samples_per_s", {}).get("samples") for r in (best, other))
        verdict = stats.samples_verdict(mine, theirs)
        why.append(f"{rate(best) / rate(other):.2f}x {variant_name(other)} ({verdict})" if rate(other) else "")
    card = best["metrics"]["gpu"].get("device_name", "a GPU")
    known = strategies.STRATEGIES.get(best["strategy"])
    return Verdict(audience, app, variant_name(best), f"on {card}: " + "; ".join(w for w in why if w),
                   known.target_needs if known else "")


def _dev(records: list[dict[str, Any]], app: str) -> Verdict:
    audience = AUDIENCES["dev"]
    rows = [r for r in _candidates(records, app, "dev")
            if isinstance(r["metrics"].get("reproducibility"), dict)
            and r["metrics"]["reproducibility"].get("status") == "same"]
    if not rows:
        differs = [r for r in records if r["app"] == app and isinstance(r["metrics"].get("reproducibility"), dict)
                   and r["metrics"]["reproducibility"].get("status") != "same"]
        said = ("two installs from one lock differed" if differs else "no locked environment of this app "
                "measured ok on this host")
        return _undecided("dev", app, said, "locked")

    def warm_install(rec: dict[str, Any]) -> float:
        value = rec["metrics"].get("setup_s", {}).get("warm")
        return float(value) if isinstance(value, (int, float)) else float("inf")

    ranked = sorted(rows, key=warm_install)
    best = ranked[0]
    result = best["metrics"]["reproducibility"]
    why = [f"two installs from one lock hold the same {result.get('files', '?')} files",
           f"installs in {fmt_seconds(best['metrics'].get('setup_s', {}).get('warm'))} warm, "
           f"{fmt_seconds(best['metrics'].get('setup_s', {}).get('cold'))} cold"]
    if len(ranked) > 1:
        why.append(f"{variant_name(ranked[1])}: {fmt_seconds(warm_install(ranked[1]))} warm (single figures: not "
                   "tested for significance)")
    known = strategies.STRATEGIES.get(best["strategy"])
    return Verdict(audience, app, variant_name(best), "; ".join(why), known.target_needs if known else "")


_PER_APP: tuple[tuple[str, Callable[[list[dict[str, Any]], str], Verdict | None]], ...] = (
    ("desktop", _desktop), ("servers", _servers), ("python", _with_python), ("gpu", _gpu), ("dev", _dev))


def verdicts(records: list[dict[str, Any]]) -> list[Verdict]:
    """A verdict per audience and app (desktop users only for an app with a window; GPU servers only for a torch
    app)."""
    found = []
    for app in sorted({r["app"] for r in records}):
        window = any("window" in capabilities(r) for r in records if r["app"] == app)
        for key, decide in _PER_APP:
            if key == "desktop" and not window:
                continue
            verdict = decide(records, app)
            if verdict is not None:
                found.append(verdict)
    return found


COLUMNS = ("audience", "app", "ship with", "why (the deciding figures)", "caveat, or what would decide it")


def rows(records: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(v.audience, v.app, v.way, v.why, v.caveat) for v in verdicts(records)]
