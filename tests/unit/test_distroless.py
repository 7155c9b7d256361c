"""The image's parts that need no Docker: docker/app-start.py (the distroless entry point) for each app shape, the
staged context and the bake target each variant builds, docker/app-requirements.py, and docker/distroless-closure.py's
reading of ldd and of link chains."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT
from test_app_shapes import _ctx, _project

from shipbench import app_files, bake_context, record
from shipbench.errors import Skip


def _closure() -> ModuleType:
    spec = importlib.util.spec_from_file_location("distroless_closure", ROOT / "docker" / "distroless-closure.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _start(tmp_path: Path, command: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """docker/app-start.py, the distroless entry point, carrying out `command` as the image's start command."""
    (tmp_path / "app-start.cmd").write_text(command + "\n")
    return subprocess.run([sys.executable, str(ROOT / "docker" / "app-start.py"), *args], capture_output=True,
                          text=True, check=False, cwd=tmp_path,
                          env={**os.environ, "SHIPBENCH_START_FILE": str(tmp_path / "app-start.cmd"), **env})


def test_the_distroless_start_runs_a_module_as_python_m_from_the_folder_it_starts_in(tmp_path: Path) -> None:
    (tmp_path / "toolx").mkdir()
    (tmp_path / "toolx" / "__init__.py").write_text("")
    (tmp_path / "toolx" / "__main__.py").write_text("import sys\nprint('toolx', sys.argv[1:], __name__)\n")
    done = _start(tmp_path, "/opt/venv/bin/python -m toolx", "--fast")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "toolx ['--fast'] __main__"


def test_the_distroless_start_runs_a_script_with_its_folder_first_on_the_path(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "helper.py").write_text("NAME = 'helper'\n")
    (tmp_path / "bin" / "train.py").write_text("import sys\nimport helper\nprint(helper.NAME, sys.argv)\n")
    done = _start(tmp_path, f"/opt/venv/bin/python {shlex.quote(str(tmp_path / 'bin' / 'train.py'))}", "-v")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"helper [{str(tmp_path / 'bin' / 'train.py')!r}, '-v']"


def test_the_distroless_start_runs_a_console_script_by_its_entry_point(tmp_path: Path) -> None:
    done = _start(tmp_path, "/opt/venv/bin/pytest", "--version")  # an entry point of this test environment
    assert done.returncode == 0, done.stderr
    assert "pytest" in done.stdout + done.stderr


@pytest.mark.parametrize(("variant", "stage"), [("cpu", "runtime"), ("distroless", "distroless")])
def test_each_variant_is_a_target_of_the_one_bake_file(tmp_path: Path, variant: str, stage: str) -> None:
    (tmp_path / "proj").mkdir()
    app = _project(tmp_path / "proj", 'script = "a.py"\nrequirements = "r.txt"\n', {"r.txt": "rich\n", "a.py": ""})
    staged = bake_context.stage(_ctx(app, tmp_path, "bake", variant), tmp_path / "context", "debian:12")
    bake_file = staged.bake_file.read_text()
    assert staged.target == f"x-{variant}" and bake_file == (ROOT / "docker-bake.hcl").read_text()
    assert f'target "{variant}"' in bake_file and f'target = "{stage}"' in bake_file
    values = dict(line.split(" = ", 1) for line in staged.variables.read_text().splitlines() if " = " in line)
    assert values["APP"] == '"x"' and values["APP_START"] == f'"/opt/venv/bin/python {bake_context.APP_IN_IMAGE}/a.py"'
    assert values["APP_IS_PROJECT"] == '"0"' and values["APP_REQUIREMENTS"] == '"r.txt"'
    for name in bake_context.HARNESS_FILES:
        assert (tmp_path / "context" / "docker" / name).is_file()
    assert (tmp_path / "context" / "app" / "a.py").is_file() and (tmp_path / "context" / "docker" / "wheels").is_dir()


def test_the_users_shell_never_overrides_the_apps_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """bake reads a declared variable from the environment before app.hcl: a PYTHON or APP_START exported in the
    shell that runs shipbench is left out of the build's environment; the proxy's CA is passed by name."""
    for name, value in (("PYTHON", "3.8"), ("APP_START", "rm -rf /"), ("BASE_IMAGE", "x"), ("HOME", "/root")):
        monkeypatch.setenv(name, value)
    env = bake_context.bake_environment(ROOT, "/etc/ca.pem")
    assert not {"PYTHON", "APP_START", "BASE_IMAGE", "APP", "TORCH_INDEX"} & set(env)
    assert env["HOME"] == "/root" and env["CA_BUNDLE"] == "/etc/ca.pem"
    assert bake_context.bake_environment(ROOT, None)["CA_BUNDLE"] == ""


def test_a_value_with_hcl_template_marks_stays_literal() -> None:
    assert bake_context.hcl_string('python -m "a" ${HOME} %{x}') == '"python -m \\"a\\" $${HOME} %%{x}"'


def test_an_app_with_dynamic_dependencies_is_skipped_with_the_reason_before_any_build(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    app = _project(tmp_path / "proj", 'module = "m"\n', {"m/__init__.py": "", "pyproject.toml":
                   '[project]\nname = "m"\nversion = "1"\ndynamic = ["dependencies"]\n'})
    with pytest.raises(Skip, match=r"proj/pyproject.toml declares its dependencies dynamically"):
        bake_context.stage(_ctx(app, tmp_path, "bake", "cpu"), tmp_path / "context", "debian:12")


def test_a_projects_requirements_are_its_dependencies_extras_and_build_backend(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "m"\nversion = "1"\ndependencies = ["rich"]\n'
                                             '[project.optional-dependencies]\nfast = ["orjson"]\nother = ["no"]\n'
                                             '[build-system]\nrequires = ["setuptools>=68"]\n')
    done = subprocess.run([sys.executable, str(ROOT / "docker" / "app-requirements.py"), str(tmp_path), "-",
                           "--extras", "fast"], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["rich", "orjson", "setuptools>=68", "wheel"]


def test_a_folder_of_scripts_with_no_dependencies_is_staged_with_nothing_to_install(tmp_path: Path) -> None:
    """Issue 33: hello.py and a pyproject.toml holding only [tool.shipbench] got no image: 'declares its
    dependencies dynamically'. It declares none: its requirements are empty, and it is not pip-installed."""
    (tmp_path / "proj").mkdir()
    app = _project(tmp_path / "proj", 'script = "hello.py"\nready = "exit"\n', {"hello.py": "print('hello')\n"})
    staged = bake_context.stage(_ctx(app, tmp_path, "bake", "cpu"), tmp_path / "context", "debian:12")
    assert 'APP_IS_PROJECT = "0"' in staged.variables.read_text()
    done = subprocess.run([sys.executable, str(ROOT / "docker" / "app-requirements.py"), str(tmp_path / "proj"), "-"],
                          capture_output=True, text=True, check=True)
    assert done.stdout == ""


def test_a_tk_windows_image_gets_tk_for_its_base(tmp_path: Path) -> None:
    """Issue 33: a tkinter app's image lacked Tk (`No module named 'tkinter'`)."""
    (tmp_path / "proj").mkdir()
    app = _project(tmp_path / "proj", 'script = "paint.py"\ncapabilities = ["window"]\nready = "first-frame"\n',
                   {"paint.py": ""})
    debian = bake_context.variables(app, "shipbench/python:3.11-bookworm")["APP_SYSTEM_PACKAGES"]
    official = bake_context.variables(app, "python:3.11-slim")["APP_SYSTEM_PACKAGES"]
    assert (debian, official) == ("python3-tk", "libtk8.6")


def test_an_apps_own_dockerfile_has_no_distroless_stage_to_build(tmp_path: Path) -> None:
    """Known before any build: the plan skips the row (plan.decide asks planned_skip)."""
    from shipbench import strategies
    from shipbench.record import Key

    (tmp_path / "proj").mkdir()
    app = _project(tmp_path / "proj", 'script = "a.py"\nrequirements = "r.txt"\ndockerfile = "Dockerfile"\n',
                   {"r.txt": "", "a.py": "", "Dockerfile": "FROM scratch\n"})
    why = strategies.get("bake").planned_skip(app, Key("bake", "distroless", app.name, "3.11"), "full")
    assert why and "has no distroless stage to build" in why


def test_the_bake_files_window_packages_are_the_ones_shipbench_installs() -> None:
    """docker-bake.hcl's WINDOW_PACKAGES (the samples' images) and bake_context's (every app's, and the .deb's)."""
    text = (ROOT / "docker-bake.hcl").read_text()
    block = text[text.index('variable "WINDOW_PACKAGES"'):]
    listed = json.loads(block[block.index("["): block.index("]") + 1])
    assert tuple(listed) == bake_context.WINDOW_PACKAGES


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


def test_an_apps_copy_leaves_out_every_virtual_environment_whatever_its_name(tmp_path: Path) -> None:
    """A helper's nox environments (nox-envs/, 374 MB) inside the app's folder went into its .deb and image."""
    app = tmp_path / "app"
    (app / "nox-envs" / "quick" / "lib").mkdir(parents=True)
    (app / "nox-envs" / "quick" / "pyvenv.cfg").write_text("home = /usr\n")
    (app / "nox-envs" / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")  # nox's
    (app / "env" / "lib").mkdir(parents=True)
    (app / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (app / "main.py").write_text("")
    app_files.copy_app(app, tmp_path / "copy", for_image=True)
    assert sorted(p.relative_to(tmp_path / "copy").as_posix() for p in (tmp_path / "copy").rglob("*")) == ["main.py"]
    # nor are they the app's inputs: a new environment beside it never makes its rows "changed"
    from shipbench import inputs

    before = inputs.files_digest(tmp_path, ["app"])
    (app / "nox-envs" / "tests").mkdir()
    (app / "nox-envs" / "tests" / "pyvenv.cfg").write_text("home = /usr\n")
    (app / ".uv-cache").mkdir()
    (app / ".uv-cache" / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    assert inputs.files_digest(tmp_path, ["app"]) == before
