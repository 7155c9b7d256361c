"""The Vagrant box: built from Debian packages by vagrant/build-box.sh, once per change of its inputs.

Building takes minutes, so the box is kept in the build folder with a stamp naming the hash of what it was
built from (the builder script and its settings) and how long the build took; a later run with the same
inputs reuses it, and the record says the build time came from the cache. Registering the box with Vagrant
also clears what vagrant-libvirt left in libvirt's storage pool for an older box of the same name: neither
`vagrant destroy` nor `vagrant box remove` deletes that copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Skip
from .fsutil import atomic_write_text
from .runner import output, run_tool

NAME = "shipbench/bookworm"
FILE = "shipbench-bookworm.box"
# vagrant-libvirt's name for the box's copy in the storage pool: <name, "/" spelled VAGRANTSLASH>_vagrant_box_image_…
POOL_VOLUME_PREFIX = NAME.replace("/", "-VAGRANTSLASH-") + "_vagrant_box_image_"
SETTINGS = ("SUITE", "DISK_GB", "MIRROR")  # build-box.sh's environment; part of the inputs


@dataclass(frozen=True)
class Box:
    folder: Path
    inputs: str  # sha256 of what the box was built from
    build_s: float
    built_now: bool  # False: reused from the cache, build_s is the cached build's
    built_at: str

    @property
    def path(self) -> Path:
        return self.folder / FILE

    @property
    def key(self) -> Path:
        return self.folder / "vagrant_ed25519"

    @property
    def kernel(self) -> Path:
        return self.folder / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.folder / "initrd.img"

    @property
    def bytes(self) -> int:
        return self.path.stat().st_size


def inputs_hash(script: Path, env: dict[str, str] | os._Environ[str] = os.environ) -> str:
    digest = hashlib.sha256(script.read_bytes())
    for name in SETTINGS:
        digest.update(f"\0{name}={env.get(name, '')}".encode())
    return digest.hexdigest()


def ensure(root: Path, folder: Path, timeout: float = 1800) -> Box:
    """The cached box if its inputs are unchanged, else a new one; registered with Vagrant either way."""
    script = root / "vagrant" / "build-box.sh"
    inputs = inputs_hash(script)
    stamp_path = folder / "box.json"
    stamp = _read_stamp(stamp_path)
    files_there = all((folder / name).is_file() for name in (FILE, "vagrant_ed25519", "vmlinuz", "initrd.img"))
    if stamp.get("inputs") == inputs and files_there:
        box = Box(folder, inputs, float(stamp["build_s"]), False, str(stamp["built_at"]))
    else:
        argv: list[str | os.PathLike[str]] = ["bash", script, folder]
        if os.geteuid() != 0:
            if subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode != 0:
                raise Skip(f"building the box needs root (debootstrap): run `sudo {script} {folder}` once")
            argv = ["sudo", "-n", "--preserve-env=" + ",".join(SETTINGS), *argv]
        build_s, _ = run_tool(argv, timeout=timeout, what="building the Vagrant box (vagrant/build-box.sh)")
        box = Box(folder, inputs, build_s, True, time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        stamp = {"inputs": inputs, "build_s": build_s, "built_at": box.built_at}
        atomic_write_text(stamp_path, json.dumps(stamp, indent=2) + "\n")
    if box.built_now or stamp.get("registered") != inputs or NAME not in (output(["vagrant", "box", "list"]) or ""):
        register(box)
        atomic_write_text(stamp_path, json.dumps({**stamp, "registered": inputs}, indent=2) + "\n")
    return box


def register(box: Box) -> None:
    """`vagrant box add` this box under NAME, removing an older one and its copy in libvirt's pool first."""
    subprocess.run(["vagrant", "box", "remove", "--force", "--all", NAME], capture_output=True, check=False)
    for volume in pool_volumes():
        subprocess.run(["virsh", "--connect", "qemu:///system", "vol-delete", "--pool", "default", volume],
                       capture_output=True, check=False)
    run_tool(["vagrant", "box", "add", "--force", "--name", NAME, box.path], timeout=600,
             what=f"vagrant box add {NAME}")


def pool_volumes() -> list[str]:
    listing = output(["virsh", "--connect", "qemu:///system", "vol-list", "--pool", "default"]) or ""
    return [line.split()[0] for line in listing.splitlines() if line.strip().startswith(POOL_VOLUME_PREFIX)]


def _read_stamp(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
