#!/usr/bin/env bash
# Build a Vagrant box for the libvirt provider from Debian packages alone: no Vagrant Cloud, no Packer, no
# installer ISO, no loop devices or mounts (so it also works inside a container or a CI sandbox).
#
#   vagrant/build-box.sh OUT_DIR
#
# writes OUT_DIR/shipbench-bookworm.box (a tar of box.img, metadata.json and a box-level Vagrantfile),
# OUT_DIR/vagrant_ed25519(.pub), the key pair the box's `vagrant` user accepts, and the guest's kernel and
# initramfs (OUT_DIR/vmlinuz, OUT_DIR/initrd.img), which shipbench boots alone to find out whether KVM works.
# The key pair is generated here, once per OUT_DIR; the private key never leaves OUT_DIR and is never part of
# the box.
#
# The guest: Debian 12, the cloud kernel (virtio drivers, small), systemd, openssh-server, sudo, Python 3.11 with
# venv, and what the sample apps need from the system: Qt's X11/xcb libraries and fonts, and Xvfb so the GUI can
# run against a real X server in the guest. Root needed (debootstrap). About 2 minutes.
#
# MIRROR defaults to the host's own Debian mirror (or deb.debian.org); SUITE to bookworm; DISK_GB to 8.
set -euo pipefail
out=${1:?usage: build-box.sh OUT_DIR}
suite=${SUITE:-bookworm}
disk_gb=${DISK_GB:-8}
label=shipbench-root
mirror=${MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
for tool in debootstrap sfdisk mkfs.ext4 qemu-img ssh-keygen; do
    command -v "$tool" >/dev/null || { echo "build-box: $tool is missing (scripts/install-vagrant.sh installs it)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "build-box: debootstrap needs root (run with sudo)" >&2; exit 1; }

# One package per line, so a change shows as one line in a diff. `--include` resolves dependencies, not
# recommends: the guest gets nothing that was not asked for.
packages=(
    # boot and a reachable machine
    systemd-sysv udev dbus libpam-systemd systemd-resolved linux-image-cloud-amd64 initramfs-tools grub-pc-bin
    openssh-server sudo iproute2 procps ca-certificates rsync
    # Python, able to make a venv
    python3 python3-venv
    # app_gui: the libraries Qt's platform plugins load, fonts, and an X server
    libglib2.0-0 libgl1 libegl1 libfontconfig1 fontconfig-config fonts-dejavu-core libdbus-1-3 libxkbcommon0
    libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
    libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-xinerama0 xvfb xauth
)

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/.work.XXXXXX")
# debootstrap mounts /proc in the root while it configures packages: an interrupted build must unmount it
# before the folder can go (else the next build finds a .work folder that rm cannot remove)
cleanup() {
    awk -v root="$work/" 'index($2, root) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rootfs=$work/rootfs
step() { printf 'build-box: [%s] %s\n' "$(date +%T)" "$*"; }

[ -s "$out/vagrant_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "vagrant box key" -f "$out/vagrant_ed25519"

step "debootstrap $suite from $mirror (${#packages[@]} packages and their dependencies)"
include=$(printf '%s,' "${packages[@]}")
debootstrap --variant=minbase --include="${include%,}" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2; exit 1; }

step "configure the guest"
in_root() { chroot "$rootfs" "$@"; }
echo shipbench >"$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 shipbench\n::1 localhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
echo "LABEL=$label / ext4 defaults,errors=remount-ro 0 1" >"$rootfs/etc/fstab"
# the vagrant user: passwordless sudo, the generated public key
in_root useradd --create-home --shell /bin/bash --groups sudo vagrant
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' >"$rootfs/etc/sudoers.d/vagrant"
chmod 0440 "$rootfs/etc/sudoers.d/vagrant"
install -d -m 0700 "$rootfs/home/vagrant/.ssh"
install -m 0600 "$out/vagrant_ed25519.pub" "$rootfs/home/vagrant/.ssh/authorized_keys"
in_root chown -R vagrant:vagrant /home/vagrant/.ssh
# network: DHCP on whatever NIC the provider gives, names resolved by systemd-resolved
cat >"$rootfs/etc/systemd/network/20-dhcp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=yes
EOF
in_root systemctl enable systemd-networkd systemd-resolved ssh >/dev/null 2>&1
in_root systemctl disable systemd-networkd-wait-online.service >/dev/null 2>&1 || true
in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1
ln -sf /run/systemd/resolve/stub-resolv.conf "$rootfs/etc/resolv.conf"
# every machine made from the box gets its own identity: machine-id and SSH host key at first boot
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id" "$rootfs"/etc/ssh/ssh_host_*
# ed25519 only: an RSA host key takes half a minute to generate under software emulation
printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nUseDNS no\n' >"$rootfs/etc/ssh/sshd_config.d/shipbench.conf"
cat >"$rootfs/etc/systemd/system/ssh-hostkey.service" <<'EOF'
[Unit]
Description=Generate this machine's SSH host key
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key

[Install]
WantedBy=multi-user.target
EOF
in_root systemctl enable ssh-hostkey.service >/dev/null 2>&1
in_root apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs/debootstrap"

step "boot loader (GRUB, written without grub-install)"
kernel=$(cd "$rootfs/boot" && ls vmlinuz-* | sort -V | tail -n 1)
initrd=initrd.img-${kernel#vmlinuz-}
[ -f "$rootfs/boot/$initrd" ] || { echo "build-box: no $initrd in the guest" >&2; exit 1; }
mkdir -p "$rootfs/boot/grub/i386-pc"
cp "$rootfs"/usr/lib/grub/i386-pc/*.mod "$rootfs"/usr/lib/grub/i386-pc/*.lst "$rootfs/boot/grub/i386-pc/"
cat >"$rootfs/boot/grub/grub.cfg" <<EOF
set timeout=0
set default=0
menuentry "Debian $suite (shipbench)" {
    linux /boot/$kernel root=LABEL=$label ro console=tty0 console=ttyS0,115200n8 net.ifnames=0 quiet
    initrd /boot/$initrd
}
EOF
in_root grub-mkimage -O i386-pc -o /tmp/core.img -p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2
mv "$rootfs/tmp/core.img" "$work/core.img"
# the kernel and initramfs beside the box too: a host can boot them directly to test whether KVM works
install -m 0644 "$rootfs/boot/$kernel" "$out/vmlinuz"
install -m 0644 "$rootfs/boot/$initrd" "$out/initrd.img"
cp "$rootfs/usr/lib/grub/i386-pc/boot.img" "$work/boot.img"

step "disk image (${disk_gb} GiB, ext4 filled from the folder, no mounts)"
raw=$work/disk.raw
truncate -s "${disk_gb}G" "$raw"
echo '2048,,L,*' | sfdisk --quiet "$raw"
blocks=$(( (disk_gb * 1024 * 1024 * 1024 - 1048576) / 4096 ))
mkfs.ext4 -q -L "$label" -b 4096 -E offset=1048576 -d "$rootfs" "$raw" "$blocks"
dd if="$work/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$raw" bs=512 seek=1 conv=notrunc status=none

step "box (compressed qcow2 + metadata + Vagrantfile)"
box_dir=$work/box
mkdir -p "$box_dir"
qemu-img convert -c -O qcow2 "$raw" "$box_dir/box.img"
rm -f "$raw"
printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %d}\n' "$disk_gb" >"$box_dir/metadata.json"
cat >"$box_dir/Vagrantfile" <<'EOF'
# Defaults of the shipbench Debian box; a project's own Vagrantfile overrides any of them.
Vagrant.configure("2") do |config|
  config.vm.guest = :debian
  config.ssh.username = "vagrant"
  config.vm.provider :libvirt do |libvirt|
    libvirt.disk_bus = "virtio"
    libvirt.nic_model_type = "virtio"
  end
end
EOF
tar -C "$box_dir" -cf "$out/shipbench-$suite.box.tmp" metadata.json Vagrantfile box.img
mv "$out/shipbench-$suite.box.tmp" "$out/shipbench-$suite.box"
# run through sudo: hand the results (the private key above all) back to the user who asked for them
if [ -n "${SUDO_UID:-}" ]; then
    chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$out"
fi
step "done: $out/shipbench-$suite.box ($(du -h "$out/shipbench-$suite.box" | cut -f1))"
