"""What can change a row's result, hashed, so that a re-run reuses rows whose inputs have not changed.

A row (strategy, variant, app, python, host) is rebuilt and re-measured only when one of these changed since
its last `ok` record: the app's sources and lock, the strategy's own files (spec, Dockerfile, bake file,
Vagrantfile, scripts), the harness code that builds and measures (shipbench/ less the report), the versions of
the tools involved, the measuring settings and the torch build, the target Python, the host. Each part keeps a
digest of its own in the record, so the console can say what changed. The build caches a strategy already has
(uv's, BuildKit's, the box) are what make a changed row fast; this only spares the unchanged ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .fsutil import not_the_apps

if TYPE_CHECKING:
    from .description import App

# Folders that hold what a build wrote, never what it reads: fsutil.NOT_THE_APPS.
# Files this large (wheels in a folder) are taken by name and size: reading gigabytes on every run would cost
# more than the reuse saves, and a different wheel has a different name or size.
_LARGE = 16 * 1024 * 1024
# The harness's own tools whose versions change set-up times (the venv rows run them).
_HARNESS_TOOLS = ("uv", "tox", "tox-uv")
# The harness code that builds and measures: this package, wherever it is installed, less the report.
_HARNESS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Inputs:
    parts: dict[str, str]  # part -> its digest: app, strategy, harness, tools, settings, target

    @property
    def digest(self) -> str:
        return _sha(json.dumps(self.parts, sort_keys=True))

    def as_record(self) -> dict[str, Any]:
        return {"digest": self.digest, "parts": dict(self.parts)}

    def changed_since(self, previous: Mapping[str, Any] | None) -> list[str]:
        """The parts that differ from a record's `inputs` (all of them when it has none)."""
        before = (previous or {}).get("parts") or {}
        return [name for name, digest in self.parts.items() if before.get(name) != digest]


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def _files(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
        return
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not not_the_apps(folder, d))  # venvs and caches of any name too
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                yield Path(folder) / name


def files_digest(root: Path, paths: Iterable[str], exclude: Iterable[str] = ()) -> str:
    """One digest over files and folders relative to root: their relative names and contents.

    A missing path counts as missing (its name is hashed), so creating it later changes the digest.
    """
    excluded = {(root / item).resolve() for item in exclude}
    digest = hashlib.sha256()
    for relative in sorted(set(paths)):
        base = root / relative
        if not base.exists():
            digest.update(f"missing {relative}\n".encode())
            continue
        for file in _files(base):
            if any(file.resolve().is_relative_to(skip) for skip in excluded):
                continue
            name = file.relative_to(root).as_posix()
            size = file.stat().st_size
            content = f"{size}".encode() if size > _LARGE else file.read_bytes()
            digest.update(f"{name}\n".encode() + hashlib.sha256(content).digest())
    return digest.hexdigest()


def harness_digest() -> str:
    """The harness that builds and measures: this package less the report and the tool pins (a strategy's pin is
    that strategy's input, not every row's), with the SBOM writer's pin, which every row runs."""
    root, name = _HARNESS.parent, _HARNESS.name
    code = files_digest(root, [name], exclude=[f"{name}/reporting", f"{name}/tools"])
    return _sha(code + files_digest(root, [f"{name}/tools/sbom.txt"]))


def description_text(app: App) -> str:
    """The app's description as text that is the same in every process: a set's repr follows the string hashes,
    which differ per process (PYTHONHASHSEED), so an app with two capabilities had a new digest half the time."""
    return json.dumps(_canonical(app), sort_keys=True, default=str)


def _canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _canonical(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(item) for item in value)
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def harness_tool_versions() -> dict[str, str]:
    versions = {}
    for name in _HARNESS_TOOLS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def compute(
    root: Path,
    app: App,
    strategy_paths: Iterable[str],
    tool_versions: Mapping[str, str | None],
    settings: Mapping[str, str],
    target: Mapping[str, str | None],
) -> Inputs:
    """The inputs of one row: `root` is shipbench's checkout (the strategy's files are relative to it); the app
    counts with its folder and its description. `target` names what is built for and where."""
    folder = os.path.relpath(app.folder, app.project)
    return Inputs({
        "app": _sha(files_digest(app.project, [folder]) + description_text(app)),
        "strategy": files_digest(root, strategy_paths),
        "harness": harness_digest(),
        "tools": _sha(json.dumps({**harness_tool_versions(), **tool_versions}, sort_keys=True)),
        "settings": _sha(json.dumps(dict(settings), sort_keys=True)),
        "target": _sha(json.dumps(dict(target), sort_keys=True)),
    })
