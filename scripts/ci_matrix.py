"""The GitHub Actions matrix, computed from the noxfile: one job per (OS, strategy session, Python).

Sessions say what CI needs to know with tags (noxfile.py's `ci()`): `ci:<os>` where they run, `ci-minutes:<n>`
their job's time limit, `ci-full` for the sessions a quick run leaves out (a VM, the CUDA image), `ci-free-disk`
for a job that needs the runner's unused toolchains removed first. Each job installs one Python and runs its
session on it: shipbench's `python` setting defaults to the interpreter it runs on. This reads them through
`nox --list --json`, the listing Nox documents
for CI matrices. scripts/ci-plan.sh (the workflow's plan step) and the tests run this same code.

    python scripts/ci_matrix.py [--quick] [--strategies venv,bake] [--pythons 3.11,3.12] [--apps gui]
        prints {"include": [...]} for `strategy.matrix`; exits non-zero when nox fails or nothing is left
    python scripts/ci_matrix.py --nox-requirement
        prints the nox that noxw.py pins (the plan step installs that one)
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Ubuntu's version is pinned: scripts/lib/packages.txt names its packages for Ubuntu 24.04. The others follow
# GitHub's current images.
RUNNERS = {"linux": "ubuntu-24.04", "windows": "windows-latest", "macos": "macos-latest"}


def nox_requirement() -> str:
    """noxw.py's NOX_REQUIREMENT (read, not imported: one pin for noxw and the workflow's plan step)."""
    tree = ast.parse((ROOT / "noxw.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "NOX_REQUIREMENT" for t in node.targets):
            return str(ast.literal_eval(node.value))
    raise LookupError("noxw.py pins no NOX_REQUIREMENT")


def sessions(noxfile: Path = ROOT / "noxfile.py") -> list[dict[str, Any]]:
    """`nox --list --json` of the sessions tagged `strategies` (the default selection is the main job's one
    session, so the tag is named); a failing nox raises CalledProcessError (and the plan step fails with it)."""
    listing = subprocess.run([sys.executable, "-m", "nox", "--noxfile", str(noxfile), "--list", "--json",
                              "--tags", "strategies"],
                             capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        sys.stderr.write(listing.stdout + listing.stderr)
        raise subprocess.CalledProcessError(listing.returncode, listing.args)
    found: list[dict[str, Any]] = json.loads(listing.stdout)
    return found


def artifact_name(os_name: str, session: str, python: str, prefix: str = "records") -> str:
    """An artifact name GitHub accepts (no quotes, parentheses or '='), unique per job; `prefix` is the caller's
    (its report artifact's name), so that two calls of the workflow in one run keep their records apart."""
    return f"{prefix}-{os_name}-py{python}-" + re.sub(r"[^A-Za-z0-9.-]+", "-", session).strip("-")


def _tag_value(tags: list[str], prefix: str) -> str | None:
    return next((tag[len(prefix):] for tag in tags if tag.startswith(prefix)), None)


# The Pythons a job is made for when the caller names none: Ubuntu 24.04's own python3.
DEFAULT_PYTHONS = ["3.12"]


def matrix(listed: list[dict[str, Any]], quick: bool = False, strategies: list[str] | None = None,
           pythons: list[str] | None = None, apps: list[str] | None = None,
           artifact_prefix: str = "records") -> dict[str, list[dict[str, Any]]]:
    """The jobs: every strategy session on each OS it is tagged for and each Python (shipbench's `python`
    setting, one job each), less what the filters leave out.

    quick: pull requests' run: the first Python only, no `ci-full` session. strategies: session names (venv,
    bake, ...). pythons: the Pythons every strategy builds for (default DEFAULT_PYTHONS). apps: passed to each
    session (`--app`).
    """
    include = []
    chosen = list(pythons or DEFAULT_PYTHONS)
    for entry in listed:
        tags = entry.get("tags", [])
        if "strategies" not in tags:
            continue
        minutes = _tag_value(tags, "ci-minutes:")
        if minutes is None:
            raise LookupError(f"{entry['session']} has no ci-minutes tag (noxfile.ci() gives every strategy one)")
        if strategies and entry["name"] not in strategies:
            continue
        if quick and "ci-full" in tags:
            continue
        can = _tag_value(tags, "ci-pythons:")
        for python in chosen[:1] if quick else chosen:
            if can is not None and python not in can.split(","):
                continue  # a job that could only record a skip (a .deb for a Python no Debian release has)
            for tag in tags:
                if tag.startswith("ci:") and tag[3:] in RUNNERS:
                    os_name = tag[3:]
                    include.append({
                        "os": os_name, "runner": RUNNERS[os_name], "session": entry["session"], "python": python,
                        "minutes": int(minutes),
                        "free-disk": "ci-free-disk" in tags,
                        "args": " ".join(f"--app {app}" for app in apps or []),
                        "artifact": artifact_name(os_name, entry["session"], python, artifact_prefix),
                    })
    return {"include": include}


def cost(jobs: dict[str, list[dict[str, Any]]]) -> tuple[int, int]:
    """What a run asks of the caller's runners: its measuring jobs, and the runner-minutes they may take at most
    (the sum of their time limits; plan and report add a few minutes)."""
    return len(jobs["include"]), sum(job["minutes"] for job in jobs["include"])


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.replace(" ", ",").split(",") if name.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first Python only, no VM, no CUDA image")
    parser.add_argument("--strategies", type=_names, default=[], help="comma-separated session names")
    parser.add_argument("--pythons", type=_names, default=[], help="comma-separated Pythons, one job each "
                        f"(default: {','.join(DEFAULT_PYTHONS)})")
    parser.add_argument("--apps", type=_names, default=[], help="comma-separated apps of the description")
    parser.add_argument("--artifact-prefix", default="records", help="the records artifacts' names start with it")
    parser.add_argument("--nox-requirement", action="store_true", help="print noxw.py's pinned nox and stop")
    parser.add_argument("--cost", action="store_true", help="print the jobs and their runner-minutes at most, not "
                        "the matrix")
    args = parser.parse_args(argv)
    if args.nox_requirement:
        print(nox_requirement())
        return 0
    for app in args.apps:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", app):
            parser.error(f"--apps: {app!r} is not an app name")
    try:
        listed = sessions()
    except subprocess.CalledProcessError as failed:
        print(f"ci_matrix: `nox --list --json` failed with exit status {failed.returncode} (its output is above)",
              file=sys.stderr)
        return 1
    unknown = set(args.strategies) - {entry["name"] for entry in listed if "strategies" in entry.get("tags", [])}
    if unknown:
        parser.error(f"--strategies: no such strategy session: {', '.join(sorted(unknown))}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.artifact_prefix):
        parser.error(f"--artifact-prefix: {args.artifact_prefix!r} is not an artifact name")
    jobs = matrix(listed, args.quick, args.strategies, args.pythons, args.apps, args.artifact_prefix)
    if not jobs["include"]:
        parser.error("no session is left to run: check --strategies and --pythons against `nox --list`")
    if args.cost:
        count, minutes = cost(jobs)
        print(f"{count} measuring jobs whose time limits add up to {minutes} runner-minutes, plus plan and report")
        return 0
    print(json.dumps(jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
