"""The build context of one app's image: the repository's docker-bake.hcl and docker/, and the app, staged from
its description. What `docker buildx bake` builds from, through the same file that builds the samples.

    context/docker-bake.hcl      the repository's bake file, as it is
    context/app.hcl              the app's variables: APP, APP_START, ... from its description (bake reads it after
                                 docker-bake.hcl, whose APP_* variables it sets)
    context/docker/              app.Dockerfile and its helpers (app-requirements.py, app-start.py,
                                 distroless-closure.py); wheels/: a CPU torch wheel, when the torch source is one
    context/Dockerfile           the app's own, where its description names one (`dockerfile`)
    context/app/                 a copy of the app's folder (the warm build edits this copy, never the project)

The folder is complete: copied elsewhere, `docker buildx bake -f docker-bake.hcl -f app.hcl` builds the same image.
A TLS-intercepting proxy's CA is not in it: CA_BUNDLE in the environment of the build names it (a BuildKit secret).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import app_files, description, kinds, settings, torch_source
from .errors import Skip
from .runner import output

if TYPE_CHECKING:  # the strategies build on this module; only the type is needed here
    from .strategies.base import Context

APP_IN_IMAGE = "/app"  # the app's folder in the image (docker/app.Dockerfile copies it there)
BAKE_FILE = "docker-bake.hcl"
# docker/app.Dockerfile and what it runs while building
HARNESS_FILES = ("app.Dockerfile", "app-requirements.py", "app-start.py", "distroless-closure.py")
# What a Qt window needs from Debian (kinds.py; the WINDOW_PACKAGES of docker-bake.hcl, a test keeps them the same)
WINDOW_PACKAGES = kinds.QT_PACKAGES
@dataclass(frozen=True)
class Staged:
    bake_file: Path
    variables: Path  # app.hcl
    dockerfile: Path
    target: str
    tag: str


def system_packages(app: description.App, debian_python: bool = True) -> list[str]:
    """The Debian packages the app needs on the target: its window toolkit's (kinds.py: for a target whose Python
    is Debian's own, or the official image's), then the description's own."""
    packages = list(kinds.target_packages(app.toolkit, debian_python)) if app.shows_window else []
    return packages + [p for p in app.system_packages if p not in packages]


def variables(app: description.App, base: str) -> dict[str, str]:
    """docker-bake.hcl's variables for the app, from its description."""
    in_image = app.command("/opt/venv/bin/python", "/opt/venv/bin", APP_IN_IMAGE)
    without_args = in_image[: len(in_image) - len(app.args)]  # the run passes the app's args, like every launcher
    return {"APP": app.name, "APP_START": shlex.join(without_args), "APP_IS_PROJECT": "1" if app.is_project else "0",
            "APP_REQUIREMENTS": app.requirements or "", "APP_EXTRAS": ",".join(app.extras),
            "APP_TORCH": "1" if app.uses_torch else "0",
            "APP_SYSTEM_PACKAGES": " ".join(system_packages(app, not kinds.is_official_python_image(base))),
            "BASE_IMAGE": base, "REVISION": output(["git", "rev-parse", "HEAD"], cwd=app.project) or ""}


def hcl_string(value: str) -> str:
    """`value` as an HCL string literal: JSON's escapes, and `${`/`%{` kept literal (HCL would interpolate them)."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def bake_environment(root: Path, ca_bundle: str | None) -> dict[str, str]:
    """The environment of a `docker buildx bake` run over a staged context: this one without any variable that
    docker-bake.hcl declares (bake takes those from the environment before any file, so a PYTHON or APP_START
    exported in the user's shell would override app.hcl), and CA_BUNDLE: the proxy CA's path, or empty."""
    declared = set(re.findall(r'^variable "(\w+)"', (root / BAKE_FILE).read_text(encoding="utf-8"), re.M))
    return {**{k: v for k, v in os.environ.items() if k not in declared}, "CA_BUNDLE": ca_bundle or ""}


def check_dependencies(app_copy: Path, app: description.App, root: Path) -> None:
    """Read the app's dependencies on the host with the image's own helper (docker/app-requirements.py), so that
    an app whose dependencies it cannot read is skipped with the reason before any build."""
    done = subprocess.run([sys.executable, str(root / "docker" / "app-requirements.py"), str(app_copy), "-",
                           "--requirements", app.requirements or "", "--extras", ",".join(app.extras)],
                          capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise Skip((said[-1] if said else f"docker/app-requirements.py exited {done.returncode}")
                   .removeprefix("app-requirements: ").replace("pyproject.toml", str(app.folder / "pyproject.toml"), 1))


def stage(ctx: Context, context: Path, base: str) -> Staged:
    app, variant = ctx.app, ctx.key.variant
    shutil.rmtree(context, ignore_errors=True)
    (context / "docker" / "wheels").mkdir(parents=True)
    for name in HARNESS_FILES:
        shutil.copy2(ctx.root / "docker" / name, context / "docker" / name)
    shutil.copy2(ctx.root / BAKE_FILE, context / BAKE_FILE)
    ctx.note(app_files.copy_app(app.folder, context / "app", app.data, for_image=True).note())
    check_dependencies(context / "app", app, ctx.root)
    values = variables(app, base)
    dockerfile = context / "docker" / "app.Dockerfile"
    if app.dockerfile:
        dockerfile = context / "Dockerfile"
        shutil.copy2(app.dockerfile, dockerfile)
        values["DOCKERFILE"] = "Dockerfile"
    if app.uses_torch:
        if variant != "cuda":
            choice, index = torch_source.stage_for_linux(settings.torch_source(), ctx.key.python, ctx.key.arch,
                                                         context / "docker" / "wheels")
            values["TORCH_INDEX"] = index or torch_source.PYTORCH_CPU_INDEX
            ctx.versions["torch_source"] = choice.description
        else:
            ctx.versions["torch_source"] = "PyPI (the CUDA build, with its nvidia-* runtime wheels)"
    app_hcl = context / "app.hcl"
    app_hcl.write_text("# this app's variables for docker-bake.hcl (generated by shipbench from its description):\n"
                       "#   docker buildx bake -f docker-bake.hcl -f app.hcl " + f"{app.name}-{variant}\n"
                       + "".join(f"{name} = {hcl_string(value)}\n" for name, value in values.items()),
                       encoding="utf-8")
    return Staged(context / BAKE_FILE, app_hcl, dockerfile, f"{app.name}-{variant}",
                  f"shipbench/{app.name}:bench-{variant}")


@contextmanager
def app_code_changed(context: Path) -> Iterator[str]:
    """A comment appended to one Python file of the staged app (a code change, nothing else) for the block, which
    times the rebuild; the file's name. Undone after, so that the image measured and left behind is built from
    the user's files as they are (the build after the undo is the build cache's: its layers are the cold one's)."""
    files = sorted((context / "app").rglob("*.py"))
    if not files:
        marker = context / "app" / ".rebuilt"
        marker.write_text(f"{time.time()}\n", encoding="utf-8")
        try:
            yield marker.name
        finally:
            marker.unlink(missing_ok=True)
        return
    original = files[0].read_bytes()
    files[0].write_bytes(original + f"\n# rebuilt {time.time()}\n".encode())
    try:
        yield files[0].relative_to(context / "app").as_posix()
    finally:
        files[0].write_bytes(original)
