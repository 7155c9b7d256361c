"""Result records: one JSON file per (strategy, variant, app, python, os, arch), validated on write and read.

The format is public (see shipbench/schema/record.schema.json): the report, the CI merge and users' own
tools read it, so records are written atomically and never half.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import hashlib
import json
import math
import os
import stat
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from . import host
from .errors import UsageError
from .fsutil import write_text_or_say
from .licenses import SBOM_SUFFIX

SCHEMA_VERSION = 1


@functools.cache
def schema() -> dict[str, Any]:
    text = resources.files("shipbench").joinpath("schema/record.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validation_errors(record: object) -> list[str]:
    if depth(record) > MAX_DEPTH:  # untrusted input nested beyond any record: refused before the validator walks it
        return [f"nested too deeply to check (more than {MAX_DEPTH} levels)"]
    validator = jsonschema.Draft202012Validator(schema())
    try:
        return [
            f"{'/'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
            for error in sorted(validator.iter_errors(record), key=lambda error: list(error.absolute_path))
        ]
    except RecursionError:  # a record nested deeper than the validator can walk: untrusted input, not a crash
        return ["nested too deeply to check"]


@dataclass(frozen=True)
class Key:
    """What one record is about: the report's row."""

    strategy: str
    variant: str
    app: str
    python: str
    os: str = host.os_name()
    arch: str = host.arch_name()

    @property
    def filename(self) -> str:
        return f"{self.strategy}-{self.variant}-{self.app}-py{self.python}-{self.os}-{self.arch}.json"

    def label(self) -> str:
        return f"{self.strategy}/{self.variant} {self.app} py{self.python} {self.os}-{self.arch}"


def new_record(key: Key, command: str | None = None) -> dict[str, Any]:
    created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    facts = host.facts()
    # unique per measurement (two runs within one second too); the same record merged twice keeps its id
    digest = hashlib.sha256(f"{key}|{facts['name']}|{created}|{uuid.uuid4()}".encode()).hexdigest()[:32]
    return {
        "schema_version": SCHEMA_VERSION,
        "id": digest,
        "created": created,
        "strategy": key.strategy,
        "variant": key.variant,
        "app": key.app,
        "python": key.python,
        "os": key.os,
        "arch": key.arch,
        "status": "ok",
        "reason": None,
        "command": command,
        "artifact": None,
        "metrics": {},
        "host": facts,
        "versions": {},
        "notes": [],
    }


def skipped_unplanned(record: dict[str, Any]) -> bool:
    """A row the plan meant to measure (it has a `planned` estimate) that was skipped once it ran: a skip the plan
    should have known before the first build (a missing tool, a kind the way cannot ship), so its count and total
    were wrong. An interrupted row is not one: the user stopped it."""
    return (record.get("status") == "skipped" and isinstance(record.get("planned"), dict)
            and not str(record.get("reason") or "").startswith(INTERRUPTED))


INTERRUPTED = "interrupted after"  # how an interrupted row's reason begins (driver.py)


def write(record: dict[str, Any], results_dir: Path) -> Path:
    errors = validation_errors(record)
    if errors:
        raise ValueError("refusing to write an invalid record: " + "; ".join(errors))
    key = Key(*(record[field] for field in ("strategy", "variant", "app", "python", "os", "arch")))
    path = results_dir / key.filename
    write_text_or_say(path, json.dumps(record, indent=2, sort_keys=False, allow_nan=False) + "\n")
    return path


def read(path: Path) -> dict[str, Any] | None:
    """The valid record at `path`, or None (absent, unreadable or invalid: then it is measured again)."""
    try:
        loaded = load(path)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) and not validation_errors(loaded) else None


def mark_reused(rec: dict[str, Any], results_dir: Path) -> Path:
    """Note in a record that a run found its inputs unchanged and kept it: the report says since when."""
    runs = (rec.get("reused") or {}).get("runs", 0)
    rec["reused"] = {"last": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "runs": runs + 1}
    return write(rec, results_dir)


def check_writable(results_dir: Path) -> None:
    """Fail before minutes of building, not after, when the results cannot be saved."""
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        probe = results_dir / ".write-test"
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(f"cannot write results to {results_dir}: {reason} (is it read-only?)") from None


@dataclass(frozen=True)
class Invalid:
    path: Path
    problems: list[str]

    @property
    def shown(self) -> str:
        """The path as text any terminal or page can take: a file name that is not UTF-8 gets escapes."""
        return os.fsencode(self.path).decode("utf-8", "backslashreplace")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    """A JSON number with a fraction or exponent, as a float; one beyond a float's range (1e999, which Python
    reads as infinity) is refused like Infinity itself: every figure of a record is a finite float."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is beyond the range of a number a record may hold (a 64-bit float)")
    return value


# 308 digits stay below a float's largest value (about 1.8e308): every integer a record holds can be a float, as
# the report and `compare` make it (a longer one made float() overflow, and Python refuses to read 4,300 digits).
INT_DIGITS = 308


def _finite_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > INT_DIGITS:
        raise ValueError(f"an integer of {digits:,} digits is beyond the range of a number a record may hold "
                         "(a 64-bit float)")
    return int(text)


# No record nests deeper than a dozen levels. Deeper ones are refused by this rule, the same on every Python:
# how deep json.loads and the schema validator can go before a RecursionError differs by version (3.11 stops
# near 1,000 levels; 3.13's parser takes far deeper, and then the validator's recursion would be the limit).
MAX_DEPTH = 64

# The largest real record is 12 kB (as of 2026-12-07: a PyInstaller row with its largest files); a row with
# hundreds of samples and long log tails stays well under 1 MB. A file over 16 MiB is no record: it is refused
# unread, so that a 50 MB file, or a link to /dev/zero, never costs the report its memory.
MAX_BYTES = 16 * 2**20

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"))
_LINK_RULE = "records are read from regular files only, never through a link"
SYMLINK = f"a symbolic link: refused unread ({_LINK_RULE})"


def _not_regular(mode: int) -> str | None:
    """Why a file of this mode is no record, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return SYMLINK if kind == "a symbolic link" else f"{kind}, not a regular file: refused unread"


def depth(value: Any) -> int:
    """How many arrays and objects deep a parsed JSON value goes (walked without recursion)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        todo.extend((child, level + 1) for child in children)
    return deepest


def parse(text: str) -> Any:
    """A record file's JSON, refusing what Python's json takes but JSON forbids (NaN, Infinity), numbers beyond a
    float (1e999, a 400-digit integer), and nesting deeper than MAX_DEPTH (or deep enough to exhaust the parser
    first), reported as a ValueError."""
    try:
        value = json.loads(text, parse_constant=_no_constants, parse_float=_finite_float, parse_int=_finite_int)
    except RecursionError:
        value = None
    else:
        if depth(value) <= MAX_DEPTH:
            return value
    raise ValueError(f"nested too deeply to read (more than {MAX_DEPTH} levels)")


def load(path: Path) -> Any:
    """The parsed JSON of the record file at `path`, the one way every record is read (records come from CI
    artifacts and other hosts: untrusted), or a ValueError whose text is one line saying why not.

    Only a regular file is read: never through a symbolic link (O_NOFOLLOW, and the link is refused whether it
    points inside the folder or out of it: to /etc/shadow or /dev/zero), never a FIFO or device (opened with
    O_NONBLOCK, so a FIFO cannot block, then checked on the open descriptor, so nothing is swapped in between),
    never more than MAX_BYTES."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        if (why := _not_regular(os.lstat(path).st_mode)) is not None:  # said before anything is opened
            raise ValueError(why)
        fd = os.open(path, flags)
    except OSError as error:  # ELOOP: it became a link after the lstat
        raise ValueError(SYMLINK if error.errno == errno.ELOOP else f"cannot be read: {error.strerror or error}") \
            from None
    with os.fdopen(fd, "rb") as handle:
        try:
            info = os.fstat(fd)
            if (why := _not_regular(info.st_mode)) is not None:
                raise ValueError(why)
            if info.st_size > MAX_BYTES:
                raise ValueError(f"{info.st_size:,} bytes, over the {MAX_BYTES // 2**20} MiB a record may be: "
                                 "refused unread")
            data = handle.read(MAX_BYTES + 1)
        except OSError as error:
            raise ValueError(f"cannot be read: {error.strerror or error}") from None
    if len(data) > MAX_BYTES:  # it grew after the fstat
        raise ValueError(f"over the {MAX_BYTES // 2**20} MiB a record may be: refused")
    try:
        return parse(data.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError and json's errors are ValueErrors: one line each
        raise ValueError(f"not readable JSON: {error}") from None


def record_files(folder: Path) -> tuple[list[Path], list[Invalid]]:
    """The *.json files below `folder` (an SBOM beside the records excepted) and what the walk could not enter.

    The folder itself may be a link (the user named it); below it no link is followed: a link to a folder is
    listed as refused, never entered, and a linked file is refused when read (load). A folder that cannot be
    listed is said, not skipped in silence."""
    files: list[Path] = []
    refused: list[Invalid] = []

    def unreadable(error: OSError) -> None:
        refused.append(Invalid(Path(error.filename or folder), [f"folder cannot be read: {error.strerror or error}"]))

    for root, dirs, names in os.walk(folder, onerror=unreadable, followlinks=False):
        here = Path(root)
        for name in dirs:  # os.walk lists a link to a folder here, and (followlinks=False) does not enter it
            if (here / name).is_symlink():
                refused.append(Invalid(here / name, [f"a symbolic link to a folder: not entered ({_LINK_RULE})"]))
        files += [here / name for name in names if name.endswith(".json") and not name.endswith(SBOM_SUFFIX)]
    return sorted(files), refused


def load_all(results_dirs: list[Path]) -> tuple[list[dict[str, Any]], list[Invalid]]:
    """Every valid record under the folders (recursively, so CI artifacts can be merged), once per id; every file
    that is no valid record is listed with why (load: the one way records are read)."""
    records: dict[str, dict[str, Any]] = {}
    invalid: list[Invalid] = []
    for folder in results_dirs:
        paths, refused = record_files(folder)
        invalid += refused
        for path in paths:
            try:
                record = load(path)
            except ValueError as error:
                invalid.append(Invalid(path, [str(error)]))
                continue
            problems = validation_errors(record)
            if problems:
                invalid.append(Invalid(path, problems))
            else:
                record["_source"] = str(path)  # where it was read: its screenshots lie beside it
                records.setdefault(record["id"], record)
    return list(records.values()), invalid
