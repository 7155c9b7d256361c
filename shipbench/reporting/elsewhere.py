"""Other machines' records: what the description's evidence folders hold from hosts this run was not measured on
(a lent GPU machine's), shown as theirs in a section of their own, never merged into this host's overview,
charts or verdicts (an H100's "trained on CUDA" is no finding about a laptop without a GPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .document import Block, Grid, Section, Text
from .tables import host_identity, host_label, variant_name

COLUMNS = ("row", "status", "warm start-up", "throughput (CPU)", "GPU, best batch")


def split(records: list[dict[str, Any]], results: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(this run's, other machines'): a record under `results` is this run's (CI artifacts of several runners
    merged there are one run's); a record from another folder is too when its host measured some of those."""
    def inside(rec: dict[str, Any]) -> bool:
        try:
            Path(rec["_source"]).resolve().relative_to(results.resolve())
        except (KeyError, ValueError, OSError):
            return False
        return True

    own = [rec for rec in records if inside(rec)]
    hosts = {host_identity(rec) for rec in own}
    return own + [rec for rec in records if not inside(rec) and host_identity(rec) in hosts], \
        [rec for rec in records if not inside(rec) and host_identity(rec) not in hosts]


def _cell(rec: dict[str, Any]) -> tuple[str, str, str]:
    metrics = rec["metrics"]
    warm = metrics.get("startup_s", {}).get("warm") if isinstance(metrics.get("startup_s"), dict) else None
    start = f"{warm['median']:.3f} s (n={warm.get('n', '?')})" if isinstance(warm, dict) and "median" in warm else "–"
    rate = metrics.get("throughput")
    cpu = (f"{rate['median']:,.0f} {metrics.get('throughput_unit', '')}".strip()
           if isinstance(rate, dict) and "median" in rate else "–")
    batches = metrics.get("gpu", {}).get("batches") if isinstance(metrics.get("gpu"), dict) else None
    best = max((b for b in batches or [] if isinstance(b.get("samples_per_s"), dict)),
               key=lambda b: b["samples_per_s"].get("median", 0), default=None)
    gpu = (f"{best['samples_per_s']['median']:,.0f} samples/s at batch {best.get('batch_size', '?')}"
           if best else "–")
    return start, cpu, gpu


def section(records: list[dict[str, Any]]) -> Section | None:
    if not records:
        return None
    blocks: list[Block] = [Text(
        "Records from machines this run was not measured on (the description's evidence folders): each host's "
        "rows as they were measured there, in its own table. They take no part in the overview, the charts or "
        "what the numbers say above, which are this host's.", "explain")]
    by_host: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        by_host.setdefault(host_identity(rec), []).append(rec)
    for rows in by_host.values():
        first = rows[0]
        blocks.append(Text(f"{host_label(first['host'])}: Python {', '.join(sorted({r['python'] for r in rows}))}",
                           "heading"))
        blocks.append(Grid(COLUMNS, [(f"{variant_name(rec)} {rec['app']} py{rec['python']} {rec['os']}",
                                      rec["status"] if rec["status"] == "ok" else f"{rec['status']}: "
                                      f"{(rec.get('reason') or '')[:200]}", *_cell(rec))
                                     for rec in sorted(rows, key=lambda r: (r["app"], r["strategy"], r["variant"]))]))
    return Section("Other machines' records", blocks)
