"""Ship as a zipapp: the app and its whole environment in one archive that a Python on the target runs.

Three builders: pex in its `--venv` mode as one file, pex's `packed` layout (a folder of zips, friendlier to
caches and rsync), and shiv. None of them can import a native extension (Qt, torch) from inside a zip, so the
first start unpacks the archive into a cache (pex: PEX_ROOT, ~/.cache/pex; shiv: SHIV_ROOT, ~/.shiv) and every
later start reuses it: cold and warm start differ by design, and the cache is what the target really stores.
Measured here: cold start with that cache emptied, warm starts with it filled, how big the cache grows, and on
which of the host's Pythons the archive (built for one) starts at all.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

from .. import host, interpreters, measure, settings, tool_pins
from ..apps import App
from ..errors import Failure, Skip
from ..fsutil import tree_size
from ..pyinstaller_spec import data_destination
from ..runner import run_tool
from . import frozen, phases
from .base import Artifact, Context, Defaults
from .venv import first_frame_env, isolated_env, requirements, venv_artifact

# the Pythons an archive built for one is tried on (the nox sessions' list; absent ones are left out)
PYTHONS = ("3.10", "3.11", "3.12", "3.13")

_ENTRY_MODULE = "_shipbench_entry"
# what an archive ships besides the app's distributions (licenses.py): the builder's own start-up code
RUNTIME_LICENSES = {"pex": (("pex bootstrap, inside the archive", "Apache-2.0"),),
                    "shiv": (("shiv bootstrap, inside the archive", "BSD-2-Clause"),)}


def _entry_module(app: App, folder: Path) -> str:
    """A module whose main() starts the app as its description says: shiv takes only `module:function`."""
    kind, value = app.start
    if kind == "module":
        body = f"    runpy.run_module({value!r}, run_name='__main__', alter_sys=True)\n"
    else:  # a script: shipped beside this module in the archive
        shutil.copy2(app.folder / value, folder / Path(value).name)
        body = (f"    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), {Path(value).name!r})\n"
                "    sys.argv[0] = path\n    runpy.run_path(path, run_name='__main__')\n")
    text = ("# written by shipbench: starts the app inside the zipapp\nimport os\nimport runpy\nimport sys\n\n\n"
            f"def main():\n{body}")
    (folder / f"{_ENTRY_MODULE}.py").write_text(text, encoding="utf-8")
    return f"{_ENTRY_MODULE}:main"


def stage_data(app: App, folder: Path) -> None:
    """The description's data files, at their places relative to the app's folder (less a src/ layout's src/),
    so that code reading them beside itself finds them in the archive as it does in the source tree."""
    for item in app.data:
        source, destination = app.folder / item, folder / data_destination(item) / Path(item).name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            shutil.copy2(source, destination)


def stage_script_folder(app: App, folder: Path) -> bool:
    """A script app's own modules: `python train.py` finds the modules and packages beside the script (its folder
    is first on sys.path), so the archive carries them too; True where there were any."""
    if app.start[0] != "script":
        return False
    here = (app.folder / app.start[1]).parent
    staged = False
    for path in sorted(here.iterdir()):
        if path.suffix == ".py" and path.is_file() and path.name != Path(app.start[1]).name:
            shutil.copy2(path, folder / path.name)
            staged = True
        elif path.is_dir() and (path / "__init__.py").is_file():
            shutil.copytree(path, folder / path.name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
            staged = True
    return staged


def _tool(env_dir: Path, name: str) -> str:
    return str(interpreters.venv_python(env_dir).parent / name)


def build_command(ctx: Context, tool_env: Path, python: interpreters.Interpreter, output: Path,
                  build_cache: Path) -> list[str]:
    """The builder's command line for this variant: the app and its dependencies as the description says."""
    reqs = requirements(ctx)
    kind, value = ctx.app.start
    staged = output.parent / "entry"  # emptied before each build (phases.cold_and_warm's outputs)
    staged.mkdir(parents=True, exist_ok=True)
    # what a project installs travels in its own wheel (its package data, its modules); an app that is only a
    # requirements file and scripts has nothing installed of its own, so its data and modules are staged, never
    # both (a staged copy of a package's folder would stop pip --target from installing that package)
    siblings = False
    if not ctx.app.is_project:
        stage_data(ctx.app, staged)
        siblings = stage_script_folder(ctx.app, staged)
    if ctx.key.variant.startswith("pex"):
        entry = {"module": ["-m", value], "script": ["--exe", str(ctx.app.folder / value)],
                 "console-script": ["-c", value]}[kind]
        layout = "packed" if ctx.key.variant == "pex-packed" else "zipapp"
        index = ["--index", reqs.extra_index_url] if reqs.extra_index_url else []
        data = ["--sources-directory", str(staged)] if not ctx.app.is_project and (ctx.app.data or siblings) else []
        # pex's own pip trusts only its certifi bundle, not the host's store (a TLS-intercepting proxy's CA)
        cert = ["--cert", bundle] if (bundle := host.ca_bundle()) else []
        return [_tool(tool_env, "pex"), *reqs.items, *entry, *data, *index, *cert, "--venv", "--layout", layout,
                "--python", python.executable, "--pex-root", str(build_cache), "-o", str(output)]
    if kind == "console-script":
        entry = ["-c", value, *(["--site-packages", str(staged)] if not ctx.app.is_project and ctx.app.data else [])]
    else:
        entry = ["-e", _entry_module(ctx.app, staged), "--site-packages", str(staged)]
    index = ["--extra-index-url", reqs.extra_index_url] if reqs.extra_index_url else []
    return [_tool(tool_env, "shiv"), *entry, "-o", str(output), "-p", f"/usr/bin/env python{python.version}",
            "--reproducible", *index, *reqs.items]


class ZipappStrategy(Defaults):
    name = "zipapp"
    variants: tuple[str, ...] = ("pex-venv", "pex-packed", "shiv")
    quick_variant = "shiv"
    rough_row_s = {"cli": 40.0, "window": 45.0, "torch": 185.0}
    rough_variant_share = {"pex-packed": 0.8}
    rough_quick_s = {"cli": 26.0, "window": 29.0, "torch": 112.0}
    summary = "one archive of the app and its environment, run by the target's Python (pex, shiv)"
    isolation = "Python packages only, unpacked to a per-user cache; shares the interpreter and the OS"
    audiences: tuple[str, ...] = ("python",)
    family = "archive"
    target_needs = "a Python of the version the archive was built for (pure-Python and abi3 ones may run on others)"
    oses: tuple[str, ...] = ("linux", "macos")  # shiv and pex run on Windows, but their venv scripts differ there
    ci_minutes: int = 60  # the CI job's time limit: three archives, both apps; app_dl's first runs unpack ~800 MB each
    inputs: tuple[str, ...] = (tool_pins.input_path("zipapp"),)

    def planned_steps(self, app: App) -> int:
        return 8 + measure.standard_steps(app)

    def build(self, ctx: Context) -> Artifact:
        python = interpreters.find(ctx.key.python)
        with ctx.steps.step("build venv (app, dependencies, pex, shiv)"):
            tool_env = frozen.build_venv(ctx, python, tool_pins.requirements("zipapp"))
        target = ctx.build_dir / f"{ctx.app.name}-py{ctx.key.python}-{ctx.key.variant}"
        suffix = ".pyz" if ctx.key.variant == "shiv" else ".pex"
        output, build_cache, runtime_cache = target / f"{ctx.app.name}{suffix}", target / "cache", target / "root"
        env = isolated_env(build_cache / "pip")
        target.mkdir(parents=True, exist_ok=True)

        def build(phase: str) -> float:
            command = build_command(ctx, tool_env, python, output, build_cache)
            return run_tool(command, env=env, cwd=ctx.app.folder, timeout=settings.build_timeout_s(),
                            what=f"{ctx.key.variant} build ({phase})")[0]

        phases.cold_and_warm(
            ctx, lambda phase: f"{ctx.key.variant} build, {phase} (cache {'emptied' if phase == 'cold' else 'kept'})",
            [build_cache], [output, target / "entry"], build)
        frozen.record_sizes(ctx, output, target / "archive")
        tool = "shiv" if ctx.key.variant == "shiv" else "pex"
        frozen.record_licenses(ctx, python, RUNTIME_LICENSES[tool])
        frozen.record_versions(ctx, python, tool_env, tool)
        shutil.rmtree(runtime_cache, ignore_errors=True)  # the first start below unpacks into an empty cache
        ctx.note(f"cold start = the first run with {_cache_variable(tool)} emptied (the archive is unpacked into it); "
                 "warm = the cache kept; build times exclude creating the build venv")
        if tool == "pex":
            ctx.note("pex --venv: the first run also creates a venv from the archive inside PEX_ROOT")
        launcher = (python.executable, str(output), *ctx.app.args)
        return Artifact(path=output, kind=f"zipapp ({ctx.key.variant})", launcher=launcher,
                        env=run_env(tool, ctx.app, runtime_cache),
                        description=f"{'folder of zips' if output.is_dir() else 'one archive'} built by "
                                    f"{ctx.key.variant}, run with Python {python.version}")

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        measure.standard(ctx, artifact)
        tool = "shiv" if ctx.key.variant == "shiv" else "pex"
        cache = Path(artifact.env[_cache_variable(tool)])
        ctx.metrics["cache"] = {"variable": _cache_variable(tool), "default": _DEFAULT_CACHE[tool],
                                "bytes": tree_size(cache)}
        if not settings.quick():
            with ctx.steps.step("which Pythons start it (each with an empty cache)"):
                ctx.metrics["runs_on"] = runs_on(ctx, artifact, _cache_variable(tool), cache.parent / "root-other")
        env_dir = frozen.build_venv(ctx, interpreters.find(ctx.key.python), tool_pins.requirements("zipapp"))
        measure.baseline(ctx, venv_artifact(ctx.app, env_dir), "the same app in the build venv, measured right after "
                                                               "the archive")


_DEFAULT_CACHE = {"pex": "~/.cache/pex", "shiv": "~/.shiv"}


def run_env(tool: str, app: App, cache: Path) -> dict[str, str]:
    """What each run of the archive gets: its unpack cache, and for a first-frame app the injected probe's path
    (PYTHONPATH for shiv; a pex venv runs `python -I`, which ignores PYTHONPATH, so pex's PEX_EXTRA_SYS_PATH)."""
    env = {_cache_variable(tool): str(cache), **first_frame_env(app)}
    if tool == "pex" and app.first_frame:
        env["PEX_EXTRA_SYS_PATH"] = str(measure.INJECT_DIR)
    return env


def _cache_variable(tool: str) -> str:
    return "PEX_ROOT" if tool == "pex" else "SHIV_ROOT"


def runs_on(ctx: Context, artifact: Artifact, variable: str, cache: Path) -> dict[str, Any]:
    """Start the archive once with each of the host's Pythons, that one only: ok, or the failure's last line
    (evidence for "what the target needs", not the pex/shiv documentation's promise)."""
    results: dict[str, Any] = {}
    for version in PYTHONS:
        try:
            other = interpreters.find(version)
        except (Skip, Failure) as missing:
            results[version] = {"status": "skipped", "reason": str(missing)}
            continue
        shutil.rmtree(cache, ignore_errors=True)
        # PEX_PYTHON_PATH: pex would otherwise look for a matching interpreter on PATH and re-run itself with it,
        # which says nothing about this one (it is how a pex finds its Python on a machine that has several)
        attempt = dataclasses.replace(artifact, launcher=(other.executable, *artifact.launcher[1:]),
                                      env={**artifact.env, variable: str(cache), "PEX_PYTHON_PATH": other.executable})
        try:
            measure.start(attempt, ctx.app, (), settings.app_timeout_s())
            results[version] = {"status": "ok"}
        except Failure as failure:
            lines = [line.strip() for line in failure.log_tail if line.strip()]
            errors = [line for line in lines if re.match(r"[\w.]*(Error|Exception)\b", line)]  # the exception
            results[version] = {"status": "failed", "reason": ((errors or lines or [failure.reason])[-1])[:300]}
    shutil.rmtree(cache, ignore_errors=True)
    return results

