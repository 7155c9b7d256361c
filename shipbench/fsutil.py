"""File helpers shared by the records and the report: atomic writes, sizes, tails."""

from __future__ import annotations

import errno
import gzip
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import UsageError
from .run_leftovers import partial_name

# What is never part of an app, wherever its folder is copied (an image's context, a .deb's source, the VM's
# sync) or hashed (a row's inputs): caches, builds, shipbench's own output, and any virtual environment or cache
# whatever its name (a folder holding pyvenv.cfg, or CACHEDIR.TAG as nox's --envdir, uv's and pip's caches do)
NOT_THE_APPS = frozenset({"__pycache__", ".git", ".nox", ".tox", ".venv", ".noxw", ".pytest_cache", ".mypy_cache",
                          ".ruff_cache", ".vagrant", "build", "dist", "results", "report"})


def not_the_apps(folder: str | os.PathLike[str], name: str) -> bool:
    """Whether `name` in `folder` is no part of the app (NOT_THE_APPS)."""
    if name in NOT_THE_APPS or name.endswith((".egg-info", ".pyc")):
        return True
    path = os.path.join(folder, name)
    return os.path.isfile(os.path.join(path, "pyvenv.cfg")) or os.path.isfile(os.path.join(path, "CACHEDIR.TAG"))


def _replace_whole(path: Path, fill: Callable[[BinaryIO], object]) -> None:
    """Fill a temporary file in path's folder, then rename it onto path: readers never see half a file, and a
    full disk or a crash leaves nothing at path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file where the folder should be: say that, not "File exists"
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path.parent)) from None
    fd, tmp = tempfile.mkstemp(prefix=partial_name(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; results and reports are for reading
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    _replace_whole(path, lambda handle: handle.write(text.encode("utf-8")))


def write_text_or_say(path: Path, text: str) -> None:
    """atomic_write_text for a file the user named or reads (a record, `compare --json`): a path that cannot be
    written (a full disk, a read-only folder, a folder where the file should be) is the one line a user reads,
    "cannot write PATH: <why>", as a UsageError (exit 2), never a traceback; nothing half-written is left."""
    try:
        atomic_write_text(path, text)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_png(path: Path) -> bool:
    """A regular file that starts like a PNG (what a screenshot must be before it is kept or shown). Checked to be
    a regular file first: opening a FIFO an untrusted record names would block."""
    try:
        if not path.is_file():
            return False
        with path.open("rb") as handle:
            return handle.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
    except OSError:
        return False


def atomic_copy(source: Path, path: Path) -> None:
    """Copy a finished file into place whole."""
    with source.open("rb") as original:
        _replace_whole(path, lambda handle: shutil.copyfileobj(original, handle))


def atomic_move(source: Path, path: Path) -> None:
    """Move a finished file into place whole (it may lie on another filesystem: copied, then renamed)."""
    atomic_copy(source, path)
    source.unlink(missing_ok=True)


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
    """How a user downloads a bundle: zip on Windows, tar.gz elsewhere."""
    return "zip" if platform == "win32" else "tar.gz"


# every entry's time in an archive (1980-01-01, the earliest a zip can hold): the same files pack to the same
# bytes whenever they were built, as reproducible builds pack them, so an unchanged bundle's download is unchanged
ARCHIVE_EPOCH = 315532800


def _normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = ARCHIVE_EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_archive(path: Path, archive: Path, fmt: str) -> Path:
    """Pack path (a folder or one file) under its own name, at gzip's default level 6, as `tar czf` and most
    zip tools do (Python's own default, level 9, is several times slower for about 1% less). Entries in sorted
    order with fixed times and owners, and no time in the gzip header: the archive depends on the files only."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "zip":
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as bundle:
            for file in [path] if path.is_file() else sorted(path.rglob("*")):
                name = file.relative_to(path.parent).as_posix() + ("/" if file.is_dir() else "")
                entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                entry.external_attr = (file.stat().st_mode & 0xFFFF) << 16
                if file.is_dir():
                    bundle.writestr(entry, b"")
                else:
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    with file.open("rb") as source, bundle.open(entry, "w") as target:
                        shutil.copyfileobj(source, target, 1 << 20)
    else:
        with archive.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as packed, \
                tarfile.open(fileobj=packed, mode="w") as bundle:
            bundle.add(path, arcname=path.name, filter=_normalized)
    return archive


def download_size(path: Path, scratch: Path, platform: str) -> int:
    """Bytes of path compressed the way its users download it; the archive itself is not kept."""
    fmt = archive_format(platform)
    archive = write_archive(path, scratch / f"{path.name}.{fmt}", fmt)
    try:
        return archive.stat().st_size
    finally:
        archive.unlink(missing_ok=True)


def largest_files(path: Path, count: int = 15) -> list[dict[str, object]]:
    """The biggest files below path, so the report can show where a bundle's bytes go."""
    if path.is_file():
        return [{"path": path.name, "bytes": path.stat().st_size}]
    files = [(p.stat().st_size, p) for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    files.sort(key=lambda item: item[0], reverse=True)
    return [{"path": p.relative_to(path).as_posix(), "bytes": size} for size, p in files[:count]]
