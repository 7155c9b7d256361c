"""Every knob shipbench reads from the environment, in one place (documented in the README)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError


def _int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise UsageError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def project_root() -> Path:
    root = Path(os.environ.get("SHIPBENCH_ROOT") or Path.cwd()).resolve()
    if not (root / "app_gui" / "pyproject.toml").is_file():
        raise UsageError(
            f"{root} is not a shipbench checkout (no app_gui/pyproject.toml); run from the repository root"
        )
    return root


def results_dir() -> Path:
    return Path(os.environ.get("SHIPBENCH_RESULTS") or "results")


def build_dir() -> Path:
    return Path(os.environ.get("SHIPBENCH_BUILD") or "build")


def warm_runs() -> int:
    """Start-up runs after the cold one; the median of fewer than 5 says little."""
    return _int("SHIPBENCH_WARM_RUNS", 5, minimum=1)


def throughput_runs() -> int:
    return _int("SHIPBENCH_THROUGHPUT_RUNS", 3, minimum=1)


def app_timeout_s() -> int:
    return _int("SHIPBENCH_APP_TIMEOUT", 120, minimum=1)


def qt_platform() -> str:
    """offscreen by default, so runs need no display; set SHIPBENCH_QT_PLATFORM=xcb (with DISPLAY) for X11."""
    return os.environ.get("SHIPBENCH_QT_PLATFORM") or "offscreen"


def skip_patterns() -> list[str]:
    """SHIPBENCH_SKIP: comma-separated strategy/variant/app patterns (fnmatch) recorded as skipped, not run.

    For runs with a time limit, e.g. SHIPBENCH_SKIP="bake/dl-cuda/*,pyinstaller/onefile-*/dl".
    """
    return [part.strip() for part in os.environ.get("SHIPBENCH_SKIP", "").split(",") if part.strip()]


def fresh() -> bool:
    """SHIPBENCH_FRESH=1: measure every row again, even where its inputs are unchanged since its last ok record."""
    raw = os.environ.get("SHIPBENCH_FRESH", "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise UsageError(f"SHIPBENCH_FRESH={raw!r}: expected 1 or 0")


def torch_source() -> str:
    return os.environ.get("SHIPBENCH_TORCH") or "auto"


def vm_accel() -> str:
    """SHIPBENCH_VM_ACCEL: auto (find out whether KVM really works), kvm or tcg (QEMU software emulation)."""
    return os.environ.get("SHIPBENCH_VM_ACCEL") or "auto"


def vm_memory_mib() -> int:
    return _int("SHIPBENCH_VM_MEMORY", 2048, minimum=512)


def vm_cpus() -> int:
    """Virtual CPUs of the guest; by default as many as the host has, up to 4."""
    return _int("SHIPBENCH_VM_CPUS", min(4, os.cpu_count() or 1), minimum=1)


def vm_boot_timeout_s() -> int:
    """How long `vagrant up` may wait for SSH; software emulation boots in about 30 s, a loaded host slower."""
    return _int("SHIPBENCH_VM_BOOT_TIMEOUT", 600, minimum=10)
