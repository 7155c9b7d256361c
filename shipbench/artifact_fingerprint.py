"""Whether a row's artifact is still the one its record measured: a record is reused only then.

A record says what was measured; the artifact is what a user would copy. A run killed during a `--fresh` rebuild
leaves the record of the last good build and an emptied dist/; a build folder cleaned by hand leaves records of
nothing. Reusing those said "reused" for an artifact no longer there (found: the next plain run exited 0 over an
empty folder). The record keeps a fingerprint of the artifact as measured, and reuse compares it:

- a file: its size and SHA-256 (a large one: its size, and the SHA-256 of its first and last MiB);
- a folder: every file's relative name and size, less Python's byte-code caches (running a venv's app writes
  __pycache__/ into it);
- an image: its ID, from the container engine.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from .runner import output

IMAGE_KIND = "docker image"
WHOLE_FILE = 256 * 1024 * 1024  # files up to this are hashed whole
EDGE = 1024 * 1024


def _file(path: Path) -> str:
    digest = hashlib.sha256()
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if size <= WHOLE_FILE:
            for block in iter(lambda: handle.read(EDGE), b""):
                digest.update(block)
        else:
            digest.update(handle.read(EDGE))
            handle.seek(size - EDGE)
            digest.update(handle.read(EDGE))
    return f"file {size} {digest.hexdigest()}"


def _folder(path: Path) -> str:
    digest = hashlib.sha256()
    count = 0
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            file = Path(folder) / name
            try:
                size = file.lstat().st_size
            except OSError:
                continue
            digest.update(f"{file.relative_to(path).as_posix()}\0{size}\n".encode())
            count += 1
    return f"folder {count} {digest.hexdigest()}"


def fingerprint(path: str, kind: str, root: Path) -> str | None:
    """The artifact's fingerprint now; None where there is nothing there (or no engine to ask)."""
    if kind == IMAGE_KIND:
        found = output(["docker", "image", "inspect", "--format", "{{.Id}}", path])
        return f"image {found.strip()}" if found and found.strip() else None
    where = Path(path) if Path(path).is_absolute() else root / path
    try:
        if where.is_dir():
            return _folder(where)
        if where.is_file():
            return _file(where)
    except OSError:
        return None
    return None


def changed(artifact: Any, root: Path) -> str | None:
    """Why a record's artifact is not the one it measured (gone, or changed since); None where it is. A record
    without a fingerprint (older shipbench) needs its artifact only to be there."""
    if not isinstance(artifact, dict) or not isinstance(artifact.get("path"), str):
        return None  # a record that names no artifact: nothing to check (a row measured without one)
    path, kind, kept = artifact["path"], str(artifact.get("kind") or ""), artifact.get("fingerprint")
    now = fingerprint(path, kind, root)
    if now is None:
        return f"its artifact {path} is no longer there"
    if isinstance(kept, str) and kept != now:
        return f"its artifact {path} changed since it was measured"
    return None
