"""The workflows' action pins: every `uses:` names a commit, the one .github/action-pins.txt records for its tag.

    python scripts/action_pins.py             check, offline: each `uses: owner/repo@sha # tag` matches the list
    python scripts/action_pins.py --update    resolve each listed tag to its commit with `git ls-remote` (an
                                              annotated tag is peeled: its `^{}` line is the commit), then
                                              rewrite the list and every workflow's `uses:` lines

A pin must be a commit: GitHub resolves `@<sha>` to a commit, and the SHA of a tag object (what a careless copy
from a tag's page gives) either fails or hides what runs. Standard library only.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / ".github" / "action-pins.txt"
WORKFLOWS = ROOT / ".github" / "workflows"
# `uses: owner/repo[/path]@ref  # comment`; local (./) and docker:// uses are not pins
USES = re.compile(r"^(?P<lead>\s*(?:-\s+)?uses:\s*)(?P<action>[\w.-]+/[\w.-]+)(?P<path>/[\w./-]+)?@(?P<ref>[^\s#]+)"
                  r"(?P<comment>\s*#\s*(?P<tag>\S+))?\s*$", re.M)


@dataclass(frozen=True)
class Pin:
    action: str
    tag: str
    commit: str


def read_pins(path: Path = PINS) -> dict[str, Pin]:
    pins = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3 or not re.fullmatch(r"[0-9a-f]{40}", fields[2]):
            raise ValueError(f"{path}:{number}: expected 'owner/repo tag 40-hex-commit', got {line!r}")
        pins[fields[0]] = Pin(*fields)
    return pins


def workflow_files(folder: Path = WORKFLOWS) -> list[Path]:
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def problems(pins: dict[str, Pin], files: list[Path]) -> list[str]:
    """Each `uses:` that is not `<listed action>@<its listed commit> # <its listed tag>`; a listed action no
    workflow uses."""
    found = []
    used = set()
    for path in files:
        for match in USES.finditer(path.read_text(encoding="utf-8")):
            where = f"{path.relative_to(ROOT)}: uses {match['action']}@{match['ref']}"
            pin = pins.get(match["action"])
            used.add(match["action"])
            if pin is None:
                found.append(f"{where}: not in {PINS.relative_to(ROOT)}")
            elif match["ref"] != pin.commit:
                found.append(f"{where}: the list pins {pin.commit} ({pin.tag})")
            elif match["tag"] != pin.tag:
                found.append(f"{where}: the comment should name its tag, {pin.tag}")
    found += [f"{PINS.relative_to(ROOT)}: {action} is used by no workflow" for action in sorted(set(pins) - used)]
    return found


def resolve(action: str, tag: str) -> str:
    """The commit a tag of github.com/<action> points to, from `git ls-remote` (needs the network)."""
    listing = subprocess.run(["git", "ls-remote", f"https://github.com/{action}", f"refs/tags/{tag}",
                              f"refs/tags/{tag}^{{}}"], capture_output=True, text=True, timeout=60, check=True)
    refs = dict(reversed(line.split("\t")) for line in listing.stdout.splitlines())
    commit = refs.get(f"refs/tags/{tag}^{{}}") or refs.get(f"refs/tags/{tag}")
    if not commit:
        raise LookupError(f"{action} has no tag {tag}")
    return commit


def update(pins: dict[str, Pin], files: list[Path]) -> None:
    resolved = {action: Pin(action, pin.tag, resolve(action, pin.tag)) for action, pin in pins.items()}
    text = PINS.read_text(encoding="utf-8")
    for pin in resolved.values():
        text = re.sub(rf"^({re.escape(pin.action)}\s+{re.escape(pin.tag)}\s+)[0-9a-f]{{40}}", rf"\g<1>{pin.commit}",
                      text, flags=re.M)
    PINS.write_text(text, encoding="utf-8")
    for path in files:
        def repin(match: re.Match[str]) -> str:
            pin = resolved.get(match["action"])
            if pin is None:
                return match[0]
            return f"{match['lead']}{match['action']}{match['path'] or ''}@{pin.commit} # {pin.tag}"
        path.write_text(USES.sub(repin, path.read_text(encoding="utf-8")), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="resolve the tags again (network) and rewrite")
    args = parser.parse_args(argv)
    pins, files = read_pins(), workflow_files()
    if args.update:
        update(pins, files)
    found = problems(read_pins(), files)
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
