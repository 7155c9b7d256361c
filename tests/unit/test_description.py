"""The app description: the samples and fixtures read as meant, and every bad description stops with a message
that names the file, the key and what was expected, before anything is built."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, run_cli

from shipbench import description
from shipbench.errors import UsageError


def _project(tmp_path: Path, table: str, files: dict[str, str] | None = None) -> Path:
    for name, text in (files or {"tool.py": "print('hi')\n", "requirements.txt": "\n"}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "pyproject.toml").write_text(table)
    description._checked_table.cache_clear()
    return tmp_path


def _error(tmp_path: Path, table: str, files: dict[str, str] | None = None) -> str:
    root = _project(tmp_path, table, files)
    with pytest.raises(UsageError) as error:
        description.load(root)
    message = str(error.value)
    assert str(root / "pyproject.toml") in message
    return message


def test_the_samples_are_described_by_capabilities_not_names() -> None:
    apps = description.load(ROOT)
    assert set(apps) == {"gui", "dl"}
    assert apps["gui"].shows_window and not apps["gui"].uses_torch and apps["gui"].throughput is None
    assert apps["dl"].uses_torch and apps["dl"].throughput is not None and not apps["dl"].shows_window
    assert apps["dl"].throughput.key == "samples_per_s" and apps["dl"].throughput.quick_args
    assert apps["gui"].command("py", "bin", "/app") == ["py", "-m", "app_gui"]


def test_the_fixtures_read_as_meant() -> None:
    (tool,) = description.load(FIXTURES / "wordcount").values()
    assert tool.start == ("console-script", "wordcount") and tool.entry_point == "wordcount.cli:main"
    assert tool.ready == "exit" and tool.command("py", "/v/bin", "/app") == ["/v/bin/wordcount", "--top", "3"]
    (window,) = description.load(FIXTURES / "quietwindow").values()
    assert window.first_frame and window.shows_window
    (trainer,) = description.load(FIXTURES / "trainer").values()
    assert trainer.requirements == "requirements.txt" and trainer.ready == "pattern"
    assert trainer.install_items("/vagrant/app") == ["-r", "/vagrant/app/requirements.txt"]
    assert trainer.command("py", "bin", "/app")[:2] == ["py", "/app/train.py"]


def test_a_misspelt_key_is_named_with_the_likely_one(tmp_path: Path) -> None:
    message = _error(tmp_path, '[tool.shipbench.apps.tool]\nscript = "tool.py"\nrequirements = "requirements.txt"\n'
                               'capabilites = ["window"]\n')
    assert "[tool.shipbench.apps.tool] capabilites: unknown key (did you mean 'capabilities'?)" in message


def test_a_missing_start_says_what_is_expected(tmp_path: Path) -> None:
    message = _error(tmp_path, '[tool.shipbench.apps.tool]\nrequirements = "requirements.txt"\n')
    assert "exactly one of module, script or console-script" in message


def test_no_apps_table_and_no_table_at_all(tmp_path: Path) -> None:
    assert "'apps' is a required property" in _error(tmp_path, "[tool.shipbench]\nwarm-runs = 3\n")
    assert "has no [tool.shipbench] table" in _error(tmp_path, "[project]\nname = 'x'\n")


def test_an_unknown_capability_lists_the_known_ones(tmp_path: Path) -> None:
    message = _error(tmp_path, '[tool.shipbench.apps.tool]\nscript = "tool.py"\nrequirements = "requirements.txt"\n'
                               'capabilities = ["sound"]\n')
    assert "capabilities" in message and "'window', 'throughput', 'torch'" in message


@pytest.mark.parametrize(("start", "says"), [
    ('script = "missing.py"', "script = 'missing.py': no such file"),
    ('module = "nothere"', "module = 'nothere': no nothere/ or nothere.py"),
    ('console-script = "nope"', "console-script = 'nope'"),
])
def test_an_entry_point_that_does_not_exist(tmp_path: Path, start: str, says: str) -> None:
    message = _error(tmp_path, f"[project]\nname = 'x'\n[project.scripts]\nother = 'x:main'\n"
                               f"[tool.shipbench.apps.tool]\n{start}\n")
    assert says in message


def test_a_bad_ready_and_a_bad_pattern(tmp_path: Path) -> None:
    head = '[tool.shipbench.apps.tool]\nscript = "tool.py"\nrequirements = "requirements.txt"\n'
    assert 'expected "event", "exit", "first-frame"' in _error(tmp_path, head + 'ready = "soon"\n')
    assert "not a regular expression" in _error(tmp_path, head + 'ready = { pattern = "(unclosed" }\n')
    assert "only an app with capabilities" in _error(tmp_path, head + 'ready = "first-frame"\n')


def test_throughput_needs_its_table_and_a_way_to_read_the_figure(tmp_path: Path) -> None:
    head = '[tool.shipbench.apps.tool]\nscript = "tool.py"\nrequirements = "requirements.txt"\n'
    assert "needs a [throughput] table" in _error(tmp_path, head + 'capabilities = ["throughput"]\n')
    assert "needs a group" in _error(tmp_path, head + 'capabilities = ["throughput"]\n'
                                                      '[tool.shipbench.apps.tool.throughput]\nargs = []\n'
                                                      'pattern = "[0-9]+ per s"\n')


def test_a_wrong_type_names_the_key(tmp_path: Path) -> None:
    message = _error(tmp_path, '[tool.shipbench]\nwarm-runs = "five"\n[tool.shipbench.apps.tool]\n'
                               'script = "tool.py"\nrequirements = "requirements.txt"\n')
    assert "[tool.shipbench] warm-runs: 'five' is not of type 'integer'" in message


def test_strategies_patterns_choose_rows() -> None:
    (trainer,) = description.load(FIXTURES / "trainer").values()
    assert trainer.wants("venv", "uv") and not trainer.wants("venv", "pip")
    assert trainer.wants("bake", "cpu") and not trainer.wants("vagrant", "libvirt")


def test_the_schema_and_the_code_know_the_same_capabilities_and_ready_kinds() -> None:
    app = description.schema()["$defs"]["app"]["properties"]
    assert tuple(app["capabilities"]["items"]["enum"]) == description.CAPABILITIES
    forms = [next(iter(form["required"])) for form in app["ready"]["oneOf"][1:]]
    assert (*app["ready"]["oneOf"][0]["enum"], *forms) == description.READY_KINDS


def test_the_readmes_example_description_is_valid() -> None:
    """"Your own app" shows a complete description: it must pass the schema as written (its files are the
    reader's, so only the schema is checked here)."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = description.tomllib.loads(re.search(r"```toml\n(.*?)```", readme, re.S).group(1))
    assert description.schema_errors(example["tool"]["shipbench"]) == []
    assert set(example["tool"]["shipbench"]["apps"]["viewer"]) >= {"module", "capabilities", "ready", "data"}


def test_an_app_name_the_description_allows_is_one_a_record_allows() -> None:
    """One pattern, kept in both schemas because each is published on its own."""
    from shipbench import record

    names = description.schema()["properties"]["apps"]["propertyNames"]["pattern"]
    assert record.schema()["properties"]["app"]["pattern"] == names


# --- every path a description names stays inside the project; a pyproject.toml that cannot be read is one line ---
_HEAD = '[tool.shipbench.apps.tool]\nscript = "tool.py"\nrequirements = "requirements.txt"\n'


def _hostile(tmp_path: Path, table: str, setup: dict[str, str] | None = None) -> tuple[Path, str]:
    """A project one folder below tmp_path (so tmp_path/victim/f.txt lies outside it and exists), its message."""
    victim = tmp_path / "victim"
    victim.mkdir(exist_ok=True)
    (victim / "f.txt").write_text("secret\n")
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    message = _error(root, table, {"tool.py": "", "requirements.txt": "", **(setup or {})})
    assert "\n" not in message
    return root, message


def _outside(root: Path, key: str, value: str, app_folder: Path | None = None) -> str:
    within = f"the app's folder {app_folder}" if app_folder else f"the project {root}"
    return (f"{root / 'pyproject.toml'} [tool.shipbench.apps.tool] {key}: {value!r} is outside {within} "
            "(paths are relative to it and stay inside)")


def test_a_data_entry_that_climbs_out_is_refused_though_it_exists(tmp_path: Path) -> None:
    root, message = _hostile(tmp_path, _HEAD + 'data = ["../../../../../../../../' f'{tmp_path}/victim/f.txt"]\n')
    assert message == _outside(root, "data", f"../../../../../../../../{tmp_path}/victim/f.txt")


def test_a_path_that_climbs_out_is_refused(tmp_path: Path) -> None:
    root, message = _hostile(tmp_path, '[tool.shipbench.apps.tool]\npath = "../victim"\nscript = "f.txt"\n')
    assert message == _outside(root, "path", "../victim")


@pytest.mark.parametrize(("key", "line"), [
    ("data", 'data = ["{victim}"]'),
    ("requirements", 'requirements = "{victim}"'),
    ("workdir", 'workdir = "{folder}"'),
    ("pyinstaller-spec", 'pyinstaller-spec = "{victim}"'),
    ("dockerfile", 'dockerfile = "{victim}"'),
    ("path", 'path = "{folder}"'),
])
def test_an_absolute_path_is_refused_for_every_path_key(tmp_path: Path, key: str, line: str) -> None:
    """/etc/passwd passed the existence check before, then failed rows with "Invalid (SRC, DEST_DIR) tuple"."""
    victim, folder = tmp_path / "victim" / "f.txt", tmp_path / "victim"
    table = (f"[tool.shipbench.apps.tool]\nscript = \"tool.py\"\n{line.format(victim=victim, folder=folder)}\n"
             + ('requirements = "requirements.txt"\n' if key != "requirements" else ""))
    root, message = _hostile(tmp_path, table)
    assert message == _outside(root, key, str(folder if key in ("workdir", "path") else victim))


def test_a_script_and_a_requirements_file_that_climb_out_of_the_apps_folder(tmp_path: Path) -> None:
    """Relative to the app's folder, and the copy of that folder is all an image, a guest or a package holds."""
    table = '[tool.shipbench.apps.tool]\npath = "app"\nscript = "../tool.py"\nrequirements = "requirements.txt"\n'
    root, message = _hostile(tmp_path, table, {"app/requirements.txt": ""})
    assert message == _outside(root, "script", "../tool.py", root / "app")


def test_a_symlink_out_of_the_project_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "link.txt").symlink_to(tmp_path / "victim" / "f.txt")
    (root / "pkg").symlink_to(tmp_path / "victim", target_is_directory=True)
    _, message = _hostile(tmp_path, _HEAD + 'data = ["link.txt"]\n')
    assert message == (f"{root / 'pyproject.toml'} [tool.shipbench.apps.tool] data: 'link.txt' is outside the "
                       f"project {root} (a symlink leads it to {tmp_path / 'victim' / 'f.txt'}; paths stay inside)")
    _, message = _hostile(tmp_path, '[tool.shipbench.apps.tool]\nmodule = "pkg"\nrequirements = "requirements.txt"\n')
    assert "module: 'pkg' is outside the project" in message


def test_a_symlink_that_stays_inside_the_project_is_fine(tmp_path: Path) -> None:
    """Inside the project though outside the app's folder: an image's copy of the folder takes the file itself."""
    root = _project(tmp_path, '[tool.shipbench.apps.tool]\npath = "app"\nscript = "tool.py"\n'
                              'requirements = "requirements.txt"\ndata = ["shared.txt"]\n',
                    {"app/tool.py": "", "app/requirements.txt": "", "assets/shared.txt": "x"})
    (root / "app" / "shared.txt").symlink_to(root / "assets" / "shared.txt")
    (app,) = description.load(root).values()
    assert app.data == ("shared.txt",) and app.folder == root / "app"


def test_a_symlink_loop_and_a_nul_are_one_line(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "loop").symlink_to(root / "loop")
    _, message = _hostile(tmp_path, _HEAD + 'data = ["loop"]\n')
    assert "data: 'loop' cannot be resolved" in message
    _, message = _hostile(tmp_path, _HEAD + 'data = ["a\\u0000b"]\n')
    assert "data: 'a\\x00b' cannot be resolved" in message


def test_a_data_entry_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    os.mkfifo(root / "pipe")
    _, message = _hostile(tmp_path, _HEAD + 'data = ["pipe"]\n')
    assert message.endswith("data: 'pipe' is neither a file nor a folder")


def _unreadable(root: Path) -> str:
    description._checked_table.cache_clear()
    with pytest.raises(UsageError) as error:
        description.load(root)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_pyproject_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(_HEAD.encode() + "# café\n".encode("latin-1"))
    assert _unreadable(tmp_path) == (f"{tmp_path / 'pyproject.toml'}: not UTF-8 text (byte 0xe9 at offset "
                                     f"{len(_HEAD) + 5}); TOML is UTF-8: save it as UTF-8")


def test_a_pyproject_nested_2000_deep(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(_HEAD + "args = " + "[" * 2000 + "]" * 2000 + "\n")
    assert _unreadable(tmp_path) == (f"{tmp_path / 'pyproject.toml'}: not valid TOML here: arrays or inline "
                                     "tables nested too deep to read; nest them less")


@pytest.mark.timeout(120)  # a FIFO opened as a file blocks until a writer comes: this test would hang, not fail
def test_a_pyproject_that_is_a_fifo_or_a_folder_is_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pyproject.toml")
    assert _unreadable(tmp_path) == f"{tmp_path / 'pyproject.toml'}: not a regular file (a FIFO); make it a TOML file"
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "pyproject.toml").mkdir()
    assert _unreadable(tmp_path).endswith("pyproject.toml: not a regular file (a folder); make it a TOML file")


def test_a_table_that_is_not_a_table_and_a_key_with_a_line_break(tmp_path: Path) -> None:
    assert _error(tmp_path, "tool = 1\n").endswith("pyproject.toml: tool must be a table ([tool]), not 1")
    message = _error(tmp_path, "[project]\nname = 'x'\nscripts = ['x']\n[tool.shipbench.apps.tool]\n"
                               "console-script = 'x'\n")
    assert message.endswith("pyproject.toml: project.scripts must be a table ([project.scripts]), not ['x']")
    message = _error(tmp_path, _HEAD + '"a\\nb" = 1\n')
    assert "[tool.shipbench.apps.tool] 'a\\nb': unknown key" in message and "\n" not in message


def test_shipbench_run_on_a_path_out_of_the_project_stops_in_one_line_and_builds_nothing(tmp_path: Path) -> None:
    root, message = _hostile(tmp_path, _HEAD + 'data = ["../victim/f.txt"]\n')
    result = run_cli("run", "venv", "--project", str(root), "--python", "3.99", "--results",
                     str(tmp_path / "results"), "--build", str(tmp_path / "build"))
    assert result.returncode == 2
    assert result.stderr == f"shipbench: error: {message}\n"
    assert not (tmp_path / "results").exists() and not (tmp_path / "build").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "victim"]


@pytest.mark.timeout(120)
def test_shipbench_run_on_a_fifo_pyproject_stops_in_one_line(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pyproject.toml")
    result = run_cli("run", "venv", "--project", str(tmp_path), "--python", "3.99", "--results",
                     str(tmp_path / "results"))
    assert result.returncode == 2
    assert result.stderr == (f"shipbench: error: {tmp_path / 'pyproject.toml'}: not a regular file (a FIFO); "
                             "make it a TOML file\n")
