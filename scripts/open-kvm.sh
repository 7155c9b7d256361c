#!/usr/bin/env bash
# Opens /dev/kvm to every user of this machine, with the udev rule GitHub gives for its Linux runners: there
# /dev/kvm is root:kvm 0660 and the runner's user is not in the kvm group, so without this the VM rows would
# fall back to QEMU's software emulation (and report emulated times) on a host that has KVM.
# For a CI runner, which is thrown away after the job. On your own machine prefer
# `sudo usermod -aG kvm "$USER"` and a new login: that opens KVM to you alone.
set -euo pipefail
if [ ! -e /dev/kvm ]; then
    echo "open-kvm: no /dev/kvm on this host: VMs run under QEMU's software emulation (the record says so)" >&2
    exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' \
    | $sudo tee /etc/udev/rules.d/99-kvm4all.rules >/dev/null
$sudo udevadm control --reload-rules
$sudo udevadm trigger --name-match=kvm
ls -l /dev/kvm
