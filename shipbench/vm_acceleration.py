"""Which way a VM runs here: hardware virtualization (KVM) or QEMU's software emulation (TCG), found out.

A /dev/kvm that exists is not a KVM that works: some cloud hosts expose a paravirtual one (kvm_pvm) that only
runs specially built guest kernels, and an ordinary guest hangs in its kernel decompressor. So the checks go
from cheap to conclusive: the device must be usable, the CPU must show VT-x or AMD-V, and then the box's own
kernel must print its first line on the serial console within seconds under KVM. The result is recorded with
every VM row, so a TCG number is never presented as a KVM one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

LABELS = {"kvm": "hardware virtualization (KVM)", "tcg": "software emulation (QEMU TCG)"}
_VIRT_FLAGS = re.compile(r"^flags\s*:.*\b(vmx|svm)\b", re.MULTILINE)


@dataclass(frozen=True)
class Acceleration:
    mode: str  # "kvm" or "tcg"
    reason: str

    @property
    def label(self) -> str:
        return LABELS[self.mode]

    @property
    def libvirt_driver(self) -> str:
        """vagrant-libvirt's `driver`: libvirt's domain type, "kvm" or "qemu" (TCG)."""
        return "kvm" if self.mode == "kvm" else "qemu"


def static_reason(dev: Path = Path("/dev/kvm"), cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """Why KVM cannot be used, from what the host shows without starting anything; None if it may work."""
    if not dev.exists():
        return f"{dev} does not exist"
    if not os.access(dev, os.R_OK | os.W_OK):
        return f"{dev} is not readable and writable by this user (add it to the kvm group)"
    try:
        flags = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"{cpuinfo} cannot be read"
    if not _VIRT_FLAGS.search(flags):
        return (f"{dev} exists but the CPU shows no vmx or svm flag: not hardware virtualization (a paravirtual "
                "KVM such as kvm_pvm runs only specially built guests)")
    return None


def boot_probe(kernel: Path, initrd: Path, timeout: float = 30.0) -> str | None:
    """Boot the box's kernel under KVM until it prints on the serial console; None if it did, else why not."""
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        return "qemu-system-x86_64 is missing"
    with tempfile.TemporaryDirectory(prefix="shipbench-kvm-") as tmp:
        console = Path(tmp) / "console.log"
        argv = [qemu, "-accel", "kvm", "-cpu", "host", "-m", "512", "-display", "none", "-no-reboot",
                "-serial", f"file:{console}", "-kernel", str(kernel), "-initrd", str(initrd),
                "-append", "console=ttyS0 panic=-1 rdinit=/bin/false"]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if console.exists() and "Linux version" in console.read_text(errors="replace"):
                    return None
                if proc.poll() is not None:
                    return f"QEMU with KVM exited at once: {(proc.stderr.read() if proc.stderr else '').strip()[:200]}"
                time.sleep(0.2)
            return f"a guest kernel under KVM printed nothing within {timeout:g} s (it hangs: KVM does not work here)"
        finally:
            proc.kill()
            proc.wait()


def detect(kernel: Path | None, initrd: Path | None, choice: str = "auto") -> Acceleration:
    """KVM when it really works, else TCG; choice "kvm" or "tcg" (SHIPBENCH_VM_ACCEL) skips the detection."""
    if choice in ("kvm", "tcg"):
        return Acceleration(choice, "chosen by SHIPBENCH_VM_ACCEL")
    if choice != "auto":
        raise UsageError(f"SHIPBENCH_VM_ACCEL={choice!r}: choose kvm, tcg or auto")
    reason = static_reason()
    probed = False
    if reason is None and kernel is not None and initrd is not None:
        probed = True
        reason = boot_probe(kernel, initrd)
    if reason is None:
        booted = ", and a guest kernel booted under KVM" if probed else " (no guest kernel at hand to try)"
        return Acceleration("kvm", f"/dev/kvm is usable and the CPU has VT-x/AMD-V{booted}")
    return Acceleration("tcg", reason)
