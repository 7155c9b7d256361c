from pathlib import Path, PureWindowsPath

import pytest

from shipbench import interpreters
from shipbench.errors import Skip, UsageError


@pytest.mark.parametrize("bad", ["3", "three", "3.12.1", "2.7.18", "", "3.11\n", " 3.11"])
def test_bad_versions_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="not a Python version"):
        interpreters.check_version(bad)


def test_a_missing_python_is_a_skip_saying_where_we_looked() -> None:
    with pytest.raises(Skip, match=r"no Python 3\.99 on this host: looked for python3\.99 on PATH"):
        interpreters.find("3.99")


def test_the_running_python_is_found() -> None:
    import sys

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        found = interpreters.find(version)
    except Skip:
        pytest.skip(f"python{version} is not on PATH here")
    assert found.full_version.startswith(version + ".")


def test_venv_layout_per_platform() -> None:
    assert interpreters.venv_python("env", "linux") == Path("env/bin/python")
    assert PureWindowsPath(interpreters.venv_python("env", "win32")) == PureWindowsPath("env/Scripts/python.exe")
