"""The host scripts against the real tools: every Debian package name the scripts install looked up in Debian's
archive with `apt-cache policy`, and the install scripts run again with nothing left to install. (actionlint and
zizmor read the workflows in the fast tier: tests/unit/test_workflow.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, requires

TABLE = ROOT / "scripts" / "lib" / "packages.txt"


def _debian_12() -> bool:
    try:
        release = Path("/etc/os-release").read_text()
    except OSError:
        return False
    return "ID=debian" in release and 'VERSION_ID="12"' in release


@requires(None if _debian_12() and shutil.which("apt-cache") else "not a Debian 12 host with apt",
          "run on Debian 12 (this project's CI host)")
def test_every_debian_package_name_is_in_the_archive() -> None:
    python = subprocess.run(["/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                            capture_output=True, text=True, check=True).stdout.strip()
    names = []
    for line in TABLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            debian = line.split()[1]
            if debian != "-":
                names.append(debian.replace("{py}", python))
    assert len(names) > 30
    policy = subprocess.run(["apt-cache", "policy", *names], capture_output=True, text=True, timeout=120,
                            check=True, env={**os.environ, "LC_ALL": "C"}).stdout
    # one "NAME:" stanza per known package, each with a candidate version
    candidates = {}
    current = None
    for line in policy.splitlines():
        if line and not line.startswith(" "):
            current = line.rstrip(":")
        elif current and line.strip().startswith("Candidate:"):
            candidates[current] = line.split(":", 1)[1].strip()
    missing = [name for name in names if candidates.get(name) in (None, "(none)")]
    assert not missing, f"not in this host's Debian archive (apt-get update first?): {missing}"


@pytest.mark.parametrize("script", ["install-host-deps.sh", "install-test-deps.sh"])
@requires(None if shutil.which("apt-get") else "no apt-get here", "run on Debian or Ubuntu")
def test_the_install_scripts_find_nothing_left_to_install(script: str) -> None:
    """Run after CI's host set-up: every package is there, so the script installs nothing and says nothing."""
    result = subprocess.run(["bash", str(ROOT / "scripts" / script)], capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing" not in result.stdout, result.stdout
