from pathlib import Path

import pytest

from shipbench import torch_source
from shipbench.errors import Skip, UsageError

REAL_PROBE = torch_source.index_answers.__wrapped__  # the fast tier replaces it per test (conftest)


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


def test_auto_on_linux_takes_pytorchs_cpu_index_when_it_answers(tmp_path: Path) -> None:
    asked = []
    choice = torch_source.resolve("auto", "3.12", "linux", "x86_64", find_links=str(tmp_path),
                                  answers=lambda url: asked.append(url) or True)
    assert asked == [torch_source.PYTORCH_CPU_INDEX]
    assert (choice.requirement, choice.extra_index_url) == ("torch", torch_source.PYTORCH_CPU_INDEX)


def test_a_wheel_in_find_links_comes_before_the_index(wheels: Path) -> None:
    choice = torch_source.resolve("auto", "3.11", "linux", "x86_64", find_links=str(wheels),
                                  answers=lambda url: pytest.fail("the index was asked although a wheel fits"))
    assert choice.requirement.endswith(".whl")


def test_an_index_that_does_not_answer_is_a_skip_that_says_so(tmp_path: Path) -> None:
    with pytest.raises(Skip, match="CPU index .* did not answer within 5 s"):
        torch_source.resolve("auto", "3.12", "linux", "x86_64", find_links=str(tmp_path), answers=lambda url: False)


def test_the_index_probe_asks_for_torch_and_gives_up_quickly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real probe against a local index (loopback only): one that serves /torch/, and one that is not there."""
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)  # a host's proxy must not stand between the test and loopback
    # the serving index only has to answer within the limit: one no loaded machine misses (the closed one refuses
    # at once, whatever the limit)
    monkeypatch.setattr(torch_source, "_PROBE_TIMEOUT_S", 120.0)
    import http.server
    import socket
    import threading

    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "index.html").write_text("<a href='torch-2.13.0+cpu-cp312.whl'>torch</a>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert REAL_PROBE(url) is True
    finally:
        server.shutdown()
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{free.getsockname()[1]}"
    assert REAL_PROBE(closed) is False


def test_a_kept_venv_stamp_hashes_a_binary_wheel_and_a_requirements_files_edits(tmp_path: Path) -> None:
    from shipbench.strategies.venv import Requirements, requirements_stamp

    wheel = tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(b"PK\x03\x04\xe3\xff binary")  # not UTF-8: CI once failed reading a wheel as text
    listed = tmp_path / "requirements.txt"
    listed.write_text("numpy\n", encoding="utf-8")
    reqs = Requirements((str(wheel), "-r", str(listed)), None, "wheel")
    before = requirements_stamp(reqs)
    assert requirements_stamp(reqs) == before
    listed.write_text("numpy\nrich\n", encoding="utf-8")
    assert requirements_stamp(reqs) != before
