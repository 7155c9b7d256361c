"""What ships inside each artifact (metrics.binaries, binaries.py): its glibc floor with the clean-container start
that proves it, and how its native binaries were hardened."""

from __future__ import annotations

from typing import Any

from ..docker import DEBIAN_SUITES, SUITE_GLIBC
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
    return f"{found['count']}{scope}: {names}"


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
    if not isinstance(results, dict) or not results:
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
