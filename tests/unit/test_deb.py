"""The Debian source package the deb strategy generates (what a user copies and builds with dpkg-buildpackage),
the launcher in /usr/bin for each app shape, the release a row's Python means, and the times read from a step."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app_shapes import _ctx, _project

from shipbench.errors import Failure, Skip
from shipbench.strategies import deb


def test_the_source_package_installs_the_app_and_its_launcher_and_depends_on_what_it_needs(tmp_path: Path) -> None:
    app = _project(tmp_path, 'script = "train.py"\nrequirements = "requirements.txt"\ncapabilities = ["window"]\n'
                             'system-packages = ["libgomp1"]\n',
                   {"requirements.txt": "numpy\nPySide6-Essentials\n", "train.py": ""})
    source = tmp_path.parent / f"{tmp_path.name}-src"
    deb.stage(app, "3.11", source)
    control = (source / "debian" / "control").read_text()
    assert "Package: shipbench-x\nArchitecture: any\n" in control
    depends = next(line for line in control.splitlines() if line.startswith("Depends:"))
    assert "python3 (>= 3.11)" in depends and "libxcb-cursor0" in depends and depends.endswith("libgomp1")
    rules = (source / "debian" / "rules").read_text()
    assert "dh $@ --with python-virtualenv" in rules and "--requirements shipbench-requirements.txt" in rules
    assert (source / "shipbench-requirements.txt").read_text() == "-r shipbench-app/requirements.txt\n"
    assert (source / "debian" / "shipbench-x.install").read_text() == (
        "shipbench-app/* opt/venvs/shipbench-x/app/\nshipbench-launcher/x usr/bin/\n")
    assert (source / "shipbench-app" / "train.py").is_file()
    assert (source / "debian" / "source" / "format").read_text() == "3.0 (native)\n"
    launcher = (source / "shipbench-launcher" / "x").read_text()
    assert launcher.endswith("exec '/opt/venvs/shipbench-x/bin/python' '/opt/venvs/shipbench-x/app/train.py' \"$@\"\n")


def test_a_tk_window_depends_on_debians_tkinter(tmp_path: Path) -> None:
    """Issue 33: a tkinter app's .deb lacked python3-tk (`No module named 'tkinter'`), as Qt's X11 libraries are
    named for a Qt app."""
    app = _project(tmp_path, 'script = "paint.py"\nrequirements = "requirements.txt"\ncapabilities = ["window"]\n'
                             'ready = "first-frame"\n', {"requirements.txt": "", "paint.py": ""})
    source = tmp_path.parent / f"{tmp_path.name}-src"
    deb.stage(app, "3.11", source)
    depends = next(line for line in (source / "debian" / "control").read_text().splitlines()
                   if line.startswith("Depends:"))
    assert depends.endswith("python3 (>= 3.11), python3-tk") and "libxcb" not in depends


@pytest.mark.parametrize(("table", "command"), [
    ('module = "toolx"\n', "exec '/opt/venvs/shipbench-x/bin/python' '-m' 'toolx' \"$@\""),
    ('console-script = "wc"\n', "exec '/opt/venvs/shipbench-x/bin/wc' \"$@\""),
])
def test_the_launcher_starts_a_module_and_a_console_script_from_the_packages_venv(
        tmp_path: Path, table: str, command: str) -> None:
    app = _project(tmp_path, table + 'requirements = "r.txt"\nargs = ["--top", "3"]\n', {"r.txt": ""})
    assert deb.launcher_script(app).splitlines()[-1] == command  # the run passes the description's args


def test_a_package_name_is_one_debian_allows() -> None:
    class Named:
        name = "My_App"

    assert deb.package_name(Named()) == "shipbench-my-app"  # type: ignore[arg-type]


def test_a_python_no_debian_release_has_is_skipped_before_any_work(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deb.docker, "unavailable_reason", lambda: None)
    app = _project(tmp_path, 'script = "a.py"\nrequirements = "r.txt"\n', {"r.txt": "", "a.py": ""})
    ctx = _ctx(app, tmp_path, "deb", "dh-virtualenv")
    ctx.key = ctx.key.__class__("deb", "dh-virtualenv", "x", "3.12")
    with pytest.raises(Skip, match="a .deb holds a venv of the release's own python3"):
        deb.DebStrategy().build(ctx)


def test_a_steps_own_time_is_read_from_its_last_line() -> None:
    assert deb._seconds("Setting up x ...\nshipbench-seconds: 14079\n") == 14.079
    with pytest.raises(Failure, match="printed no time"):
        deb._seconds("E: Unable to locate package")
