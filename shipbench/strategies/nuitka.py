"""Ship as a compiled executable: Nuitka turns the app's Python into C, compiles it, and bundles the rest.

Variants: `standalone-default` (a folder, Nuitka's own choices), `standalone-trimmed` and `onefile-trimmed`
(Qt plugins and libraries the app did not load left out, from the same evidence as PyInstaller's trimmed
profile), and for Qt apps `deploy`: Qt's own wrapper pyside6-deploy, driven by a pysidedeploy.spec generated
from the app's description. A torch app gets `standalone-default` (torch followed and compiled) and
`standalone-nofollow` (torch not followed: `--nofollow-import-to=torch`), each reported as it ends, failures
included. C compilation is slow on small machines: ccache (Debian's `ccache`) keeps the compiled objects, so
cold = empty Nuitka cache and ccache, warm = both kept.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from .. import bundle_modules, interpreters, measure, qt_trim, record, settings, temp_left, tool_pins
from .. import entry as launchers
from ..apps import App
from ..errors import Failure, Skip
from ..pyinstaller_spec import data_destination, folder_destination, program_name
from ..record import Key
from ..runner import output, run_tool
from . import diagnosis, frozen, phases
from .base import Artifact, Context, Defaults

TOOL_REQUIREMENTS = tool_pins.requirements("nuitka")
# what a program ships besides the app's distributions (licenses.py)
RUNTIME_LICENSES = (("CPython, the interpreter it carries", "PSF-2.0"),
                    ("Nuitka run-time, compiled into the program", "Apache-2.0"))
# CPU seconds Nuitka takes to compile torch (standalone, torch followed): more than the 2 hours a 1-hour build
# timeout on 2 cores gave it; a rough lower figure, which is enough to plan the row as skipped there
TORCH_COMPILE_CPU_S = 4 * 3600.0


def headers_missing(python: interpreters.Interpreter) -> str | None:
    """Why Nuitka cannot compile against this interpreter (its C headers are a separate package), or None."""
    code = "import sysconfig, os; print(os.path.isfile(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))"
    if output([python.executable, "-c", code]) == "True":
        return None
    return (f"Nuitka compiles C against Python {python.version}'s headers, which are not installed: on "
            f"Debian/Ubuntu `apt-get install python{python.version}-dev` (scripts/install-host-deps.sh)")


def tools_missing() -> str | None:
    missing = [tool for tool in ("gcc", "patchelf", "ccache") if shutil.which(tool) is None]
    if not missing:
        return None
    return (f"Nuitka needs {', '.join(missing)} on this host: on Debian/Ubuntu `apt-get install "
            f"{' '.join(missing)}` (scripts/install-host-deps.sh)")


def main_file(env_dir: Path, app: App, scratch: Path) -> Path:
    """What Nuitka compiles as the program: the app's module (a package's folder), its script, or a generated
    script that calls its console script's function. Not a runpy wrapper: a compiled module has no code object
    for runpy to run."""
    kind, value = app.start
    if kind == "script":
        return app.folder / value
    if kind == "console-script":
        scratch.mkdir(parents=True, exist_ok=True)
        script = scratch / f"launch_{app.name.replace('-', '_')}.py"  # not the app's name: it would shadow it
        script.write_text(launchers.compiled_launcher(app, entry_point=launchers.console_entry_point(
            app, interpreters.venv_python(env_dir))) or "", encoding="utf-8")
        return script
    code = f"import importlib.util as u; s = u.find_spec({value!r}); print(s.origin)"
    origin = output([interpreters.venv_python(env_dir), "-c", code])
    if not origin or not Path(origin).is_file():
        raise Failure(f"module {value!r} is not importable in the build venv")
    return Path(origin).parent if Path(origin).name == "__init__.py" else Path(origin)


def site_packages(env_dir: Path) -> Path:
    return Path(output([interpreters.venv_python(env_dir), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                                                 "['purelib'])"]) or env_dir)


REPORT = "nuitka-report.xml"  # Nuitka's compilation report (--report), beside the build: what the program holds


def evidence_path(ctx: Context, target: Path) -> Path:
    return target / "evidence" / f"{ctx.app.name}-loaded.json"


def own_module_options(ctx: Context, evidence: dict[str, Any]) -> list[str]:
    """--include-module for each module of the app's own code that the evidence run loaded: Nuitka follows
    imports it can read, and a module the app loads by a computed name (a plugin, a formatter picked by an
    option) is compiled in only when named (a 33-minute build once lacked one, and failed at its first run)."""
    files = evidence.get("module_files", {})
    script = (ctx.app.folder / ctx.app.start[1]).resolve() if ctx.app.start[0] == "script" else None
    named = [name for name in evidence.get("file_modules", []) if isinstance(name, str)
             and not (name.startswith("__") and name.endswith("__"))  # __main__, __mp_main__: the program itself
             and not name.startswith(bundle_modules.HARNESS_PREFIXES)
             and name.split(".")[0] not in bundle_modules.HARNESS_MODULES
             and not (script is not None and isinstance(files, dict) and isinstance(files.get(name), str)
                      and Path(files[name]).resolve() == script)]
    return [f"--include-module={name}" for name in bundle_modules.own_modules(evidence, named, ctx.app.folder)]


def _entry_point(app: App, env_dir: Path) -> str | None:
    """A console script's module:function, as the build venv has it installed."""
    if app.start[0] != "console-script":
        return None
    return launchers.console_entry_point(app, interpreters.venv_python(env_dir))


def report_modules(report: Path) -> set[str]:
    """The modules Nuitka's compilation report says the program holds (compiled, bytecode or extension);
    ValueError where there is no report to read."""
    try:
        root = ElementTree.parse(report).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise ValueError(f"Nuitka's report {report.name} could not be read: {error}") from None
    return {name for module in root.iter("module") if (name := module.get("name"))}


def trimmed_options(ctx: Context, env_dir: Path, target: Path, evidence: dict[str, Any]) -> list[str]:
    """Nuitka options that leave out what one run of the app did not load (the evidence run)."""
    trim = qt_trim.trim_module(ctx.root)
    binding = qt_trim.binding_folder(site_packages(env_dir), evidence, trim.QT_BINDINGS)
    options = [f"--nofollow-import-to={name}" for name in trim.GENERIC_STDLIB_EXCLUDES
               if name not in {module.split(".")[0] for module in evidence["modules"]}
               and not trim.matches(name, ctx.app.trim_keep)]
    if binding is not None:
        plugins = [plugin for plugin in qt_trim.unused_plugins(binding, evidence, trim.KEEP_PLATFORMS)
                   if not trim.matches(plugin, ctx.app.trim_keep)]
        libraries = [library for library in qt_trim.unneeded_qt_libraries(binding, evidence, plugins)
                     if not trim.matches(library, ctx.app.trim_keep)]
        options += ["--noinclude-qt-translations", *_plugin_excludes(binding, plugins),
                    *(f"--noinclude-dlls={library}" for library in libraries)]
        ctx.note(f"trimmed: {len(plugins)} Qt plugins and {len(libraries)} Qt libraries the app did not load "
                 "left out (evidence run), Qt's translations too, and the rarely used standard-library modules "
                 "it did not import")
    return options


def _plugin_excludes(binding: Path, unused: list[str]) -> list[str]:
    """Nuitka options for the unused plugins: a whole category where none of it is kept, else file by file."""
    by_category: dict[str, list[str]] = {}
    for plugin in unused:
        by_category.setdefault(plugin.split("/")[0], []).append(plugin)
    options, whole = [], []
    for category, names in sorted(by_category.items()):
        folder = qt_trim.plugins_dir(binding)
        present = [p for p in (folder / category).glob("*") if p.is_file()] if folder else []
        if len(names) >= len(present):
            whole.append(category)
        else:
            options += [f"--noinclude-dlls=*/qt-plugins/{name}" for name in names]
    # one option per family: Nuitka 4.1 splits --include-qt-plugins at commas, but not --noinclude-qt-plugins
    return [f"--noinclude-qt-plugins={family}" for family in whole] + options


def _plugin_options(env_dir: Path) -> list[str]:
    sp = site_packages(env_dir)
    return ["--enable-plugin=pyside6"] if (sp / "PySide6").is_dir() else (
        ["--enable-plugin=pyqt6"] if (sp / "PyQt6").is_dir() else [])


class NuitkaStrategy(Defaults):
    name = "nuitka"
    variants: tuple[str, ...] = ("standalone-default", "standalone-trimmed", "onefile-trimmed", "deploy",
                                 "standalone-nofollow")
    quick_variant = "standalone-trimmed"  # none for torch apps: every variant that follows torch compiles it
    rough_row_s = {"cli": 139.0, "window": 105.0, "torch": 80.0}
    rough_variant_share = {"standalone-default": 1.6, "onefile-trimmed": 2.7, "deploy": 1.3}
    rough_quick_s = {"cli": 139.0, "window": 150.0, "torch": 315.0}
    summary = "an executable compiled by Nuitka (standalone, onefile; Qt apps also through pyside6-deploy)"
    isolation = "its own Python runtime and libraries, the app compiled to C; shares the OS's libc, GL and fonts"
    audiences: tuple[str, ...] = ("desktop",)
    family = "frozen bundle"
    target_needs = frozen.TARGET_NEEDS
    oses: tuple[str, ...] = ("linux", "windows", "macos")  # no cross-compiling: each OS builds its own
    # the CI job's time limit, in minutes: app_dl with torch followed may use a whole build-timeout (1 h)
    ci_minutes: int = 240
    runs_on_host = True
    runs_probe = False  # a compiled program runs no sitecustomize: a Qt window is seen on the X server
    inputs: tuple[str, ...] = (tool_pins.input_path("nuitka"), "pyinstaller/trim.py", "pyinstaller/icudata_stub.c",
                               "scripts/build-base-image.sh")

    def tool_versions(self) -> dict[str, str | None]:
        return {"gcc": output(["gcc", "-dumpfullversion"]), "ccache": (output(["ccache", "--version"]) or "")
                .split("\n")[0].removeprefix("ccache version ") or None}

    def variants_for(self, app: App) -> tuple[str, ...]:
        if app.uses_torch:
            return ("standalone-default", "standalone-nofollow")
        return ("standalone-default", "standalone-trimmed", "onefile-trimmed",
                *(("deploy",) if app.shows_window else ()))

    def planned_steps(self, app: App) -> int:
        return 10 + measure.standard_steps(app)

    def cold_build_estimate_s(self, app: App, variant: str) -> float | None:
        """Following torch compiles its thousands of modules to C: a build here ran past the 1-hour build timeout
        on 2 cores (and a user's Ctrl-C after 34 minutes was far from the end). Stated as CPU time, shared by
        the cores: the plan skips the row rather than burn the hour."""
        if app.uses_torch and variant != "standalone-nofollow":
            return TORCH_COMPILE_CPU_S / max(1, os.cpu_count() or 1)
        return None

    def planned_skip(self, app: App, key: Key, profile: str) -> str | None:
        return tools_missing() or headers_missing(interpreters.find(key.python))

    def build(self, ctx: Context) -> Artifact:
        python = interpreters.find(ctx.key.python)
        reason = self.planned_skip(ctx.app, ctx.key, "full")
        if reason:
            raise Skip(reason)
        if ctx.app.first_frame and ctx.app.toolkit == "qt":
            ctx.note("a compiled program runs no sitecustomize, so the Qt probe cannot see its first paint: its first "
                     "frame is its window mapped on the row's X server (xcb), as for a Tk window")
        with ctx.steps.step("build venv (app, dependencies, Nuitka)"):
            env_dir = frozen.build_venv(ctx, python, TOOL_REQUIREMENTS)
        target = ctx.build_dir / f"{ctx.app.name}-py{ctx.key.python}-{ctx.key.variant}"
        out, cache = target / "out", target / "cache"
        target.mkdir(parents=True, exist_ok=True)
        with ctx.steps.step("options: the app's entry, data, hidden imports (trimmed: from what one run loaded)"):
            argv = self._command(ctx, env_dir, target, out)
        env = {**os.environ, "NUITKA_CACHE_DIR": str(cache), "CCACHE_DIR": str(cache / "ccache")}
        phases.cold_and_warm(
            ctx, lambda phase: f"Nuitka build, {phase} ({'empty caches' if phase == 'cold' else 'ccache kept'})",
            [cache], [out], lambda phase: run_tool(argv, env=env, cwd=target, timeout=settings.build_timeout_s(),
                                                   what=f"Nuitka ({phase})")[0])
        shipped, program = self._result(ctx, out)
        if ctx.key.variant.endswith("trimmed") and shipped.is_dir():
            frozen.replace_icu_data(ctx, shipped)
            frozen.strip_symbols(ctx, shipped)
        frozen.record_sizes(ctx, shipped, target / "archive")
        frozen.record_licenses(ctx, python, RUNTIME_LICENSES)
        frozen.record_versions(ctx, python, env_dir, "nuitka")
        ctx.note("built with: " + " ".join(Path(part).name if Path(part).is_absolute() else part for part in argv))
        ctx.note("build time excludes creating the build venv; cold = empty Nuitka cache and ccache, warm = both "
                 "kept")
        if ctx.key.variant.startswith("onefile"):
            ctx.note("a onefile program unpacks itself into a temporary folder on every start; start-up includes it")
        return Artifact(path=shipped, kind=f"nuitka {ctx.key.variant}", launcher=(str(program), *ctx.app.args),
                        description=f"Nuitka {ctx.key.variant} build")

    def _command(self, ctx: Context, env_dir: Path, target: Path, out: Path) -> list[str]:
        app, variant = ctx.app, ctx.key.variant
        main = main_file(env_dir, app, target / "entry")
        if variant == "deploy":
            return self._deploy_command(ctx, env_dir, target, main)
        python = str(interpreters.venv_python(env_dir))
        mode = "onefile" if variant.startswith("onefile") else "standalone"
        data = [(f"--include-data-dir={app.folder / item}={folder_destination(app, item)}"
                 if (app.folder / item).is_dir() else
                 f"--include-data-files={app.folder / item}={data_destination(item)}/") for item in app.data]
        evidence = frozen.evidence_run(ctx, env_dir, evidence_path(ctx, target))
        argv = [python, "-m", "nuitka", f"--mode={mode}", f"--output-dir={out}",
                f"--output-filename={program_name(app)}", "--assume-yes-for-downloads", "--no-progressbar",
                f"--report={target / REPORT}", *_plugin_options(env_dir), *data,
                *(f"--include-module={name}" for name in app.hidden_imports), *own_module_options(ctx, evidence),
                *(option for package in launchers.collected_packages(app, _entry_point(app, env_dir))
                  for option in (f"--include-package={package}", f"--include-package-data={package}"))]
        trim = qt_trim.trim_module(ctx.root)
        if trim.loaded_qml_modules(evidence):  # Nuitka leaves Qt's QML out unless asked
            # PySide6 6.10 ships a build's object files in its qml/ folder (Qt/labs/assetdownloader/objects-*/
            # ...*.o): Nuitka takes every ELF file there for a library and fails on patchelf ("wrong ELF type")
            argv += ["--include-qt-plugins=qml",
                     *(f"--noinclude-dlls={binding}/**/*.o" for binding in trim.QT_BINDINGS)]
            ctx.note("the app loaded QML modules (evidence run): --include-qt-plugins=qml, no object files (*.o)")
        if variant.endswith("trimmed"):
            argv += trimmed_options(ctx, env_dir, target, evidence)
        if variant == "standalone-nofollow":
            argv += ["--nofollow-import-to=torch"]
            ctx.note("torch not followed (--nofollow-import-to=torch): not compiled and not included")
        if main.is_dir():  # a package: run as `python -m package`, so its __main__ keeps its relative imports
            argv.append("--python-flag=-m")
        return [*argv, str(main)]

    def _deploy_command(self, ctx: Context, env_dir: Path, target: Path, main: Path) -> list[str]:
        """pyside6-deploy with a pysidedeploy.spec written from the description; --no-install keeps the pinned
        Nuitka (the version it pins itself) instead of letting it pip-install into the build venv."""
        scripts = interpreters.venv_python(env_dir).parent
        deploy = scripts / "pyside6-deploy"
        if not deploy.is_file():
            raise Skip("pyside6-deploy comes with PySide6, which this app does not use")
        spec = target / "pysidedeploy.spec"
        project, entry = main.parent, main
        if ctx.app.start[0] != "script":
            # pyside6-deploy compiles one script as __main__, in a project folder of its own: a package's
            # __main__.py run so loses its relative imports, so it gets the main.py it wants, which imports the
            # package and calls its main() (a module file or a console script's launcher is copied as it is)
            source = launchers.compiled_launcher(ctx.app, main / "__main__.py") if main.is_dir() else \
                main.read_text(encoding="utf-8")
            project = target / "deploy-entry"
            project.mkdir(parents=True, exist_ok=True)
            entry = project / "main.py"
            entry.write_text(f'"""pyside6-deploy\'s entry script for {ctx.app.name}, generated by shipbench."""\n'
                             + (source or ""), encoding="utf-8")
        extra = " ".join(["--quiet", "--noinclude-qt-translations", "--no-progressbar",
                          *(f"--include-module={name}" for name in ctx.app.hidden_imports)])
        spec.parent.mkdir(parents=True, exist_ok=True)
        # no comment line before the first section: pyside6-deploy's parser wants the first line to be one
        spec.write_text(
            "[app]\n# the paths are this build folder's, absolute: edit them for "
            "another checkout\n"
            f"title = {ctx.app.name}\nproject_dir = {project}\ninput_file = {entry}\n"
            f"exec_directory = {target / 'out'}\nproject_file =\nicon =\n\n"
            f"[python]\npython_path = {interpreters.venv_python(env_dir)}\npackages = Nuitka==4.1.1\n\n"
            "[qt]\nqml_files =\nexcluded_qml_plugins =\nmodules =\nplugins =\n\n"
            f"[nuitka]\nmode = standalone\nextra_args = {extra}\n", encoding="utf-8")
        ctx.maintains(spec)
        ctx.note(f"pysidedeploy.spec written from the description; `pyside6-deploy -c {spec.name}` rebuilds it")
        return [str(deploy), "-c", str(spec), "--force", "--no-install", "--mode", "standalone"]

    def _default_starts(self, ctx: Context) -> Failure | None:
        """Whether the default build starts, from its record (a Nuitka build is too slow to make one only to
        compare): None where its record is ok, else a Failure saying why no verdict can be given."""
        key = dataclasses.replace(ctx.key, variant="standalone-default")
        previous = record.read(ctx.results_dir / key.filename)
        if previous is not None and previous.get("status") == "ok":
            ctx.note(f"the default build started: its record of {str(previous.get('created', ''))[:16]}")
            return None
        return Failure(f"{diagnosis.NOT_COMPARED}: no ok record of {key.label()} (`nox -s nuitka -- --variant "
                       "standalone-default` measures it)")

    def _result(self, ctx: Context, out: Path) -> tuple[Path, Path]:
        """(what a user ships, the program): the .dist folder or the onefile program Nuitka wrote into out/."""
        suffix = ".exe" if sys.platform == "win32" else ""
        if ctx.key.variant.startswith("onefile"):
            program = out / f"{program_name(ctx.app)}{suffix}"
            if not program.is_file():
                raise Failure(f"Nuitka wrote no {program.name} into {out}")
            return program, program
        dists = sorted(out.glob("*.dist"))
        if len(dists) != 1:
            raise Failure(f"Nuitka left {len(dists)} .dist folders in {out}, expected one")
        programs = [p for p in dists[0].iterdir() if p.is_file() and os.access(p, os.X_OK)
                    and p.suffix in ("", ".bin", ".exe") and not p.name.startswith("lib")]
        if len(programs) != 1:
            raise Failure(f"no single program in {dists[0]}: {', '.join(p.name for p in programs) or 'none'}")
        return dists[0], programs[0]

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        env_dir = frozen.build_venv(ctx, interpreters.find(ctx.key.python), TOOL_REQUIREMENTS)
        diagnosis.measure_bundle(ctx, artifact, ctx.key.variant.endswith("trimmed"), lambda: self._default_starts(ctx),
                              lambda: self._check_missing(ctx, env_dir))
        frozen.portability_and_baseline(ctx, artifact, env_dir, "Nuitka build")
        if artifact.path.is_file():
            temp_left.record(ctx, artifact)
        self._check_missing(ctx, env_dir)

    def _check_missing(self, ctx: Context, env_dir: Path) -> None:
        """Nuitka's own list of what it compiled in (--report), against what one run loaded."""
        target = ctx.build_dir / f"{ctx.app.name}-py{ctx.key.python}-{ctx.key.variant}"
        if ctx.key.variant == "deploy":
            frozen.missing_modules(ctx, env_dir, None, "pyside6-deploy writes no compilation report to read")
        else:
            frozen.missing_modules(ctx, env_dir, lambda: report_modules(target / REPORT))

