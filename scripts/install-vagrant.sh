#!/usr/bin/env bash
# Vagrant with the libvirt provider, libvirt and QEMU on Debian/Ubuntu, and running libvirt daemons: the
# distribution's packages (the `vagrant` rows of lib/packages.txt), Vagrant itself from HashiCorp's apt repository
# where the distribution has none (Ubuntu 24.04). Idempotent: what is already there is kept. Used by .ci/run and
# the workflow's vagrant job; run it yourself once, as the user who will run vagrant.
#
# Hosts without systemd as PID 1 (containers, CI sandboxes) get virtlogd and libvirtd started in the background.
# /dev/kvm is given Debian's standard owner and mode (root:kvm 0660) when it is root-only: libvirt re-probes
# QEMU on every call otherwise (a `virsh define` then takes most of a minute).
set -euo pipefail
# shellcheck source=lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v apt-get >/dev/null; then
    echo "install-vagrant: no apt-get here; install vagrant, vagrant-libvirt, libvirt and QEMU yourself" >&2
    exit 0
fi

mapfile -t packages < <(packages_for vagrant)
apt_install_missing install-vagrant "${packages[@]}"
if ! command -v vagrant >/dev/null; then
    # Ubuntu 24.04 (and later) ships no vagrant: HashiCorp's own apt repository does; the libvirt provider is
    # then built as a Vagrant plugin (for this user: run this script as the user who runs vagrant, not with sudo)
    mapfile -t packages < <(packages_for vagrant-hashicorp)
    apt_install_missing install-vagrant "${packages[@]}"
    keyring=/usr/share/keyrings/hashicorp-archive-keyring.gpg
    # shellcheck source=/dev/null
    codename=$(. /etc/os-release && echo "${UBUNTU_CODENAME:-${VERSION_CODENAME:-}}")
    echo "install-vagrant: adding HashiCorp's apt repository ($codename)"
    curl -fsSL https://apt.releases.hashicorp.com/gpg | $sudo gpg --batch --yes --dearmor -o "$keyring"
    echo "deb [arch=$(dpkg --print-architecture) signed-by=$keyring] https://apt.releases.hashicorp.com $codename main" \
        | $sudo tee /etc/apt/sources.list.d/hashicorp.list >/dev/null
    apt_install_missing install-vagrant vagrant
fi
if ! vagrant plugin list 2>/dev/null | grep -q '^vagrant-libvirt'; then
    echo "install-vagrant: installing the vagrant-libvirt plugin"
    vagrant plugin install vagrant-libvirt
fi

if [ -e /dev/kvm ] && [ "$(stat -c %U:%G /dev/kvm)" = root:root ]; then
    getent group kvm >/dev/null || $sudo groupadd --system kvm
    $sudo chown root:kvm /dev/kvm
    $sudo chmod 0660 /dev/kvm
fi
# a user who is not root needs the libvirt group for qemu:///system (takes effect at the next login)
if [ "$(id -u)" -ne 0 ] && ! id -nG | grep -qw libvirt; then
    $sudo usermod -aG libvirt "$(id -un)"
    echo "install-vagrant: added $(id -un) to the libvirt group; log in again (or run 'newgrp libvirt')" >&2
fi

# qemu:///system as this user, with the libvirt group even before the next login: a CI job's user was added to
# the group a moment ago, and without it virsh fails (under set -e the script stopped there)
virsh_system() {
    if [ "$(id -u)" -ne 0 ] && ! id -nG | grep -qw libvirt && getent group libvirt | grep -qw "$(id -un)"; then
        sg libvirt -c "virsh --connect qemu:///system $*"
    else
        virsh --connect qemu:///system "$@"
    fi
}

if ! virsh_system version >/dev/null 2>&1; then
    echo "install-vagrant: starting libvirt"
    if command -v systemctl >/dev/null && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
        $sudo systemctl start libvirtd
    else
        pgrep -x virtlogd >/dev/null || $sudo virtlogd -d
        pgrep -x libvirtd >/dev/null || $sudo libvirtd -d
    fi
    for _ in $(seq 30); do virsh_system version >/dev/null 2>&1 && break; sleep 1; done
fi
virsh_system version
# the network and pool vagrant-libvirt uses; both exist by default once libvirt-daemon-system is installed
virsh_system net-info default >/dev/null 2>&1 || \
    echo "install-vagrant: libvirt has no 'default' network; vagrant-libvirt creates its own" >&2
vagrant --version
vagrant plugin list
