"""Where torch comes from: a setting, because the default on PyPI is a multi-GB CUDA build on Linux.

SHIPBENCH_TORCH takes one of:
  auto           a wheel that fits the target Python from pip's find-links folders (PIP_FIND_LINKS or pip's
                 config files: offline hosts keep one there); else PyPI where PyPI's torch is a CPU build
                 (macOS, Windows); else PyTorch's CPU index where it answers within a few seconds (Linux); else
                 skipped, with the reason (the default)
  wheels:DIR     a torch wheel from DIR (several folders separated by os.pathsep) that fits the target Python
  index:URL      torch from this index as well as PyPI, e.g. https://download.pytorch.org/whl/cpu
  pypi           torch from PyPI whatever it is (on Linux: the CUDA build with ~3 GB of nvidia-* wheels)
"""

from __future__ import annotations

import configparser
import functools
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_wheel_filename
from packaging.version import Version

from .errors import Skip, UsageError

PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
_PROBE_TIMEOUT_S = 5.0

_PLATFORM_WORDS = {"linux": ("linux", "manylinux", "musllinux"), "macos": ("macosx",), "windows": ("win",)}
_ARCH_WORDS = {"x86_64": ("x86_64", "amd64"), "aarch64": ("aarch64", "arm64")}


@dataclass(frozen=True)
class TorchChoice:
    requirement: str  # what to hand the installer: "torch" or the path of a wheel file
    extra_index_url: str | None
    description: str  # for the record: which build, from where


def _fits(wheel: Path, python: str, os_name: str, arch: str) -> bool:
    try:
        name, _version, _build, tags = parse_wheel_filename(wheel.name)
    except ValueError:
        return False
    abi = "cp" + python.replace(".", "")
    platform_words = _PLATFORM_WORDS.get(os_name, (os_name,))
    arch_words = _ARCH_WORDS.get(arch, (arch,))
    return name == "torch" and any(
        tag.interpreter == abi
        and tag.platform.startswith(platform_words)
        and (tag.platform.endswith(arch_words) or "universal2" in tag.platform)
        for tag in tags
    )


def find_wheel(folders: list[Path], python: str, os_name: str, arch: str) -> Path | None:
    wheels = [
        wheel
        for folder in folders
        if folder.is_dir()
        for wheel in folder.glob("torch-*.whl")
        if _fits(wheel, python, os_name, arch)
    ]
    return max(wheels, key=lambda w: Version(parse_wheel_filename(w.name)[1].public)) if wheels else None


def _folders(spec: str) -> list[Path]:
    return [Path(part) for part in re.split(r"[\s" + re.escape(os.pathsep) + r"]+", spec) if part]


_PIP_CONFIG_FILES = ("/etc/xdg/pip/pip.conf", "/etc/pip.conf", "~/.config/pip/pip.conf", "~/.pip/pip.conf")


def pip_find_links() -> str | None:
    """The wheel folders pip is told to look in: PIP_FIND_LINKS, else `find-links` in pip's config files.

    Read without running pip, because the environments shipbench runs in (made by uv) have no pip.
    """
    if os.environ.get("PIP_FIND_LINKS"):
        return os.environ["PIP_FIND_LINKS"]
    parser = configparser.ConfigParser()
    files = [os.environ["PIP_CONFIG_FILE"]] if os.environ.get("PIP_CONFIG_FILE") else list(_PIP_CONFIG_FILES)
    parser.read([os.path.expanduser(f) for f in files], encoding="utf-8")
    for section in ("install", "global"):
        if parser.has_option(section, "find-links"):
            return parser.get(section, "find-links")
    return None


@functools.cache
@functools.lru_cache(maxsize=8)
def index_answers(url: str) -> bool:
    """Whether a package index serves torch within a few seconds (once per run: every torch row asks, in the
    plan and in its build)."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/torch/", timeout=_PROBE_TIMEOUT_S) as response:
            return bool(response.status == 200)
    except (OSError, ValueError, urllib.error.URLError):
        return False


def resolve(setting: str, python: str, os_name: str, arch: str, find_links: str | None = None,
            answers: Callable[[str], bool] | None = None) -> TorchChoice:
    """Pick torch for a target Python, or raise Skip saying why none fits and how to allow one.

    `answers(url)` (default: index_answers) says whether an index can be reached; only `auto` on Linux asks,
    after the wheel folders.
    """
    answers = answers or index_answers
    if setting == "pypi":
        build = "the CUDA build on Linux" if os_name == "linux" else "a CPU build"
        return TorchChoice("torch", None, f"PyPI ({build})")
    if setting.startswith("index:"):
        url = setting.removeprefix("index:")
        return TorchChoice("torch", url, f"index {url}")
    if setting.startswith("wheels:") or setting == "auto":
        spec = setting.removeprefix("wheels:") if setting != "auto" else (find_links or "")
        folders = _folders(spec)
        wheel = find_wheel(folders, python, os_name, arch)
        if wheel is not None:
            return TorchChoice(str(wheel), None, f"wheel {wheel.name}")
        if setting == "auto" and os_name != "linux":
            return TorchChoice("torch", None, "PyPI (a CPU build)")
        if setting == "auto" and answers(PYTORCH_CPU_INDEX):
            return TorchChoice("torch", PYTORCH_CPU_INDEX, f"PyTorch's CPU index {PYTORCH_CPU_INDEX}")
        where = ", ".join(str(f) for f in folders) or "no wheel folder (pip has no find-links)"
        unreachable = (f" and PyTorch's CPU index ({PYTORCH_CPU_INDEX}) did not answer within "
                       f"{_PROBE_TIMEOUT_S:.0f} s" if setting == "auto" else "")
        raise Skip(
            f"no CPU torch wheel for Python {python} ({os_name}-{arch}) in {where}{unreachable}; PyPI's Linux torch "
            "is the ~3 GB CUDA build, so it is not used unless asked: set SHIPBENCH_TORCH=pypi, "
            f"SHIPBENCH_TORCH=index:{PYTORCH_CPU_INDEX} or SHIPBENCH_TORCH=wheels:DIR"
        )
    raise UsageError(f"SHIPBENCH_TORCH={setting!r}: expected auto, pypi, index:URL or wheels:DIR")


def for_this_host(python: str) -> TorchChoice:
    """torch for pythonX.Y on this host's OS and architecture, by SHIPBENCH_TORCH and pip's find-links."""
    from . import host, settings

    return resolve(settings.torch_source(), python, host.os_name(), host.arch_name(), pip_find_links())


def stage_for_linux(setting: str, python: str, arch: str, folder: Path) -> tuple[TorchChoice, str | None]:
    """torch for a Linux image or guest, which cannot see the host's wheel folders: a chosen wheel is copied
    into `folder` (the build context, the synced folder); returns the choice and the index to add, if any."""
    choice = resolve(setting, python, "linux", arch, pip_find_links())
    if Path(choice.requirement).is_file():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(choice.requirement, folder)
    return choice, choice.extra_index_url
