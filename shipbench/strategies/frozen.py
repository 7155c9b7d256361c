"""What every freezer's row does alike (PyInstaller, Nuitka, cx_Freeze): the build venv with the pinned tool,
the sizes of what it made, the start in clean Debian containers, and the venv measured right after.

Kept apart from the freezers' own modules so that each holds only how its tool is driven.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import binaries, bundle_modules, docker, interpreters, licenses, measure, portability, qt_trim, settings
from ..errors import Failure
from ..fsutil import download_size, largest_files, tree_size
from ..runner import run_tool
from .base import Artifact, Context
from .venv import installed_version, reference_venv, sbom_tool, venv_artifact

# What every frozen bundle isolates and needs, whichever tool made it (the report's qualitative columns)
ISOLATION = "its own Python and libraries; shares the OS's libc, GL and fonts"
TARGET_NEEDS = "the same OS family and a libc as new as the build host's; the system libraries it names"


def build_venv(ctx: Context, python: interpreters.Interpreter, tool_requirements: Path) -> Path:
    """The venv the freezer runs in (the app, its dependencies, the pinned freezer), also the baseline."""
    return reference_venv(ctx, python, extra=("-r", str(tool_requirements)))


def evidence_run(ctx: Context, env_dir: Path, evidence: Path) -> dict[str, Any]:
    """Run the app once in its build venv with the injected probe recording what it loaded (modules, shared
    libraries): the evidence every freezer's trimmed profile keeps to, instead of a list kept by hand."""
    evidence.unlink(missing_ok=True)
    evidence.parent.mkdir(parents=True, exist_ok=True)
    # the probe's folder on PYTHONPATH writes the evidence, whatever the app's ready
    reference = dataclasses.replace(venv_artifact(ctx.app, env_dir), env={
        "PYTHONPATH": str(measure.INJECT_DIR), "SHIPBENCH_EVIDENCE": str(evidence)})
    measure.start(reference, ctx.app, (), settings.app_timeout_s(), evidence=True)
    try:
        loaded: dict[str, Any] = json.loads(evidence.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise Failure("the evidence run (the app in its build venv) wrote no list of what it loaded") from None
    return loaded


def missing_modules(ctx: Context, env_dir: Path, held: Callable[[], set[str]] | None, why_not: str = "",
                    standard_library: bool = True) -> None:
    """metrics.missing_modules: the modules the app loads from source (one evidence run in the build venv) that
    the bundle does not hold (`held` lists them: bundle_modules.py). None: the bundle cannot be listed, why_not
    says why. `standard_library` False: the freezer keeps it where no listing reaches, so only the rest counts."""
    with ctx.steps.step("missing modules: what the app loaded from source that the bundle lacks"):
        if held is None:
            ctx.metrics["missing_modules"] = {"status": "skipped", "reason": why_not}
            return
        with tempfile.TemporaryDirectory(prefix="shipbench-evidence-") as folder:
            try:
                evidence = evidence_run(ctx, env_dir, Path(folder) / "loaded.json")
                ctx.metrics["missing_modules"] = bundle_modules.summary(evidence, held(), standard_library,
                                                                        ctx.app.folder)
            except (Failure, ValueError, OSError) as error:
                reason = error.reason if isinstance(error, Failure) else str(error)
                ctx.metrics["missing_modules"] = {"status": "skipped", "reason": f"not listed: {reason}"[:500]}


def replace_icu_data(ctx: Context, dist: Path) -> None:
    """An app whose description says it reads no ICU data (`icu-data = false`) gets the empty ICU data package
    that app_gui's PyInstaller spec ships (pyinstaller/icudata_stub.c): 31 MB less."""
    if ctx.app.icu_data or not sys.platform.startswith("linux"):
        return
    trim = qt_trim.trim_module(ctx.root)
    for library in dist.rglob("libicudata.so.*"):
        if trim.build_icu_stub(library.name, str(library.parent)):  # pyinstaller/trim.py: the one place it is built
            ctx.note(f"{library.name} replaced by an empty ICU data package (the description says icu-data = false)")


def strip_symbols(ctx: Context, folder: Path) -> None:
    """Strip the symbol tables of the shared libraries in a trimmed build that are safe to strip, as PyInstaller's
    trimmed specs do (pyinstaller/trim.py: not a wheel's vendored *.libs/, not what trim-keep names), so that
    trimmed builds of every freezer compare like with like (Linux; needs binutils)."""
    strip = shutil.which("strip")
    if strip is None or not sys.platform.startswith("linux"):
        ctx.note("symbols not stripped: no `strip` (binutils) on this host")
        return
    trim = qt_trim.trim_module(ctx.root)
    found = [path for path in folder.rglob("*.so*") if path.is_file() and not path.is_symlink()]
    libraries = [path for path in found
                 if trim.safe_to_strip(path.relative_to(folder).as_posix(), ctx.app.trim_keep)]
    for start in range(0, len(libraries), 200):
        run_tool([strip, *libraries[start:start + 200]], what="strip")
    ctx.note(f"symbols stripped from {len(libraries)} shared libraries (strip, as PyInstaller's trimmed spec does)"
             + (f"; {len(found) - len(libraries)} left as they are (a wheel's vendored *.libs/, which strip "
                "breaks, or trim-keep)" if len(found) > len(libraries) else ""))


def record_sizes(ctx: Context, shipped: Path, scratch: Path, embedded: Callable[[Path], None] | None = None) -> None:
    """Size on disk, compressed for download (the host's archive format), and the largest files; the binaries
    inside (`embedded`: writes out those a single-file program carries, see binaries.inspect)."""
    with ctx.steps.step("sizes: on disk, compressed for download, largest files"):
        ctx.metrics["size_bytes"] = tree_size(shipped)
        ctx.metrics["download_bytes"] = download_size(shipped, scratch, sys.platform)
        ctx.metrics["largest_files"] = largest_files(shipped)
    binaries.record(ctx, shipped, embedded)


def record_licenses(ctx: Context, python: interpreters.Interpreter, runtime: tuple[tuple[str, str], ...]) -> None:
    """Licences and the SBOM of the Python distributions the artifact carries: a venv of the app alone (its build
    venv also holds the freezer, which does not ship), and `runtime`, what the strategy adds to them (name,
    licence: the interpreter a frozen program carries, the freezer's own start-up code)."""
    licenses.record(ctx, reference_venv(ctx, python, suffix="-app-only"), lambda: sbom_tool(ctx), runtime)


def record_versions(ctx: Context, python: interpreters.Interpreter, env_dir: Path, tool: str) -> None:
    ctx.versions.update({"python": python.full_version, tool: installed_version(env_dir, tool)})
    if ctx.app.record_version:
        ctx.versions[ctx.app.record_version] = installed_version(env_dir, ctx.app.record_version)


def portability_and_baseline(ctx: Context, artifact: Artifact, env_dir: Path, what: str) -> None:
    """Start the bundle in clean Debian 12 and 13 containers, then measure the app in its build venv."""
    checked = sys.platform.startswith("linux") and not settings.quick()
    with ctx.steps.step("portability: start in clean Debian 12 and 13 containers" if checked else
                        "portability: not checked (" + ("the quick profile" if settings.quick() else
                                                        "clean Linux containers: Linux hosts only") + ")"):
        if checked:
            program = artifact.launcher[0]
            mount = artifact.path if artifact.path.is_dir() else artifact.path.parent
            relative = Path(program).relative_to(mount).as_posix()
            ctx.metrics["portability"] = portability.check(mount, relative, ctx.app, ctx.root,
                                                           onefile=artifact.path.is_file())
            ctx.versions.update(docker.versions())  # the docker that ran the checks (PATH may hold several)
    measure.baseline(ctx, venv_artifact(ctx.app, env_dir), f"the same app in the build venv, measured right after "
                                                           f"the {what}")

