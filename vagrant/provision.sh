#!/usr/bin/env bash
# Runs in the guest as the vagrant user (see the Vagrantfile): install the app in /vagrant into ~/venv, and
# give the guest a virtual display (Xvfb on :99) for window apps.
#
# APP_INSTALL: pip's arguments for the app, run in /vagrant. SYSTEM_PACKAGES: Debian packages it needs beyond
# the box's. Wheels under /wheels (a CPU torch wheel) are installed first, so pip does not fetch the
# multi-gigabyte CUDA build of torch from PyPI. A CA bundle at
# /tmp/provision-ca.pem (a TLS-intercepting proxy's) is trusted by pip for this run only, then deleted.
set -euo pipefail
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
ca=/tmp/provision-ca.pem
trap 'rm -f "$ca"' EXIT
[ -s "$ca" ] && export PIP_CERT=$ca

# A display for the GUI: a systemd unit, so it survives a reboot and is there before anyone logs in.
sudo tee /etc/systemd/system/xvfb.service >/dev/null <<'EOF'
[Unit]
Description=Virtual X display :99 for GUI apps

[Service]
ExecStart=/usr/bin/Xvfb :99 -screen 0 1280x800x24 -nolisten tcp
User=vagrant

[Install]
WantedBy=multi-user.target
EOF
sudo systemctl daemon-reload
sudo systemctl enable --now xvfb.service
echo "provision: Xvfb unit ready at ${SECONDS} s"

if [ -n "${SYSTEM_PACKAGES:-}" ]; then
    sudo apt-get update -q
    # shellcheck disable=SC2086  # a list of package names
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $SYSTEM_PACKAGES
    echo "provision: system packages installed at ${SECONDS} s"
fi

[ -x ~/venv/bin/python ] || python3 -m venv ~/venv
echo "provision: venv made at ${SECONDS} s"
wheels=()
if [ -d /wheels ]; then
    shopt -s nullglob
    wheels=(/wheels/*.whl)
fi
cd /vagrant
# shellcheck disable=SC2086  # pip's arguments, split on purpose
~/venv/bin/pip install --progress-bar off "${wheels[@]}" ${APP_INSTALL:-./app_gui}
echo "provision: app installed at ${SECONDS} s"
~/venv/bin/pip list --format=freeze
