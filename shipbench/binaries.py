"""What the native binaries inside an artifact need and how they were built, read from the files that ship.

- The glibc floor: the highest `GLIBC_x.y` symbol version any ELF file needs (its `.gnu.version_r` section). A
  bundle built on a newer distribution than its users' fails with "GLIBC_2.35 not found" (pyinstaller#1450,
  #2611, #9018); the floor says which Debian or Ubuntu is the oldest it can start on, before anyone tries.
- Hardening, which security reviews ask for, per ELF file: PIE (executables), RELRO (partial: GNU_RELRO; full:
  and BIND_NOW), NX (a GNU_STACK segment that is not executable) and the stack protector (a reference to
  `__stack_chk_fail`; a file with no such reference may simply have no function that needs one, so it is
  counted, not called unsafe). The artifact's summary counts the files without each.

Everything comes from `readelf` (binutils), run on every ELF file below the artifact (symbolic links are not
followed: each file once). Without readelf the check is skipped with the command that installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ELF_MAGIC = b"\x7fELF"
READELF_HINT = "readelf not found: sudo apt-get install binutils"
WEAKEST_SHOWN = 10
_GLIBC = re.compile(r"^\s*0x[0-9a-f]+:\s+Name: GLIBC_(\d+(?:\.\d+)+)\s", re.MULTILINE)
_STACK = re.compile(r"^\s*GNU_STACK\s+(?:0x[0-9a-f]+\s+){5}(?P<flags>[RWE ]{3})\s+0x", re.MULTILINE)


@dataclass
class Elf:
    """One ELF file as readelf shows it."""

    path: str  # relative to the artifact
    glibc: tuple[int, ...] | None  # the highest GLIBC version it needs; None: none
    executable: bool  # it asks for a program interpreter (PT_INTERP): a program, not a library
    pie: bool
    relro: str  # full, partial, none
    nx: bool
    canary: bool
    lacks: list[str] = field(default_factory=list)


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def parse(path: str, headers: str, symbols: str) -> Elf:
    """An Elf from `readelf -W -h -l -d -V` (headers) and `readelf -W --dyn-syms` (symbols) of one file."""
    needs = headers.split("Version needs section", 1)[1] if "Version needs section" in headers else ""
    needs = needs.split("Version definition section", 1)[0]
    floors = [version(found) for found in _GLIBC.findall(needs)]
    executable = re.search(r"^\s*INTERP\s", headers, re.MULTILINE) is not None
    kind = re.search(r"^\s*Type:\s+(\w+)", headers, re.MULTILINE)
    pie = executable and kind is not None and kind.group(1) == "DYN"
    has_relro = re.search(r"^\s*GNU_RELRO\s", headers, re.MULTILINE) is not None
    now = re.search(r"\(BIND_NOW\)|\(FLAGS\)\s.*\bBIND_NOW\b|\(FLAGS_1\)\s.*\bNOW\b", headers) is not None
    relro = "full" if has_relro and now else "partial" if has_relro else "none"
    stack = _STACK.search(headers)
    nx = stack is not None and "E" not in stack.group("flags")
    canary = "__stack_chk_fail" in symbols
    elf = Elf(path, max(floors) if floors else None, executable, pie, relro, nx, canary)
    elf.lacks = [what for what, missing in (("PIE", executable and not pie), ("full RELRO", relro != "full"),
                                            ("NX", not nx), ("stack protector", not canary)) if missing]
    return elf


def elf_files(root: Path) -> Iterator[Path]:
    """Every regular file below root (or root itself) that starts with the ELF magic."""
    candidates = [root] if root.is_file() else sorted(root.rglob("*"))
    for path in candidates:
        if path.is_symlink() or not path.is_file():
            continue
        try:
            with path.open("rb") as handle:
                if handle.read(4) == ELF_MAGIC:
                    yield path
        except OSError:
            continue


def _readelf(*args: str) -> str:
    done = subprocess.run(["readelf", "-W", *args], capture_output=True, text=True, errors="replace",
                          timeout=120, check=False)
    return done.stdout


def _unpack_elves(archive: Path, into: Path) -> None:
    """The ELF members of a zip (a zipapp: pex, shiv), written below `into` under their names in the archive;
    a name that would leave `into` is skipped."""
    with zipfile.ZipFile(archive) as packed:
        for member in packed.infolist():
            parts = Path(member.filename).parts
            if member.is_dir() or not parts or Path(member.filename).is_absolute() or ".." in parts:
                continue
            with packed.open(member) as source:
                if source.read(4) != ELF_MAGIC:
                    continue
            target = into.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with packed.open(member) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)


def inspect(root: Path, embedded: Callable[[Path], None] | None = None) -> dict[str, Any]:
    """The artifact's binaries summarized (the record's metrics.binaries), or a skipped entry with the reason.
    A zip (a zipapp) is read member by member: its extension modules ship inside it. `embedded` writes into a
    folder the ELF files a single-file program carries in itself (a PyInstaller onefile's libraries): they are
    read beside the program, under their names inside it."""
    if shutil.which("readelf") is None:
        return {"status": "skipped", "reason": READELF_HINT}
    if root.is_file() and zipfile.is_zipfile(root):
        with tempfile.TemporaryDirectory(prefix="shipbench-elves-") as unpacked:
            _unpack_elves(root, Path(unpacked))
            return summarize(_read(Path(unpacked)))
    if embedded is None:
        return summarize(_read(root))
    with tempfile.TemporaryDirectory(prefix="shipbench-elves-") as unpacked:
        try:
            embedded(Path(unpacked))
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            return {"status": "failed", "reason": f"the files inside {root.name} could not be read: {error}"[:500]}
        return summarize(_read(root) + _read(Path(unpacked)))


def _read(root: Path) -> list[Elf]:
    elves = []
    for path in elf_files(root):
        relative = path.name if root.is_file() else path.relative_to(root).as_posix()
        elves.append(parse(relative, _readelf("-h", "-l", "-d", "-V", str(path)), _readelf("--dyn-syms", str(path))))
    return elves


STEP = "binaries inside: glibc floor, hardening (readelf)"


def record(ctx: Any, root: Path, embedded: Callable[[Path], None] | None = None) -> None:
    """The check as one progress step of a row (a strategy's Context), into metrics.binaries."""
    with ctx.steps.step(STEP):
        ctx.metrics["binaries"] = inspect(root, embedded)


def summarize(elves: list[Elf]) -> dict[str, Any]:
    floored = [elf for elf in elves if elf.glibc]
    top = max(floored, key=lambda elf: elf.glibc or ()) if floored else None
    executables = [elf for elf in elves if elf.executable]
    weakest = sorted((elf for elf in elves if elf.lacks), key=lambda elf: (-len(elf.lacks), elf.path))
    return {
        "status": "ok",
        "elf_files": len(elves),
        "glibc_floor": ".".join(map(str, top.glibc)) if top and top.glibc else None,
        "glibc_floor_file": top.path if top else None,
        "executables": len(executables),
        "without_pie": sum(not elf.pie for elf in executables),
        "relro": {level: sum(elf.relro == level for elf in elves) for level in ("full", "partial", "none")},
        "without_nx": sum(not elf.nx for elf in elves),
        "without_stack_protector": sum(not elf.canary for elf in elves),
        "weakest": [{"path": elf.path, "lacks": elf.lacks} for elf in weakest[:WEAKEST_SHOWN]],
    }
