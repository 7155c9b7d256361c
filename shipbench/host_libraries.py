"""A shared library the host lacks, read from a failed run's output, turned into the package that brings it.

A row whose app cannot start on this host because the OS lacks a library (QtCore's libglib-2.0.so.0 where an
administrator installed only python3-venv) measured nothing about the way of shipping: it is `skipped`, with
the package to install, not `failed`. Inside a container or a guest the same line is a real finding (the
image or box lacks what the app needs: its description's system-packages), so only rows that run the app on
this host ask here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# soname prefix -> its Debian 12 package (scripts/lib/apt.sh takes the t64 name where a release renamed it)
PACKAGES = {
    "libglib-2.0.so": "libglib2.0-0", "libgthread-2.0.so": "libglib2.0-0", "libgobject-2.0.so": "libglib2.0-0",
    "libfontconfig.so": "libfontconfig1", "libfreetype.so": "libfreetype6", "libdbus-1.so": "libdbus-1-3",
    "libEGL.so": "libegl1", "libGL.so": "libgl1", "libOpenGL.so": "libopengl0", "libGLX.so": "libglx0",
    "libxkbcommon.so": "libxkbcommon0", "libxkbcommon-x11.so": "libxkbcommon-x11-0",
    "libxcb-cursor.so": "libxcb-cursor0", "libxcb-icccm.so": "libxcb-icccm4", "libxcb-image.so": "libxcb-image0",
    "libxcb-keysyms.so": "libxcb-keysyms1", "libxcb-randr.so": "libxcb-randr0",
    "libxcb-render-util.so": "libxcb-render-util0", "libxcb-shape.so": "libxcb-shape0",
    "libxcb-xfixes.so": "libxcb-xfixes0", "libxcb-xkb.so": "libxcb-xkb1", "libX11.so": "libx11-6",
    "libX11-xcb.so": "libx11-xcb1", "libgomp.so": "libgomp1", "libstdc++.so": "libstdc++6",
    "libgssapi_krb5.so": "libgssapi-krb5-2",
}
_MISSING = re.compile(r"(lib[\w.+-]+?\.so(?:\.[\d.]+)?): cannot open shared object file")


def missing_library(lines: Iterable[str]) -> str | None:
    """The first OS library (one of PACKAGES) a run's output says could not be loaded (`libglib-2.0.so.0`), or
    None. A library of the app's own (a Qt library a trimmed bundle left out) is the bundle's defect, not the
    host's: never one of these."""
    for line in lines:
        for match in _MISSING.finditer(line):
            if package_for(match.group(1)):
                return match.group(1)
    return None


def package_for(soname: str) -> str | None:
    stem = re.sub(r"(\.so)(\.[\d.]+)?$", r"\1", soname)
    return PACKAGES.get(stem)


def skip_reason(soname: str) -> str:
    """What a row skipped for a missing host library says: the library, the package, the command."""
    package = package_for(soname)
    install = f"`sudo apt-get install {package}`" if package else "its package from your distribution"
    return (f"this host lacks {soname}, which the app loads: install {install} (all the host packages: "
            "`sudo bash scripts/install-host-deps.sh`; Debian 13 and Ubuntu 24.04 may name it with t64)")
