#!/usr/bin/env bash
# Build a minimal Debian base image locally, for hosts that cannot pull from a registry (air-gapped sites,
# this project's CI): debootstrap --variant=minbase, then `docker import`. About 40 s.
#
#   scripts/build-base-image.sh bookworm       -> image shipbench/debian:bookworm-minbase
#   scripts/build-base-image.sh trixie         -> image shipbench/debian:trixie-minbase
#   scripts/build-base-image.sh bookworm shipbench/python:3.11-bookworm python3,python3-venv
#                                              -> with Debian's Python 3.11, a stand-in for python:3.11-slim
#
# MIRROR defaults to the host's own Debian mirror (or deb.debian.org). The image holds nothing but the base
# system: no CA bundle, no proxy settings, no host files. debootstrap needs root: a user who is not root gets it
# through `sudo -n` (GitHub's runners allow that); where sudo asks for a password this exits with 77, saying so.
set -euo pipefail
suite=${1:?usage: build-base-image.sh SUITE [TAG] [PACKAGES,...]}
tag=${2:-shipbench/debian:${suite}-minbase}
include=${3:-}
if docker image inspect "$tag" >/dev/null 2>&1 && [ -z "${REBUILD:-}" ]; then
    echo "build-base-image: $tag exists (REBUILD=1 to build it again)"
    exit 0
fi
as_root=""
if [ "$(id -u)" -ne 0 ]; then
    as_root="sudo -n"
    $as_root true 2>/dev/null || {
        echo "build-base-image: debootstrap needs root; run this as root or allow sudo without a password" >&2
        exit 77
    }
fi
command -v debootstrap >/dev/null || {
    echo "build-base-image: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
mirror=${MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
rootfs=$(mktemp -d)
# debootstrap mounts /proc in the root while it configures packages: an interrupted build unmounts it first
# shellcheck disable=SC2016  # $1 is the inner shell's
cleanup() {
    $as_root sh -c 'awk -v root="$1/" '"'"'index($2, root) == 1 {print $2}'"'"' /proc/mounts | sort -r \
        | xargs -r -n1 umount -l; rm -rf --one-file-system "$1"' sh "$rootfs"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
$as_root debootstrap --variant=minbase ${include:+--include="$include"} "$suite" "$rootfs" "$mirror" >/dev/null
# shellcheck disable=SC2016  # $1 is the inner shell's
$as_root sh -c 'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' sh "$rootfs"
$as_root tar -C "$rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$tag" >/dev/null
echo "build-base-image: built $tag"
