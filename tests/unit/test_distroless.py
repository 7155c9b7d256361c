"""The distroless image's parts that need no Docker: the generated start.py for each app shape, the bake target each
variant builds, and docker/distroless-closure.py's reading of ldd and of link chains."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT
from test_app_shapes import _ctx, _project

from shipbench import bake_context, record
from shipbench.errors import Skip


def _closure() -> ModuleType:
    spec = importlib.util.spec_from_file_location("distroless_closure", ROOT / "docker" / "distroless-closure.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_module_apps_start_script_runs_it_as_python_m_with_its_arguments(tmp_path: Path) -> None:
    app = _project(tmp_path, 'module = "toolx"\nrequirements = "r.txt"\n', {"r.txt": "",
                   "toolx/__init__.py": "", "toolx/__main__.py": "import sys\nprint('toolx', sys.argv[1:])\n"})
    (tmp_path / "start.py").write_text(bake_context.start_script(app))
    done = subprocess.run([sys.executable, str(tmp_path / "start.py"), "--fast"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "toolx ['--fast']"


def test_a_script_and_a_console_script_start_from_the_images_app_folder_and_entry_points(tmp_path: Path) -> None:
    script = bake_context.start_script(_project(tmp_path, 'script = "bin/train.py"\nrequirements = "r.txt"\n',
                                                {"r.txt": "", "bin/train.py": ""}))
    assert "sys.path.insert(0, '/app/bin')" in script and "runpy.run_path('/app/bin/train.py'" in script
    other = tmp_path / "other"
    other.mkdir()
    console = bake_context.start_script(_project(other, 'console-script = "wc"\nrequirements = "r.txt"\n',
                                                 {"r.txt": ""}))
    assert "e.name == 'wc'" in console and "sys.exit(entry.load()())" in console
    compile(script, "start.py", "exec")
    compile(console, "start.py", "exec")


@pytest.mark.parametrize(("variant", "stage"), [("cpu", "runtime"), ("distroless", "distroless")])
def test_each_variant_builds_its_stage_of_the_one_dockerfile(tmp_path: Path, variant: str, stage: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bake_context.host, "ca_bundle", lambda: None)
    (tmp_path / "proj").mkdir()
    app = _project(tmp_path / "proj", 'script = "a.py"\nrequirements = "r.txt"\n', {"r.txt": "rich\n", "a.py": ""})
    staged = bake_context.stage(_ctx(app, tmp_path, "bake", variant), tmp_path / "context", "debian:12")
    target = json.loads(staged.bake_file.read_text())["target"][staged.target]
    assert target["target"] == stage
    assert (tmp_path / "context" / "start.py").is_file() and (tmp_path / "context" / "distroless-closure.py").is_file()


def test_an_apps_own_dockerfile_has_no_distroless_stage_to_build(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    app = _project(tmp_path / "proj", 'script = "a.py"\nrequirements = "r.txt"\ndockerfile = "Dockerfile"\n',
                   {"r.txt": "", "a.py": "", "Dockerfile": "FROM scratch\n"})
    with pytest.raises(Skip, match="has no distroless stage to build"):
        bake_context.stage(_ctx(app, tmp_path, "bake", "distroless"), tmp_path / "context", "debian:12")


def test_ldds_lines_give_each_library_and_the_loader() -> None:
    closure = _closure()
    said = ("\tlinux-vdso.so.1 (0x00007ffc)\n\tlibQt6Core.so.6 => /opt/venv/lib/libQt6Core.so.6 (0x00007f)\n"
            "\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f)\n\tlibmissing.so => not found\n"
            "\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n")
    assert closure.parse_ldd(said) == {"/opt/venv/lib/libQt6Core.so.6", "/lib/x86_64-linux-gnu/libm.so.6",
                                       "/lib64/ld-linux-x86-64.so.2"}


def test_every_link_on_the_way_to_the_interpreter_is_kept(tmp_path: Path) -> None:
    """The venv's python -> python3 -> /usr/bin/python3 -> python3.11: a distroless image without the middle link
    could not start (found building it)."""
    closure = _closure()
    (tmp_path / "usr").mkdir()
    (tmp_path / "usr" / "python3.11").write_text("")
    (tmp_path / "usr" / "python3").symlink_to("python3.11")
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "python3").symlink_to(tmp_path / "usr" / "python3")
    (tmp_path / "venv" / "python").symlink_to("python3")
    found = closure.with_link_targets({str(tmp_path / "venv" / "python")})
    assert found == {str(tmp_path / path) for path in ("venv/python", "venv/python3", "usr/python3",
                                                       "usr/python3.11")}


def test_records_of_both_images_say_their_packages_and_shell(make_record: object) -> None:
    schema_ok = record.validation_errors
    for variant, packages, shell in (("cpu", 184, True), ("distroless", 82, False)):
        rec = make_record(strategy="bake", variant=variant)  # type: ignore[operator]
        rec["metrics"].update(debian_packages=packages, shell=shell)
        assert schema_ok(rec) == []
