#!/usr/bin/env bash
# Frees disk on a GitHub-hosted Ubuntu runner for the CUDA image (shipbench's bake strategy wants about 28 GB
# where Docker keeps its data, an estimate; GitHub's specification of a standard runner lists a 14 GB SSD). It
# deletes the preinstalled toolchains no shipbench job uses (Android SDK, .NET, Haskell, CodeQL) and Docker's
# cached images.
# It refuses to run anywhere but on a GitHub Actions runner: on your own machine these are yours.
set -euo pipefail
if [ "${GITHUB_ACTIONS:-}" != true ] || [ "${RUNNER_ENVIRONMENT:-}" != github-hosted ]; then
    echo "free-runner-disk: only for GitHub-hosted runners (GITHUB_ACTIONS=true, RUNNER_ENVIRONMENT=github-hosted)" >&2
    exit 1
fi
before=$(df --output=avail -B1G / | tail -n 1)
sudo rm -rf /usr/local/lib/android /usr/share/dotnet /opt/ghc /usr/local/.ghcup /opt/hostedtoolcache/CodeQL
docker image prune --all --force >/dev/null
after=$(df --output=avail -B1G / | tail -n 1)
echo "free-runner-disk: ${before// /} GB -> ${after// /} GB free on /"
