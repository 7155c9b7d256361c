"""What of an app's folder is the app. Every whole copy of it (an image's build context, a deb's source package, a
VM's synced folder, a lock's project) is made here, so that none takes what users push by mistake:

- what is never an app's: caches, venvs, build outputs (fsutil.NOT_THE_APPS);
- what looks like a secret (SECRET_PATTERNS: `.env`, `.netrc`, `pip.conf`, keys, cloud and registry logins),
  unless the description's `data` names that very file: an image is pushed, a deb published, and a token in a
  layer is public for good (found: a `.env` and a `pip.conf` in three layers of a saved image);
- a link whose target is outside the app's folder (copying it would copy whatever it points at: a home folder's
  key, /etc/shadow);
- for an image, whatever the app's `.dockerignore` lists: Docker reads a `.dockerignore` at the root of the build
  context only, and the app is a folder inside the context shipbench stages, so the user's own would be ignored
  without a word.

The files copied are the user's own, unchanged (bake_context.py measures a rebuild on a copy it then restores).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .fsutil import not_the_apps

# Names (any folder deep) that hold credentials more often than not: package indexes' and registries' logins,
# environment files, private keys and certificates' keys, cloud and cluster configs.
SECRET_PATTERNS = (".env", ".env.*", "*.env", ".envrc", ".netrc", "_netrc", ".pypirc", "pip.conf", "pip.ini",
                   ".npmrc", ".yarnrc", ".git-credentials", ".dockercfg", ".docker", ".ssh", ".aws", ".azure",
                   ".gnupg", ".kube", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
                   "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", ".htpasswd", "credentials.json",
                   "secrets.toml", "secrets.json", "secrets.yaml", "secrets.yml")
DOCKERIGNORE = ".dockerignore"


def looks_secret(name: str) -> bool:
    """Whether a file or folder's name is one SECRET_PATTERNS matches."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in SECRET_PATTERNS)


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression over a path relative to the app's folder, as Docker's
    patternmatcher reads it: `*` and `?` within one folder's name, `**` across folders, `[...]` a class; a pattern
    that matches a folder matches everything in it."""
    out, at = "", 0
    while at < len(pattern):
        char = pattern[at]
        if pattern.startswith("**/", at):
            out, at = out + "(?:.*/)?", at + 3
            continue
        if pattern.startswith("**", at):
            out, at = out + ".*", at + 2
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[" and "]" in pattern[at + 1:]:
            end = pattern.index("]", at + 1)
            body = pattern[at + 1:end]
            out += "[" + ("^" + body[1:] if body[:1] in "^!" and body else body).replace("\\", "\\\\") + "]"
            at = end + 1
            continue
        elif char == "\\" and at + 1 < len(pattern):
            out, at = out + re.escape(pattern[at + 1]), at + 2
            continue
        else:
            out += re.escape(char)
        at += 1
    return re.compile(out + "(?:/.*)?")


@dataclass(frozen=True)
class DockerIgnore:
    """An app's .dockerignore: its patterns in order, each with whether it is an exception (`!`); the last one that
    matches a path decides."""

    rules: tuple[tuple[bool, re.Pattern[str]], ...] = ()

    @classmethod
    def read(cls, folder: Path) -> DockerIgnore:
        try:
            text = (folder / DOCKERIGNORE).read_text(encoding="utf-8", errors="replace")
        except OSError:  # none (the usual case), or a folder of that name
            return cls()
        rules = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            exception = line.startswith("!")
            cleaned = posixpath.normpath(line.removeprefix("!").strip().lstrip("/"))
            if cleaned not in (".", ""):
                rules.append((exception, _pattern(cleaned)))
        return cls(tuple(rules))

    @property
    def has_exceptions(self) -> bool:
        return any(exception for exception, _ in self.rules)

    def excludes(self, relative: str) -> bool:
        excluded = False
        for exception, pattern in self.rules:
            if pattern.fullmatch(relative):
                excluded = not exception
        return excluded


@dataclass
class Copied:
    """What a copy left out that the user may have meant to ship: they are told (names only, never contents)."""

    secrets: list[str] = field(default_factory=list)
    links_out: list[str] = field(default_factory=list)
    dockerignored: int = 0

    def note(self) -> str | None:
        said = []
        if self.secrets:
            said.append(f"left out what looks like a secret: {_names(self.secrets)} (name a file in `data` to ship it)")
        if self.links_out:
            said.append(f"left out links to outside the app's folder: {_names(self.links_out)}")
        if self.dockerignored:
            said.append(f"left out {self.dockerignored} path(s) the app's {DOCKERIGNORE} lists")
        return "; ".join(said) or None


def _names(paths: list[str], most: int = 20) -> str:
    return ", ".join(sorted(paths)[:most]) + (f" and {len(paths) - most} more" if len(paths) > most else "")


def copy_app(folder: Path, destination: Path, data: tuple[str, ...] = (), *, for_image: bool = False) -> Copied:
    """Copy the app's folder to `destination` less what is not the app (see the module's docstring). `data`: the
    description's data entries, the only way a secret-looking file is shipped. `for_image`: honour .dockerignore."""
    root = folder.resolve()
    listed = {posixpath.normpath(Path(item).as_posix()) for item in data}
    ignore_file = DockerIgnore.read(folder) if for_image else DockerIgnore()
    copied = Copied()

    def ignore(current: str, names: list[str]) -> set[str]:
        left_out = set()
        for name in names:
            path = os.path.join(current, name)
            relative = Path(os.path.relpath(path, folder)).as_posix()
            if not_the_apps(current, name):
                left_out.add(name)
            elif looks_secret(name) and relative not in listed:
                copied.secrets.append(relative)
                left_out.add(name)
            elif os.path.islink(path) and not Path(path).resolve().is_relative_to(root):
                copied.links_out.append(relative)
                left_out.add(name)
            elif ignore_file.excludes(relative) and not (os.path.isdir(path) and ignore_file.has_exceptions):
                copied.dockerignored += 1
                left_out.add(name)
        return left_out

    shutil.copytree(folder, destination, ignore=ignore)
    return copied
