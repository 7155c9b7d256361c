"""Windows and macOS paths through the harness, with the platform injected: only Linux runs here."""

from __future__ import annotations

import pytest

from shipbench import host, interpreters, runner
from shipbench.errors import Skip


def test_windows_finds_pythons_through_the_py_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interpreters.shutil, "which", lambda name: "C:\\Windows\\py.exe" if name == "py" else None)
    seen = []

    def probe(argv: list[str]) -> tuple[str, str]:
        seen.append(argv)
        return ("C:\\Python312\\python.exe", "3.12.7")

    monkeypatch.setattr(interpreters, "_probe", probe)
    found = interpreters.find("3.12", platform="win32")
    assert seen == [["py", "-3.12"]] and found.executable == "C:\\Python312\\python.exe"


def test_a_version_mismatch_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interpreters.shutil, "which", lambda name: "/usr/bin/python3.12")
    monkeypatch.setattr(interpreters, "_probe", lambda argv: ("/usr/bin/python3.12", "3.11.9"))
    with pytest.raises(Skip, match="it does not run"):
        interpreters.find("3.12", platform="linux")


def test_windows_kills_the_whole_tree_with_taskkill(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(runner.subprocess, "run", lambda argv, **kwargs: calls.append(argv))

    class Proc:
        pid = 4242

    runner.kill_tree(Proc(), platform="win32")  # type: ignore[arg-type]
    assert calls == [["taskkill", "/F", "/T", "/PID", "4242"]]


@pytest.mark.parametrize(("system", "machine", "os_name", "arch"), [
    ("Windows", "AMD64", "windows", "x86_64"), ("Darwin", "arm64", "macos", "aarch64"),
    ("Linux", "x86_64", "linux", "x86_64"),
])
def test_record_os_and_arch_names(system: str, machine: str, os_name: str, arch: str) -> None:
    assert host.os_name(system) == os_name and host.arch_name(machine) == arch


def test_a_posix_timeout_kills_the_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    killed = []
    monkeypatch.setattr(runner.os, "killpg", lambda pid, sig: killed.append((pid, sig)), raising=False)

    class Proc:
        pid = 99

    runner.kill_tree(Proc(), platform="linux")  # type: ignore[arg-type]
    assert killed and killed[0][0] == 99
