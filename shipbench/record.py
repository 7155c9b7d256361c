"""Result records: one JSON file per (strategy, variant, app, python, os, arch), validated on write and read.

The format is public (see shipbench/schema/record.schema.json): the report, the CI merge and users' own
tools read it, so records are written atomically and never half.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
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
        loaded = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
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


# No record nests deeper than a dozen levels. Deeper ones are refused by this rule, the same on every Python:
# how deep json.loads and the schema validator can go before a RecursionError differs by version (3.11 stops
# near 1,000 levels; 3.13's parser takes far deeper, and then the validator's recursion would be the limit).
MAX_DEPTH = 64


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
    """A record file's JSON, refusing what Python's json takes but JSON forbids (NaN, Infinity), and nesting
    deeper than MAX_DEPTH (or deep enough to exhaust the parser first), reported as a ValueError."""
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        value = None
    else:
        if depth(value) <= MAX_DEPTH:
            return value
    raise ValueError(f"nested too deeply to read (more than {MAX_DEPTH} levels)")


def load_all(results_dirs: list[Path]) -> tuple[list[dict[str, Any]], list[Invalid]]:
    """Every valid record under the folders (recursively, so CI artifacts can be merged), once per id."""
    records: dict[str, dict[str, Any]] = {}
    invalid: list[Invalid] = []
    for folder in results_dirs:
        for path in sorted(folder.rglob("*.json")):
            if path.name.endswith(SBOM_SUFFIX):  # an SBOM beside the records (licenses.py), not one of them
                continue
            try:
                record = parse(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as error:
                invalid.append(Invalid(path, [f"not readable JSON: {error}"]))
                continue
            problems = validation_errors(record)
            if problems:
                invalid.append(Invalid(path, problems))
            else:
                record["_source"] = str(path)  # where it was read: its screenshots lie beside it
                records.setdefault(record["id"], record)
    return list(records.values()), invalid
