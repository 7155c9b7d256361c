"""Ship as a frozen executable: PyInstaller bundles of the app, onedir and onefile, default and trimmed.

The bundle is built from the app's own spec (`pyinstaller-spec` in its description; the samples' are in
pyinstaller/) or from one generated for it (pyinstaller_spec.py), inside a build venv holding the app, its
dependencies and the pinned PyInstaller. Both take `-- --mode M --profile P`. PyInstaller cannot cross-build:
each OS builds its own bundle (the GitHub Actions matrix does that), so only names and archive formats vary by
platform here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .. import (
    bundle_modules,
    docker,
    interpreters,
    measure,
    pyinstaller_archive,
    pyinstaller_spec,
    temp_left,
    tool_pins,
)
from .. import entry as launchers
from ..apps import App
from ..errors import Failure, Skip
from ..fsutil import tree_size
from ..record import Key
from ..runner import output, run_tool
from . import diagnosis, frozen, phases
from .base import Artifact, Context, Defaults

MODES = ("onedir", "onefile")
# what a bundle ships besides the app's distributions (licenses.py): the bootloader's exception lets any program
# carry it
RUNTIME_LICENSES = (("CPython, the interpreter it carries", "PSF-2.0"),
                    ("PyInstaller bootloader", "GPL-2.0-or-later WITH Bootloader-exception"))
PROFILES = ("default", "trimmed")


def bundle_path(dist: Path, mode: str, platform: str = sys.platform) -> tuple[Path, Path]:
    """(what a user ships, the program to start): the one thing the spec put into dist/ (a folder with the
    program of the same name in it, or one file), whatever the spec named it."""
    entries = sorted(dist.iterdir()) if dist.is_dir() else []
    if len(entries) != 1:
        raise Failure(f"PyInstaller left {len(entries)} entries in {dist}, expected one bundle: "
                      f"{', '.join(e.name for e in entries) or 'none'}")
    shipped = entries[0]
    if mode == "onedir":
        name = shipped.name + (".exe" if platform == "win32" else "")
        return shipped, shipped / name
    return shipped, shipped


# Run in the target interpreter: the shared library PyInstaller bundles, and whether it exists where the
# interpreter says its libraries live (Debian's LIBDIR is /usr/lib with a multiarch subfolder).
_SHARED_LIBRARY_PROBE = """
import os, sys, sysconfig
name = sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY") or ""
folders = [sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("LIBPL") or "",
           os.path.join(sys.base_prefix, "lib")]
folders += [os.path.join(f, sysconfig.get_config_var("MULTIARCH") or "") for f in folders]
print(name, any(name.startswith("libpython") and os.path.isfile(os.path.join(f, name)) for f in folders if f))
"""


def shared_library_missing(python: interpreters.Interpreter, platform: str = sys.platform) -> str | None:
    """Why PyInstaller cannot bundle this interpreter on Linux, or None.

    PyInstaller copies the interpreter's shared library into every bundle. A distribution's Python ships it in
    a package of its own (Debian and Ubuntu: libpython3.X) and pyenv builds it only with --enable-shared;
    without it PyInstaller fails after minutes with "Python shared library ... was not found".
    """
    if not platform.startswith("linux"):
        return None
    words = (output([python.executable, "-c", _SHARED_LIBRARY_PROBE]) or "").split()
    if len(words) == 2 and words[1] == "True":
        return None
    name = words[0] if words else f"libpython{python.version}.so"
    return (f"PyInstaller needs {name}, the shared library of Python {python.full_version} ({python.executable}), "
            f"which is not installed: on Debian/Ubuntu `apt-get install libpython{python.version}` (or run "
            "scripts/install-host-deps.sh); with pyenv, build the Python with "
            "PYTHON_CONFIGURE_OPTS=--enable-shared")


def _build_venv(ctx: Context, python: interpreters.Interpreter) -> Path:
    return frozen.build_venv(ctx, python, tool_pins.requirements("pyinstaller"))


def _spec(ctx: Context, env_dir: Path, target: Path, profile: str) -> Path:
    """The app's own spec, or one generated for it; for a generated trimmed one, first the evidence run."""
    if ctx.app.pyinstaller_spec is not None:
        ctx.maintains(ctx.app.pyinstaller_spec, ctx.root / "pyinstaller" / "trim.py")
        return ctx.app.pyinstaller_spec
    entry_point = launchers.console_entry_point(ctx.app, interpreters.venv_python(env_dir)) \
        if ctx.app.start[0] == "console-script" else None
    spec, evidence = pyinstaller_spec.write(ctx.app, target / "spec", ctx.root, measure.INJECT_DIR / "sitecustomize.py",
                                            entry_point)
    ctx.maintains(spec)
    ctx.note(f"spec generated from the app's description: {spec.name}")
    if profile == "trimmed":
        frozen.evidence_run(ctx, env_dir, evidence)
        ctx.note("trimmed: keeps the Qt modules and plugins and the standard-library modules that one run of the "
                 "app in its build venv loaded (evidence), drops the rest and every library nothing kept needs")
    return spec


class PyInstallerStrategy(Defaults):
    name = "pyinstaller"
    variants = tuple(f"{mode}-{profile}" for mode in MODES for profile in PROFILES)
    quick_variant = "onedir-trimmed"
    rough_row_s = {"cli": 24.0, "window": 32.0, "torch": 170.0}
    rough_variant_share = {"onefile-default": 2.0, "onefile-trimmed": 1.7}
    rough_quick_s = {"cli": 18.0, "window": 24.0, "torch": 90.0}
    summary = "a frozen executable built by PyInstaller (onedir, onefile; default and trimmed specs)"
    isolation = frozen.ISOLATION
    audiences: tuple[str, ...] = ("desktop",)
    family = "frozen bundle"
    target_needs = frozen.TARGET_NEEDS
    oses: tuple[str, ...] = ("linux", "windows", "macos")  # no cross-building: each OS builds its own
    ci_minutes: int = 60  # the CI job's time limit: one mode, both apps, two variants, portability checks

    # the portability check starts each bundle in Debian images that build-base-image.sh makes
    inputs: tuple[str, ...] = ("pyinstaller", tool_pins.input_path("pyinstaller"), "scripts/build-base-image.sh")

    def tool_versions(self) -> dict[str, str | None]:
        return docker.versions()  # the portability check's containers

    def planned_steps(self, app: App) -> int:
        return 10 + measure.standard_steps(app)

    def planned_skip(self, app: App, key: Key, profile: str) -> str | None:
        return shared_library_missing(interpreters.find(key.python))

    def build(self, ctx: Context) -> Artifact:
        mode, profile = ctx.key.variant.split("-")
        python = interpreters.find(ctx.key.python)
        missing = self.planned_skip(ctx.app, ctx.key, "full")
        if missing:
            raise Skip(missing)
        with ctx.steps.step("build venv (app, dependencies, PyInstaller)"):
            env_dir = _build_venv(ctx, python)
        target = ctx.build_dir / f"{ctx.app.name}-py{ctx.key.python}-{ctx.key.variant}"
        work, dist, config = target / "work", target / "dist", target / "config"
        with ctx.steps.step("spec: the app's own, or generated (trimmed: from what one run loaded)"):
            spec = _spec(ctx, env_dir, target, profile)
        # a fixed hash seed is PyInstaller's own advice for reproducible builds: the same inputs give the same
        # bundle byte for byte, so an unchanged row's download size does not move between runs
        env = {**os.environ, "PYINSTALLER_CONFIG_DIR": str(config), "PYTHONHASHSEED": "0"}
        pyinstaller: list[str | os.PathLike[str]] = [interpreters.venv_python(env_dir), "-m", "PyInstaller"]
        argv = [*pyinstaller, "--noconfirm", "--log-level", "WARN", "--distpath", dist, "--workpath", work, spec,
                "--", "--mode", mode, "--profile", profile]

        def build(phase: str) -> float:  # cold: --clean as well, so PyInstaller's own cache is not reused
            clean = ["--clean"] if phase == "cold" else []
            return run_tool([*pyinstaller, *clean, *argv[len(pyinstaller):]], env=env, cwd=ctx.root,
                            what=f"PyInstaller ({phase})")[0]

        phases.cold_and_warm(ctx, lambda phase: f"PyInstaller build, {phase} " + (
            "(no work folder, no cache)" if phase == "cold" else "(work folder and cache kept)"),
            [work, config], [dist], build)
        shipped, program = bundle_path(dist, mode)
        build_python = interpreters.venv_python(env_dir)  # a onefile's libraries are read out of its archive
        frozen.record_sizes(ctx, shipped, target / "archive", None if mode == "onedir" else (
            lambda into: pyinstaller_archive.extract_elves(build_python, program, into)))
        frozen.record_licenses(ctx, python, RUNTIME_LICENSES)
        frozen.record_versions(ctx, python, env_dir, "pyinstaller")
        ctx.note("PyInstaller build time excludes creating its build venv (the venv rows time that); cold = "
                 "empty work folder and PyInstaller cache (--clean), warm = both kept")
        if mode == "onefile":
            ctx.note("a onefile bundle unpacks itself into a temporary folder on every start; start-up includes it")
        kind = "folder" if mode == "onedir" else "single file"
        return Artifact(path=shipped, kind=f"pyinstaller {mode}", launcher=(str(program), *ctx.app.args),
                        description=f"PyInstaller {mode} bundle ({kind}), {profile} spec")

    gpu_variant = "onedir-default"  # the bundle as PyInstaller's hooks make it, with CUDA's libraries

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        env_dir = _build_venv(ctx, interpreters.find(ctx.key.python))
        program, folder = Path(artifact.launcher[0]), artifact.path if artifact.path.is_dir() else None

        def check_missing() -> None:
            frozen.missing_modules(ctx, env_dir, lambda: bundle_modules.pyinstaller_modules(
                interpreters.venv_python(env_dir), program, folder))

        diagnosis.measure_bundle(ctx, artifact, ctx.key.variant.endswith("-trimmed"),
                              lambda: self._default_profile_starts(ctx), check_missing)
        if ctx.key.variant == self.gpu_variant:
            self.measure_gpu(ctx, artifact)
        frozen.portability_and_baseline(ctx, artifact, env_dir, "bundle")
        if artifact.path.is_file():
            temp_left.record(ctx, artifact)
        check_missing()

    def _default_profile_starts(self, ctx: Context) -> Failure | None:
        """The same spec's default profile, built beside the trimmed bundle and started once: None where it
        starts (so trimming is what broke the app), else why it did not."""
        mode = ctx.key.variant.split("-")[0]
        env_dir = _build_venv(ctx, interpreters.find(ctx.key.python))
        target = ctx.build_dir / f"{ctx.app.name}-py{ctx.key.python}-{ctx.key.variant}"
        spec = ctx.app.pyinstaller_spec or target / "spec" / f"{ctx.app.name}.spec"
        check = target / "default-check"

        def build() -> Path:
            run_tool([interpreters.venv_python(env_dir), "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                      "--distpath", check / "dist", "--workpath", check / "work", spec, "--", "--mode", mode,
                      "--profile", "default"], env={**os.environ, "PYINSTALLER_CONFIG_DIR": str(check / "config"),
                                                    "PYTHONHASHSEED": "0"}, cwd=ctx.root,
                     what="PyInstaller (the default profile, to compare)")
            return bundle_path(check / "dist", mode)[1]

        return diagnosis.starts_once(ctx, build, check)

    def measure_gpu(self, ctx: Context, artifact: Artifact) -> None:
        measure.gpu(ctx, artifact)

    def offline_gpu_artifact(self, ctx: Context, python: str) -> Artifact:
        """A onedir bundle built on the GPU machine by its own Python's PyInstaller, from the app's folder."""
        app = ctx.app
        if subprocess.run([python, "-c", "import PyInstaller"], capture_output=True, check=False).returncode != 0:
            raise Skip(f"PyInstaller is not installed for {python} (pip install -r shipbench/tools/pyinstaller.txt)")
        build = ctx.build_dir / app.name
        shutil.rmtree(build, ignore_errors=True)
        spec = app.pyinstaller_spec or pyinstaller_spec.write(app, build / "spec", ctx.root,
                                                              measure.INJECT_DIR / "sitecustomize.py")[0]
        path = os.pathsep.join(filter(None, [str(app.folder), str(app.folder / "src"), os.environ.get("PYTHONPATH")]))
        seconds, _ = run_tool([python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath",
                               build / "dist", "--workpath", build / "work", spec,
                               "--", "--mode", "onedir", "--profile", "default"],
                              env={**os.environ, "PYTHONPATH": path}, cwd=app.project,
                              what="PyInstaller (onedir, default) on the GPU machine")
        bundle, program = bundle_path(build / "dist", "onedir")
        ctx.metrics.update(setup_s={"cold": seconds}, size_bytes=tree_size(bundle))
        return Artifact(path=bundle, kind="pyinstaller onedir", launcher=(str(program), *app.args),
                        description=f"built on the GPU machine from {spec.name} (default)")
