"""The Vagrant box: built from Debian packages by vagrant/build-box.sh, once per change of its inputs.

Building takes minutes, so the box is kept in the build folder with a stamp naming the hash of what it was
built from (the builder script and its settings) and how long the build took; a later run with the same
inputs reuses it, and the record says the build time came from the cache. Vagrant knows each build under its
own name (shipbench/<suite> plus a hash of the inputs and the build's public key): another checkout's box, with another
key, can never stand in for this one. Registering removes the other builds and what vagrant-libvirt left of
them in libvirt's storage pool: neither `vagrant destroy` nor `vagrant box remove` deletes that copy.
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
from .vagrant_vm import VIRSH

SETTINGS = ("SUITE", "DISK_GB", "MIRROR")  # build-box.sh's environment; part of the inputs
DEFAULT_SUITE = "bookworm"  # its box, shipbench/bookworm, is what the README and the Vagrantfile name


def box_name(suite: str) -> str:
    """What Vagrant calls the box of a Debian suite (before shipbench's per-build suffix)."""
    return f"shipbench/{suite}"


NAME, FILE = box_name(DEFAULT_SUITE), f"shipbench-{DEFAULT_SUITE}.box"  # the README's box and its file


@dataclass(frozen=True)
class Box:
    folder: Path
    name: str  # the name Vagrant knows this build by
    build_s: float
    built_now: bool  # False: reused from the cache, build_s is the cached build's
    built_at: str
    suite: str = DEFAULT_SUITE

    @property
    def path(self) -> Path:
        return self.folder / f"shipbench-{self.suite}.box"

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


def ensure(root: Path, folder: Path, timeout: float = 1800, suite: str = DEFAULT_SUITE) -> Box:
    """The cached box of a Debian suite if its inputs are unchanged, else a new one; registered with Vagrant
    either way. The suite is build-box.sh's SUITE (the environment's, where set, wins for the default suite)."""
    script = root / "vagrant" / "build-box.sh"
    env = {**os.environ, "SUITE": suite} if suite != DEFAULT_SUITE or "SUITE" not in os.environ else dict(os.environ)
    suite = env["SUITE"]
    inputs = inputs_hash(script, env)
    stamp_path = folder / "box.json"
    stamp = _read_stamp(stamp_path)
    files_there = all((folder / name).is_file() for name in (f"shipbench-{suite}.box", "vagrant_ed25519",
                                                             "vagrant_ed25519.pub", "vmlinuz", "initrd.img"))
    if stamp.get("inputs") == inputs and files_there:
        box = Box(folder, _name(folder, inputs, suite), float(stamp["build_s"]), False, str(stamp["built_at"]), suite)
    else:
        argv: list[str | os.PathLike[str]] = ["bash", script, folder]
        if os.geteuid() != 0:
            if subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode != 0:
                raise Skip(f"building the box needs root (debootstrap): run `sudo {script} {folder}` once")
            argv = ["sudo", "-n", "--preserve-env=" + ",".join(SETTINGS), *argv]
        build_s, _ = run_tool(argv, env=env, timeout=timeout,
                              what=f"building the Vagrant box of Debian {suite} (vagrant/build-box.sh)")
        box = Box(folder, _name(folder, inputs, suite), build_s, True, time.strftime("%Y-%m-%dT%H:%M:%S%z"), suite)
        atomic_write_text(stamp_path, json.dumps({"inputs": inputs, "build_s": build_s, "built_at": box.built_at},
                                                 indent=2) + "\n")
    if box.built_now or box.name not in registered():
        register(box)
    return box


def registered() -> list[str]:
    """The names of the boxes Vagrant has."""
    return [line.split()[0] for line in (output(["vagrant", "box", "list"]) or "").splitlines() if line.strip()]


def register(box: Box) -> None:
    """`vagrant box add` this build, first removing the other builds and their copies in libvirt's pool."""
    for name in [n for n in registered() if n.startswith(box_name(box.suite) + "-")] + [box.name]:
        subprocess.run(["vagrant", "box", "remove", "--force", "--all", name], capture_output=True, check=False)
        remove_pool_copies(name)
    run_tool(["vagrant", "box", "add", "--force", "--name", box.name, box.path], timeout=600,
             what=f"vagrant box add {box.name}")


def remove_pool_copies(name: str) -> None:
    """Delete what vagrant-libvirt uploaded of box `name`: volumes <name, "/" as -VAGRANTSLASH->_vagrant_box_image_…"""
    prefix = name.replace("/", "-VAGRANTSLASH-") + "_vagrant_box_image_"
    listing = output([*VIRSH, "vol-list", "--pool", "default"]) or ""
    for volume in [line.split()[0] for line in listing.splitlines() if line.strip().startswith(prefix)]:
        subprocess.run([*VIRSH, "vol-delete", "--pool", "default", volume], capture_output=True, check=False)


def _name(folder: Path, inputs: str, suite: str = DEFAULT_SUITE) -> str:
    public_key = (folder / "vagrant_ed25519.pub").read_bytes()
    return f"{box_name(suite)}-{hashlib.sha256(inputs.encode() + public_key).hexdigest()[:12]}"


def _read_stamp(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
