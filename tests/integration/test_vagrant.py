"""A real VM: the box built from Debian packages, `vagrant up`, the GUI probed inside the guest (offscreen and
against Xvfb there), `vagrant destroy`; and the faults (a box that cannot be built, a guest that never answers)
each end as a failed record with nothing left running.

The box is built into the checkout's build/ folder, so a later `nox -s vagrant` reuses it. Under software
emulation the whole module took about 9.5 minutes on a quiet 2-core host (box 1.5, GUI VM 4, unreachable guest
1.5, the README's commands 2.5) and 20 minutes on a busy one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, requires, run_cli, run_sample, sample_warm_runs

from shipbench import record, vagrant_box, vm_acceleration
from shipbench.strategies import vagrant as vagrant_strategy
from shipbench.vagrant_vm import VIRSH

pytestmark = requires(vagrant_strategy.unavailable_reason(), "bash scripts/install-vagrant.sh")


def _run(results: Path, **env: str) -> dict[str, Any]:
    result = run_cli("run", "vagrant", "--app", "gui", "--python", "3.11", "--results", str(results),
                     env={"SHIPBENCH_PROJECT": str(ROOT), **env})
    records, invalid = record.load_all([results])
    assert not invalid and len(records) == 1, result.stdout[-3000:] + result.stderr[-3000:]
    return records[0]


def _nothing_left(app: str = "gui") -> None:
    domains = subprocess.run([*VIRSH, "list", "--all", "--name"], capture_output=True, text=True, check=True).stdout
    assert f"shipbench-{app}-default" not in domains
    volumes = subprocess.run([*VIRSH, "vol-list", "--pool", "default"], capture_output=True, text=True,
                             check=True).stdout
    assert f"shipbench-{app}-default.img" not in volumes  # the machine's disk; the box's own copy may stay
    networks = subprocess.run([*VIRSH, "net-list", "--name"], capture_output=True, text=True, check=True).stdout
    assert "vagrant-libvirt" not in networks.split()
    qemu = subprocess.run(["pgrep", "-f", f"guest=shipbench-{app}-default"], capture_output=True, check=False)
    assert qemu.returncode == 1, "a QEMU process of the VM is still running"


@pytest.fixture(scope="module")
def gui_vm() -> dict[str, Any]:
    """The main job's GUI row, in the checkout's results/ and build/ (the box is built there once)."""
    rec: dict[str, Any] = run_sample("vagrant", "gui")["libvirt"]
    rec["_results"] = ROOT / "results"
    return rec


def test_the_gui_runs_inside_a_real_vm(gui_vm: dict[str, Any]) -> None:
    assert gui_vm["status"] == "ok", f"{gui_vm['reason']}\n" + "\n".join(gui_vm.get("log_tail", []))
    metrics = gui_vm["metrics"]
    vm = metrics["vm"]
    assert vm["acceleration"] in ("kvm", "tcg") and vm["acceleration_reason"]
    assert vm["up_s"]["cold"] > 0 and vm["up_s"]["warm"] > 0 and vm["provision_s"] > 0
    assert vm["guest_boot_s"] > 0 and vm["destroy_s"] > 0
    assert vm["host_rss_peak_bytes"] > vm["memory_mib"] * 2**20 // 8  # a booted guest touches real memory
    assert vm["guest_disk_bytes"] > 50e6  # the venv with PySide6 landed on the guest's disk
    assert metrics["download_bytes"] == vm["box_bytes"] > 100e6
    assert metrics["startup_s"]["warm"]["n"] == sample_warm_runs() and metrics["qt_platform"] == "offscreen"
    assert metrics["x11"]["status"] == "ok"
    for shot in (metrics["screenshot"], metrics["x11"]["screenshot"]):
        assert (gui_vm["_results"] / shot).stat().st_size > 5000
    assert metrics["baseline"]["startup_s"]["n"] == sample_warm_runs()


def test_peak_memory_is_the_apps_in_the_guest(gui_vm: dict[str, Any]) -> None:
    """Not the SSH client's on the host (a few MB): the app reports its own peak through the relay."""
    assert gui_vm["status"] == "ok"
    assert gui_vm["metrics"]["peak_rss_bytes"] > 20e6


def test_the_record_says_software_emulation_exactly_when_it_was(gui_vm: dict[str, Any]) -> None:
    emulated = gui_vm["metrics"]["vm"]["acceleration"] == "tcg"
    assert any("software emulation" in note for note in gui_vm["notes"]) == emulated
    assert (vm_acceleration.static_reason() is not None) <= emulated  # no vmx/svm here: it cannot be KVM


def test_nothing_is_left_running_after_a_run(gui_vm: dict[str, Any]) -> None:
    _nothing_left()


def test_a_guest_that_never_answers_fails_and_is_destroyed(tmp_path: Path, gui_vm: dict[str, Any]) -> None:
    """The cached box, but a key pair the guest does not accept: SSH never lets us in, so `vagrant up` times out
    (after 30 s here); the record carries Vagrant's words and the guest console's last lines."""
    cached = ROOT / "build" / "vagrant" / "box"
    box_dir = tmp_path / "build" / "vagrant" / "box"
    box_dir.mkdir(parents=True)
    for name in (vagrant_box.FILE, "vmlinuz", "initrd.img", "box.json"):
        try:
            os.link(cached / name, box_dir / name)
        except OSError:  # another filesystem
            shutil.copy2(cached / name, box_dir / name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(box_dir / "vagrant_ed25519")],
                   check=True)
    rec = _run(tmp_path / "results", SHIPBENCH_BUILD=str(tmp_path / "build"), SHIPBENCH_VM_BOOT_TIMEOUT="30")
    assert rec["status"] == "failed"
    assert "vagrant up" in rec["reason"]
    assert any("Timed out while waiting for the machine to boot" in line for line in rec["log_tail"]), rec["log_tail"]
    assert "--- the guest's serial console ---" in rec["log_tail"]
    assert rec["metrics"]["vm"]["destroy_s"] > 0
    _nothing_left()


def test_a_box_that_cannot_be_built_fails_with_the_builders_words(tmp_path: Path) -> None:
    """A mirror that refuses connections: debootstrap fails within seconds; the cached box is not touched."""
    stamp = ROOT / "build" / "vagrant" / "box" / "box.json"
    before = stamp.read_text(encoding="utf-8") if stamp.is_file() else None
    rec = _run(tmp_path / "results", SHIPBENCH_BUILD=str(tmp_path / "build"), MIRROR="http://127.0.0.1:9/debian")
    assert rec["status"] == "failed"
    assert "building the Vagrant box" in rec["reason"]
    assert any("debootstrap" in line or "127.0.0.1" in line for line in rec["log_tail"]), rec["log_tail"]
    assert not (tmp_path / "build" / "vagrant" / "box" / vagrant_box.FILE).exists()
    assert (stamp.read_text(encoding="utf-8") if stamp.is_file() else None) == before


def _readme_env(tmp_path: Path) -> dict[str, str]:
    """The README's environment for its vagrant commands; only the state folder is moved out of the checkout."""
    from shipbench import host

    env = {**os.environ, "VAGRANT_DOTFILE_PATH": str(tmp_path / "state"), "VM_NAME_PREFIX": "shipbench-readme-",
           "VAGRANT_CHECKPOINT_DISABLE": "1", "APP_INSTALL": "./app_gui"}
    ca_bundle = host.ca_bundle()
    if ca_bundle:
        env["CA_BUNDLE"] = ca_bundle  # a TLS-intercepting proxy between the guest and PyPI, as on this project's CI
    return env


@pytest.fixture
def readme_box(tmp_path: Path, gui_vm: dict[str, Any]) -> dict[str, str]:
    """The README's first command: `vagrant box add` of the box the harness built (the gui row's)."""
    assert gui_vm["status"] == "ok"
    env = _readme_env(tmp_path)
    vagrant_box.remove_pool_copies(vagrant_box.NAME)  # an earlier add's upload would be stale
    added = subprocess.run(["vagrant", "box", "add", "--force", "--name", "shipbench/bookworm",
                            "build/vagrant/box/shipbench-bookworm.box"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=600, check=False)
    assert added.returncode == 0, added.stdout + added.stderr
    return env


def test_the_readmes_box_add_takes_the_built_box(readme_box: dict[str, str]) -> None:
    listed = subprocess.run(["vagrant", "box", "list"], env=readme_box, capture_output=True, text=True, timeout=120,
                            check=False)
    assert "shipbench/bookworm" in listed.stdout and "libvirt" in listed.stdout, listed.stdout + listed.stderr


@pytest.mark.beyond_ci("a third VM boot and provisioning, about 8 min under software emulation; in CI the gui row "
                       "boots and provisions the same box with the same Vagrantfile, and `vagrant validate` checks "
                       "its settings")
def test_the_readmes_vagrant_commands(readme_box: dict[str, str]) -> None:
    """What the README tells a user to type after `vagrant box add`: in vagrant/ up, ssh, destroy."""
    env = readme_box

    def vagrant(*args: str) -> str:
        result = subprocess.run(["vagrant", *args], cwd=ROOT / "vagrant", env=env, capture_output=True, text=True,
                                timeout=900, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    try:
        vagrant("up", "--provider=libvirt")
        offscreen = vagrant("ssh", "-c", "QT_QPA_PLATFORM=offscreen ~/venv/bin/python -m app_gui --probe")
        x11 = vagrant("ssh", "-c", "DISPLAY=:99 ~/venv/bin/python -m app_gui --probe")
    finally:
        vagrant("destroy", "-f")
    ready = [json.loads(line) for line in (offscreen + x11).splitlines() if line.startswith('{"event": "ready"')]
    assert [event["qt_platform"] for event in ready] == ["offscreen", "xcb"]
    assert all(event["vm"] for event in ready), ready  # the app saw that it runs in a virtual machine
    _nothing_left("readme")


# --- the Vagrantfile users copy ------------------------------------------------------------------------------------
def _validate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["vagrant", "validate"], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "VAGRANT_CWD": str(ROOT / "vagrant"), "VAGRANT_CHECKPOINT_DISABLE": "1",
                               **env})


def test_the_vagrantfile_is_valid_and_checks_its_settings(tmp_path: Path) -> None:
    # a fresh clone: no box has been built, so there is no key yet
    valid = _validate({"VM_MEMORY": "1024", "VM_CPUS": "1", "VM_ACCEL": "qemu", "BOX_KEY": str(tmp_path / "none")})
    assert valid.returncode == 0, valid.stdout + valid.stderr
    wrong = _validate({"VM_ACCEL": "hvf"})
    assert wrong.returncode != 0 and "VM_ACCEL must be kvm or qemu" in wrong.stdout + wrong.stderr


def test_commands_that_reach_the_guest_need_the_boxs_key(tmp_path: Path) -> None:
    result = subprocess.run(["vagrant", "ssh-config"], capture_output=True, text=True, timeout=120, check=False,
                            env={**os.environ, "VAGRANT_CWD": str(ROOT / "vagrant"), "VAGRANT_CHECKPOINT_DISABLE": "1",
                                 "BOX_KEY": str(tmp_path / "none")})
    assert result.returncode != 0 and "build the box first" in result.stdout + result.stderr
