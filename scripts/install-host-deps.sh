#!/usr/bin/env bash
# System packages shipbench's runs and tests need on Debian/Ubuntu, beyond Python itself:
# an X server for the GUI (Xvfb), the X11/xcb libraries that Qt's xcb platform plugin loads, a C compiler (the
# trimmed PyInstaller spec builds a small library), debootstrap (local Debian base images) and Chromium (the
# report's browser test).
# (Qt needs no X libraries offscreen; they matter once the GUI is shown on a real display.)
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
if ! command -v apt-get >/dev/null; then
    echo "install-host-deps: no apt-get here; install Xvfb and Qt's xcb libraries with your package manager" >&2
    exit 0
fi
packages=(
    xvfb xauth gcc debootstrap chromium
    libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
    libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3
)
apt_install_missing install-host-deps "${packages[@]}"
