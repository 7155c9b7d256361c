"""What ships inside each artifact (metrics.binaries, binaries.py): its glibc floor with the clean-container start
that proves it, and how its native binaries were hardened."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .. import strategies
from ..docker import DEBIAN_SUITES, SUITE_GLIBC
from ..licenses import SBOM_FOLDER, SBOM_SUFFIX
from .tables import Report, fmt_bytes, row_name

INSIDE_COLUMNS = ("row", "missing modules", "left in TMPDIR when stopped at ready", "ELF files",
                  "glibc floor (the file that needs it)", "proof", "PIE executables", "full RELRO", "NX stack",
                  "stack protector")
INSIDE_EXPLANATION = (
    "Every ELF file below the artifact, read with readelf. The glibc floor is the highest GLIBC_x.y symbol "
    "version any of them needs: the oldest glibc, so the oldest distribution, it can start on (Debian 12 has "
    "2.36, Debian 13 2.41); a bundle built on a newer system than its users' fails with \"GLIBC_2.xx not found\". "
    "The proof is the start in the oldest clean Debian container (What the target machine needs). Hardening "
    "counts the files with each property: PIE (executables only), full RELRO (GNU_RELRO and BIND_NOW), a "
    "non-executable stack, and a reference to __stack_chk_fail (a file without one may have no function that "
    "needs it). A venv's interpreter is the target's own and is not counted. Missing modules: those the app "
    "loaded from files in one run in its build venv that the bundle does not hold (a freezer misses a module "
    "imported by a computed name; the bundle works until that code path runs): such a bundle is never "
    "recommended. Left in TMPDIR: a onefile program unpacks itself there on every start; stopped at ready by "
    "SIGTERM its launcher can clean up, by SIGKILL (the OOM killer, kill -9, a job's timeout) it cannot, and "
    "the copy stays until the folder is cleaned.")


def _missing(rec: dict[str, Any]) -> str:
    found = rec["metrics"].get("missing_modules")
    if not isinstance(found, dict):
        return "–"
    if found.get("status") != "ok":
        return f"not checked: {found.get('reason', '?')}"
    scope = " outside the standard library" if found.get("scope") == "outside the standard library" else ""
    if not found["count"]:
        return f"none{scope} (of {found['loaded']} loaded)"
    names = ", ".join(found["missing"][:5]) + (" …" if found["count"] > 5 else "")
    own = found.get("own")
    whose = "" if not isinstance(own, list) else (
        f" ({len(own)} the app's own: {', '.join(map(str, own[:5]))})" if own else " (none the app's own)")
    return f"{found['count']}{scope}: {names}{whose}"


def _left(rec: dict[str, Any]) -> str:
    found = rec["metrics"].get("temp_left")
    if not isinstance(found, dict):
        return "–"
    if found.get("status") != "ok":
        return f"not checked: {found.get('reason', '?')}"
    said = []
    for how, left in found.get("after", {}).items():
        if isinstance(left, dict):
            what = f"{left.get('files', 0)} files, {fmt_bytes(left.get('bytes'))}" if left.get("files") else "nothing"
            said.append(f"{'a normal exit' if how == 'exit' else how.upper()}: {what}")
    return "; ".join(said) or "–"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def _proof(rec: dict[str, Any], floor: str | None) -> str:
    """The oldest clean-container start of the artifact, as evidence for (or against) its floor."""
    results = rec["metrics"].get("portability")
    known = strategies.STRATEGIES.get(rec["strategy"])
    if known is not None and not known.runs_on_host:
        return "started on the system it carries (its image or its release)"
    if not isinstance(results, dict) or not results:
        if rec.get("profile") == "quick" and known is not None and "desktop" in getattr(known, "audiences", ()):
            return "not started in a clean container: the quick profile does not (a strategy's own session does)"
        return "not started in a clean container (this way runs on the host's system)"
    for target, suite in sorted(DEBIAN_SUITES.items(), key=lambda item: _version(SUITE_GLIBC[item[1]])):
        starts = {key: value for key, value in results.items()
                  if (key == target or key.startswith(f"{target}/")) and isinstance(value, dict)}
        glibc = SUITE_GLIBC[suite]
        if any(value.get("status") == "ok" for value in starts.values()):
            return f"starts on {target} (glibc {glibc})"
        failed = [str(value.get("reason", "")) for value in starts.values() if value.get("status") == "failed"]
        if failed:
            named = next((line for line in failed if "GLIBC_" in line), failed[0])
            said = " ".join(named.split())[:160]
            return f"fails on {target} (glibc {glibc}): {said}"
    if floor:
        return "no clean-container start was measured (Docker missing, or skipped)"
    return "–"


def _share(count: int, total: int) -> str:
    return f"{count} of {total}" if total else "–"


def inside_rows(report: Report) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for rec in report.records:
        found = rec["metrics"].get("binaries") if rec["status"] == "ok" else None
        if not isinstance(found, dict):
            continue
        if found.get("status") != "ok":
            rows.append((row_name(rec), _missing(rec), _left(rec), "–", f"not read: {found.get('reason', '?')}",
                         "–", "–", "–", "–", "–"))
            continue
        files, floor = found["elf_files"], found["glibc_floor"]
        where = f" ({found['glibc_floor_file']})" if found.get("glibc_floor_file") else ""
        executables = found["executables"]
        floor_text = f"{floor}{where}" if floor else "none needed"
        rows.append((row_name(rec), _missing(rec), _left(rec), str(files), floor_text, _proof(rec, floor),
                     _share(executables - found["without_pie"], executables), _share(found["relro"]["full"], files),
                     _share(files - found["without_nx"], files),
                     _share(files - found["without_stack_protector"], files)))
    return rows


LICENCE_COLUMNS = ("row", "distributions", "copyleft (licence)", "no licence declared", "ships besides them", "SBOM")
LICENCE_EXPLANATION = (
    "The Python distributions each artifact carries (a frozen bundle: those of the app alone, without the freezer) "
    "with the licence their metadata declares, read by CycloneDX's generator (cyclonedx-bom), whose SBOM file "
    "(CycloneDX JSON) lies beside this report. Copyleft is named: weak (LGPL, MPL, EPL; a linking exception) "
    "lets a proprietary app ship the library unchanged and replaceable, strong (GPL, AGPL) reaches the whole "
    "program; of \"A OR B\" the weaker counts. \"Ships besides them\": the interpreter a frozen program carries and "
    "the freezer's start-up code, as each strategy declares them. Only Python distributions are read: the system "
    "libraries a bundle copies from the host (What ships inside) come under their Debian packages' licences.")
SBOM_MAX_BYTES = 32 * 2**20


def _is_sbom(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            found = json.loads(handle.read(SBOM_MAX_BYTES + 1))
    except (OSError, ValueError):
        return False
    return isinstance(found, dict) and found.get("bomFormat") == "CycloneDX"


def sbom_file(rec: dict[str, Any], relative: str) -> tuple[Path | None, str]:
    """The SBOM a record names, or None and why it is refused: only a CycloneDX JSON file beside the record,
    inside the folder it was read from, is ever read (records are untrusted)."""
    folder = Path(rec.get("_source", ".")).parent.resolve()
    if Path(relative).is_absolute() or ".." in Path(relative).parts or not relative.endswith(SBOM_SUFFIX):
        return None, f"not a relative path to a {SBOM_SUFFIX} file inside the record's folder"
    file = (folder / relative).resolve()
    if not file.is_relative_to(folder) or not file.is_file():
        return None, "no such file beside the record"
    if file.stat().st_size > SBOM_MAX_BYTES:
        return None, f"larger than {SBOM_MAX_BYTES // 2**20} MB"
    if not _is_sbom(file):
        return None, "not a CycloneDX JSON document"
    return file, ""


def _copyleft(found: dict[str, Any]) -> str:
    named = [f"{entry['name']} {entry.get('version', '')} ({entry['license']}; {entry['kind']})"
             for entry in found.get("copyleft", [])]
    return "; ".join(named) if named else "none"


def licence_rows(report: Report) -> tuple[list[tuple[str, ...]], list[tuple[str, Path]]]:
    """The licences table, and the SBOM files to put beside the report (name inside the report folder, file)."""
    rows: list[tuple[str, ...]] = []
    attachments: list[tuple[str, Path]] = []
    for rec in report.records:
        found = rec["metrics"].get("licenses") if rec["status"] == "ok" else None
        if not isinstance(found, dict):
            continue
        if found.get("status") != "ok":
            rows.append((row_name(rec), "–", f"not read: {found.get('reason', '?')}", "–", "–", "–"))
            continue
        sbom = "–"
        if found.get("sbom"):
            file, why = sbom_file(rec, str(found["sbom"]))
            if file is None:
                sbom = f"refused: {why}"
            else:
                sbom = f"{SBOM_FOLDER}/{re.sub(r'[^A-Za-z0-9_-]', '', str(rec['id']))[:12]}-{file.name}"
                attachments.append((sbom, file))
        besides = "; ".join(f"{entry['name']} ({entry['license']})" for entry in found.get("runtime", [])) or "–"
        unknown = ", ".join(found.get("unknown", [])) or "none"
        rows.append((row_name(rec), str(found.get("distributions", 0)), _copyleft(found), unknown, besides, sbom))
    return _said_once(rows), attachments


def _said_once(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """A long licence cell the row above already holds word for word (the same dependencies in every way of one
    app) reads "as above", so the table shows what differs."""
    folded = []
    for number, row in enumerate(rows):
        above = rows[number - 1] if number else None
        folded.append(tuple(cell if above is None or column in (0, 1, 5) or cell != above[column] or len(cell) < 40
                            else "as above" for column, cell in enumerate(row)))
    return folded
