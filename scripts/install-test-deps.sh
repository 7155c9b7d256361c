#!/usr/bin/env bash
# What the integration tests need beyond the measuring host packages (install-host-deps.sh): a headless
# browser for the report's test. Debian ships it as `chromium`; Ubuntu's `chromium-browser` is a snap shim.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
if ! command -v apt-get >/dev/null; then
    echo "install-test-deps: no apt-get here; install Chromium, else the browser test is skipped" >&2
    exit 0
fi
bash "$(dirname "$0")/install-host-deps.sh"
apt_install_missing install-test-deps chromium
