"""Ship as a container image: built by `docker buildx bake` from docker-bake.hcl and docker/, then run.

Builds happen in a copy of what the images need (the apps, docker/, the bake file), so the "warm" build can
change app code only, as a developer would, without touching the checkout. No registry is assumed: when the
official python image cannot be had, a base image with Debian's Python is built locally from packages.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .. import docker, host, interpreters, measure, settings, torch_source, xserver
from ..apps import App
from ..errors import Failure, Skip
from ..runner import output, run_app, run_tool
from .base import Artifact, Context
from .venv import reference_venv

TARGETS = {"gui": ("gui",), "dl": ("dl-cpu", "dl-cuda")}
_CONTEXT_BYTES = re.compile(r"transferring context: ([\d.]+)([kMG]?B)")
_UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}
# Debian suites whose own python3 is the given version: the stand-in for python:X.Y-slim without a registry
_DEBIAN_PYTHON = {"3.11": "bookworm", "3.13": "trixie"}


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
    chosen = os.environ.get("SHIPBENCH_BASE_IMAGE")
    if chosen:
        return chosen, "SHIPBENCH_BASE_IMAGE"
    official = f"python:{python}-slim"
    if docker.image_exists(official):
        return official, "the official image, present locally"
    pulled = subprocess.run(["docker", "pull", "--quiet", official], capture_output=True, text=True, timeout=600,
                            check=False)
    if pulled.returncode == 0:
        return official, "the official image, pulled"
    suite = _DEBIAN_PYTHON.get(python)
    if suite is None:
        raise Skip(f"no registry ({pulled.stderr.strip()[:120]}) and no Debian release whose Python is {python}; "
                   "set SHIPBENCH_BASE_IMAGE")
    tag = f"shipbench/python:{python}-{suite}"
    if not docker.image_exists(tag):
        run_tool(["bash", root / "scripts" / "build-base-image.sh", suite, tag, "python3,python3-venv"],
                 timeout=900, what=f"building {tag} from Debian packages")
    return tag, f"built locally from Debian {suite} packages (no registry reachable)"


class BakeStrategy:
    name = "bake"
    variants: tuple[str, ...] = ("gui", "dl-cpu", "dl-cuda")
    summary = "a container image built with docker buildx bake (gui, dl-cpu, dl-cuda)"

    def variants_for(self, app: App) -> tuple[str, ...]:
        return TARGETS[app.name]

    inputs: tuple[str, ...] = ("docker-bake.hcl", "docker", ".dockerignore", "scripts/build-base-image.sh")

    def tool_versions(self) -> dict[str, str | None]:
        return docker.versions()

    def planned_steps(self, app: App) -> int:
        return 5 + measure.standard_steps(app) + (2 if app.name == "gui" else 1)

    def build(self, ctx: Context) -> Artifact:
        target = ctx.key.variant
        reason = docker.unavailable_reason()
        if reason:
            raise Skip(reason)
        if subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False).returncode != 0:
            raise Skip("docker buildx is missing (scripts/install-docker.sh installs it)")
        with ctx.steps.step("base image"):
            base, how = base_image(ctx.key.python, ctx.root)
        ctx.versions["base_image"] = base
        ctx.versions.update(docker.versions())
        ctx.note(f"base image {base}: {how}")
        workdir = ctx.build_dir / target
        context, torch_index = self._stage_context(ctx, workdir / "context", target)
        env = {**os.environ, "BASE_IMAGE": base, "PYTHON_VERSION": ctx.key.python, "TAG_PREFIX": "shipbench/",
               "VERSION": "bench", "REVISION": output(["git", "rev-parse", "HEAD"], cwd=ctx.root) or ""}
        if torch_index:
            env["TORCH_CPU_INDEX"] = torch_index
        ca_bundle = host.ca_bundle()
        if ca_bundle:
            env["CA_BUNDLE"] = ca_bundle
        argv: list[str | os.PathLike[str]] = ["docker", "buildx", "bake", "--progress=plain", "--load", "--file",
                                              context / "docker-bake.hcl", "--set", f"*.context={context}", target]
        cache = os.environ.get("SHIPBENCH_BAKE_CACHE")  # e.g. "type=gha" in GitHub Actions
        if cache:
            argv += ["--set", f"{target}.cache-from={cache},scope={target}",
                     "--set", f"{target}.cache-to={cache},mode=max,scope={target}"]
            ctx.note(f"bake used the external cache {cache} (SHIPBENCH_BAKE_CACHE): the cold build measures a CI "
                     "rebuild with that cache, not a build from nothing")
        times = {}
        with ctx.steps.step("bake, cold (build cache pruned)"):
            run_tool(["docker", "buildx", "prune", "--all", "--force"], what="docker buildx prune")
            times["cold"], log = run_tool(argv, env=env, cwd=context, what=f"bake {target} (cold)", timeout=5400)
        with ctx.steps.step("bake, warm (after a change to the app's code only)"):
            init = context / ctx.app.project / ctx.app.module / "__init__.py"
            init.write_text(init.read_text(encoding="utf-8") + f"# rebuilt {time.time()}\n", encoding="utf-8")
            times["warm"], _ = run_tool(argv, env=env, cwd=context, what=f"bake {target} (warm)", timeout=5400)
        ctx.metrics["setup_s"] = times
        tag = _built_tag(context, target, env)
        with ctx.steps.step("image size, layers, download size"):
            self._image_metrics(ctx, tag, base, log)
        share = Path(tempfile.mkdtemp(prefix="shipbench-shots-"))
        share.chmod(0o777)  # the image runs as an unprivileged user
        qt = ["--env", f"QT_QPA_PLATFORM={settings.qt_platform()}"] if ctx.app.name == "gui" else []
        return Artifact(path=Path(tag), kind="docker image", launcher=(*_docker_run(share), *qt, tag),
                        description=f"image {tag} from bake target {target}", share=(share, "/shots"),
                        rss_from_app=True)

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        if ctx.key.variant == "dl-cuda":
            self._gpu(ctx, artifact)
        measure.standard(ctx, artifact)  # the CUDA image too: on the CPU, so it is proven to work everywhere
        if ctx.app.name == "gui":
            self._x11(ctx, artifact)
        python = interpreters.find(ctx.key.python) if ctx.key.variant != "dl-cuda" else None
        if python is not None:
            with ctx.steps.step("reference venv on the host"):
                env_dir = reference_venv(ctx, python)
            reference = Artifact(path=env_dir, kind="venv",
                                 launcher=(str(interpreters.venv_python(env_dir)), "-m", ctx.app.module))
            measure.baseline(ctx, reference, "the same app in a venv on the host, measured right after the image")
        if artifact.share:
            shutil.rmtree(artifact.share[0], ignore_errors=True)

    def _stage_context(self, ctx: Context, context: Path, target: str) -> tuple[Path, str | None]:
        """Copy what the images are built from; add the torch wheel for dl-cpu when the torch source is one.

        Returns the context and the CPU torch index to build with, when the source is an index."""
        index = None
        shutil.rmtree(context, ignore_errors=True)
        for item in ("app_gui", "app_dl", "docker"):
            shutil.copytree(ctx.root / item, context / item,
                            ignore=shutil.ignore_patterns("__pycache__", "*.whl", "build", "dist"))
        for item in ("docker-bake.hcl", ".dockerignore"):
            shutil.copy2(ctx.root / item, context / item)
        if target == "dl-cpu":
            choice, index = torch_source.stage_for_linux(settings.torch_source(), ctx.key.python, ctx.key.arch,
                                                         context / "docker" / "wheels")
            ctx.versions["torch_source"] = choice.description
        elif target == "dl-cuda":
            ctx.versions["torch_source"] = "PyPI (the CUDA build, with its nvidia-* runtime wheels)"
        return context, index

    def _image_metrics(self, ctx: Context, tag: str, base: str, log: str) -> None:
        image = json.loads(subprocess.run(["docker", "image", "inspect", tag], capture_output=True, text=True,
                                          check=True).stdout)[0]
        base_info = json.loads(subprocess.run(["docker", "image", "inspect", base], capture_output=True, text=True,
                                              check=True).stdout)[0]
        ctx.metrics["size_bytes"] = int(image["Size"])
        ctx.metrics["layers"] = len(image["RootFS"]["Layers"])
        ctx.metrics["base_image_bytes"] = int(base_info["Size"])
        venv = subprocess.run(["docker", "run", "--rm", "--entrypoint", "du", tag, "-sb", "/opt/venv"],
                              capture_output=True, text=True, check=False).stdout.split()
        if venv:
            ctx.metrics["venv_bytes"] = int(venv[0])
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
            launcher = [*_docker_run(artifact.share[0]), *xserver.socket_mount_args(display), str(artifact.path)]
            measure.x11(ctx, Artifact(artifact.path, artifact.kind, tuple(launcher), share=artifact.share), display)

    def _gpu(self, ctx: Context, artifact: Artifact) -> None:
        reason = gpu_runtime_reason()
        if reason:
            ctx.metrics["gpu"] = {"status": "skipped", "reason": reason}
            return
        launcher = [*artifact.launcher[:-1], "--gpus", "all", artifact.launcher[-1]]
        with ctx.steps.step("training on the GPU (--gpus all)"):
            run = run_app([*launcher, "--steps", "300", "--batch-size", "1024", "--device", "cuda"],
                          timeout=settings.app_timeout_s() * 5)
        result = run.event("result") or {}
        ctx.metrics["gpu"] = {"status": "ok", "samples_per_s": result.get("samples_per_s"),
                              "device_name": result.get("device_name")}


def _docker_run(share: Path) -> list[str]:
    """`docker run` for a measured start: removed afterwards, a folder shared for screenshots."""
    return ["docker", "run", "--rm", "--volume", f"{share}:/shots"]


def _built_tag(context: Path, target: str, env: dict[str, str]) -> str:
    plan = json.loads(subprocess.run(["docker", "buildx", "bake", "--print", "--file", str(context / "docker-bake.hcl"),
                                      target], capture_output=True, text=True, env=env, cwd=context,
                                     check=True).stdout)
    tag: str = plan["target"][target]["tags"][0]
    return tag


def _saved_gzip_bytes(tag: str) -> int:
    """What a registry would send: the image's layers gzip-compressed (`docker save | gzip`), counted, not kept."""
    proc = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    counter = _Counter()
    with gzip.GzipFile(fileobj=counter, mode="wb", compresslevel=6) as compressed:
        while chunk := proc.stdout.read(1 << 20):
            compressed.write(chunk)
    if proc.wait() != 0:
        raise Failure(f"docker save {tag} failed")
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
