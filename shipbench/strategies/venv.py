"""Ship as a virtual environment: the app and its dependencies installed into a venv on the target machine.

The artifact is the venv folder; what a user really ships is the requirements, so the question this strategy
answers is how long the environment takes to reproduce. Three installers are timed on the same app, each
cold (empty cache) and warm (cache kept): uv, plain `venv` + pip, and tox with tox-uv.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import binaries, host, hostload, interpreters, licenses, measure, settings, torch_source
from ..apps import App
from ..errors import Failure
from ..fsutil import tree_size
from ..runner import output, run_tool
from .base import Artifact, Context, Defaults

# Installer settings that change what is installed or cached are dropped, so uv, pip and tox-uv all fetch the
# same packages from the same index and a user's pip.conf cannot turn "cold" into a local-disk install.
_PIP_DROPPED = ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT", "PIP_REQUIREMENT", "PIP_NO_INDEX",
                "PIP_NO_CACHE_DIR", "PIP_CACHE_DIR", "PIP_PREFER_BINARY", "PIP_TARGET", "PIP_USER")
_UV_DROPPED = ("UV_FIND_LINKS", "UV_EXTRA_INDEX_URL", "UV_CONSTRAINT", "UV_NO_CACHE", "UV_CACHE_DIR",
               "UV_COMPILE_BYTECODE", "UV_PYTHON")


@dataclass(frozen=True)
class Requirements:
    items: tuple[str, ...]
    extra_index_url: str | None
    torch: str | None  # how torch was chosen, for the record


def requirements(ctx: Context) -> Requirements:
    """The app as its description says to install it, plus torch by the torch source rules when it uses torch."""
    app = tuple(ctx.app.install_items())
    if not ctx.app.uses_torch:
        return Requirements(app, None, None)
    choice = torch_source.resolve(
        settings.torch_source(), ctx.key.python, ctx.key.os, ctx.key.arch, torch_source.pip_find_links()
    )
    # torch first: the installer then takes the chosen build instead of resolving the app's torch to PyPI's
    return Requirements((choice.requirement, *app), choice.extra_index_url, choice.description)


def isolated_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PIP_DROPPED + _UV_DROPPED and k != "VIRTUAL_ENV"}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_CACHE_DIR=str(cache), UV_CACHE_DIR=str(cache),
               UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(host.tls_env())  # no pip config is read: the host's CA must be given to every installer
    return env


def uv_binary() -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if not found:
            raise Failure("uv is not installed in the harness environment (pip install uv)") from None
        return found


def _tool_version(argv: list[str]) -> str | None:
    """The version word of `TOOL --version` output ("uv 0.13.9 (…)", "pip 24.2 from …")."""
    words = (output(argv) or "").split()
    return words[1] if len(words) > 1 else None


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


class Installer:
    """One way to create the environment; `create` returns its folder and the seconds it took."""

    name: str

    def create(self, python: interpreters.Interpreter, folder: Path, reqs: Requirements, cache: Path,
               ctx: Context) -> tuple[Path, float]:
        raise NotImplementedError

    def versions(self, venv: Path) -> dict[str, str | None]:
        raise NotImplementedError


class UvInstaller(Installer):
    name = "uv"

    def create(self, python, folder, reqs, cache, ctx):  # type: ignore[no-untyped-def]
        env = isolated_env(cache)
        index = ["--extra-index-url", reqs.extra_index_url] if reqs.extra_index_url else []
        first, _ = run_tool([uv_binary(), "venv", "--quiet", "--python", python.executable, folder], env=env,
                            what="uv venv")
        if not reqs.items:  # a folder of scripts with no dependencies: the venv is all it needs
            return folder, first
        second, _ = run_tool([uv_binary(), "pip", "install", "--quiet", "--python", interpreters.venv_python(folder),
                              *index, *reqs.items], env=env, what="uv pip install")
        return folder, first + second

    def versions(self, venv):  # type: ignore[no-untyped-def]
        return {"uv": _tool_version([uv_binary(), "--version"])}


class PipInstaller(Installer):
    name = "pip"

    def create(self, python, folder, reqs, cache, ctx):  # type: ignore[no-untyped-def]
        env = isolated_env(cache)
        index = ["--extra-index-url", reqs.extra_index_url] if reqs.extra_index_url else []
        first, _ = run_tool([python.executable, "-m", "venv", folder], env=env, what="python -m venv")
        if not reqs.items:  # a folder of scripts with no dependencies
            return folder, first
        second, _ = run_tool([interpreters.venv_python(folder), "-m", "pip", "install", "--no-input",
                              "--progress-bar", "off", *index, *reqs.items], env=env, what="pip install")
        return folder, first + second

    def versions(self, venv):  # type: ignore[no-untyped-def]
        return {"pip": _tool_version([str(interpreters.venv_python(venv)), "-m", "pip", "--version"])}


def tox_ini(app_name: str, python: str, reqs: Requirements) -> str:
    """A tox.ini whose one environment holds the app as its description installs it (what a tox team keeps)."""
    deps = "\n".join(f"    {' '.join(reqs.items[i:i + 2])}" if reqs.items[i] == "-r" else f"    {reqs.items[i]}"
                     for i in range(len(reqs.items)) if i == 0 or reqs.items[i - 1] != "-r")
    return (f"# generated by shipbench for the app {app_name!r}: `tox -e app --notest` sets up its environment\n"
            f"[tox]\nenv_list = app\nrequires =\n    tox>=4.14\n    tox-uv>=1.11\n\n[testenv:app]\n"
            f"runner = uv-venv-runner\nbase_python = python{python}\nskip_install = true\ndeps =\n{deps}\n")


class ToxUvInstaller(Installer):
    """tox with the tox-uv plugin, from a tox.ini generated for the app (tox_ini)."""

    name = "tox-uv"

    def create(self, python, folder, reqs, cache, ctx):  # type: ignore[no-untyped-def]
        env = isolated_env(cache)
        if reqs.extra_index_url:
            env["UV_EXTRA_INDEX_URL"] = reqs.extra_index_url
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "tox.ini"
        config.write_text(tox_ini(ctx.app.name, ctx.key.python, reqs), encoding="utf-8")
        seconds, _ = run_tool([sys.executable, "-m", "tox", "-c", config, "-e", "app", "--notest", "--recreate",
                               "--workdir", folder / "work"], env=env, cwd=ctx.app.folder, what="tox --notest")
        return folder / "work" / "app", seconds

    def versions(self, venv):  # type: ignore[no-untyped-def]
        return {"tox": _dist_version("tox"), "tox-uv": _dist_version("tox-uv"),
                "uv": _tool_version([uv_binary(), "--version"])}


INSTALLERS: dict[str, Installer] = {i.name: i for i in (UvInstaller(), PipInstaller(), ToxUvInstaller())}


def launcher(app: App, venv: Path) -> tuple[str, ...]:
    """The app's start command in a venv on this machine."""
    python = interpreters.venv_python(venv)
    return tuple(app.command(str(python), str(python.parent), str(app.folder)))


def first_frame_env(app: App) -> dict[str, str]:
    """The injected first-frame probe on PYTHONPATH, for apps whose ready is their first painted frame."""
    return {"PYTHONPATH": str(measure.INJECT_DIR)} if app.first_frame else {}


def venv_artifact(app: App, venv: Path, description: str = "") -> Artifact:
    """The app in a venv on this machine: a venv row's artifact, and the baseline the other strategies measure
    right after theirs."""
    return Artifact(path=venv, kind="venv", launcher=launcher(app, venv), env=first_frame_env(app),
                    description=description)


class VenvStrategy(Defaults):
    name = "venv"
    variants = tuple(INSTALLERS)
    quick_variant = "uv"
    rough_row_s = {"cli": 16.0, "window": 11.0, "torch": 48.0}
    rough_variant_share = {"pip": 2.0}
    rough_quick_s = {"cli": 16.0, "window": 11.0, "torch": 46.0}
    summary = "a virtual environment created on the target machine (uv, pip, tox-uv)"
    isolation = "Python packages only; shares the interpreter and the OS"
    target_needs = "the Python version, an installer (uv or pip), and the package index or a wheel cache"
    family = "environment"
    oses: tuple[str, ...] = ("linux", "windows", "macos")
    ci_minutes: int = 45  # the CI job's time limit: three installers, both apps, one Python
    inputs: tuple[str, ...] = ()  # the app's own files are the inputs (the tox.ini is generated from them)

    def planned_steps(self, app: App) -> int:
        return 4 + measure.standard_steps(app)

    def build(self, ctx: Context) -> Artifact:
        python = interpreters.find(ctx.key.python)
        reqs = requirements(ctx)
        installer = INSTALLERS[ctx.key.variant]
        name = f"{ctx.app.name}-py{ctx.key.python}"
        folder = ctx.build_dir / ctx.key.variant / name / "venv"
        cache = ctx.build_dir / "cache" / ctx.key.variant / name
        times = {}
        for phase in ("cold", "warm"):
            with ctx.steps.step(f"set-up with {installer.name}, {phase} cache"):
                if phase == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                shutil.rmtree(folder, ignore_errors=True)
                with hostload.watch(ctx.metrics, f"setup_{phase}"):
                    venv, times[phase] = installer.create(python, folder, reqs, cache, ctx)
        ctx.metrics["setup_s"] = times
        ctx.metrics["size_bytes"] = tree_size(venv)
        binaries.record(ctx, venv)
        licenses.record(ctx, venv, lambda: sbom_tool(ctx))
        ctx.versions.update(python=python.full_version, **installer.versions(venv))
        if ctx.app.record_version:
            ctx.versions[ctx.app.record_version] = installed_version(venv, ctx.app.record_version)
        if reqs.torch:
            ctx.versions["torch_source"] = reqs.torch
        ctx.note("installers isolated from the host's pip/uv configuration (PIP_CONFIG_FILE=os.devnull, "
                 "UV_NO_CONFIG=1); cold = empty cache, warm = the cache the cold run filled")
        if installer.name != "pip":
            ctx.note("uv installs without compiling bytecode, so the cold start-up also writes the .pyc files")
        if host.os_name() == "linux" and installer.name == "pip" and times["warm"] > 0.8 * times["cold"]:
            ctx.note("pip's warm set-up is close to its cold one: its HTTP cache only fills when the index "
                     "(or a proxy in between) sends caching headers")
        manifest = ctx.app.folder / (ctx.app.requirements or "pyproject.toml")  # (a description alone, at least)
        ctx.maintains(manifest, *([folder / "tox.ini"] if installer.name == "tox-uv" else []))
        return venv_artifact(ctx.app, venv, f"virtual environment created by {installer.name}")

    gpu_variant = "uv"  # the environment is the same whichever installer made it: one GPU figure

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        measure.standard(ctx, artifact)
        if ctx.key.variant == self.gpu_variant:
            self.measure_gpu(ctx, artifact)

    def measure_gpu(self, ctx: Context, artifact: Artifact) -> None:
        measure.gpu(ctx, artifact)

    def offline_gpu_artifact(self, ctx: Context, python: str) -> Artifact:
        """The GPU machine's own Python and PyTorch, the app run from its folder: nothing installed."""
        app = ctx.app
        path = os.pathsep.join(filter(None, [str(app.folder), str(app.folder / "src"), os.environ.get("PYTHONPATH")]))
        return Artifact(path=Path(sys.prefix if python == sys.executable else python), kind="python environment",
                        launcher=tuple(app.command(python, os.path.dirname(python), str(app.folder))),
                        env={"PYTHONPATH": path}, description="the GPU machine's own Python and PyTorch")


def installed_version(venv: Path, distribution: str) -> str | None:
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    return output([interpreters.venv_python(venv), "-c", code])


def reference_venv(ctx: Context, python: interpreters.Interpreter, extra: tuple[str, ...] = (),
                   suffix: str = "") -> Path:
    """A uv venv with the app (and `extra` requirements) that other strategies build from or compare with;
    `suffix` names a second one beside it (a strategy that needs the app alone as well as with its tool).

    Kept between runs and rebuilt only when what it should hold changes; its set-up is not what they measure.
    """
    reqs = requirements(ctx)
    folder = ctx.build_dir / "env" / f"{ctx.app.name}-py{ctx.key.python}{suffix}"
    kept_venv(ctx, python, folder, Requirements((*reqs.items, *extra), reqs.extra_index_url, reqs.torch))
    if reqs.torch:
        ctx.versions["torch_source"] = reqs.torch
    return folder


def sbom_tool(ctx: Context) -> Path:
    """cyclonedx-py, in a kept venv of the harness's own Python (licenses.py runs it over the artifact's venv)."""
    harness = interpreters.find(f"{sys.version_info.major}.{sys.version_info.minor}")
    tools = kept_venv(ctx, harness, ctx.build_dir / "tools" / "sbom",
                      Requirements(("-r", str(licenses.REQUIREMENTS)), None, None))
    return interpreters.venv_python(tools).with_name("cyclonedx-py" + (".exe" if sys.platform == "win32" else ""))


def kept_venv(ctx: Context, python: interpreters.Interpreter, folder: Path, reqs: Requirements) -> Path:
    """A uv venv holding `reqs`, kept between runs and made again only when what it should hold changes (a
    requirements file's content counts, not just its name)."""
    wanted = requirements_stamp(reqs)
    stamp = folder / ".shipbench-requirements"
    if not (stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted):
        shutil.rmtree(folder, ignore_errors=True)
        INSTALLERS["uv"].create(python, folder, reqs, ctx.build_dir / "cache", ctx)
        stamp.write_text(wanted, encoding="utf-8")
    return folder


def requirements_stamp(reqs: Requirements) -> str:
    """What a kept venv was made from: the items, plus the SHA-256 of each that names a file (a requirements
    file's edits and a wheel's bytes count; a wheel is binary, so it is hashed, never read as text)."""
    files = [f"{item} sha256={hashlib.sha256(Path(item).read_bytes()).hexdigest()}"
             for item in reqs.items if Path(item).is_file()]
    return "\n".join([*reqs.items, *files])
