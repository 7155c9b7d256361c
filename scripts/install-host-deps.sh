#!/usr/bin/env bash
# System packages shipbench's measuring runs need on Debian/Ubuntu, beyond Python itself (noxw.py runs this):
# - python3-venv: the distribution's Python makes no virtual environment without it (no ensurepip);
# - libpython3.X: Python's shared library, which PyInstaller copies into every bundle (a separate package for
#   the distribution's Python);
# - GLib, which QtCore loads even offscreen, and Xvfb with the X11/xcb libraries that Qt's xcb platform plugin
#   loads (the GUI over X11);
# - a C compiler (the trimmed PyInstaller spec builds a small library; Nuitka compiles the app), ccache (Nuitka's
#   warm builds), patchelf (Nuitka's standalone programs), binutils' readelf (the trim lists), and debootstrap
#   (local Debian images).
# Only what is missing is installed. Docker, Vagrant and the tests' browser have scripts of their own.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
if ! command -v apt-get >/dev/null; then
    echo "install-host-deps: no apt-get here; install Xvfb, Qt's xcb libraries, a C compiler and Python's shared" \
         "library with your package manager" >&2
    exit 0
fi
packages=(
    python3-venv xvfb xauth gcc ccache patchelf binutils debootstrap libglib2.0-0
    libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
    libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3
)
# the distribution's own Python (the fresh-machine one), whatever python3 comes first on PATH
if [ -x /usr/bin/python3 ]; then
    version=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    packages+=("libpython$version" "libpython$version-dev")
fi
apt_install_missing install-host-deps "${packages[@]}"
