#!/usr/bin/env bash
# Runs in the guest as the vagrant user (see the Vagrantfile): install the apps in /vagrant into ~/venv, and
# give the guest a virtual display (Xvfb on :99) for app_gui.
#
# APPS: the app projects under /vagrant to install. Wheels under /wheels (a CPU torch wheel) are installed
# first, so pip does not fetch the multi-gigabyte CUDA build of torch from PyPI. A CA bundle at
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

[ -x ~/venv/bin/python ] || python3 -m venv ~/venv
wheels=()
if [ -d /wheels ]; then
    shopt -s nullglob
    wheels=(/wheels/*.whl)
fi
projects=()
for app in ${APPS:-app_gui}; do
    projects+=("/vagrant/$app")
done
~/venv/bin/pip install --progress-bar off "${wheels[@]}" "${projects[@]}"
~/venv/bin/pip list --format=freeze | grep -iE '^(pyside6|torch|numpy|app)' || true
