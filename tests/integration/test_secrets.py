"""Nothing secret leaves the host (issue 35): secrets are planted where users keep them (files in the app's folder,
a .dockerignore'd file, the environment, another run's command line), one small app is built every kind of artifact
way (a folder: venv, lock, frozen bundles; an archive: zipapp, wheel; a Debian package; an image), and every file
the run wrote (builds, records, SBOMs, the report, its console output) and every layer of every image it made is
searched for them, archives and compressed streams opened."""

from __future__ import annotations

import gzip
import io
import lzma
import shutil
import subprocess
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, PYTHON, PYTHONS, python_missing, requires, run_cli

from shipbench import docker, record

TOKEN = "shipbench-planted-9f3c2a7e51"  # a fake secret: found anywhere it is a leak
# Where the secrets are planted, each holding TOKEN
PLANTED_FILES = (".env", "pip.conf", ".netrc", ".pypirc", "deploy.key", "tls/cert.pem", "config/secrets.toml",
                 ".git/config")
# a file the app's .dockerignore lists: in no image (a .deb or a VM is no Docker build: .dockerignore is not theirs)
DOCKERIGNORED = ("private-notes.txt", "shipbench-dockerignored-41d7")
# the ways of each kind of artifact that are cheap for a one-file app (Nuitka's folder and the VM's synced copy go
# through the same app_files.copy_app as the deb and the lock: tests/unit/test_app_files.py)
STRATEGIES = ("venv", "locked", "zipapp", "wheel", "pyinstaller", "cxfreeze", "bake", "deb")
MAX_MEMBER = 256 * 1024 * 1024  # what is opened in memory of one archive member


def _opened(name: str, data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """The data and, where it is an archive or a compressed stream, what it holds (recursively)."""
    yield name, data
    if depth > 4:
        return
    inner: list[tuple[str, bytes]] = []
    if data[:4] == b"PK\x03\x04" or name.endswith((".pyz", ".pex", ".whl", ".zip")):  # a zipapp: a shebang first
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                inner = [(f"{name}!{info.filename}", archive.read(info)) for info in archive.infolist()
                         if not info.is_dir() and info.file_size < MAX_MEMBER]
        except (zipfile.BadZipFile, OSError, ValueError):
            pass
    elif data[:8] == b"!<arch>\n":  # a .deb: members with 60-byte headers
        at = 8
        while at + 60 <= len(data):
            size = int(data[at + 48:at + 58].strip() or 0)
            inner.append((f"{name}!{data[at:at + 16].strip().decode(errors='replace')}", data[at + 60:at + 60 + size]))
            at += 60 + size + (size % 2)
    elif data[:2] == b"\x1f\x8b":
        inner = [(name + "!gunzip", _inflated(gzip.decompress, data))]
    elif data[:6] == b"\xfd7zXZ\x00":
        inner = [(name + "!unxz", _inflated(lzma.decompress, data))]
    elif data[:4] == b"\x28\xb5\x2f\xfd":
        done = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=False)
        inner = [(name + "!unzstd", done.stdout)] if done.returncode == 0 else []
    elif len(data) > 512 and data[257:262] == b"ustar":
        try:
            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                for member in archive.getmembers():
                    handle = archive.extractfile(member) if member.isfile() and member.size < MAX_MEMBER else None
                    if handle is not None:
                        inner.append((f"{name}!{member.name}", handle.read()))
        except (tarfile.TarError, OSError):
            pass
    elif data[:1] == b"\x78" and len(data) > 2 and (data[0] * 256 + data[1]) % 31 == 0:
        inner = [(name + "!inflate", _inflated(zlib.decompress, data))]
    for inner_name, inner_data in inner:
        yield from _opened(inner_name, inner_data, depth + 1)


def _inflated(decompress: Callable[[bytes], bytes], data: bytes) -> bytes:
    try:
        return decompress(data)
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):
        return b""  # not the stream its first bytes said


def _found_in_files(folder: Path, secret: str = TOKEN) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 2 * MAX_MEMBER:
            continue
        found += [name for name, data in _opened(str(path), path.read_bytes()) if secret.encode() in data]
    return found


def _found_in_image(tag: str, scratch: Path) -> list[str]:
    saved = scratch / "saved" / (tag.replace("/", "_").replace(":", "_") + ".tar")
    saved.parent.mkdir(exist_ok=True)
    subprocess.run(["docker", "save", "--output", str(saved), tag], check=True, capture_output=True, timeout=600)
    try:
        return _found_in_files(saved.parent) + _found_in_files(saved.parent, DOCKERIGNORED[1])
    finally:
        saved.unlink()


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "hello", project, ignore=shutil.ignore_patterns("build", "report", "results"))
    # an app of its own name: its image and deb never meet the kinds group's hello
    text = (project / "pyproject.toml").read_text().replace("apps.hello]", "apps.planted]")
    (project / "pyproject.toml").write_text(text)
    for name in PLANTED_FILES:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(f"password = {TOKEN}\n")
    (project / DOCKERIGNORED[0]).write_text(f"notes: {DOCKERIGNORED[1]}\n")
    (project / ".dockerignore").write_text(f"{DOCKERIGNORED[0]}\n")
    return project


@pytest.mark.skipif(docker.unavailable_reason() is not None, reason="images and the deb need Docker "
                    "(bash scripts/install-docker.sh)")
@requires(python_missing(PYTHON), PYTHONS)
def test_no_planted_secret_reaches_any_artifact_record_report_or_image_layer(tmp_path: Path) -> None:
    project = _project(tmp_path)
    results, build = tmp_path / "results", tmp_path / "build"
    # a process that looks like a shipbench run, a secret among its arguments: records name other runs
    decoy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", "-m", "shipbench", "run", "venv",
                              "--token", TOKEN])
    try:
        done = run_cli("run", *STRATEGIES, "--project", str(project), "--python", PYTHON, "--profile", "quick",
                       "--results", str(results), "--build", str(build), env={"API_TOKEN": TOKEN})
    finally:
        decoy.kill()
        decoy.wait()
    records, invalid = record.load_all([results])
    assert not invalid, invalid
    built = {rec["strategy"]: rec for rec in records if rec["status"] == "ok"}
    assert set(built) == set(STRATEGIES), {rec["strategy"]: rec["reason"] for rec in records}
    assert any(run.endswith(f"(pid {decoy.pid})") for rec in records
               for load in rec["metrics"].get("host_load", {}).values() for run in load.get("other_runs_seen", []))
    notes = " ".join(note for note in built["bake"]["notes"])
    assert ".env" in notes and "pip.conf" in notes and "1 path(s) the app's .dockerignore lists" in notes

    leaks = [f"console: {line}" for line in (done.stdout + done.stderr).splitlines() if TOKEN in line]
    leaks += _found_in_files(results) + _found_in_files(build)
    tags = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", "shipbench/planted"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert built["bake"]["artifact"]["path"] in tags, tags  # the image, and the deb's installed in a clean Debian
    for tag in tags:
        leaks += [f"image {tag}: {where}" for where in _found_in_image(tag, tmp_path)]
    assert leaks == [], leaks
    # the search itself finds what it looks for: the app's folder holds every planted copy, the deb the noted file
    assert len(_found_in_files(project)) >= len(PLANTED_FILES)
    assert _found_in_files(build / "deb", DOCKERIGNORED[1])
