"""The Docker engine, as shipbench uses it: is it there, local base images, throwaway derived images.

No registry is assumed: base images are built from Debian packages by scripts/build-base-image.sh, so the
same code runs on air-gapped hosts and on hosts whose registry access is blocked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from . import active_runs, console, run_leftovers
from .errors import Skip
from .runner import output, run_tool

DEBIAN_SUITES = {"debian-12": "bookworm", "debian-13": "trixie"}
# each suite's glibc (its libc6 package): a binary that needs a newer GLIBC_x.y symbol version cannot start there
SUITE_GLIBC = {"bookworm": "2.36", "trixie": "2.41"}
# the Debian suite whose own python3 is a given version: base images and VM guests for a row on that Python
PYTHON_SUITES = {"3.11": "bookworm", "3.13": "trixie"}


def suite_for_python(python: str) -> str | None:
    """The Debian suite whose python3 is `python` (3.11: Debian 12, 3.13: Debian 13); None where none is."""
    return PYTHON_SUITES.get(python)


DEBIAN_NUMBERS = {"bookworm": "12", "trixie": "13"}


def no_suite_reason(python: str) -> str:
    return (f"no Debian release has Python {python} as its python3 (" + ", ".join(
        f"{version}: Debian {DEBIAN_NUMBERS[suite]}" for version, suite in PYTHON_SUITES.items())
        + f"); run with --python {' or '.join(PYTHON_SUITES)}")


def unavailable_reason() -> str | None:
    """Why Docker cannot be used here, or None when it can. Every image shipbench builds or starts is a Linux one:
    an engine that runs Windows containers (GitHub's Windows runners) answers `docker info` and still cannot."""
    if not shutil.which("docker"):
        return "docker is not installed (scripts/install-docker.sh installs it on Debian/Ubuntu)"
    try:
        info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}} {{.OSType}}"], capture_output=True,
                              text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        return f"docker does not answer: {error}"
    if info.returncode != 0:
        return "the Docker daemon is not running (scripts/install-docker.sh starts it)"
    os_type = info.stdout.split()[-1] if info.stdout.split() else "linux"
    if os_type != "linux":
        return (f"the Docker engine runs {os_type} containers, and these images and clean-container checks are "
                "Linux ones (on Windows: Docker Desktop's Linux containers, or a Linux runner)")
    return None


def versions() -> dict[str, str | None]:
    """The Docker server's, its client's and the buildx plugin's versions (None where absent), and which docker
    binary answered: a host may have several on PATH, and client and server can differ."""
    buildx = (output(["docker", "buildx", "version"]) or "").split()  # "github.com/docker/buildx 0.13.1+ds1 …"
    return {"docker": output(["docker", "version", "--format", "{{.Server.Version}}"]),
            "docker_client": output(["docker", "version", "--format", "{{.Client.Version}}"]),
            "docker_binary": shutil.which("docker"),
            "buildx": buildx[1] if len(buildx) > 1 else None}


def disk_shortfall(needed: int) -> str | None:
    """None when Docker's data folder has `needed` bytes free; else what is free there, for a skip reason."""
    root = output(["docker", "info", "--format", "{{.DockerRootDir}}"]) or "/var/lib/docker"
    try:
        free = shutil.disk_usage(root).free
    except OSError:  # the folder is the daemon's (root only): its filesystem is what counts
        free = shutil.disk_usage(Path(root).parent).free
    return None if free >= needed else f"{free / 1e9:.1f} GB are free under {root}"


def image_exists(tag: str) -> bool:
    result = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    return result.returncode == 0


def remove_image(tag: str) -> None:
    """Untag `tag` and remove what only it held (its own layers); nothing if it is not there."""
    subprocess.run(["docker", "image", "rm", tag], capture_output=True, check=False, timeout=120)


def debootstrap_reason() -> str | None:
    """Why scripts/build-base-image.sh cannot build an image here, or None. debootstrap needs root: a user who is
    not root gets it through `sudo -n` (as on GitHub's runners), never through a password prompt."""
    if not shutil.which("debootstrap"):
        return "no debootstrap to build it (apt-get install debootstrap)"
    if os.geteuid() == 0:
        return None
    if not shutil.which("sudo") or subprocess.run(["sudo", "-n", "true"], capture_output=True,
                                                  check=False).returncode != 0:
        return "debootstrap needs root, and sudo -n is refused here (run as root, or allow sudo without a password)"
    return None


def build_base(suite: str, tag: str, root: Path, packages: str = "") -> str:
    """`tag`, built from Debian packages unless it exists: the suite's minimal image by scripts/build-base-image.sh
    (debootstrap), and for `packages` (comma-separated) that image with them added by apt, so that every image of
    a suite shares one debootstrap run. A Skip saying why where it cannot be built here (no debootstrap, no root)."""
    if image_exists(tag):
        return tag
    # two runs (or CI's two lanes) that need the same image build it once: the second waits, then finds it
    lock = active_runs.FOLDER / ("image-" + tag.replace("/", "_").replace(":", "_") + ".lock")
    with active_runs.row_lock(lock, tag, console.console.print):
        if not image_exists(tag):
            _build_base(suite, tag, root, packages)
    return tag


def _build_base(suite: str, tag: str, root: Path, packages: str) -> None:
    names = " ".join(name.strip() for name in packages.split(",") if name.strip())
    if not names:
        reason = debootstrap_reason()
        if reason:
            raise Skip(f"no {tag} image, and {reason}")
        run_tool(["bash", root / "scripts" / "build-base-image.sh", suite, tag], timeout=900,
                 what=f"building {tag} from Debian {suite} packages")
        return
    minbase = build_base(suite, f"shipbench/debian:{suite}-minbase", root)
    dockerfile = (f"FROM {minbase}\nRUN apt-get update -q && apt-get install -y -q --no-install-recommends "
                  f"{names} && rm -rf /var/lib/apt/lists/*\n")
    run_tool(["docker", "build", "--quiet", "--tag", tag, "-"], input_text=dockerfile, timeout=900,
             what=f"building {tag}: Debian {suite} packages {names}")


def base_image(suite: str, root: Path) -> str:
    """The local minimal Debian image for a suite, built from Debian packages the first time."""
    return build_base(suite, f"shipbench/debian:{suite}-minbase", root)


def with_packages(base: str, packages: list[str], on_top_of: str | None = None) -> str:
    """A derived image of base with Debian packages added, tagged by its content (base and the package set), so
    every bundle and run that needs the same set shares it. `on_top_of`, an image of base with some of the
    packages already (the previous round of a discovery), is built upon: only the new packages are fetched."""
    if not packages:
        return base
    tag = _derived_tag(base, packages)
    if not image_exists(tag):
        parent = on_top_of if on_top_of and on_top_of != tag and image_exists(on_top_of) else base
        dockerfile = (f"FROM {parent}\n"
                      "RUN apt-get update -q && apt-get install -y -q --no-install-recommends "
                      f"{' '.join(sorted(packages))} && rm -rf /var/lib/apt/lists/*\n")
        run_tool(["docker", "build", "--quiet", "--tag", tag, "-"], input_text=dockerfile, timeout=900,
                 what=f"adding {' '.join(packages)} to {base}")
    return tag


def _derived_tag(base: str, packages: list[str]) -> str:
    digest = hashlib.sha256(f"{base}|{' '.join(sorted(set(packages)))}".encode()).hexdigest()[:12]
    return f"shipbench/portability:{base.split(':')[-1]}-{digest}"


# Every container a measured start runs carries this label with the harness's process id: after each start, what
# is left of it is removed (remove_started), so that a service whose `docker run` client was killed (not only
# stopped) never keeps running in a container of its own.
START_LABEL = "shipbench.start"


def container(command: str = "run") -> list[str]:
    """The start of every `docker run` and `docker create` of shipbench's: under an init (a stop reaches the
    program even as PID 1, which ignores SIGTERM by default, and its children are reaped) and labelled with the
    run, so that what a run killed before it could remove them leaves is removed by the next (run_leftovers.py)."""
    return ["docker", command, "--init", *run_leftovers.label_args()]


def start_label_args() -> list[str]:
    return ["--label", f"{START_LABEL}={os.getpid()}"]


def remove_started() -> None:
    """Remove every container this process started for a measured run that is still there (`docker rm -f`)."""
    listed = output(["docker", "ps", "--all", "--quiet", "--filter", f"label={START_LABEL}={os.getpid()}"]) or ""
    ids = listed.split()
    if ids:
        subprocess.run(["docker", "rm", "--force", *ids], capture_output=True, check=False, timeout=120)
