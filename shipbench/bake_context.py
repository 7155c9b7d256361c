"""The build context of one app's image, staged from its description: what `docker buildx bake` builds from.

    context/Dockerfile           docker/app.Dockerfile, or the app's own (`dockerfile` in its description)
    context/docker-bake.json     one target: build args, tag, labels, the CA secret where this host needs one
    context/deps/requirements.txt  the app's dependencies (its own cached layer), plus a project's build backend
    context/deps/torch           present when the app uses torch (installed first, from wheels/ or an index)
    context/wheels/              a CPU torch wheel, when the torch source is one (offline builds)
    context/app/                 a copy of the app's folder
    context/start                the start command: the image's entry point
    context/start.py             the same start in Python, for the distroless image (no shell to run `start`)
    context/distroless-closure.py  what assembles the distroless image's files (docker/distroless-closure.py)

The folder is complete: copied elsewhere, `docker buildx bake --file docker-bake.json` builds the same image.
"""

from __future__ import annotations

import json
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from . import description, host, settings, torch_source
from .errors import Skip
from .runner import output

if TYPE_CHECKING:  # the strategies build on this module; only the type is needed here
    from .strategies.base import Context

APP_IN_IMAGE = "/app"  # the app's folder in the image (docker/app.Dockerfile copies it there)
# What a Qt window needs from Debian beyond a slim base: the xcb platform plugin's libraries, GL, fonts
WINDOW_PACKAGES = ("libglib2.0-0", "libgl1", "libegl1", "libfontconfig1", "fontconfig-config", "fonts-dejavu-core",
                   "libdbus-1-3", "libxkbcommon0", "libxkbcommon-x11-0", "libx11-xcb1", "libxcb-cursor0",
                   "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1", "libxcb-randr0", "libxcb-render-util0",
                   "libxcb-shape0", "libxcb-xfixes0", "libxcb-xkb1", "libxcb-xinerama0")
# what is never part of an app's build context
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".git", ".venv", ".nox", ".tox", "build", "dist",
                                 "*.egg-info", "results", "report", ".noxw")


@dataclass(frozen=True)
class Staged:
    bake_file: Path
    dockerfile: Path
    target: str
    tag: str


def system_packages(app: description.App) -> list[str]:
    """The Debian packages the app needs on the target: a window's, then the description's own."""
    packages = list(WINDOW_PACKAGES) if app.shows_window else []
    return packages + [p for p in app.system_packages if p not in packages]


def dependencies(app: description.App) -> list[str]:
    """The app's dependencies as requirement lines: its requirements file, or its pyproject's (with extras)
    plus its build backend, so the app layer can install it without build isolation."""
    if app.requirements:
        return (app.folder / app.requirements).read_text(encoding="utf-8").splitlines()
    data = description.read_pyproject(app.folder / "pyproject.toml")
    project = data.get("project", {})
    if "dependencies" in project.get("dynamic", []) or "project" not in data:
        raise Skip(f"{app.folder / 'pyproject.toml'} declares its dependencies dynamically: the image's dependency "
                   "layer needs them listed in [project] dependencies (or give the app a requirements file)")
    lines: list[str] = list(project.get("dependencies", []))
    for extra in app.extras:
        lines += project.get("optional-dependencies", {}).get(extra, [])
    backend: list[str] = list(data.get("build-system", {}).get("requires", ["setuptools>=61"]))
    # setuptools before 70.1 asks for `wheel` at build time, which --no-build-isolation cannot fetch then
    return lines + backend + (["wheel"] if any(r.startswith("setuptools") for r in backend) else [])


def stage(ctx: Context, context: Path, base: str) -> Staged:
    app, variant = ctx.app, ctx.key.variant
    shutil.rmtree(context, ignore_errors=True)
    (context / "deps").mkdir(parents=True)
    (context / "wheels").mkdir()
    dockerfile = context / "Dockerfile"
    if variant == "distroless" and app.dockerfile:
        raise Skip(f"the app's own Dockerfile ({app.dockerfile.name}) has no distroless stage to build")
    shutil.copy2(app.dockerfile or ctx.root / "docker" / "app.Dockerfile", dockerfile)
    if not app.dockerfile:
        shutil.copy2(ctx.root / "docker" / "distroless-closure.py", context / "distroless-closure.py")
        (context / "start.py").write_text(start_script(app), encoding="utf-8")
    shutil.copytree(app.folder, context / "app", ignore=IGNORED)
    (context / "deps" / "requirements.txt").write_text("\n".join(dependencies(app)) + "\n", encoding="utf-8")
    in_image = app.command("/opt/venv/bin/python", "/opt/venv/bin", "/app")
    without_args = in_image[: len(in_image) - len(app.args)]  # the run passes the app's args, like every launcher
    (context / "start").write_text("#!/bin/sh\n# the app's start command (generated by shipbench)\nexec "
                                   + " ".join(shlex.quote(p) for p in without_args) + ' "$@"\n', encoding="utf-8")
    (context / "start").chmod(0o755)
    args: dict[str, str] = {"BASE_IMAGE": base, "SYSTEM_PACKAGES": " ".join(system_packages(app)),
                            "APP_IS_PROJECT": "0" if app.requirements else "1",
                            "TORCH_USE_WHEELS": "0" if variant == "cuda" else "1", "TORCH_INDEX": ""}
    if app.uses_torch:
        (context / "deps" / "torch").write_text("torch comes first (see the Dockerfile)\n", encoding="utf-8")
        if variant != "cuda":
            choice, index = torch_source.stage_for_linux(settings.torch_source(), ctx.key.python, ctx.key.arch,
                                                         context / "wheels")
            args["TORCH_INDEX"] = index or torch_source.PYTORCH_CPU_INDEX
            ctx.versions["torch_source"] = choice.description
        else:
            ctx.versions["torch_source"] = "PyPI (the CUDA build, with its nvidia-* runtime wheels)"
    target = f"{app.name}-{variant}"
    tag = f"shipbench/{app.name}:bench-{variant}"
    definition: dict[str, Any] = {
        "context": ".", "dockerfile": "Dockerfile", "args": args, "tags": [tag],
        # the stage: docker/app.Dockerfile's `runtime` (cpu, cuda) or `distroless`; an app's own: its last
        **({} if app.dockerfile else {"target": "distroless" if variant == "distroless" else "runtime"}),
        "labels": {"org.opencontainers.image.title": f"{app.name} ({variant})",
                   "org.opencontainers.image.revision": output(["git", "rev-parse", "HEAD"], cwd=app.project) or "",
                   "org.opencontainers.image.base.name": base},
    }
    ca_bundle = host.ca_bundle()
    if ca_bundle:  # a TLS-intercepting proxy's CA: a BuildKit secret, never a layer
        definition["secret"] = [f"id=ca,src={ca_bundle}"]
    bake_file = context / "docker-bake.json"
    bake_file.write_text(json.dumps({"group": {"default": {"targets": [target]}}, "target": {target: definition}},
                                    indent=2) + "\n", encoding="utf-8")
    return Staged(bake_file, dockerfile, target, tag)


def start_script(app: description.App) -> str:
    """The app's start in Python (the distroless image's entry point runs it with the venv's Python): a module
    as `python -m`, a script from /app with its folder first on sys.path, a console script by its entry point."""
    kind, value = app.start
    if kind == "module":
        body = f"runpy.run_module({value!r}, run_name='__main__', alter_sys=True)\n"
    elif kind == "script":
        path = str(PurePosixPath(APP_IN_IMAGE) / value)
        body = (f"sys.argv[0] = {path!r}\nsys.path.insert(0, {str(PurePosixPath(path).parent)!r})\n"
                f"runpy.run_path({path!r}, run_name='__main__')\n")
    else:
        body = ("from importlib.metadata import entry_points\n\n"
                f"entry = next(e for e in entry_points(group='console_scripts') if e.name == {value!r})\n"
                f"sys.argv[0] = {value!r}\nsys.exit(entry.load()())\n")
    return ("# the app's start command (generated by shipbench), for an image without a shell\n"
            f"import runpy\nimport sys\n\n{body}")


def touch_app_code(context: Path) -> str:
    """Append a comment to one Python file of the staged app (a code change, nothing else); its name."""
    files = sorted((context / "app").rglob("*.py"))
    if not files:
        (context / "app" / ".rebuilt").write_text(f"{time.time()}\n", encoding="utf-8")
        return ".rebuilt"
    files[0].write_text(files[0].read_text(encoding="utf-8") + f"# rebuilt {time.time()}\n", encoding="utf-8")
    return files[0].relative_to(context / "app").as_posix()
