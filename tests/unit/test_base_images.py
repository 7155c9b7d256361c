"""Base images from Debian packages: one debootstrap per suite, and one build per image however many runs ask."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from shipbench import active_runs, docker


@pytest.fixture
def fake_docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Images exist once a build of them has ended; every build is logged by the tag it makes."""
    images: set[str] = set()
    built: list[str] = []

    def run_tool(argv: list[Any], **kwargs: Any) -> None:
        tag = str(argv[3] if argv[0] == "bash" else argv[argv.index("--tag") + 1])
        time.sleep(0.2)  # long enough for a second caller to arrive while this one builds
        built.append(tag)
        images.add(tag)

    monkeypatch.setattr(docker, "image_exists", lambda tag: tag in images)
    monkeypatch.setattr(docker, "run_tool", run_tool)
    monkeypatch.setattr(docker, "debootstrap_reason", lambda: None)
    monkeypatch.setattr(active_runs, "FOLDER", tmp_path / "active")
    return built


def test_images_with_packages_share_the_suites_one_debootstrap(fake_docker: list[str]) -> None:
    docker.build_base("bookworm", "shipbench/fresh:bookworm", Path("."), "python3,ca-certificates")
    docker.build_base("bookworm", "shipbench/bake:bookworm", Path("."), "python3")
    assert fake_docker == ["shipbench/debian:bookworm-minbase", "shipbench/fresh:bookworm",
                           "shipbench/bake:bookworm"]


def test_two_runs_that_need_the_same_image_build_it_once(fake_docker: list[str]) -> None:
    """The second caller waits for the first one's build (a file lock, as for rows) and then finds the image;
    the order the threads arrive in does not matter."""
    callers = [threading.Thread(target=docker.build_base, args=("trixie", "shipbench/x:trixie", Path("."), "gcc"))
               for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert fake_docker == ["shipbench/debian:trixie-minbase", "shipbench/x:trixie"]
