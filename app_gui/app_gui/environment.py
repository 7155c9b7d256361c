"""Where is this process running? Frozen bundle, container, VM: the facts the window shows.

Each check reads only cheap local files, because the answer is shown at start-up and start-up is what
shipbench measures.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

_CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")
_CONTAINER_CGROUP_WORDS = ("docker", "containerd", "kubepods", "libpod", "lxc")
_VM_VENDOR_WORDS = {
    "qemu": "qemu",
    "kvm": "kvm",
    "virtualbox": "virtualbox",
    "innotek": "virtualbox",
    "vmware": "vmware",
    "microsoft corporation": "hyper-v",
    "xen": "xen",
    "amazon ec2": "kvm",
    "google": "kvm",
    "firecracker": "firecracker",
}


@dataclass(frozen=True)
class Environment:
    python: str
    executable: str
    os: str
    arch: str
    frozen: bool
    container: str | None
    vm: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def detect_container() -> str | None:
    """Name the container runtime if the process runs in one, else None."""
    runtime = os.environ.get("container")  # noqa: SIM112 - podman and systemd-nspawn set it in lower case
    if runtime:
        return runtime
    for marker in _CONTAINER_MARKERS:
        if os.path.exists(marker):
            return "docker" if "docker" in marker else "podman"
    cgroup = _read("/proc/1/cgroup")
    for word in _CONTAINER_CGROUP_WORDS:
        if word in cgroup:
            return word
    return None


def detect_vm() -> str | None:
    """Name the hypervisor if the OS runs virtualized (DMI vendor first, then the CPU's hypervisor flag)."""
    if sys.platform != "linux":
        return None
    dmi = " ".join(
        _read(f"/sys/class/dmi/id/{name}").strip().lower() for name in ("sys_vendor", "product_name", "bios_vendor")
    )
    for word, name in _VM_VENDOR_WORDS.items():
        if word in dmi:
            return name
    if " hypervisor" in _read("/proc/cpuinfo"):
        return "unknown hypervisor"
    return None


def peak_rss_bytes() -> int | None:
    """This process's peak resident memory, as the app itself sees it (inside a container or VM too): VmHWM, the
    high-water mark of its own address space. getrusage's ru_maxrss would start at the peak of whatever forked
    and exec'd it (Linux keeps the old address space's mark across exec)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def detect() -> Environment:
    return Environment(
        python=platform.python_version(),
        executable=sys.executable,
        os=f"{platform.system()} {platform.release()}",
        arch=platform.machine(),
        frozen=bool(getattr(sys, "frozen", False)),
        container=detect_container(),
        vm=detect_vm(),
    )
