"""Assemble a distroless root file system from a built image: only what the app runs on, taken from it.

Run by docker/app.Dockerfile's `closure` stage (as root, in the finished runtime image) with the target folder; the
`distroless` stage copies that folder onto an empty image. What it takes, as distroless assembles its images from
Debian packages:

- the interpreter the venv points at, its standard library, the venv (/opt/venv), the app (/app) and the start
  script and the start command it reads (/usr/local/lib/app-start.py, app-start.cmd);
- every shared library those ELF files load, by `ldd` (the dynamic loader included), and what the symbolic links
  on the way point at;
- every file of the Debian packages named in SYSTEM_PACKAGES (a window's fonts and their configuration, which no
  ldd finds), and /etc/passwd, /etc/group (the app's user), the CA bundle, an empty /tmp.

No shell, no apt, no coreutils: `docker run --entrypoint sh` fails on the result. The Debian packages the copied
files belong to are listed in /usr/share/doc/distroless-packages.txt (what a scanner reads to know what is inside).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ELF = b"\x7fELF"
ALWAYS = ("/etc/passwd", "/etc/group", "/etc/ssl/certs/ca-certificates.crt", "/usr/local/lib/app-start.py",
          "/usr/local/lib/app-start.cmd", "/opt/venv", "/app")


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == ELF
    except OSError:
        return False


def libraries(path: Path) -> set[str]:
    """What ldd says the file loads."""
    return parse_ldd(subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False).stdout)


def parse_ldd(said: str) -> set[str]:
    """Each `=> /path` of ldd's output and the loader's own absolute path (not the vDSO, not "not found")."""
    found = set()
    for line in said.splitlines():
        parts = line.split()
        if "=>" in parts and parts.index("=>") + 1 < len(parts) and parts[parts.index("=>") + 1].startswith("/"):
            found.add(parts[parts.index("=>") + 1])
        elif parts and parts[0].startswith("/"):
            found.add(parts[0])
    return found


def with_link_targets(paths: set[str]) -> set[str]:
    """The paths, and every path a symbolic link among them (or in their folders) leads to."""
    out = set()
    for path in paths:
        out.add(path)
        current = Path(path)
        for _ in range(40):
            if not current.is_symlink():
                break
            current = Path(os.path.normpath(current.parent / os.readlink(current)))  # each link on the way
            out.add(str(current))
        out.add(str(Path(path).resolve()))
    return out


def package_files(packages: list[str]) -> set[str]:
    """The regular files and links of the Debian packages (dpkg -L), folders left out."""
    if not packages:
        return set()
    listed = subprocess.run(["dpkg", "-L", *packages], capture_output=True, text=True, check=True).stdout
    return {line for line in listed.splitlines() if line.startswith("/") and not os.path.isdir(line)}


def copy(source: str, destination: Path) -> None:
    """One file, link or folder (with all below it) as it is: modes, owners, links not followed."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if os.path.islink(source):
        if not os.path.lexists(destination):
            destination.symlink_to(os.readlink(source))
    elif os.path.isdir(source):
        shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=True)
        for folder, folders, files in os.walk(source):
            for name in [".", *folders, *files]:
                here = os.path.normpath(os.path.join(folder, name))
                info = os.lstat(here)
                os.lchown(destination / os.path.relpath(here, source), info.st_uid, info.st_gid)
    else:
        shutil.copy2(source, destination)
        info = os.lstat(source)
        os.lchown(destination, info.st_uid, info.st_gid)


def owners(paths: set[str]) -> list[str]:
    """The Debian packages the paths belong to (dpkg -S); a path of no package (the venv, the app) has none."""
    names: set[str] = set()
    chosen = sorted(path for path in paths if not path.startswith(("/opt/venv", "/app", "/etc/passwd",
                                                                   "/etc/group", "/usr/local/lib/app-start")))
    for start in range(0, len(chosen), 200):
        found = subprocess.run(["dpkg", "-S", *chosen[start:start + 200]], capture_output=True, text=True,
                               check=False).stdout
        for line in found.splitlines():
            if ": " in line:
                names.update(name.split(":")[0].strip() for name in line.split(": ", 1)[0].split(","))
    return sorted(names)


def main(target: Path, system_packages: list[str]) -> None:
    python = Path(os.path.realpath(sys.executable))
    roots = {str(python), sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"], *ALWAYS}
    roots = {path for path in roots if os.path.lexists(path)}
    chosen = with_link_targets(roots | package_files(system_packages))
    elves = [Path(path) for path in chosen if os.path.isfile(path) and is_elf(Path(path))]
    for folder in [Path(path) for path in chosen if os.path.isdir(path) and not os.path.islink(path)]:
        inside = list(folder.rglob("*"))
        elves += [file for file in inside if file.is_file() and not file.is_symlink() and is_elf(file)]
        # a link inside (the venv's bin/python -> /usr/bin/python3) needs what it leads to
        chosen |= with_link_targets({str(file) for file in inside if file.is_symlink()})
    needed: set[str] = set()
    for elf in elves:
        needed |= libraries(elf)
    chosen |= with_link_targets(needed)
    target.mkdir(parents=True, exist_ok=True)
    for top in sorted(Path("/").iterdir()):  # merged /usr: /lib, /lib64, /bin are links, kept as links
        if top.is_symlink():
            (target / top.name).symlink_to(os.readlink(top))
    # each path by its folder's real place, so that a file reached through /lib lands once, below /usr/lib
    ordered = sorted({os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
                      for path in chosen if os.path.lexists(path)})
    for path in ordered:
        if os.path.dirname(path) == "/" and os.path.islink(path):
            continue  # made above
        copy(path, target / path.lstrip("/"))
    (target / "tmp").mkdir(exist_ok=True)
    (target / "tmp").chmod(0o1777)
    doc = target / "usr" / "share" / "doc"
    doc.mkdir(parents=True, exist_ok=True)
    (doc / "distroless-packages.txt").write_text("".join(f"{name}\n" for name in owners(chosen)), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2].split() if len(sys.argv) > 2 else [])
