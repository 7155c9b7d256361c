"""One Vagrant machine, driven through the `vagrant` CLI from vagrant/Vagrantfile, its state in a folder of ours.

The Vagrantfile is the one users copy; everything shipbench varies (memory, acceleration, what to install) goes
in through the environment variables it documents. Commands inside the guest go over one persistent SSH
connection (ControlMaster) opened from `vagrant ssh-config`: `vagrant ssh -c` would add Vagrant's own Ruby
start-up to every call. Whatever happens, `destroy` leaves no domain, disk or network behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from .errors import Failure
from .fsutil import tail
from .runner import output, run_app, run_tool

VIRSH = ("virsh", "--connect", "qemu:///system")
BOOTED = "Machine booted and ready!"  # what `vagrant up` prints once SSH answers


class Machine:
    def __init__(self, vagrantfile_dir: Path, state_dir: Path, settings: Mapping[str, str], boot_timeout: int):
        self.state_dir = state_dir
        self.serial_log = state_dir / "serial.log"
        self.boot_timeout = boot_timeout
        self.env = {
            **os.environ, **settings,
            "VAGRANT_CWD": str(vagrantfile_dir),
            "VAGRANT_DOTFILE_PATH": str(state_dir / "dot-vagrant"),
            "VAGRANT_DEFAULT_PROVIDER": "libvirt",  # with a Docker daemon running, Vagrant might pick docker
            "VAGRANT_CHECKPOINT_DISABLE": "1",  # no version check against HashiCorp's servers
            "VAGRANT_NO_COLOR": "1",
            "VM_BOOT_TIMEOUT": str(boot_timeout),
            "SERIAL_LOG": str(self.serial_log),
        }
        # a socket path must stay short (108 bytes with ssh's own suffix): no run token in this name (the ssh
        # master carries it in its environment, so a killed run's is still removed: run_leftovers.py)
        self._control_dir = Path(tempfile.mkdtemp(prefix="shipbench-ssh-"))
        self._ssh: list[str] | None = None

    # --- life cycle -------------------------------------------------------------------------------------------
    def up(self) -> tuple[float, float | None]:
        """`vagrant up --no-provision`: (seconds in all, seconds until SSH answered)."""
        self._ssh = None
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            return self._vagrant_booting(["up", "--no-provision"], self.boot_timeout + 300)
        except Failure as failure:
            raise Failure(failure.reason, [*failure.log_tail, "--- the guest's serial console ---",
                                           *self.console_tail()]) from None

    def provision(self, timeout: float) -> float:
        seconds, _ = self._vagrant(["provision"], timeout, "vagrant provision (installing the app in the guest)")
        return seconds

    def halt(self) -> float:
        self.close_ssh()
        seconds, _ = self._vagrant(["halt"], 300, "vagrant halt")
        return seconds

    def destroy(self) -> tuple[float, str | None]:
        """`vagrant destroy -f`, then make sure: (seconds, what was still there and had to be removed, if any)."""
        self.close_ssh()
        domain = self.domain()
        start = time.perf_counter()
        leftover = None
        try:
            subprocess.run(["vagrant", "destroy", "-f"], env=self.env, capture_output=True, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            leftover = "vagrant destroy did not end within 600 s"
        seconds = time.perf_counter() - start
        if domain and subprocess.run([*VIRSH, "dominfo", domain], capture_output=True, check=False).returncode == 0:
            leftover = f"{leftover or 'vagrant destroy left the domain'} ({domain}); removed with virsh"
            remove_domain(domain)
        shutil.rmtree(self._control_dir, ignore_errors=True)
        return seconds, leftover

    def clear_leftovers(self) -> None:
        """A run that was killed may have left its VM: remove it before making a new one of the same name."""
        if self.domain():
            self.destroy()
        name = self.env.get("VM_NAME_PREFIX", "shipbench-") + "default"  # the Vagrantfile's naming
        if output([*VIRSH, "dominfo", name]) is not None:
            remove_domain(name)

    # --- the guest --------------------------------------------------------------------------------------------
    def ssh(self) -> list[str]:
        """argv prefix that runs a command in the guest over the shared connection."""
        if self._ssh is None:
            _, config = self._vagrant(["ssh-config"], 120, "vagrant ssh-config")
            config_file = self.state_dir / "ssh_config"
            config_file.write_text(config, encoding="utf-8")
            self._ssh = ["ssh", "-F", str(config_file), "-o", "ControlMaster=auto",
                         "-o", f"ControlPath={self._control_dir}/%C", "-o", "ControlPersist=900",
                         "-o", "ServerAliveInterval=15", "default"]
        return self._ssh

    def run(self, command: str, timeout: float = 300, what: str | None = None) -> str:
        _, text = run_tool([*self.ssh(), command], timeout=timeout, what=what or f"in the guest: {command}")
        return text

    def fetch(self, guest_path: str, host_path: Path) -> None:
        """Copy one file out of the guest (rsync folders are one-way, host to guest)."""
        with open(host_path, "wb") as target:
            subprocess.run([*self.ssh(), "cat", guest_path], stdout=target, stderr=subprocess.DEVNULL,
                           timeout=120, check=False)

    def close_ssh(self) -> None:
        if self._ssh is not None:
            subprocess.run([*self._ssh[:-1], "-O", "exit", "default"], capture_output=True, timeout=30, check=False)
            self._ssh = None

    def console_tail(self, lines: int = 25) -> list[str]:
        try:
            return tail(self.serial_log.read_text(encoding="utf-8", errors="replace"), lines)
        except OSError:
            return ["(no serial console log)"]

    # --- the host's view --------------------------------------------------------------------------------------
    def domain(self) -> str | None:
        machine_id = self.state_dir / "dot-vagrant" / "machines" / "default" / "libvirt" / "id"
        if not machine_id.is_file():
            return None
        return output([*VIRSH, "domname", machine_id.read_text(encoding="utf-8").strip()])

    def host_memory(self) -> dict[str, int]:
        """The QEMU process's resident memory as the host sees it: peak (VmHWM) and now (VmRSS), in bytes."""
        domain = self.domain()
        pid_file = Path(f"/run/libvirt/qemu/{domain}.pid")
        if not domain or not pid_file.is_file():
            return {}
        status = Path(f"/proc/{pid_file.read_text().strip()}/status").read_text(encoding="utf-8")
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return {"peak_bytes": int(fields["VmHWM"].split()[0]) * 1024,
                "current_bytes": int(fields["VmRSS"].split()[0]) * 1024}

    def disk(self) -> dict[str, int]:
        """Bytes the guest's disk takes on the host: its own overlay, and the box image it is backed by."""
        domain = self.domain()
        listing = output([*VIRSH, "domblklist", domain, "--details"]) if domain else None
        paths = [line.split()[-1] for line in (listing or "").splitlines() if " disk " in f" {line} "]
        if not paths:
            return {}
        info = output(["qemu-img", "info", "-U", "--backing-chain", "--output=json", paths[0]])
        chain = json.loads(info) if info else []
        sizes = [int(image.get("actual-size", 0)) for image in chain]
        return {"overlay_bytes": sizes[0], "box_image_bytes": sum(sizes[1:])} if sizes else {}

    # --- helpers ----------------------------------------------------------------------------------------------
    def _vagrant(self, args: list[str], timeout: float, what: str) -> tuple[float, str]:
        return run_tool(["vagrant", *args], env=self.env, timeout=timeout, what=what)

    def _vagrant_booting(self, args: list[str], timeout: float) -> tuple[float, float | None]:
        """Run vagrant: (seconds in all, seconds until it said SSH answered, inside a longer `up`)."""
        lines: list[str] = []
        booted: float | None = None

        def watch(line: str, seconds: float) -> None:
            nonlocal booted
            lines.append(line)
            if booted is None and BOOTED in line:
                booted = seconds

        try:
            run = run_app(["vagrant", *args], env=self.env, timeout=timeout, need_ready=False, on_line=watch)
        except Failure as failure:
            # Vagrant reports some errors with a Ruby backtrace: its "from …" lines would crowd out the message
            raise Failure(failure.reason, tail("".join(line for line in lines if not line.startswith("\tfrom ")))) \
                from None
        return run.wall_s, booted


def remove_domain(domain: str) -> None:
    """Stop and undefine a libvirt domain with its disks: what `vagrant destroy` does, for leftovers."""
    subprocess.run([*VIRSH, "destroy", domain], capture_output=True, check=False)
    subprocess.run([*VIRSH, "undefine", domain, "--remove-all-storage"], capture_output=True, check=False)
