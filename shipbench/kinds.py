"""What differs between kinds of app, in one place: how a window is seen ready and what its target must install,
what makes an app a service and how its throughput is taken.

Every strategy asks these questions through the app's description (description.App's properties call here);
none keeps a special case of its own. What a trimmed frozen bundle must keep is the one kind-fact that lives
elsewhere: in pyinstaller/trim.py, because a copied PyInstaller spec imports it without shipbench.

- A window's toolkit decides how its first frame is seen. Qt: from inside, by the probe shipbench injects (the
  first paint event, exact; the only toolkit with such a hook). Any other toolkit: from the X server, the first
  top-level window mapped on a virtual display of the run's own (x11_window.py), after which the app is stopped.
  The toolkit is read from the declared dependencies (a Qt binding, pygame, wxPython, PyGObject), else it is
  the standard library's tkinter; `toolkit = "..."` in the description overrides the guess.
- A service (ready = {port = N}, or a throughput that is an HTTP request) never ends by itself: it is stopped at
  ready, and its throughput is requests/s from shipbench's load generator (loadgen.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# What a Qt window needs from Debian beyond a slim base: the xcb platform plugin's libraries, GL, fonts (the
# WINDOW_PACKAGES of docker-bake.hcl, which the samples' images take; a test keeps the two the same)
QT_PACKAGES = ("libglib2.0-0", "libgl1", "libegl1", "libfontconfig1", "fontconfig-config", "fonts-dejavu-core",
               "libdbus-1-3", "libxkbcommon0", "libxkbcommon-x11-0", "libx11-xcb1", "libxcb-cursor0",
               "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1", "libxcb-randr0", "libxcb-render-util0",
               "libxcb-shape0", "libxcb-xfixes0", "libxcb-xkb1", "libxcb-xinerama0")


@dataclass(frozen=True)
class Toolkit:
    """A window toolkit: what brings it, how its first frame is seen, what a target must install for it."""

    name: str
    distributions: tuple[str, ...]  # PyPI names (canonical) whose presence among the dependencies means it
    probe: bool  # True: the injected probe sees the first paint (Qt); False: the first window mapped on X
    # Debian packages on a target whose Python is Debian's own python3 (the .deb, the VM, images on a Debian base)
    debian_packages: tuple[str, ...]
    # ... and on the official python:X.Y images, whose CPython carries its own _tkinter but not Tk's libraries
    official_image_packages: tuple[str, ...]
    proven: bool  # measured through every way by shipbench's own fixtures and a public app (docs/kinds.md)


TOOLKITS = {
    "qt": Toolkit("qt", ("pyside6", "pyside6-essentials", "pyside6-addons", "pyqt6", "pyqt5", "pyside2"), True,
                  QT_PACKAGES, QT_PACKAGES, True),
    "tk": Toolkit("tk", (), False, ("python3-tk",), ("libtk8.6",), True),
    "sdl": Toolkit("sdl", ("pygame", "pygame-ce", "pysdl2"), False, (), (), False),
    "wx": Toolkit("wx", ("wxpython",), False, (), (), False),
    "gtk": Toolkit("gtk", ("pygobject",), False, (), (), False),
}
STANDARD_TOOLKIT = "tk"  # a window app that declares no toolkit draws with the standard library's tkinter


def declared_distributions(folder: Path, requirements: str | None, extras: tuple[str, ...],
                           project: dict[str, Any]) -> set[str]:
    """The canonical names of what the app declares it needs: its requirements file's lines (and the files it
    includes with -r), else its `project` table's dependencies and those of the extras asked for. Lines that are
    not requirements (options, paths, URLs) are passed over."""
    lines: list[str] = []
    if requirements:
        lines = _requirement_lines(folder / requirements, set())
    else:
        lines = [str(line) for line in project.get("dependencies", [])]
        for extra in extras:
            lines += [str(line) for line in project.get("optional-dependencies", {}).get(extra, [])]
    names: set[str] = set()
    for line in lines:
        try:
            names.add(canonicalize_name(Requirement(line).name))
        except InvalidRequirement:
            continue
    return names


def _requirement_lines(path: Path, seen: set[Path]) -> list[str]:
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    lines = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        included = re.match(r"^(?:-r|--requirement)[=\s]+(\S+)$", line)
        if included:
            lines += _requirement_lines(path.parent / included.group(1), seen)
        elif line and not line.startswith("-"):
            lines.append(line)
    return lines


def guess_toolkit(declared: set[str]) -> str:
    """The toolkit the declared dependencies bring (the first of TOOLKITS that matches), else tkinter's."""
    for toolkit in TOOLKITS.values():
        if declared & set(toolkit.distributions):
            return toolkit.name
    return STANDARD_TOOLKIT


def is_official_python_image(base: str) -> bool:
    """Whether a base image is one of Docker's official python images (its own CPython in /usr/local), not a
    Debian or Ubuntu image whose python3 is the distribution's."""
    name = base.split("@")[0].rsplit(":", 1)[0]
    return name in ("python", "library/python", "docker.io/library/python")


def target_packages(toolkit: str | None, debian_python: bool = True) -> tuple[str, ...]:
    """The Debian packages a window of this toolkit needs on a target: where the Python is Debian's (the .deb,
    the VM, images on a Debian base) or the official image's own."""
    if toolkit is None:
        return ()
    found = TOOLKITS[toolkit]
    return found.debian_packages if debian_python else found.official_image_packages
