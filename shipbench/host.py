"""Facts about the measuring machine, stored in every record so numbers from different hosts never mix silently."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

from .runner import output


def os_name(system: str | None = None) -> str:
    """The record's `os` field: linux, windows or macos."""
    system = (system or platform.system()).lower()
    return {"darwin": "macos"}.get(system, system)


def arch_name(machine: str | None = None) -> str:
    machine = (machine or platform.machine()).lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def _os_release() -> str:
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    if sys.platform == "darwin":
        return f"macOS {platform.mac_ver()[0]}"
    return f"{platform.system()} {platform.release()}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        out = output(["sysctl", "-n", "machdep.cpu.brand_string"])
        if out:
            return out
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    if hasattr(os, "sysconf"):
        try:
            return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        except (ValueError, OSError):
            pass
    if sys.platform == "win32":
        import ctypes

        class MemoryStatus(ctypes.Structure):
            _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong)] + [
                (name, ctypes.c_ulonglong)
                for name in ("total", "avail", "total_page", "avail_page", "total_virtual", "avail_virtual", "ext")
            ]

        status = MemoryStatus()
        status.length = ctypes.sizeof(MemoryStatus)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.total)
    return None


def _virtualization() -> str | None:
    """A hypervisor under this host changes what every number means (and hides KVM for nested VMs)."""
    if shutil.which("systemd-detect-virt"):
        out = output(["systemd-detect-virt"])
        if out and out != "none":
            return out
    try:
        if " hypervisor" in Path("/proc/cpuinfo").read_text(encoding="utf-8"):
            return "hypervisor (cpu flag)"
    except OSError:
        pass
    return None


def gpus() -> list[dict[str, Any]]:
    """NVIDIA GPUs seen by nvidia-smi; empty where there is none (or no driver)."""
    if not shutil.which("nvidia-smi"):
        return []
    out = output(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"])
    found = []
    for line in (out or "").splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) == 3:
            found.append({"name": parts[0], "memory_bytes": int(float(parts[1]) * 2**20), "driver": parts[2]})
    return found


@functools.cache
def host_id() -> str:
    """A short stable id of this machine, beside its name (names repeat: "localhost", "vm"): a hash of systemd's
    machine-id (never the id itself), or, where there is none (a container), of the name, CPU, cores and memory."""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        with contextlib.suppress(OSError):
            text = Path(path).read_text(encoding="ascii", errors="replace").strip()
            if text:
                return hashlib.sha256(f"shipbench|{text}".encode()).hexdigest()[:8]
    made_of = f"shipbench|{platform.node()}|{_cpu_model()}|{os.cpu_count()}|{_memory_bytes()}"
    return hashlib.sha256(made_of.encode()).hexdigest()[:8]


def facts() -> dict[str, Any]:
    return {
        "name": platform.node(),
        "id": host_id(),
        "os": os_name(),
        "os_release": _os_release(),
        "kernel": platform.release(),
        "arch": arch_name(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "virtualization": _virtualization(),
        "gpus": gpus(),
        "ci": bool(os.environ.get("CI")),
    }


def ca_bundle() -> str | None:
    """The host's CA bundle, for pip in a build or guest behind a TLS-intercepting proxy: lent, never stored."""
    system_bundle = "/etc/ssl/certs/ca-certificates.crt"
    for candidate in (os.environ.get("SSL_CERT_FILE"), os.environ.get("PIP_CERT"), system_bundle):
        if candidate and Path(candidate).is_file():
            return candidate
    return None



def tls_env() -> dict[str, str]:
    """What makes every installer shipbench drives trust the host's CA bundle (a TLS-intercepting proxy's CA is
    in it there): pip (PIP_CERT), uv and Python's ssl (SSL_CERT_FILE), requests (REQUESTS_CA_BUNDLE). Empty where
    the host has no bundle file; a path only, never its contents, so nothing of it is stored."""
    bundle = ca_bundle()
    return {"PIP_CERT": bundle, "SSL_CERT_FILE": bundle, "REQUESTS_CA_BUNDLE": bundle} if bundle else {}
