"""The wheel a tool installer installs for an app that is not a project with a console script: its requirements,
its files and metadata (PEP 427: RECORD hashes every file), its launcher, and the installers' command lines."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from shipbench import tool_wheel
from shipbench.errors import Skip
from shipbench.strategies import wheel as wheel_strategy


def test_a_requirements_files_lines_become_requires_dist_and_a_pip_option_is_a_skip_naming_its_line(
        tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("# the app's\nnumpy>=1.26  # fast arrays\n\nrich[jupyter]==13.7 ; python_version >= '3.9'\n")
    assert tool_wheel.requirement_lines(reqs) == ["numpy>=1.26", "rich[jupyter]==13.7 ; python_version >= '3.9'"]
    reqs.write_text("numpy\n--extra-index-url https://example.org/simple\n")
    with pytest.raises(Skip, match=r"requirements.txt:2: '--extra-index-url https://example.org/simple': a wheel"):
        tool_wheel.requirement_lines(reqs)
    reqs.write_text("./vendored/lib\n")
    with pytest.raises(Skip, match="local paths have no place in it"):
        tool_wheel.requirement_lines(reqs)


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "package" / "shipbench_tool_trainer"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(tool_wheel.launcher_source("script", "train.py"))
    (package / "train.py").write_text("import sys, helper\nprint(helper.WORD, sys.argv[1:])\n")
    (package / "helper.py").write_text("WORD = 'trained'\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.pyc").write_bytes(b"stale")
    return package


def test_the_wheel_holds_the_package_and_metadata_each_file_hashed_in_its_record_and_is_repeatable(
        tmp_path: Path) -> None:
    package = _package(tmp_path)
    built = tool_wheel.write(tmp_path / "dist", "shipbench_tool_trainer", package, ["numpy>=1.26"],
                             {"trainer": "shipbench_tool_trainer:main"})
    assert built.name == "shipbench_tool_trainer-0-py3-none-any.whl"
    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
        info = "shipbench_tool_trainer-0.dist-info"
        assert "shipbench_tool_trainer/__pycache__/x.pyc" not in names
        assert archive.read(f"{info}/entry_points.txt") == b"[console_scripts]\ntrainer = shipbench_tool_trainer:main\n"
        assert b"Requires-Dist: numpy>=1.26\n" in archive.read(f"{info}/METADATA")
        rows = [line.split(",") for line in archive.read(f"{info}/RECORD").decode().splitlines()]
        assert sorted(row[0] for row in rows) == sorted(names)
        for path, digest, size in rows:
            if path.endswith("RECORD"):
                assert (digest, size) == ("", "")
                continue
            data = archive.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={expected}", len(data))
    first = built.read_bytes()
    again = tool_wheel.write(tmp_path / "dist", "shipbench_tool_trainer", package, ["numpy>=1.26"],
                             {"trainer": "shipbench_tool_trainer:main"})
    assert again.read_bytes() == first  # fixed times, sorted names: the same app, the same bytes


def test_the_launcher_runs_the_script_with_its_folder_first_on_the_path_and_its_arguments(tmp_path: Path) -> None:
    _package(tmp_path)
    code = "import sys; sys.argv = ['trainer', '--epochs', '1']; import shipbench_tool_trainer as t; t.main()"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(tmp_path / "package")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "trained ['--epochs', '1']"


def test_a_module_apps_launcher_runs_it_as_python_m_does(tmp_path: Path) -> None:
    source = tool_wheel.launcher_source("module", "app_x")
    assert "runpy.run_module('app_x', run_name='__main__', alter_sys=True)" in source


def test_a_shim_that_runs_python_with_E_is_seen_and_one_without_it_is_not(tmp_path: Path) -> None:
    shim = tmp_path / "tool"
    shim.write_text("#!/home/u/.local/pipx/venvs/tool/bin/python -E\nimport sys\n")
    assert wheel_strategy._ignores_environment(shim)
    shim.write_text("#!/home/u/.local/share/uv/tools/tool/bin/python\nimport sys\n")
    assert not wheel_strategy._ignores_environment(shim)
    # pip's trampoline where the venv's path is too long for a #! line: as pip writes it, and with a flag
    trampoline = ("#!/bin/sh\n" + "'" * 3 + "exec' '/very/long/venvs/tool/bin/python'{} \"$0\" \"$@\"\n' "
                  + "'" * 3 + "\n")
    shim.write_text(trampoline.format(""))
    assert not wheel_strategy._ignores_environment(shim)
    shim.write_text(trampoline.format(" -E"))
    assert wheel_strategy._ignores_environment(shim)


def test_each_installer_installs_the_wheel_into_its_own_tool_home_with_the_wheel_folder_as_find_links(
        tmp_path: Path) -> None:
    from shipbench.interpreters import Interpreter

    python = Interpreter(version="3.11", executable="/usr/bin/python3.11", full_version="3.11.2")
    whl, links = tmp_path / "dist" / "a-0-py3-none-any.whl", [str(tmp_path / "dist")]
    uv = wheel_strategy._install_command("uv-tool", tmp_path / "tools", python, whl, links, None)
    assert uv[1:] == ["tool", "install", "--python", "/usr/bin/python3.11", "--find-links", links[0], str(whl)]
    pipx = wheel_strategy._install_command("pipx", tmp_path / "tools", python, whl, links, "https://idx/simple")
    assert pipx[1:] == ["-m", "pipx", "install", "--python", "/usr/bin/python3.11", "--pip-args",
                        f"--find-links {links[0]} --extra-index-url https://idx/simple", str(whl)]
    assert wheel_strategy._homes("uv-tool", tmp_path) == {"UV_TOOL_DIR": str(tmp_path / "tools"),
                                                          "UV_TOOL_BIN_DIR": str(tmp_path / "bin")}
    assert set(wheel_strategy._homes("pipx", tmp_path)) == {"PIPX_HOME", "PIPX_BIN_DIR", "PIPX_MAN_DIR"}


def test_a_local_torch_wheel_is_pinned_to_its_own_version_so_no_index_build_wins(tmp_path: Path) -> None:
    """Found: with `torch` alone and the wheel's folder as find-links, uv took PyPI's newer CUDA torch (a 5.4 GB
    tool venv) over the CPU wheel the row was meant to use."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    torch = folder / "torch-2.9.1+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    torch.write_bytes(b"")
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("numpy\n")
    requires, links = wheel_strategy.requires_of((str(torch), "-r", str(reqs)))
    assert requires == ["torch==2.9.1+cpu", "numpy"] and links == [str(folder)]
