"""Ship as a container image: built by `docker buildx bake` through the repository's docker-bake.hcl, then run.

Each app gets a build context of its own (bake_context.py): docker-bake.hcl and docker/ as they are, a copy of
the app, and app.hcl, the bake file's APP_* variables from the app's description; its dependencies become their
own cached layer. The "warm" build changes app code only, as a developer would, in that copy, never in the
project. No registry is assumed: when the official python image cannot be had, a base image with Debian's
Python is built from packages.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

from .. import bake_context, binaries, docker, host, interpreters, licenses, measure, run_leftovers, settings, xserver
from ..apps import App
from ..errors import Failure, Skip
from ..record import Key
from ..runner import deciding_line, run_tool
from .base import Artifact, Context, Defaults
from .venv import reference_venv, sbom_tool, venv_artifact

# the probe's variables pass from the `docker run` process into the container by name (docker run --env NAME)
_PASSED_ENV = ("QT_QPA_PLATFORM", "SHIPBENCH_FIRST_FRAME", "SHIPBENCH_SCREENSHOT", "SHIPBENCH_PROBE_QUIT",
               "PYTHONUNBUFFERED")
_INJECT_IN_IMAGE = "/opt/shipbench-inject"
APP_IN_IMAGE = bake_context.APP_IN_IMAGE
_CONTEXT_BYTES = re.compile(r"transferring context: ([\d.]+)([kMG]?B)")
_UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def context_bytes(build_log: str) -> int | None:
    """The largest build context BuildKit reports sending ("transferring context: 12.36kB done")."""
    sizes = [float(number) * _UNITS[unit] for number, unit in _CONTEXT_BYTES.findall(build_log)]
    return int(max(sizes)) if sizes else None


def gpu_runtime_reason() -> str | None:
    """Why `docker run --gpus all` cannot work here, or None when the NVIDIA Container Toolkit is present."""
    info = subprocess.run(["docker", "info", "--format", "{{json .Runtimes}}"], capture_output=True, text=True,
                          timeout=30, check=False)
    if "nvidia" not in info.stdout and not shutil.which("nvidia-container-cli"):
        return "no NVIDIA Container Toolkit here (docker knows no nvidia runtime), so --gpus all cannot work"
    return None


def base_image(python: str, root: Path) -> tuple[str, str]:
    """(image, how it was chosen): SHIPBENCH_BASE_IMAGE, else python:X.Y-slim if present or pullable, else a
    local image with Debian's Python built from packages."""
    chosen = settings.base_image()
    if chosen:
        return chosen, "the base-image setting"
    official = f"python:{python}-slim"
    if docker.image_exists(official):
        return official, "the official image, present locally"
    pulled = subprocess.run(["docker", "pull", "--quiet", official], capture_output=True, text=True, timeout=600,
                            check=False)
    if pulled.returncode == 0:
        return official, "the official image, pulled"
    suite = docker.suite_for_python(python)  # the stand-in for python:X.Y-slim without a registry
    if suite is None:
        raise Skip(f"no registry ({pulled.stderr.strip()[:120]}) and {docker.no_suite_reason(python)}; or set "
                   "SHIPBENCH_BASE_IMAGE")
    try:
        tag = docker.build_base(suite, f"shipbench/python:{python}-{suite}", root, "python3,python3-venv")
    except Skip as skip:
        raise Skip(f"no registry ({pulled.stderr.strip()[:120]}), and {skip.reason}") from None
    return tag, f"built locally from Debian {suite} packages (no registry reachable)"


# Disk a CUDA image build takes at its peak, an estimate (no CUDA image has been built on this project's hosts):
# PyPI's CUDA torch is ~3.5 GB of wheels (torch + nvidia-*) in the build's cache mount, ~7 GB once installed in
# the deps stage, ~7 GB again in the runtime stage's copy, and ~7 GB more where `--load` hands the image from a
# docker-container builder (GitHub's setup-buildx-action makes one) to the engine. `docker save | gzip` streams.
CUDA_BUILD_BYTES = 28 * 10**9


def _cuda_disk_short() -> str | None:
    """Why the CUDA image cannot be built now for want of disk (its layers and BuildKit's copies of them), else
    None: asked by the plan, and again before the build, since the rows before it write to the same disk."""
    short = docker.disk_shortfall(CUDA_BUILD_BYTES)
    return (f"the CUDA image needs about {CUDA_BUILD_BYTES / 1e9:.0f} GB free where Docker keeps its data; {short}. "
            "On a GitHub runner, free the preinstalled toolchains first (the workflow does) or use a larger runner"
            ) if short else None


class BakeStrategy(Defaults):
    name = "bake"
    variants: tuple[str, ...] = ("cpu", "distroless", "cuda")
    quick_variant = "cpu"
    rough_row_s = {"cli": 85.0, "window": 69.0, "torch": 160.0}
    rough_variant_share = {"distroless": 1.2}
    rough_quick_s = {"cli": 94.0, "window": 76.0, "torch": 125.0}
    summary = ("a container image built with docker buildx bake (CPU; distroless: no shell, no apt; CUDA for torch "
               "apps)")
    isolation = "its own filesystem and processes; shares the host's kernel"
    audiences: tuple[str, ...] = ("servers",)
    family = "image"
    target_needs = ("a container engine; for a window an X server socket; for a GPU the NVIDIA Container "
                    "Toolkit and driver")
    oses: tuple[str, ...] = ("linux",)
    # the CI job's time limit, in minutes: two images per torch app, the CUDA one from 3.5 GB of wheels
    ci_minutes: int = 90
    runs_on_host = False
    inputs: tuple[str, ...] = ("docker-bake.hcl", *(f"docker/{name}" for name in bake_context.HARNESS_FILES),
                               "scripts/build-base-image.sh")

    def variants_for(self, app: App) -> tuple[str, ...]:
        return self.variants if app.uses_torch else ("cpu", "distroless")

    def tool_versions(self) -> dict[str, str | None]:
        return docker.versions()

    def planned_steps(self, app: App) -> int:
        return 8 + measure.standard_steps(app) + (2 if app.shows_window else 1)

    def planned_skip(self, app: App, key: Key, profile: str) -> str | None:
        if key.variant == "distroless" and app.dockerfile:
            return f"the app's own Dockerfile ({app.dockerfile.name}) has no distroless stage to build"
        reason = docker.unavailable_reason()
        if reason is None and subprocess.run(["docker", "buildx", "version"], capture_output=True,
                                             check=False).returncode != 0:
            return "docker buildx is missing (scripts/install-docker.sh installs it)"
        return reason or (_cuda_disk_short() if key.variant == "cuda" else None)

    def torch_skip(self, app: App, key: Key) -> str | None:
        # the CUDA image installs PyPI's CUDA build whatever the torch setting says (bake_context.py)
        return None if key.variant == "cuda" else super().torch_skip(app, key)

    def build(self, ctx: Context) -> Artifact:
        variant = ctx.key.variant
        reason = self.planned_skip(ctx.app, ctx.key, "full")
        if reason:
            raise Skip(reason)
        if variant == "cuda" and (short := _cuda_disk_short()):
            # planned to run, and the rows before it filled the disk: the record says so ("skipped once run")
            raise Skip(short)
        with ctx.steps.step("base image"):
            base, how = base_image(ctx.key.python, ctx.root)
        ctx.versions["base_image"] = base
        ctx.versions.update(docker.versions())
        ctx.note(f"base image {base}: {how}")
        with ctx.steps.step("build context: docker-bake.hcl, docker/, the app and its app.hcl"):
            staged = bake_context.stage(ctx, ctx.build_dir / ctx.app.name / variant / "context", base)
        ctx.maintains(staged.dockerfile, staged.bake_file, staged.variables)
        argv: list[str | os.PathLike[str]] = ["docker", "buildx", "bake", "--progress=plain", "--load", "--file",
                                              staged.bake_file, "--file", staged.variables, staged.target]
        # a TLS-intercepting proxy's CA: a BuildKit secret, never a layer; the shell's own PYTHON, APP_* never
        env = bake_context.bake_environment(ctx.root, host.ca_bundle())
        cache = settings.bake_cache()  # e.g. "type=gha" in GitHub Actions
        if cache:
            argv += ["--set", f"{staged.target}.cache-from={cache},scope={staged.target}"]
            if variant == "cuda":  # its layers alone would fill most of GitHub's 10 GB cache
                ctx.note(f"the CUDA image reads the external cache {cache} but writes nothing to it")
            else:
                argv += ["--set", f"{staged.target}.cache-to={cache},mode=max,scope={staged.target}"]
            ctx.note(f"bake used the external cache {cache} (bake-cache): the cold build measures a CI "
                     "rebuild with that cache, not a build from nothing")
        times = {}
        context = staged.bake_file.parent
        with ctx.steps.step("bake, cold (build cache pruned)"):
            run_tool(["docker", "buildx", "prune", "--all", "--force"], what="docker buildx prune")
            times["cold"], log = run_tool(argv, cwd=context, env=env, what=f"bake {staged.target} (cold)")
        if not settings.quick():
            # tagged apart, so that the image measured stays the cold build's, of the app's files as they are
            rebuilt = f"{staged.tag}-rebuilt"
            with ctx.steps.step("bake, warm (after a change to the app's code only)"), \
                    bake_context.app_code_changed(context) as edited:
                times["warm"], _ = run_tool([*argv, "--set", f"{staged.target}.tags={rebuilt}"], cwd=context,
                                            env=env, what=f"bake {staged.target} (warm)")
            docker.remove_image(rebuilt)
            ctx.note(f"warm build: after appending a comment to {edited}, tagged {rebuilt} and removed; the image "
                     "measured is the cold build's, of the app's files as they are")
        ctx.metrics["setup_s"] = times
        with ctx.steps.step("image size, layers, download size"):
            self._image_metrics(ctx, staged.tag, base, log)
        scratch = ctx.build_dir / ctx.app.name / variant / "venv-copy"
        try:  # the venv copied out once, for its binaries and its licences
            venv = _venv_copied_out(staged.tag, ctx.key.python, scratch)
        except (Failure, Skip, OSError, subprocess.SubprocessError) as error:
            for check in ("binaries", "licenses"):
                ctx.metrics[check] = {"status": "skipped", "reason": f"the image's venv not read: {error}"[:500]}
        else:
            # the venv's own binaries; the image's system libraries are its base's, which it carries with them
            binaries.record(ctx, scratch)
            licenses.record(ctx, lambda: venv, lambda: sbom_tool(ctx))
        shutil.rmtree(scratch, ignore_errors=True)
        share = run_leftovers.temp_folder("shots")
        share.chmod(0o777)  # the image runs as an unprivileged user
        return Artifact(path=Path(staged.tag), kind="docker image",
                        launcher=(*docker_run(share, ctx.app), staged.tag, *ctx.app.args),
                        description=f"image {staged.tag}: docker-bake.hcl's target {staged.target}",
                        share=(share, "/shots"), rss_from_app=True, after_run=docker.remove_started)

    gpu_variant = "cuda"

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        if ctx.key.variant == self.gpu_variant:
            self.measure_gpu(ctx, artifact)
        measure.standard(ctx, artifact)  # the CUDA image too: on the CPU, so it is proven to work everywhere
        if ctx.app.shows_window and not ctx.app.window_on_x:  # a window seen on X was measured there already
            self._x11(ctx, artifact)
        python = interpreters.find(ctx.key.python) if ctx.key.variant != "cuda" else None
        if python is not None:
            with ctx.steps.step("reference venv on the host"):
                env_dir = reference_venv(ctx, python)
            reference = venv_artifact(ctx.app, env_dir)
            measure.baseline(ctx, reference, "the same app in a venv on the host, measured right after the image")
        if artifact.share:
            shutil.rmtree(artifact.share[0], ignore_errors=True)

    def _image_metrics(self, ctx: Context, tag: str, base: str, log: str) -> None:
        image = json.loads(subprocess.run(["docker", "image", "inspect", tag], capture_output=True, text=True,
                                          check=True).stdout)[0]
        base_info = json.loads(subprocess.run(["docker", "image", "inspect", base], capture_output=True, text=True,
                                              check=True).stdout)[0]
        ctx.metrics["size_bytes"] = int(image["Size"])
        ctx.metrics["layers"] = len(image["RootFS"]["Layers"])
        ctx.metrics["base_image_bytes"] = int(base_info["Size"])
        venv = _in_image(tag, "import os; print(sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in "
                                   "os.walk('/opt/venv') for f in fs))")
        if venv.isdigit():  # the venv's own Python reads it: the distroless image has no du
            ctx.metrics["venv_bytes"] = int(venv)
        dpkg = [*docker.container(), "--rm", "--entrypoint", "dpkg-query", tag, "-W", "-f", "${Package}\\n"]
        listed = _in_image(tag, f"print(open({DISTROLESS_PACKAGES!r}).read())") if ctx.key.variant == "distroless" \
            else subprocess.run(dpkg, capture_output=True, text=True, check=False).stdout
        ctx.metrics["debian_packages"] = len([line for line in listed.splitlines() if line.strip()])
        ctx.metrics["shell"] = subprocess.run([*docker.container(), "--rm", "--entrypoint", "/bin/sh", tag, "-c",
                                               "true"], capture_output=True, check=False).returncode == 0
        context = context_bytes(log)
        if context is not None:
            ctx.metrics["context_bytes"] = context
        ctx.metrics["download_bytes"] = _saved_gzip_bytes(tag)
        user = image["Config"].get("User") or "root"
        ctx.versions["image_user"] = user
        if user in ("", "root", "0"):
            raise Failure(f"{tag} runs as root; the images must run as an unprivileged user")

    def _x11(self, ctx: Context, artifact: Artifact) -> None:
        """The GUI image against a real X server through the mounted X11 socket and DISPLAY."""
        if not xserver.available():
            ctx.metrics["x11"] = {"status": "skipped", "reason": xserver.MISSING}
            return
        assert artifact.share is not None
        with xserver.xvfb() as display:
            x11 = [*docker_run(artifact.share[0], ctx.app), *xserver.socket_mount_args(display), str(artifact.path),
                   *ctx.app.args]
            measure.x11(ctx, Artifact(artifact.path, artifact.kind, tuple(x11), share=artifact.share,
                                      rss_from_app=True, after_run=docker.remove_started), display)

    def offline_gpu_artifact(self, ctx: Context, python: str) -> Artifact:
        """The CUDA image already on the GPU machine (SHIPBENCH_CUDA_IMAGE, else this app's bench-cuda tag)."""
        unavailable = docker.unavailable_reason() or gpu_runtime_reason()
        if unavailable:
            raise Skip(unavailable)
        image = os.environ.get("SHIPBENCH_CUDA_IMAGE", f"shipbench/{ctx.app.name}:bench-cuda")
        if not docker.image_exists(image):
            raise Skip(f"no CUDA image {image} here (docker buildx bake {ctx.app.name}-cuda builds it, or "
                       "nox -s \"bake(variant='cuda')\")")
        share = run_leftovers.temp_folder("shots")
        share.chmod(0o777)
        return Artifact(path=Path(image), kind="docker image", launcher=(*docker_run(share, ctx.app), image,
                                                                        *ctx.app.args),
                        description="the CUDA image", share=(share, "/shots"), rss_from_app=True,
                        after_run=docker.remove_started)

    def measure_gpu(self, ctx: Context, artifact: Artifact) -> None:
        """The CUDA image with --gpus all, where the NVIDIA Container Toolkit gives containers the GPU."""
        reason = gpu_runtime_reason() if ctx.app.gpu_args else None
        if reason:
            ctx.metrics["gpu"] = {"status": "skipped", "reason": reason}
            return
        tag = str(artifact.path)
        at = artifact.launcher.index(tag)
        measure.gpu(ctx, artifact, launcher=(*artifact.launcher[:at], "--gpus", "all", *artifact.launcher[at:]))


def docker_run(share: Path, app: App, app_dir: str = APP_IN_IMAGE) -> list[str]:
    """`docker run` for a measured start: removed afterwards (and labelled, so that what a killed client leaves
    is removed too: docker.remove_started), a folder shared for screenshots, the probe's variables passed by name,
    and for a first-frame app the probe mounted (never built into the image). A service shares the host's network,
    so that its port on loopback is the host's (ready, the load generator); a window of a toolkit seen on X gets
    the row's X server (its socket and DISPLAY). `app_dir`: where the image holds the app's folder (it starts in
    its workdir there)."""
    argv = [*docker.container(), "--rm", *docker.start_label_args(), "--volume", f"{share}:/shots",
            "--workdir", str(PurePosixPath(app_dir) / app.workdir)]  # where a user would start it
    if app.service:
        argv += ["--network", "host"]
    if app.window_on_x:
        argv += ["--volume", f"{xserver.SOCKET_DIR}:{xserver.SOCKET_DIR}:ro", "--env", "DISPLAY"]
    for name in (*_PASSED_ENV, *app.environment):
        argv += ["--env", name]
    if app.first_frame:
        argv += ["--volume", f"{measure.INJECT_DIR}:{_INJECT_IN_IMAGE}:ro", "--env", f"PYTHONPATH={_INJECT_IN_IMAGE}"]
    return argv


def _venv_copied_out(tag: str, python: str, scratch: Path) -> tuple[Path, Path]:
    """(a host Python of the image's version, the image's site-packages copied into `scratch`): what
    licenses.write_sbom reads an image's distributions from (the image's own Python cannot run cyclonedx-py)."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    created = subprocess.run([*docker.container("create"), tag], capture_output=True, text=True,
                             check=True).stdout.strip()
    try:
        run_tool(["docker", "cp", f"{created}:/opt/venv/lib", str(scratch)], what="docker cp /opt/venv/lib")
    finally:
        subprocess.run(["docker", "rm", created], capture_output=True, check=False)
    found = sorted(scratch.glob("lib/python*/site-packages"))
    if not found:
        raise Failure(f"{tag} has no /opt/venv/lib/python*/site-packages")
    return Path(interpreters.find(python).executable), found[0]


DISTROLESS_PACKAGES = "/usr/share/doc/distroless-packages.txt"  # docker/distroless-closure.py writes it


def _in_image(tag: str, code: str) -> str:
    """What the image's venv Python prints for `code` (every image here has it; the distroless one nothing else)."""
    return subprocess.run([*docker.container(), "--rm", "--entrypoint", "/opt/venv/bin/python", tag, "-c", code],
                          capture_output=True, text=True, check=False, timeout=120).stdout.strip()


def _saved_gzip_bytes(tag: str) -> int:
    """What a registry would send: the image's layers gzip-compressed (`docker save | gzip`), counted, not kept."""
    with tempfile.TemporaryFile(mode="w+") as errors:  # a file, not a pipe: stderr cannot block the stream
        proc = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE, stderr=errors, text=False)
        assert proc.stdout is not None
        counter = _Counter()
        with gzip.GzipFile(fileobj=counter, mode="wb", compresslevel=6) as compressed:
            while chunk := proc.stdout.read(1 << 20):
                compressed.write(chunk)
        if proc.wait() != 0:
            errors.seek(0)
            said = errors.read()
            lines = said.strip().splitlines()
            why = deciding_line(said) or (lines[-1][:300] if lines else None)
            what = f"docker save {tag} failed (exit {proc.returncode})"
            raise Failure(f"{why} ({what})" if why else what)
    return counter.count


class _Counter:
    """A write-only file that only counts bytes."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return len(data)

    def flush(self) -> None:
        pass
