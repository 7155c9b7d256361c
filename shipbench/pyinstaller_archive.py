"""A PyInstaller program's own archive (its CArchive, the PKG), read with PyInstaller's reader in the build venv.

Two readers need it: what modules the bundle holds (bundle_modules), and, for a onefile program, the native
libraries it unpacks on every start (binaries: their glibc floor and hardening are the program's, though on disk
they are one file). The reader runs with the build venv's Python, so the PyInstaller that wrote the archive reads it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

# the archive's table (names; PYZ entries listed; zips inside it, base_library.zip in onefile, opened)
_LIST = """
import io, json, sys, zipfile
from PyInstaller.archive.readers import CArchiveReader
archive = CArchiveReader(sys.argv[1])
names, files = [], []
contents = next((o.split(" ", 1)[1] for o in archive.options if o.startswith("pyi-contents-directory ")), ".")
for name, entry in archive.toc.items():
    if entry[-1] == "z":
        names += list(archive.open_embedded_archive(name).toc)
    elif name.endswith(".zip"):
        files += zipfile.ZipFile(io.BytesIO(archive.extract(name))).namelist()
    else:
        names.append(name)
print(json.dumps({"names": names, "files": files, "contents": contents}))
"""

# every ELF member written below argv[2] under its name in the archive; a name that would leave it is skipped
_EXTRACT_ELVES = """
import os, sys
from PyInstaller.archive.readers import CArchiveReader
archive, into = CArchiveReader(sys.argv[1]), os.path.realpath(sys.argv[2])
for name, entry in archive.toc.items():
    if entry[-1] in "zo":  # the PYZ of modules, run-time options
        continue
    data = archive.extract(name)
    target = os.path.realpath(os.path.join(into, name))
    if not data or data[:4] != b"\\x7fELF" or not target.startswith(into + os.sep):
        continue
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as out:
        out.write(data)
"""


def _run(python: Path, script: str, *args: str) -> str:
    """The script's output; ValueError with its last line of stderr when it fails (a program PyInstaller's
    reader does not know)."""
    done = subprocess.run([str(python), "-c", script, *args], capture_output=True, text=True, errors="replace",
                          timeout=300, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise ValueError(lines[-1] if lines else f"exit {done.returncode}")
    return done.stdout


def listing(python: Path, program: Path) -> dict[str, Any]:
    """{"names": archive and PYZ entry names, "files": names inside zips in it, "contents": the contents folder
    the program looks in (onedir: beside it; `_internal` since PyInstaller 6)}."""
    found = json.loads(_run(python, _LIST, str(program)))
    return found if isinstance(found, dict) else {}


def extract_elves(python: Path, program: Path, into: Path) -> None:
    """The ELF files inside the program's archive (a onefile's libraries and extension modules) below `into`."""
    _run(python, _EXTRACT_ELVES, str(program), str(into))
