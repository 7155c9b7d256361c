"""Ship as a wheel that users install as a command-line tool: `uv tool install` or `pipx install`.

This is how most command-line tools reach developers: one command puts the app into a venv of its own under the
user's tool home and a shim on PATH. The app's wheel (its project's own, or a generated one: tool_wheel.py) is
installed from a local folder with find-links, as a team ships it before (or without) publishing to an index;
the dependencies come from the index as a user's would. Cold = an empty tool home and an empty cache; warm = an
empty tool home and the cache kept (a reinstall, or a second tool with the same dependencies). Measured: the
install's time, the tool's venv on disk, the wheel, and the app started from the tool's shim.

Variants: `uv-tool` (uv's tool home: UV_TOOL_DIR and UV_TOOL_BIN_DIR) and `pipx` (PIPX_HOME, PIPX_BIN_DIR; pipx
keeps a shared pip of its own beside the tools, installed on its first use, so its cold install includes that).
Both tools are pinned in shipbench/tools/wheel.txt and run in a kept venv of the row's Python.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .. import binaries, description, interpreters, licenses, measure, tool_pins, tool_wheel
from ..apps import App
from ..errors import Failure, Skip
from ..fsutil import tree_size
from ..record import Key
from ..runner import run_tool
from . import phases
from .base import Artifact, Context, Defaults
from .venv import Requirements, first_frame_env, installed_version, isolated_env, kept_venv, requirements, sbom_tool
from .zipapp import stage_data, stage_script_folder

TOOL_REQUIREMENTS = tool_pins.requirements("wheel")
VARIANTS = ("uv-tool", "pipx")


def _project_name(app: App) -> str:
    """The [project] name of an app described as a project (what the generated wheel then requires)."""
    try:
        with (app.folder / "pyproject.toml").open("rb") as handle:
            name = description.tomllib.load(handle).get("project", {}).get("name")
    except (OSError, description.tomllib.TOMLDecodeError) as error:
        raise Skip(f"{app.folder / 'pyproject.toml'}: cannot read the project's name ({error})") from None
    if not isinstance(name, str) or not name:
        raise Skip(f"{app.folder / 'pyproject.toml'} has no [project] name: it cannot be built as a wheel")
    return name


def wheels(ctx: Context, tools: Path, dist: Path) -> tuple[Path, str, list[str]]:
    """The wheels to install from (in `dist`): (the one to install, its console script, find-links folders).

    A project with a console script of its own is built as it is; any other app gets a generated wheel that
    requires the project, or the requirements file's lines."""
    app, (kind, value) = ctx.app, ctx.app.start  # a dependency's console script: planned_skip
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir(parents=True)
    links = [str(dist)]
    if app.is_project:
        run_tool([interpreters.venv_python(tools).with_name("uv"), "build", "--wheel", "--out-dir", dist,
                  app.folder], env=isolated_env(ctx.build_dir / "cache" / "build"), cwd=app.folder,
                 what="uv build --wheel")
        built = sorted(dist.glob("*.whl"))
        if not built:
            raise Failure(f"uv build wrote no wheel into {dist}")
        if kind == "console-script":
            return built[0], value, links
        extras = f"[{','.join(app.extras)}]" if app.extras else ""
        requires = [_project_name(app) + extras]
        reqs = requirements(ctx)
        if reqs.torch:  # torch by the torch source rules first: the project's own `torch>=…` alone takes an index's
            torch, torch_links = requires_of(reqs.items[:1])
            requires, links = [*torch, *requires], [*links, *torch_links]
    else:
        requires, wheel_folders = requires_of(requirements(ctx).items)
        links += wheel_folders
    name = tool_wheel.distribution_name(app.name)
    package = dist.parent / "package" / name
    shutil.rmtree(package.parent, ignore_errors=True)
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(tool_wheel.launcher_source(kind, value), encoding="utf-8")
    if kind == "script":
        shutil.copy2(app.folder / value, package / Path(value).name)
        if not app.is_project:  # a folder of scripts (with a requirements file, or with nothing to install)
            stage_script_folder(app, package)
            stage_data(app, package)
    return tool_wheel.write(dist, name, package, requires, {app.name: f"{name}:main"}), app.name, links


def requires_of(items: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(Requires-Dist lines, find-links folders) for the installer arguments an app's requirements are (`-r FILE`,
    a wheel file, a requirement)."""
    requires: list[str] = []
    links: list[str] = []
    for item in items:
        if item == "-r":
            continue
        if item.endswith(".whl") and Path(item).is_file():  # a torch wheel from the host's find-links
            links.append(str(Path(item).parent))
            # pinned to that wheel's version (its local label, +cpu, is on no index): an index's newer torch
            # (PyPI's CUDA build on Linux) must not win
            distribution, version = Path(item).name.split("-")[:2]
            requires.append(f"{distribution}=={version}")
        elif Path(item).is_file():
            requires += tool_wheel.requirement_lines(Path(item))
        else:
            requires.append(item)
    return requires, links


class WheelStrategy(Defaults):
    name = "wheel"
    variants: tuple[str, ...] = VARIANTS
    quick_variant = "uv-tool"
    rough_row_s = {"cli": 8.0, "window": 12.0, "torch": 50.0}
    rough_quick_s = {"cli": 7.0, "window": 11.0, "torch": 47.0}
    summary = "a wheel installed as a command-line tool (uv tool install, pipx install)"
    isolation = "Python packages only, in a venv of the tool's own; shares the interpreter and the OS"
    audiences: tuple[str, ...] = ("python",)
    family = "environment"
    target_needs = "the Python version, uv or pipx, and the package index (or a wheel folder) for the dependencies"
    oses: tuple[str, ...] = ("linux", "windows", "macos")
    ci_minutes: int = 30  # the CI job's time limit: two installers, both apps
    inputs: tuple[str, ...] = (tool_pins.input_path("wheel"),)

    def planned_steps(self, app: App) -> int:
        return 6 + measure.standard_steps(app)

    def planned_skip(self, app: App, key: Key, profile: str) -> str | None:
        kind, value = app.start
        if kind == "console-script" and not app.entry_point:
            return (f"the console script {value!r} is a dependency's: that dependency is the tool to install "
                    f"(`uv tool install <it>`), and it is not this app's to ship")
        if app.is_project:
            try:
                _project_name(app)
            except Skip as skip:
                return skip.reason
        return None

    def build(self, ctx: Context) -> Artifact:
        reason = self.planned_skip(ctx.app, ctx.key, "full")
        if reason:
            raise Skip(reason)
        python = interpreters.find(ctx.key.python)
        target = ctx.build_dir / f"{ctx.app.name}-py{ctx.key.python}"
        with ctx.steps.step("tools venv (uv, pipx) and the app's wheel"):
            tools = kept_venv(ctx, python, ctx.build_dir / "tools" / f"py{ctx.key.python}",
                              Requirements(("-r", str(TOOL_REQUIREMENTS)), None, None))
            wheel, script, links = wheels(ctx, tools, target / "dist")
        home, cache = target / ctx.key.variant / "home", target / ctx.key.variant / "cache"
        env = {**isolated_env(cache), **_homes(ctx.key.variant, home)}
        index = requirements(ctx).extra_index_url
        argv = _install_command(ctx.key.variant, tools, python, wheel, links, index)
        phases.cold_and_warm(
            ctx, lambda phase: f"{ctx.key.variant} install, {phase} ({'empty' if phase == 'cold' else 'kept'} cache)",
            [cache], [home], lambda phase: run_tool(argv, env=env, cwd=target, what=f"{ctx.key.variant} install")[0])
        venv = _tool_venv(ctx.key.variant, home)
        shim = home / "bin" / (script + (".exe" if sys.platform == "win32" else ""))
        if not shim.is_file():
            raise Failure(f"{ctx.key.variant} installed no {shim.name} into {shim.parent}")
        ctx.metrics["size_bytes"] = tree_size(venv)
        ctx.metrics["wheel_bytes"] = wheel.stat().st_size
        binaries.record(ctx, venv)
        licenses.record(ctx, venv, lambda: sbom_tool(ctx))
        ctx.versions.update(python=python.full_version, **{
            tool: installed_version(tools, tool) for tool in ("uv", "pipx")})
        if requirements(ctx).torch:
            ctx.versions["torch_source"] = str(requirements(ctx).torch)
        if ctx.app.record_version:
            ctx.versions[ctx.app.record_version] = installed_version(venv, ctx.app.record_version)
        ctx.note(f"installed from {wheel.name} with find-links (dependencies from the index); cold = empty tool "
                 "home and cache, warm = empty tool home, cache kept" + (
                     "; pipx installs its shared pip into each new tool home, inside both times"
                     if ctx.key.variant == "pipx" else ""))
        launcher: tuple[str, ...] = (str(shim),)
        if ctx.app.first_frame and _ignores_environment(shim):
            # the probe reaches the app through PYTHONPATH, which `python -E` ignores: the shim's own venv Python
            # runs the shim script instead, the same code without the flag
            launcher = (str(interpreters.venv_python(venv)), str(shim))
            ctx.note(f"{ctx.key.variant}'s shim starts `python -E` (PYTHON* variables ignored); for the first-frame "
                     "probe it is run by its venv's Python without the flag")
        return Artifact(path=venv, kind=f"{ctx.key.variant} tool", launcher=(*launcher, *ctx.app.args),
                        env=first_frame_env(ctx.app), description=f"wheel installed by {ctx.key.variant}")

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        measure.standard(ctx, artifact)


def _homes(variant: str, home: Path) -> dict[str, str]:
    """The tool home and shim folder of each installer, inside the row's folder (never the user's own)."""
    if variant == "uv-tool":
        return {"UV_TOOL_DIR": str(home / "tools"), "UV_TOOL_BIN_DIR": str(home / "bin")}
    return {"PIPX_HOME": str(home / "pipx"), "PIPX_BIN_DIR": str(home / "bin"), "PIPX_MAN_DIR": str(home / "man")}


def _install_command(variant: str, tools: Path, python: interpreters.Interpreter, wheel: Path, links: list[str],
                     index: str | None) -> list[str]:
    finds = [part for link in links for part in ("--find-links", link)]
    extra = ["--extra-index-url", index] if index else []
    if variant == "uv-tool":
        return [str(interpreters.venv_python(tools).with_name("uv")), "tool", "install", "--python",
                python.executable, *finds, *extra, str(wheel)]
    return [str(interpreters.venv_python(tools)), "-m", "pipx", "install", "--python", python.executable,
            "--pip-args", " ".join([*finds, *extra]), str(wheel)]


def _ignores_environment(shim: Path) -> bool:
    """Whether a console script starts Python with -E or -I (pipx's do): PYTHONPATH does not reach it. The flag is
    on its #! line, or, where the venv's path is too long for one, on the exec line of pip's /bin/sh
    trampoline (there pip writes none)."""
    try:
        with shim.open("rb") as handle:
            head = [handle.readline(4096).decode("utf-8", "replace") for _ in range(3)]
    except OSError:
        return False
    starts = [line[2:] for line in head[:1] if line.startswith("#!")]
    starts += [line.split("exec'", 1)[1] for line in head[1:] if line.startswith("'" * 3 + "exec'")]
    return any(flag in start.split()[1:] for start in starts for flag in ("-E", "-I", "-sE", "-Es"))


def _tool_venv(variant: str, home: Path) -> Path:
    """The one venv the install made below the tool home."""
    venvs = home / ("tools" if variant == "uv-tool" else "pipx/venvs")
    found = [path for path in sorted(venvs.iterdir()) if path.is_dir()] if venvs.is_dir() else []
    if len(found) != 1:
        raise Failure(f"expected one tool venv in {venvs}, found {len(found)}")
    return found[0]
