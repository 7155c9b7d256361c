#!/usr/bin/env bash
# Docker Engine with BuildKit and the buildx plugin on Debian/Ubuntu, from the distribution's packages (the
# `docker` rows of lib/packages.txt), and a running daemon. Idempotent: what is already there (GitHub's runners
# have Docker and buildx) is kept.
#
# Debian 12's docker.io (20.10) has BuildKit but no buildx; buildx is taken from Debian 13's docker-buildx
# package, fetched alone with a private apt configuration and unpacked into the CLI plugin folder. trixie is
# never added to the system's sources: a careless install from it would upgrade libc, and every bundle built
# afterwards would need a newer glibc than Debian 12 has.
set -euo pipefail
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1

if ! command -v dockerd >/dev/null; then
    mapfile -t packages < <(packages_for docker)
    apt_install_missing install-docker "${packages[@]}"
fi

plugin_dir=/usr/local/lib/docker/cli-plugins
if ! docker buildx version >/dev/null 2>&1; then
    if apt-cache show docker-buildx >/dev/null 2>&1 && ! grep -q '^VERSION_CODENAME=bookworm' /etc/os-release; then
        apt_install_missing install-docker docker-buildx
    else
        echo "install-docker: fetching docker-buildx from Debian 13 (trixie), plugin only"
        mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
        mirror=${mirror:-http://deb.debian.org/debian}
        work=$(mktemp -d)
        trap 'rm -rf "$work"' EXIT
        mkdir -p "$work/lists/partial" "$work/archives/partial"
        printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main\n' "$mirror" \
            >"$work/sources.list"
        apt_private=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
                     -o Dir::State::Lists="$work/lists" -o Dir::Cache::Archives="$work/archives"
                     -o APT::Get::List-Cleanup=0)
        apt-get "${apt_private[@]}" update -q
        (cd "$work" && apt-get "${apt_private[@]}" download docker-buildx)
        dpkg-deb -x "$work"/docker-buildx_*.deb "$work/root"
        $sudo install -D -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-buildx" "$plugin_dir/docker-buildx"
    fi
fi

if ! docker info >/dev/null 2>&1; then
    echo "install-docker: starting dockerd"
    if command -v systemctl >/dev/null && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
        $sudo systemctl start docker
    else
        # no systemd as PID 1 (containers, CI sandboxes): run the daemon in the background
        $sudo sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
    fi
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { echo "install-docker: dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi
docker version --format 'install-docker: engine {{.Server.Version}}'
docker buildx version
