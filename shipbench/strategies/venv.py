"""Ship as a virtual environment: the app and its dependencies installed into a venv on the target machine.

The artifact is the venv folder; what a user really ships is the requirements, so the question this strategy
answers is how long the environment takes to reproduce. Three installers are timed on the same app, each
cold (empty cache) and warm (cache kept): uv, plain `venv` + pip, and tox with tox-uv.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import host, interpreters, measure, settings, torch_source
from ..apps import App
from ..errors import Failure
from ..fsutil import tree_size
from ..runner import output, run_tool
from .base import Artifact, Context

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
    project = str(ctx.root / ctx.app.project)
    if not ctx.app.needs_torch:
        return Requirements((project,), None, None)
    choice = torch_source.resolve(
        settings.torch_source(), ctx.key.python, ctx.key.os, ctx.key.arch, torch_source.pip_find_links()
    )
    return Requirements((project, choice.requirement), choice.extra_index_url, choice.description)


def _isolated_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PIP_DROPPED + _UV_DROPPED and k != "VIRTUAL_ENV"}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_CACHE_DIR=str(cache), UV_CACHE_DIR=str(cache),
               UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _uv() -> str:
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
        env = _isolated_env(cache)
        index = ["--extra-index-url", reqs.extra_index_url] if reqs.extra_index_url else []
        first, _ = run_tool([_uv(), "venv", "--quiet", "--python", python.executable, folder], env=env,
                            what="uv venv")
        second, _ = run_tool([_uv(), "pip", "install", "--quiet", "--python", interpreters.venv_python(folder),
                              *index, *reqs.items], env=env, what="uv pip install")
        return folder, first + second

    def versions(self, venv):  # type: ignore[no-untyped-def]
        return {"uv": _tool_version([_uv(), "--version"])}


class PipInstaller(Installer):
    name = "pip"

    def create(self, python, folder, reqs, cache, ctx):  # type: ignore[no-untyped-def]
        env = _isolated_env(cache)
        index = ["--extra-index-url", reqs.extra_index_url] if reqs.extra_index_url else []
        first, _ = run_tool([python.executable, "-m", "venv", folder], env=env, what="python -m venv")
        second, _ = run_tool([interpreters.venv_python(folder), "-m", "pip", "install", "--no-input",
                              "--progress-bar", "off", *index, *reqs.items], env=env, what="pip install")
        return folder, first + second

    def versions(self, venv):  # type: ignore[no-untyped-def]
        return {"pip": _tool_version([str(interpreters.venv_python(venv)), "-m", "pip", "--version"])}


class ToxUvInstaller(Installer):
    """tox with the tox-uv plugin, through the project's own tox.ini (the same probes, the same Pythons)."""

    name = "tox-uv"

    def create(self, python, folder, reqs, cache, ctx):  # type: ignore[no-untyped-def]
        env = _isolated_env(cache)
        env_name = f"py{ctx.key.python.replace('.', '')}-{ctx.app.name}"
        if ctx.app.needs_torch:
            env["SHIPBENCH_TORCH_REQUIREMENT"] = reqs.items[-1]
        if reqs.extra_index_url:
            env["UV_EXTRA_INDEX_URL"] = reqs.extra_index_url
        seconds, _ = run_tool([sys.executable, "-m", "tox", "-c", ctx.root / "tox.ini", "-e", env_name, "--notest",
                               "--recreate", "--workdir", folder], env=env, cwd=ctx.root, what="tox --notest")
        return folder / env_name, seconds

    def versions(self, venv):  # type: ignore[no-untyped-def]
        return {"tox": _dist_version("tox"), "tox-uv": _dist_version("tox-uv"),
                "uv": _tool_version([_uv(), "--version"])}


INSTALLERS: dict[str, Installer] = {i.name: i for i in (UvInstaller(), PipInstaller(), ToxUvInstaller())}


class VenvStrategy:
    name = "venv"
    variants = tuple(INSTALLERS)
    summary = "a virtual environment created on the target machine (uv, pip, tox-uv)"
    inputs: tuple[str, ...] = ("tox.ini",)  # the tox-uv variant's environments

    def tool_versions(self) -> dict[str, str | None]:
        return {}  # uv, tox and tox-uv are the harness's own (inputs.py); pip comes with the target Python

    def variants_for(self, app: App) -> tuple[str, ...]:
        return self.variants

    def planned_steps(self, app: App) -> int:
        return 2 + measure.standard_steps(app)

    def build(self, ctx: Context) -> Artifact:
        python = interpreters.find(ctx.key.python)
        reqs = requirements(ctx)
        installer = INSTALLERS[ctx.key.variant]
        name = f"{ctx.app.name}-py{ctx.key.python}"
        folder = ctx.build_dir / ctx.key.variant / name
        cache = ctx.build_dir / "cache" / ctx.key.variant / name
        times = {}
        for phase in ("cold", "warm"):
            with ctx.steps.step(f"set-up with {installer.name}, {phase} cache"):
                if phase == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                shutil.rmtree(folder, ignore_errors=True)
                venv, times[phase] = installer.create(python, folder, reqs, cache, ctx)
        ctx.metrics["setup_s"] = times
        ctx.metrics["size_bytes"] = tree_size(venv)
        ctx.versions.update(python=python.full_version, **installer.versions(venv))
        ctx.versions[ctx.app.distribution] = installed_version(venv, ctx.app.distribution)
        if reqs.torch:
            ctx.versions["torch_source"] = reqs.torch
        ctx.note("installers isolated from the host's pip/uv configuration (PIP_CONFIG_FILE=os.devnull, "
                 "UV_NO_CONFIG=1); cold = empty cache, warm = the cache the cold run filled")
        if installer.name != "pip":
            ctx.note("uv installs without compiling bytecode, so the cold start-up also writes the .pyc files")
        if host.os_name() == "linux" and installer.name == "pip" and times["warm"] > 0.8 * times["cold"]:
            ctx.note("pip's warm set-up is close to its cold one: its HTTP cache only fills when the index "
                     "(or a proxy in between) sends caching headers")
        python_in_venv = interpreters.venv_python(venv)
        return Artifact(path=venv, kind="venv", launcher=(str(python_in_venv), "-m", ctx.app.module),
                        description=f"virtual environment created by {installer.name}")

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        measure.standard(ctx, artifact)


def installed_version(venv: Path, distribution: str) -> str | None:
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    return output([interpreters.venv_python(venv), "-c", code])


def reference_venv(ctx: Context, python: interpreters.Interpreter, extra: tuple[str, ...] = ()) -> Path:
    """A uv venv with the app (and `extra` requirements) that other strategies build from or compare with.

    Kept between runs and rebuilt only when what it should hold changes; its set-up is not what they measure.
    """
    reqs = requirements(ctx)
    wanted = "\n".join([*reqs.items, *extra, *(Path(e).read_text(encoding="utf-8") for e in extra
                                                 if Path(e).is_file())])
    folder = ctx.build_dir / "env" / f"{ctx.app.name}-py{ctx.key.python}"
    stamp = folder / ".shipbench-requirements"
    if not (stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted):
        shutil.rmtree(folder, ignore_errors=True)
        with_extra = Requirements((*reqs.items, *extra), reqs.extra_index_url, reqs.torch)
        INSTALLERS["uv"].create(python, folder, with_extra, ctx.build_dir / "cache", ctx)
        stamp.write_text(wanted, encoding="utf-8")
    if reqs.torch:
        ctx.versions["torch_source"] = reqs.torch
    return folder
