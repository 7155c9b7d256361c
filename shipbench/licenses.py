"""The distributions an artifact ships, under which licences, and an SBOM file for each artifact.

A company shipping a frozen Qt app must know that it ships LGPL libraries, and more and more customers ask for an
SBOM. Both come from one run of CycloneDX's own generator (`cyclonedx-py environment`, from PyPI, pinned in
shipbench/tools/sbom.txt) over the environment that holds exactly what the artifact carries of Python
distributions: the venv itself, or a venv of the app alone beside a freezer's build venv (whose freezer does not
ship). Its licence data is each distribution's metadata (License-Expression, the License field, classifiers).
The SBOM is written beside the record (results/sboms/<record>.cdx.json); the record summarizes it: how many
distributions, which are copyleft (named with their expression), which declare no licence, and what the artifact
ships besides them (a frozen program's interpreter and the freezer's own run-time code, declared by its strategy).

Copyleft is read from the expression: an `OR` lets the user choose, so the weakest alternative counts
(PySide6's "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only" is weak copyleft, the LGPL's).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import interpreters, tool_pins
from .errors import Failure, Skip
from .fsutil import atomic_move
from .run_leftovers import partial_name

REQUIREMENTS = tool_pins.requirements("sbom")  # every row's input (inputs.py)
SBOM_SUFFIX = ".cdx.json"  # CycloneDX's own naming; record.load_all leaves these files alone
SBOM_FOLDER = "sboms"
STEP = "licences and SBOM (cyclonedx-bom)"
SHOWN = 20
KINDS = ("permissive", "weak copyleft", "strong copyleft", "unknown")
_WEAK = re.compile(r"\b(?:LGPL|MPL|EPL|CDDL|LGPLLR)|Lesser General Public|Library General Public|Mozilla Public|"
                   r"Eclipse Public", re.IGNORECASE)
_STRONG = re.compile(r"\b(?:A?GPL|EUPL|OSL|CC-BY-SA|SSPL)|General Public License|Affero", re.IGNORECASE)
_CLASSIFIER = "License :: OSI Approved :: "


def licence_of(component: dict[str, Any]) -> str:
    """A CycloneDX component's declared licence as one string: its expression, else its SPDX ids, else the
    names it gives (a classifier without its prefix); "" where it declares none."""
    entries = [entry for entry in component.get("licenses") or [] if isinstance(entry, dict)]
    for entry in entries:
        if isinstance(entry.get("expression"), str):
            return str(entry["expression"])
    ids = [str(entry["license"]["id"]) for entry in entries
           if isinstance(entry.get("license"), dict) and entry["license"].get("id")]
    if ids:
        return " AND ".join(dict.fromkeys(ids))
    names = [str(entry["license"]["name"]).removeprefix(_CLASSIFIER).removeprefix("License :: ")
             for entry in entries if isinstance(entry.get("license"), dict) and entry["license"].get("name")]
    return " AND ".join(dict.fromkeys(name.strip() for name in names))[:200]


def kind(expression: str) -> str:
    """permissive, weak copyleft, strong copyleft or unknown (no licence declared); of `A OR B` the weaker."""
    if not expression.strip():
        return "unknown"
    choices = [part for part in re.split(r"\s+OR\s+", expression.strip("() ")) if part.strip()]
    return min((_kind_of_one(choice) for choice in choices), key=KINDS.index)


def _kind_of_one(expression: str) -> str:
    if _WEAK.search(expression) or " WITH " in expression:  # a linking exception keeps the copyleft to the part
        return "weak copyleft"
    if _STRONG.search(expression):
        return "strong copyleft"
    return "permissive"


def summarize(bom: dict[str, Any], runtime: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """metrics.licenses from a CycloneDX document and what else the artifact ships (name, licence)."""
    components = [c for c in bom.get("components") or [] if isinstance(c, dict) and c.get("type") != "file"]
    found = sorted(({"name": str(c.get("name", "?")), "version": str(c.get("version", "")),
                     "license": licence_of(c)} for c in components), key=lambda d: d["name"].lower())
    for entry in found:
        entry["kind"] = kind(entry["license"])
    counted = {name: sum(entry["kind"] == name for entry in found) for name in KINDS}
    return {"status": "ok", "distributions": len(found), "kinds": counted,
            "copyleft": [entry for entry in found if "copyleft" in entry["kind"]][:SHOWN],
            "unknown": [entry["name"] for entry in found if entry["kind"] == "unknown"][:SHOWN],
            "runtime": [{"name": name, "license": licence, "kind": kind(licence)} for name, licence in runtime]}


def write_sbom(tool: Path, python: Path, target: Path, site_packages: Path | None = None) -> dict[str, Any]:
    """Run cyclonedx-py over the environment of `python`, the SBOM into `target` (whole or not at all).
    `site_packages`: read that folder instead (a venv copied out of an image), with `python` of the same version
    started without its own site (-S) and the folder as its only path besides the standard library."""
    partial = target.with_name(partial_name(target.name) + "partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    alone = ["-S"] if site_packages else []
    env = {**os.environ, "PYTHONPATH": str(site_packages)} if site_packages else None
    done = subprocess.run([str(tool), "environment", *alone, "--output-reproducible", "--of", "JSON", "-o",
                           str(partial), str(python)], capture_output=True, text=True, errors="replace", timeout=600,
                          check=False, env=env)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise Failure(f"cyclonedx-py failed: {lines[-1] if lines else f'exit {done.returncode}'}")
    try:  # a full disk leaves an empty or cut file: nothing at `target`, and no partial file either
        bom: dict[str, Any] = json.loads(partial.read_text(encoding="utf-8"))
        atomic_move(partial, target)
    except (OSError, ValueError) as error:
        partial.unlink(missing_ok=True)
        raise Failure(f"the SBOM could not be written to {target}: {error}") from None
    return bom


def record(ctx: Any, env_dir: Path | Callable[[], tuple[Path, Path]], tool: Callable[[], Path],
           runtime: tuple[tuple[str, str], ...] = ()) -> None:
    """The check as one progress step of a row (a strategy's Context): the SBOM of the venv `env_dir` beside
    the record, its summary into metrics.licenses; or, where `env_dir` is a callable, of the (python,
    site-packages folder) it gives (an image's venv, copied out). `tool` gives the cyclonedx-py program (a kept
    venv of shipbench/tools/sbom.txt); one that cannot be had is a skipped entry with why."""
    with ctx.steps.step(STEP):
        relative = Path(SBOM_FOLDER) / (ctx.key.filename.removesuffix(".json") + SBOM_SUFFIX)
        try:
            python, site = (interpreters.venv_python(env_dir), None) if isinstance(env_dir, Path) else env_dir()
            bom = write_sbom(tool(), python, ctx.results_dir / relative, site)
        except (Failure, Skip, OSError, ValueError, subprocess.SubprocessError) as error:
            ctx.metrics["licenses"] = {"status": "skipped", "reason": f"no SBOM: {error}"[:500]}
            return
        ctx.metrics["licenses"] = {**summarize(bom, runtime), "sbom": relative.as_posix()}
