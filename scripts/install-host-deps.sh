#!/usr/bin/env bash
# The system packages shipbench's measuring runs need on Debian/Ubuntu beyond Python itself (noxw.py runs this):
# the `measure` rows of scripts/lib/packages.txt, which says what each is for and its name on each distribution.
# Only what is missing is installed. Docker, Vagrant and what the tests need have scripts of their own.
set -euo pipefail
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"
if ! command -v apt-get >/dev/null; then
    echo "install-host-deps: no apt-get here; install Xvfb, Qt's xcb libraries, a C compiler and Python's shared" \
         "library with your package manager" >&2
    exit 0
fi
mapfile -t packages < <(packages_for measure)
apt_install_missing install-host-deps "${packages[@]}"
