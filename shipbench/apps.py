"""The apps of the project being measured: its [tool.shipbench] description (description.py), by name."""

from __future__ import annotations

from pathlib import Path

from . import settings
from .description import App, load
from .errors import UsageError

__all__ = ["App", "all_apps", "get"]


def all_apps(root: Path | None = None) -> dict[str, App]:
    return load(root or settings.project_root())


def get(name: str, root: Path | None = None) -> App:
    apps = all_apps(root)
    try:
        return apps[name]
    except KeyError:
        raise UsageError(f"unknown app {name!r}: {(root or settings.project_root()) / 'pyproject.toml'} describes "
                         f"{', '.join(apps)}") from None
