"""The GitHub Actions matrix, computed from the noxfile: one job per (OS, strategy session).

Sessions say where they run with tags (`ci:linux`, `ci:windows`, `ci:macos`); this reads them through
`nox --list --json`, the listing Nox documents for CI matrices. The workflow and the tests run this same code.

    python scripts/ci_matrix.py            prints {"include": [...]} for `strategy.matrix`
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

RUNNERS = {"linux": "ubuntu-latest", "windows": "windows-latest", "macos": "macos-latest"}


def sessions(noxfile: str = "noxfile.py") -> list[dict[str, Any]]:
    listing = subprocess.run([sys.executable, "-m", "nox", "--noxfile", noxfile, "--list", "--json"],
                             capture_output=True, text=True, check=True)
    found: list[dict[str, Any]] = json.loads(listing.stdout)
    return found


def artifact_name(os_name: str, session: str) -> str:
    """An artifact name GitHub accepts (no quotes, parentheses or '='), unique per job."""
    return f"records-{os_name}-" + re.sub(r"[^A-Za-z0-9.-]+", "-", session).strip("-")


def matrix(listed: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    include = []
    for entry in listed:
        for tag in entry.get("tags", []):
            if tag.startswith("ci:") and tag[3:] in RUNNERS:
                os_name = tag[3:]
                include.append({"os": os_name, "runner": RUNNERS[os_name], "session": entry["session"],
                                "artifact": artifact_name(os_name, entry["session"])})
    return {"include": include}


if __name__ == "__main__":
    print(json.dumps(matrix(sessions())))
