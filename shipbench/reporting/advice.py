"""What the numbers say: a recommendation per common priority, and the seed's qualitative points with evidence.

Everything here is derived from the records: change the data and the text follows. Where the records cannot
answer, the text says so instead of guessing.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from .. import hostload, strategies
from .tables import capabilities, fmt_bytes, fmt_seconds, variant_name


def _name(rec: dict[str, Any]) -> str:
    return variant_name(rec)


def lacks_modules(rec: dict[str, Any]) -> list[str]:
    """The app's own modules a bundle lacks that its app loads from source (bundle_modules.py): such a bundle
    works until that code path runs, so it is never recommended. A dependency's module that the bundle lacks
    (an optional part its freezer hook leaves out) is named in the inside table, not held against the bundle.
    A record from before the check told the two apart counts every missing module."""
    found = rec["metrics"].get("missing_modules") if rec["status"] == "ok" else None
    if not isinstance(found, dict) or not found.get("count"):
        return []
    own = found.get("own", found.get("missing", []))
    return [str(name) for name in own] if isinstance(own, list) else []


def _ok(records: list[dict[str, Any]], app: str) -> list[dict[str, Any]]:
    return [r for r in records if r["app"] == app and r["status"] == "ok" and not r["variant"].endswith("gpu")
            and not lacks_modules(r)]


def _not_recommended(records: list[dict[str, Any]]) -> str:
    lacking = [f"{r['app']} {_name(r)} py{r['python']} (lacks {', '.join(lacks_modules(r)[:3])}"
               f"{' …' if len(lacks_modules(r)) > 3 else ''})" for r in records if lacks_modules(r)]
    return "; ".join(lacking)


def _apps(records: list[dict[str, Any]]) -> list[str]:
    return sorted({r["app"] for r in records})


def _smallest_download(records: list[dict[str, Any]]) -> str:
    lines = []
    for app in _apps(records):
        ranked = sorted((r for r in _ok(records, app) if r["metrics"].get("download_bytes")),
                        key=lambda r: r["metrics"]["download_bytes"])
        if ranked:
            best = ranked[0]
            text = f"{app}: {_name(best)}, {fmt_bytes(best['metrics']['download_bytes'])} to download"
            if len(ranked) > 1:
                factor = ranked[-1]["metrics"]["download_bytes"] / best["metrics"]["download_bytes"]
                text += f" ({factor:.1f}× less than the largest, {_name(ranked[-1])})"
            lines.append(text)
    return "; ".join(lines) or "no download sizes measured yet"


def _fastest_start(records: list[dict[str, Any]]) -> str:
    lines = []
    for app in _apps(records):
        timed = [r for r in _ok(records, app) if r["metrics"].get("startup_s")]
        # a time from a busy host, or from runs too spread to compare, is no finding (hostload.py)
        ranked = sorted((r for r in timed if not hostload.busy_reason(r["metrics"], "startup")
                         and not hostload.spread_reason(r["metrics"]["startup_s"]["warm"])),
                        key=lambda r: r["metrics"]["startup_s"]["warm"]["median"])
        if ranked:
            best = ranked[0]
            lines.append(f"{app}: {_name(best)} py{best['python']}, "
                         f"{fmt_seconds(best['metrics']['startup_s']['warm']['median'])} warm"
                         + (f" ({len(timed) - len(ranked)} busy-host or noisy rows not ranked)"
                            if len(ranked) < len(timed) else ""))
        elif timed:
            lines.append(f"{app}: only times from a busy host or too spread to rank ({len(timed)} rows)")
    return "; ".join(lines) or "no start-up times measured yet"


def _gpu_environment(records: list[dict[str, Any]]) -> str:
    measured = [r for r in records if r["status"] == "ok" and r["metrics"].get("gpu", {}).get("batches")]
    if not measured:
        reasons = sorted({r["reason"] for r in records if r["variant"].endswith("gpu") and r["reason"]}
                         | {r["metrics"]["gpu"]["reason"] for r in records
                            if r["metrics"].get("gpu", {}).get("reason")})
        return "no GPU rows measured" + (f" ({'; '.join(reasons)})" if reasons else "")
    parts = []
    for rec in measured:
        largest = max(rec["metrics"]["gpu"]["batches"], key=lambda b: b["batch_size"])
        samples = largest["samples_per_s"]["median"]
        text = f"{rec['strategy']}: {samples:,.0f} samples/s at batch {largest['batch_size']:,}"
        if largest.get("mfu"):
            text += f" ({largest['mfu']:.0%} of peak)"
        if largest.get("ratio_to_venv"):
            text += f", {largest['ratio_to_venv']:.2f}× the host's PyTorch"
        parts.append(text)
    # on hosts that have a GPU, say why a strategy could not reach it ("no CUDA device" elsewhere says nothing)
    skipped = [f"{r['strategy']} (on {r['host'].get('name') or 'another host'}): "
               f"{r['reason'] or r['metrics'].get('gpu', {}).get('reason')}" for r in records
               if r["host"].get("gpus") and (r["variant"].endswith("gpu") and r["status"] != "ok"
                                             or r["metrics"].get("gpu", {}).get("status") in ("skipped", "failed"))]
    card = measured[0]["metrics"]["gpu"]["device_name"]
    return f"on {card}, " + "; ".join(parts) + (f". Not measured: {'; '.join(skipped)}" if skipped else "")


def _desktop(records: list[dict[str, Any]]) -> str:
    if not any("window" in capabilities(r) for r in records):
        return "no window app among these records (the apps' descriptions name no \"window\" capability)"
    candidates = []
    for rec in (r for app in _apps(records) for r in _ok(records, app) if "window" in capabilities(r)):
        portability = rec["metrics"].get("portability")
        if not portability or not rec["metrics"].get("download_bytes"):
            continue
        targets = {t: r for t, r in portability.items() if not r.get("condition")}  # clean targets as they come
        if targets and all(result["status"] == "ok" for result in targets.values()):
            needs = sorted({n for result in targets.values() for n in result.get("needs", [])})
            conditions = sorted({r["condition"] for r in portability.values()
                                 if r.get("condition") and r["status"] != "ok"})
            candidates.append((rec["metrics"]["download_bytes"], rec, needs, sorted(targets), conditions))
    if not candidates:
        if any(r.get("profile") == "quick" for r in records if "window" in capabilities(r)):
            return ("the quick profile starts no bundle in a clean container: a strategy's own session (the full "
                    "profile) does, e.g. python3 noxw.py -s pyinstaller")
        return "no bundle of a window app has portability evidence yet"
    _size, best, needs, tried, conditions = min(candidates, key=lambda c: c[0])
    caveat = f"; not with a {' or '.join(conditions)} (set TMPDIR to an executable folder)" if conditions else ""
    return (f"{_name(best)}: {fmt_bytes(best['metrics']['download_bytes'])} to download, starts in "
            f"{fmt_seconds(best['metrics']['startup_s']['warm']['median'])}, ran on every clean target tried "
            f"({', '.join(tried)}) once it had: {', '.join(needs) or 'nothing'}{caveat}")


def _reproducible(records: list[dict[str, Any]]) -> str:
    """From the locked rows: did two installs from one lock match, and how long did an install take."""
    checked = [r for r in records if r["metrics"].get("reproducibility")]
    if not checked:
        return "no locked environment measured yet"
    parts = []
    for rec in sorted(checked, key=lambda r: (r["app"], r["variant"])):
        result = rec["metrics"]["reproducibility"]
        verdict = (f"the same {result.get('files', '?')} files and {result.get('packages', '?')} packages"
                   if result["status"] == "same" else
                   f"{result.get('differing_file_count', '?')} files differ "
                   f"({', '.join(result.get('differing_files', [])[:3])})")
        container = result.get("container", {})
        where = container.get("where") if isinstance(container.get("where"), str) else "a clean container"
        if container.get("status") in ("same", "differs"):
            verdict += (f", and so does a third in {where}" if container["status"] == "same"
                        else f"; a third, in {where}, differs in {container.get('differing_file_count', '?')} files")
        setup = rec["metrics"].get("setup_s", {})
        parts.append(f"{rec['app']} {rec['variant']}: two installs from one lock hold {verdict}; install "
                     f"{fmt_seconds(setup.get('cold'))} cold, {fmt_seconds(setup.get('warm'))} warm")
    return "; ".join(parts)


def _with_a_python(records: list[dict[str, Any]]) -> str:
    """From the zipapp rows: the smallest archive per app, its first (unpacking) and later starts, and on which
    of the host's Pythons it started at all."""
    lines = []
    for app in _apps(records):
        ranked = sorted((r for r in _ok(records, app) if r["strategy"] == "zipapp"
                         and r["metrics"].get("download_bytes")), key=lambda r: r["metrics"]["download_bytes"])
        if not ranked:
            continue
        best = ranked[0]
        metrics = best["metrics"]
        runs_on = metrics.get("runs_on") or {}
        started = [v for v, result in sorted(runs_on.items()) if result["status"] == "ok"]
        failed = [v for v, result in sorted(runs_on.items()) if result["status"] == "failed"]
        unpacked = fmt_bytes(metrics.get("cache", {}).get("bytes"))
        tried = (f"started on Python {', '.join(started) or 'none'}" + (f", not on {', '.join(failed)}" if failed
                                                                         else "")
                 if runs_on else f"other Pythons than {best['python']} not tried"
                 + (" (the quick profile)" if best.get("profile") == "quick" else ""))
        lines.append(f"{app}: {_name(best)}, {fmt_bytes(metrics['download_bytes'])}; first start "
                     f"{fmt_seconds(metrics['startup_s']['cold'])} (unpacks {unpacked} into its cache), then "
                     f"{fmt_seconds(metrics['startup_s']['warm']['median'])}; {tried}")
    return "; ".join(lines) or "no zipapp measured yet"


def recommendations(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        ("Smallest download", _smallest_download(records)),
        ("Fastest start", _fastest_start(records)),
        ("Reproduce a GPU dev environment", _gpu_environment(records)),
        ("Reproduce a Python environment exactly", _reproducible(records)),
        ("Ship to machines that have Python", _with_a_python(records)),
        ("Ship to desktop users", _desktop(records)),
    ] + ([("Never recommended: bundles missing modules the app loads", left_out)]
         if (left_out := _not_recommended(records)) else [])


def _maintained(records: list[dict[str, Any]]) -> str:
    """The files a team keeps for this way (each record names its own, with line counts): their total."""
    files: dict[str, int] = {}
    for rec in records:
        for item in rec.get("maintained_files", []):
            files[item["path"]] = item["lines"]
    return f"{sum(files.values())} lines in {len(files)} files" if files else "–"


def _nowhere(records: list[dict[str, Any]]) -> str:
    """A strategy with no ok row: how its rows ended (a failure is not "not yet")."""
    counts = Counter(r["status"] for r in records)
    return "nowhere: " + ", ".join(f"{counts[status]} {status}" for status in ("failed", "skipped") if counts[status]) \
        + " (reasons in the overview's notes)"


def qualities(records: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """(strategy, isolation, what the target needs, measured on, window, GPU, what the team maintains) per
    strategy: the qualitative facts from the strategy's module, the evidence from its records."""
    rows: list[tuple[str, ...]] = []
    for strategy in sorted({r["strategy"] for r in records}):
        mine = [r for r in records if r["strategy"] == strategy]
        ok = [r for r in mine if r["status"] == "ok"]
        systems = sorted({f"{r['os']}-{r['arch']}" for r in ok}) or [_nowhere(mine)]
        known = strategies.STRATEGIES.get(strategy)
        needs = known.target_needs if known else "?"
        pythons = sorted({r["python"] for r in ok}, key=lambda v: tuple(map(int, v.split("."))))
        if strategy == "venv" and pythons:
            needs += f" (measured with Python {', '.join(pythons)})"
        runs_on = sorted({version for r in ok for version, result in r["metrics"].get("runs_on", {}).items()
                          if result["status"] == "ok"}, key=lambda v: tuple(map(int, v.split("."))))
        refused = sorted({version for r in ok for version, result in r["metrics"].get("runs_on", {}).items()
                          if result["status"] == "failed"}, key=lambda v: tuple(map(int, v.split("."))))
        if runs_on or refused:
            needs += (f"; archives built with one Python started on {', '.join(runs_on) or 'none'}"
                      + (f" (some not on {', '.join(refused)})" if refused else ""))
        boxes = sorted({r["metrics"]["vm"]["box_bytes"] for r in ok if r["metrics"].get("vm")})
        how = sorted({r["metrics"]["vm"]["acceleration_label"] for r in ok if r["metrics"].get("vm")})
        if boxes:
            needs += f"; the box is {fmt_bytes(boxes[-1])}" + (f", measured here with {', '.join(how)}" if how else "")
        packages = sorted({n for r in ok for result in r["metrics"].get("portability", {}).values()
                           for n in result.get("needs", [])})
        if packages:
            needs += "; in a clean Debian: " + ", ".join(packages)
        floors = [(tuple(int(part) for part in found["glibc_floor"].split(".")), found["glibc_floor"],
                   r["variant"], found.get("glibc_floor_file") or "?")
                  for r in ok if isinstance(found := r["metrics"].get("binaries"), dict)
                  and found.get("status") == "ok" and re.fullmatch(r"\d+(\.\d+)+", str(found.get("glibc_floor")))]
        if floors:
            _, floor, variant, file = max(floors)
            needs += f"; glibc {floor} or newer (its binaries' floor: {file}, {variant})"
        if any(result.get("condition") == "noexec /tmp" and result["status"] != "ok"
               for r in ok for result in r["metrics"].get("portability", {}).values()):
            needs += "; onefile: an executable /tmp (or TMPDIR pointing at one)"
        gui = [r for r in ok if "window" in capabilities(r)]
        shown = sum(1 for r in gui if r["metrics"].get("screenshot"))
        x11 = sum(1 for r in gui if r["metrics"].get("x11", {}).get("status") == "ok")
        gui_text = f"{shown} of {len(gui)} rendered (screenshots)" + (f", {x11} over X11" if x11 else "") if gui \
            else "not measured"
        gpu_rows = [r for r in mine if r["variant"].endswith("gpu") or r["metrics"].get("gpu")]
        gpu_text = "; ".join(sorted({
            "trained on CUDA" if (r["status"] == "ok" and r["metrics"].get("gpu", {}).get("status") == "ok")
            else (r["reason"] or r["metrics"].get("gpu", {}).get("reason") or "not measured") for r in gpu_rows
        })) or "not measured"
        rows.append((strategy, known.isolation if known else "?", needs, ", ".join(systems), gui_text, gpu_text,
                     _maintained(mine)))
    return rows


QUALITY_COLUMNS = ("strategy", "isolation", "what the target machine needs", "measured on", "window", "GPU",
                   "what the team maintains")
