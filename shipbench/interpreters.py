"""Finding a Python interpreter of a given version on this host.

Looked for, in order: `pythonX.Y` on PATH (pyenv's versions/*/bin, python.org installers, Debian's packages,
GitHub's setup-python all put it there), then the Windows `py -X.Y` launcher. Each candidate is run once to
confirm its version, because a pyenv shim for an inactive version exists on PATH but fails when run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import Skip, UsageError

_VERSION = re.compile(r"^3\.\d{1,2}$")


@dataclass(frozen=True)
class Interpreter:
    version: str
    executable: str
    full_version: str


def check_version(version: str) -> str:
    if not _VERSION.fullmatch(version):  # match() would take "3.11\n" ($ matches before a newline)
        raise UsageError(f"not a Python version: {version!r} (expected MAJOR.MINOR, like 3.12)")
    return version


def _probe(argv: list[str]) -> tuple[str, str] | None:
    try:
        result = subprocess.run(
            [*argv, "-c", "import platform, sys; print(sys.executable); print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = result.stdout.split()
    return (lines[0], lines[1]) if result.returncode == 0 and len(lines) == 2 else None


def find(version: str, platform: str = sys.platform) -> Interpreter:
    """Return the interpreter for MAJOR.MINOR, or raise Skip saying where we looked."""
    check_version(version)
    candidates: list[list[str]] = []
    exe = shutil.which(f"python{version}")
    if exe:
        candidates.append([exe])
    if platform == "win32" and shutil.which("py"):
        candidates.append(["py", f"-{version}"])
    for argv in candidates:
        found = _probe(argv)
        if found and found[1].startswith(version + "."):
            return Interpreter(version=version, executable=found[0], full_version=found[1])
    looked = f"python{version} on PATH" + (f" and 'py -{version}'" if platform == "win32" else "")
    broken = " (found, but it does not run: an inactive pyenv shim?)" if candidates else ""
    raise Skip(f"no Python {version} on this host: looked for {looked}{broken}; install one (python.org, pyenv, "
               f"`uv python install {version}`, a distribution package) and put python{version} on PATH "
               "(README: Which Pythons)")


def venv_python(venv: str | os.PathLike[str], platform: str = sys.platform) -> Path:
    """The interpreter inside a virtual environment: Scripts\\python.exe on Windows, bin/python elsewhere."""
    if platform == "win32":
        return Path(venv) / "Scripts" / "python.exe"
    return Path(venv) / "bin" / "python"
