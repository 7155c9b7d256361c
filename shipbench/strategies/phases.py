"""The cold and the warm build every strategy times: the same steps, whatever the tool.

cold: the tool's caches emptied and its output removed; warm: the caches the cold run filled kept, the output
removed again. Both times land in the record's `setup_s`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from .. import hostload, settings
from .base import Context


def remove(path: Path) -> None:
    """A folder or a file, whichever is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def cold_and_warm(ctx: Context, label: Callable[[str], str], caches: Iterable[Path], outputs: Iterable[Path],
                  build: Callable[[str], float]) -> dict[str, float]:
    """Run `build(phase)` (it returns the seconds to record) cold, then warm (the quick profile: cold only);
    fill metrics.setup_s."""
    caches, outputs = list(caches), list(outputs)
    times = {}
    for phase in ("cold",) if settings.quick() else ("cold", "warm"):
        with ctx.steps.step(label(phase)):
            for folder in caches if phase == "cold" else ():
                remove(folder)
            for output in outputs:
                remove(output)
            with hostload.watch(ctx.metrics, f"setup_{phase}"):
                times[phase] = build(phase)
    ctx.metrics["setup_s"] = times
    return times
