"""Ship as a frozen executable: cx_Freeze's build_exe, the other long-lived freezer (with PySide6 hooks).

Variants: `default` (cx_Freeze's own choices: modules in lib/library.zip, packages with data beside it) and
`trimmed`: the standard-library and Qt modules one run of the app did not import excluded, Qt plugins and
libraries it did not load left out (the same evidence as PyInstaller's and Nuitka's trimmed builds), pure-Python
packages zipped. Built from a generated entry script with cx_Freeze's command line, which is what the record's
notes show, so a team can copy it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

from .. import bundle_modules, interpreters, measure, qt_trim, settings, tool_pins
from .. import entry as launchers
from ..apps import App
from ..errors import Failure
from ..pyinstaller_spec import data_destination
from ..runner import output, run_tool
from . import diagnosis, frozen, phases
from .base import Artifact, Context, Defaults
from .nuitka import site_packages

TOOL_REQUIREMENTS = tool_pins.requirements("cxfreeze")
# what a build ships besides the app's distributions (licenses.py)
RUNTIME_LICENSES = (("CPython, the interpreter it carries", "PSF-2.0"), ("cx_Freeze base executable", "PSF-2.0"))
_PROBE_MODULE = "_shipbench_first_frame"
_UNBUFFERED_MODULE = "_shipbench_unbuffered"


def entry_script(app: App, folder: Path, harness: Path, entry_point: str | None = None) -> Path:
    """The script cx_Freeze freezes: the app started as its description says; for a first-frame app the
    injected probe imported first (what sitecustomize does in a venv; a frozen program runs no site), after
    whatever a script must begin with (its docstring, `from __future__` imports)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = launchers.runpy_launcher(app, entry_point)
    if script is None:  # the app's own script, run from library.zip: its __file__ is put where its data is
        script = launchers.with_file_beside_the_program((app.folder / app.start[1]).read_text(encoding="utf-8"),
                                                        Path(app.start[1]).as_posix())
    if app.first_frame:
        shutil.copy2(measure.INJECT_DIR / "sitecustomize.py", folder / f"{_PROBE_MODULE}.py")
        script = launchers.with_first_import(script, _PROBE_MODULE)
    # first of all: the program honours PYTHONUNBUFFERED as python does (pyinstaller/unbuffered.py)
    shutil.copy2(harness / "pyinstaller" / "unbuffered.py", folder / f"{_UNBUFFERED_MODULE}.py")
    script = launchers.with_first_import(script, _UNBUFFERED_MODULE)
    path = folder / f"launch_{app.name.replace('-', '_')}.py"  # not the app's module name: it would shadow it
    path.write_text(script, encoding="utf-8")
    return path


def _data_target(item: str, script_app: bool = False) -> str:
    """Where a data file (or folder) lands in the build: beside its package, which cx_Freeze keeps as files under
    lib/; for a script app at the same place below the program's folder as below the app's, where the script's
    `__file__` points (entry_script)."""
    folder = data_destination(item)
    if script_app or folder == ".":
        return f"{folder}/{Path(item).name}" if folder != "." else f"./{Path(item).name}"
    return f"lib/{folder}/{Path(item).name}"


def _default_excludes(python: Path) -> set[str]:
    """The modules cx_Freeze leaves out of every build unless told (its DEFAULT_EXCLUDES), as the build venv's
    cx_Freeze has them; empty where that cannot be read (a cx_Freeze that no longer has the list)."""
    code = "from cx_Freeze.hooks.unused_modules import DEFAULT_EXCLUDES as d; print(' '.join(sorted(d)))"
    return set((output([python, "-c", code]) or "").split())


class CxFreezeStrategy(Defaults):
    name = "cxfreeze"
    variants: tuple[str, ...] = ("default", "trimmed")
    quick_variant = "trimmed"
    rough_row_s = {"cli": 40.0, "window": 43.0, "torch": 130.0}
    rough_quick_s = {"cli": 13.0, "window": 14.0, "torch": 90.0}
    summary = "a frozen executable built by cx_Freeze (build_exe; default and trimmed)"
    isolation = frozen.ISOLATION
    audiences: tuple[str, ...] = ("desktop",)
    family = "frozen bundle"
    target_needs = frozen.TARGET_NEEDS
    oses: tuple[str, ...] = ("linux", "windows", "macos")  # no cross-building: each OS builds its own
    ci_minutes: int = 60  # the CI job's time limit: both apps, two variants each
    inputs: tuple[str, ...] = (tool_pins.input_path("cxfreeze"), "pyinstaller/trim.py", "pyinstaller/icudata_stub.c",
                               "pyinstaller/unbuffered.py",
                               "scripts/build-base-image.sh")

    def planned_steps(self, app: App) -> int:
        return 10 + measure.standard_steps(app)

    def build(self, ctx: Context) -> Artifact:
        python = interpreters.find(ctx.key.python)
        with ctx.steps.step("build venv (app, dependencies, cx_Freeze)"):
            env_dir = frozen.build_venv(ctx, python, TOOL_REQUIREMENTS)
        target = ctx.build_dir / f"{ctx.app.name}-py{ctx.key.python}-{ctx.key.variant}"
        dist = target / "dist"
        with ctx.steps.step("options: entry script, data, hidden imports (trimmed: from what one run loaded)"):
            argv = self._command(ctx, env_dir, target, dist)
        phases.cold_and_warm(ctx, lambda phase: f"cx_Freeze build, {phase}", [target / "build"], [dist],
                             lambda phase: run_tool(argv, cwd=target,
                                                    timeout=settings.build_timeout_s(), what=f"cx_Freeze ({phase})")[0])
        program = dist / (ctx.app.name + (".exe" if sys.platform == "win32" else ""))
        if not program.is_file():
            raise Failure(f"cx_Freeze wrote no {program.name} into {dist}")
        if ctx.key.variant == "trimmed":
            frozen.replace_icu_data(ctx, dist)
            frozen.strip_symbols(ctx, dist)
        frozen.record_sizes(ctx, dist, target / "archive")
        frozen.record_licenses(ctx, python, RUNTIME_LICENSES)
        frozen.record_versions(ctx, python, env_dir, "cx_Freeze")
        ctx.note("built with `cxfreeze build_exe` from a generated [tool.cxfreeze] table (its pyproject.toml)")
        ctx.note("cx_Freeze has no build cache: cold and warm differ only by the file system's cache; build time "
                 "excludes creating the build venv")
        return Artifact(path=dist, kind="cx_Freeze build_exe", launcher=(str(program), *ctx.app.args),
                        description=f"cx_Freeze build_exe folder, {ctx.key.variant}")

    def _default_starts(self, ctx: Context) -> Failure | None:
        """The default variant built (from its own generated table, into a scratch folder) and started once:
        None where it starts, else why not."""
        scratch = dataclasses.replace(ctx, key=dataclasses.replace(ctx.key, variant="default"),
                                      record=copy.deepcopy(ctx.record))  # its notes are not this row's
        env_dir = frozen.build_venv(ctx, interpreters.find(ctx.key.python), TOOL_REQUIREMENTS)
        target = ctx.build_dir / f"{ctx.app.name}-py{ctx.key.python}-{ctx.key.variant}-default-check"

        def build() -> Path:
            argv = self._command(scratch, env_dir, target, target / "dist")
            run_tool(argv, cwd=target, timeout=settings.build_timeout_s(), what="cx_Freeze (default, to compare)")
            return target / "dist" / (ctx.app.name + (".exe" if sys.platform == "win32" else ""))

        return diagnosis.starts_once(ctx, build, target)

    def _command(self, ctx: Context, env_dir: Path, target: Path, dist: Path) -> list[str]:
        app = ctx.app
        python = interpreters.venv_python(env_dir)
        entry_point = launchers.console_entry_point(app, python) if app.start[0] == "console-script" else None
        script = entry_script(app, target / "entry", ctx.root, entry_point)
        includes = list(app.hidden_imports)
        packages = []
        if app.start[0] == "module":  # started through runpy, which cx_Freeze's analysis cannot follow
            packages.append(app.start[1].split(".")[0])
        elif entry_point:
            includes.append(entry_point.split(":")[0])
        includes.append(_UNBUFFERED_MODULE)
        if app.first_frame:
            includes.append(_PROBE_MODULE)
        if app.uses_torch:  # torch imports submodules by name at start-up (torch._dynamo.polyfills.*): all of it
            packages.append("torch")
        packages += [name for name in launchers.collected_packages(app, entry_point) if name not in packages]
        evidence = frozen.evidence_run(ctx, env_dir, target / "evidence" / f"{app.name}-loaded.json")
        tops = {name.split(".")[0] for name in evidence["modules"]}
        # what cx_Freeze leaves out of every build by default (pydoc, unittest, ...) but the app loaded
        dropped = sorted(tops & _default_excludes(python) - bundle_modules.HARNESS_MODULES)  # not the probe
        if dropped:
            includes += dropped
            ctx.note(f"cx_Freeze leaves {', '.join(dropped)} out by default; the app loads it: included")

        def here(path: Path) -> str:  # the table's paths, relative to its folder: `cxfreeze build_exe` runs there
            return Path(os.path.relpath(path, target)).as_posix()

        files = [[here(app.folder / item), _data_target(item, app.start[0] == "script")] for item in app.data]
        excludes: list[str] = []
        bin_excludes: list[str] = []
        options: dict[str, object] = {}
        if ctx.key.variant == "trimmed":
            trim = qt_trim.trim_module(ctx.root)
            excludes = [name for name in trim.GENERIC_STDLIB_EXCLUDES
                        if name not in tops and not trim.matches(name, app.trim_keep)]
            binding = qt_trim.binding_folder(site_packages(env_dir), evidence, trim.QT_BINDINGS)
            if binding is not None:
                plugins = qt_trim.unused_plugins(binding, evidence, trim.KEEP_PLATFORMS)
                excludes += qt_trim.unused_qt_modules(binding, evidence)
                bin_excludes = [name for name in [Path(p).name for p in plugins]
                                + qt_trim.unneeded_qt_libraries(binding, evidence, plugins)
                                if not trim.matches(name, app.trim_keep)]
            ctx.note(f"trimmed: {len(excludes)} modules and {len(bin_excludes)} Qt plugins and libraries the app did "
                     "not load left out (evidence run); pure-Python packages zipped")
            # the app's own packages stay files: code that reads data beside itself needs a real folder
            options = {"zip_include_packages": ["*"],
                       "zip_exclude_packages": [*trim.QT_BINDINGS, "shiboken6", "torch", *packages,
                                                *(name.split(".")[0] for name in includes)]}
        config = target / "pyproject.toml"
        # include_path adds the entry script's folder (the probe module beside it) to the search path
        # the entry script's folder (the probe beside it) and, for a script app, the script's own folder: its
        # sibling modules are what `python app.py` imports from there
        paths = [here(script.parent)] + ([here((app.folder / app.start[1]).parent)] if app.start[0] == "script" else [])
        build = {"build_exe": here(dist), "silent": True, "include_path": paths,
                 "includes": includes, "packages": packages,
                 "excludes": excludes, "bin_excludes": bin_excludes, "include_files": files, **options}
        config.write_text(
            f"# written by shipbench from [tool.shipbench.apps.{app.name}]: `cxfreeze build_exe` in this folder\n"
            "# (paths are relative to it)\n"
            f"[tool.cxfreeze]\nexecutables = [{{ script = {json.dumps(here(script))}, "
            f"target_name = {json.dumps(app.name)} }}]\n\n[tool.cxfreeze.build_exe]\n"
            + "".join(f"{key} = {json.dumps(value)}\n" for key, value in build.items() if value not in ([], {})),
            encoding="utf-8")
        ctx.maintains(config)
        return [str(interpreters.venv_python(env_dir).parent / "cxfreeze"), "build_exe"]

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        env_dir = frozen.build_venv(ctx, interpreters.find(ctx.key.python), TOOL_REQUIREMENTS)

        def check_missing() -> None:
            # cx_Freeze compiles part of the standard library into its program (importlib, warnings, encodings):
            # only the app's modules and its dependencies' are compared
            frozen.missing_modules(ctx, env_dir, lambda: bundle_modules.folder_modules(artifact.path),
                                   standard_library=False)

        diagnosis.measure_bundle(ctx, artifact, ctx.key.variant == "trimmed", lambda: self._default_starts(ctx),
                              check_missing)
        frozen.portability_and_baseline(ctx, artifact, env_dir, "cx_Freeze build")
        check_missing()
