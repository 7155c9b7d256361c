from pathlib import Path

import pytest

from shipbench import torch_source
from shipbench.errors import Skip, UsageError


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    for name in (
        "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
        "torch-2.12.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
        "torch-2.13.0-cp312-none-macosx_11_0_arm64.whl",
        "torch-2.13.0+cpu-cp311-cp311-win_amd64.whl",
        "torchvision-0.29.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "not-a-wheel.txt",
    ):
        (tmp_path / name).write_bytes(b"")
    return tmp_path


def test_auto_takes_the_newest_fitting_wheel_from_pip_find_links(wheels: Path) -> None:
    choice = torch_source.resolve("auto", "3.11", "linux", "x86_64", find_links=str(wheels))
    assert Path(choice.requirement).name == "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    assert choice.extra_index_url is None


@pytest.mark.parametrize(("python", "os_name", "arch", "expected"), [
    ("3.12", "macos", "aarch64", "torch-2.13.0-cp312-none-macosx_11_0_arm64.whl"),
    ("3.11", "windows", "x86_64", "torch-2.13.0+cpu-cp311-cp311-win_amd64.whl"),
])
def test_wheels_match_os_and_arch(wheels: Path, python: str, os_name: str, arch: str, expected: str) -> None:
    assert Path(torch_source.resolve(f"wheels:{wheels}", python, os_name, arch).requirement).name == expected


def test_no_fitting_wheel_on_linux_is_a_skip_that_says_how_to_allow_pypi(wheels: Path) -> None:
    with pytest.raises(Skip, match="SHIPBENCH_TORCH=pypi"):
        torch_source.resolve("auto", "3.12", "linux", "x86_64", find_links=str(wheels))


def test_auto_uses_pypi_where_it_serves_cpu_builds(tmp_path: Path) -> None:
    assert torch_source.resolve("auto", "3.13", "macos", "aarch64", find_links=str(tmp_path)).requirement == "torch"


def test_index_and_pypi_settings() -> None:
    index = torch_source.resolve("index:https://download.pytorch.org/whl/cpu", "3.12", "linux", "x86_64")
    assert (index.requirement, index.extra_index_url) == ("torch", "https://download.pytorch.org/whl/cpu")
    assert "CUDA" in torch_source.resolve("pypi", "3.12", "linux", "x86_64").description


def test_find_links_come_from_the_environment_or_pips_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_FIND_LINKS", "/from/env")
    assert torch_source.pip_find_links() == "/from/env"
    monkeypatch.delenv("PIP_FIND_LINKS")
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nfind-links = /opt/wheels\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    assert torch_source.pip_find_links() == "/opt/wheels"
    config.write_text("[global]\ntimeout = 60\n")
    assert torch_source.pip_find_links() is None


def test_an_unknown_setting_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="SHIPBENCH_TORCH"):
        torch_source.resolve("conda", "3.12", "linux", "x86_64")
