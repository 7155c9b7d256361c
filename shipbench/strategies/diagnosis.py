"""Why a frozen bundle did not start, told apart, with what to add to the description (PyInstaller, Nuitka,
cx_Freeze alike).

A trimmed bundle that fails where the same tool's default build starts was broken by trimming: the row says so,
with the deciding line and the trim-keep entry that keeps what it lacked. Any other failure is the freezer's: the
missing-modules check runs at once, and a module or a package's file the bundle lacks is named with the
hidden-imports or collect entry that puts it in. Kept apart from frozen.py, which holds what every freezer's row
does when it works.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from .. import measure, settings
from ..errors import Failure
from ..runner import deciding_line
from .base import Artifact, Context

# what a failed trimmed start names, and what the description can keep so that trimming leaves it in
_TRIM_ADVICE = (
    (re.compile(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object file"), "trim-keep = [\"*/{0}*\"]"),
    (re.compile(r'module "([\w.]+)" is not installed'), "trim-keep = [\"*/qml/{path}/*\"]"),
    (re.compile(r"No module named '([\w.]+)'"), "trim-keep = [\"{0}\"] (a module name: trimming leaves it in)"),
)


def measure_bundle(ctx: Context, artifact: Artifact, trimmed: bool, default_starts: Callable[[], Failure | None],
                   check_missing: Callable[[], None]) -> None:
    """measure.standard, and where the bundle's start fails, why, told apart: a trimmed row whose default build
    starts is trimming's doing (`trimming_verdict`); any other is the freezer's, and the missing-modules check runs
    at once (`check_missing` fills metrics.missing_modules), so that a module it left out is named with the
    description's remedy (`hidden-imports`)."""
    try:
        measure.standard(ctx, artifact)
    except Failure as failure:
        verdict = trimming_verdict(ctx, failure, default_starts) if trimmed else failure
        if verdict is failure:
            check_missing()
            verdict = with_module_advice(ctx, failure)
        raise verdict from None


def with_module_advice(ctx: Context, failure: Failure) -> Failure:
    """The failure, with what to add to the description where its deciding line is a module the bundle lacks
    (`No module named 'x'`): the module's full name from the missing-modules check where it knows it."""
    said = "\n".join([failure.reason, *failure.log_tail])
    named = re.findall(r"No module named '([\w.-]+)'", said)
    if not named:
        return with_data_advice(ctx, failure, said)
    found = ctx.metrics.get("missing_modules", {})
    lacking = [str(name) for name in found.get("missing", [])] if isinstance(found, dict) else []
    full = next((name for name in lacking if name == named[-1] or name.endswith("." + named[-1])), named[-1])
    others = [name for name in lacking if name != full]
    also = f"; it also lacks {', '.join(others[:5])}{' …' if len(others) > 5 else ''}" if others else ""
    return Failure(f"{failure.reason} (the bundle lacks a module the app loads: add hidden-imports = "
                   f"[\"{full}\"] to [tool.shipbench.apps.{ctx.app.name}]{also})", failure.log_tail)


def starts_once(ctx: Context, build: Callable[[], Path], scratch: Path) -> Failure | None:
    """Build a program to compare with (`build` returns it; everything it writes is below `scratch`, removed
    afterwards) and start it once as the app: None where it is ready, else why not."""
    try:
        program = build()
        measure.start(Artifact(path=program, kind="to compare", launcher=(str(program), *ctx.app.args)), ctx.app,
                      (), settings.app_timeout_s())
    except Failure as failure:
        return failure
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return None


NOT_COMPARED = "not compared with the default build"  # a default_starts that could not tell says so first


def trimming_verdict(ctx: Context, failure: Failure, default_starts: Callable[[], Failure | None]) -> Failure:
    """A trimmed row that failed, told apart: where the same tool's default build of the app starts (built and
    started once to see), trimming is what broke it, and the record says so with the deciding line and what to
    add to the description; otherwise the failure is the app's or the tool's, as it was."""
    with ctx.steps.step("trimmed failed: does the default build start?"):
        default = default_starts()
    if default is not None:
        ctx.note(default.reason[:300] if default.reason.startswith(NOT_COMPARED)
                 else f"the default build fails too: {default.reason[:300]}")
        return failure
    said = deciding_line("\n".join(failure.log_tail)) or failure.reason
    advice = "compare the two bundles' contents and add what the trimmed one lacks to trim-keep"
    for pattern, form in _TRIM_ADVICE:
        match = pattern.search(said) or pattern.search("\n".join(failure.log_tail))
        if match:
            advice = "add " + form.format(match.group(1), path=match.group(1).replace(".", "/")) + \
                f" to [tool.shipbench.apps.{ctx.app.name}]"
            break
    reason = failure.reason if said in failure.reason else f"{said[:300]} ({failure.reason[:200]})"
    return Failure(f"trimming breaks this app: {reason[:500]} (the default build starts; {advice})", failure.log_tail)


# a file a package reads beside its code, missing from the bundle: PyInstaller's _internal/, cx_Freeze's lib/
_MISSING_FILE = re.compile(r"""(?:No such file or directory: '|couldn't open ")[^'"]*?/(?:_internal|lib)/"""
                           r"""([A-Za-z_]\w*)/[^'"]+""")


def with_data_advice(ctx: Context, failure: Failure, said: str) -> Failure:
    """The failure, with the package to collect whole where its deciding line is a file a package reads beside its
    code that the bundle lacks (datasette's vendored pint/default_en.txt, thonny's res/thonny.png)."""
    found = _MISSING_FILE.search(said)
    if not found or found.group(1) in ctx.app.collect:
        return failure
    return Failure(f"{failure.reason} (the bundle lacks a file {found.group(1)} reads beside its code: add collect = "
                   f"[\"{found.group(1)}\"] to [tool.shipbench.apps.{ctx.app.name}], and every freezer takes the "
                   "package whole)", failure.log_tail)
