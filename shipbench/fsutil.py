"""File helpers shared by the records and the report: atomic writes, sizes, tails."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename it, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def tree_size(path: Path) -> int:
    """Bytes of the regular files below path; symlinks are not followed and a hard-linked file counts once."""
    info = path.lstat()
    if stat.S_ISREG(info.st_mode):
        return info.st_size
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def tail(text: str, lines: int = 20) -> list[str]:
    return text.rstrip("\n").splitlines()[-lines:] if text else []


def archive_format(platform: str) -> str:
    """How a user downloads a bundle: zip on Windows, tar.gz elsewhere (shutil.make_archive's names)."""
    return "zip" if platform == "win32" else "gztar"


def download_size(path: Path, scratch: Path, platform: str) -> int:
    """Bytes of path (a folder or one file) compressed the way its users download it."""
    scratch.mkdir(parents=True, exist_ok=True)
    archive = shutil.make_archive(str(scratch / path.name), archive_format(platform), root_dir=path.parent,
                                  base_dir=path.name)
    try:
        return Path(archive).stat().st_size
    finally:
        Path(archive).unlink(missing_ok=True)


def largest_files(path: Path, count: int = 15) -> list[dict[str, object]]:
    """The biggest files below path, so the report can show where a bundle's bytes go."""
    if path.is_file():
        return [{"path": path.name, "bytes": path.stat().st_size}]
    files = [(p.stat().st_size, p) for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    files.sort(key=lambda item: item[0], reverse=True)
    return [{"path": p.relative_to(path).as_posix(), "bytes": size} for size, p in files[:count]]
