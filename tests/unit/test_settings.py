"""One precedence for every setting: command line > environment > pyproject.toml > default; bad values stop the
run up front and say where the value came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipbench import description, settings
from shipbench.errors import UsageError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "tool.py").write_text("")
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.shipbench]\nwarm-runs = 7\nskip = ["bake/*/*"]\n'
        '[tool.shipbench.apps.tool]\nscript = "tool.py"\nrequirements = "requirements.txt"\n')
    description._checked_table.cache_clear()
    monkeypatch.setenv("SHIPBENCH_PROJECT", str(tmp_path))
    for option in settings.OPTIONS:
        monkeypatch.delenv(option.env, raising=False)
    settings.set_command_line({})
    yield tmp_path
    settings.set_command_line({})


def test_precedence_command_line_over_environment_over_pyproject_over_default(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.resolve("throughput-runs") == (3, "default")
    assert settings.resolve("warm-runs") == (7, "pyproject.toml")
    monkeypatch.setenv("SHIPBENCH_WARM_RUNS", "9")
    assert settings.resolve("warm-runs") == (9, "environment")
    settings.set_command_line({"warm-runs": "11"})
    assert settings.resolve("warm-runs") == (11, "command line")
    assert settings.warm_runs() == 11


def test_lists_come_as_lists_from_pyproject_and_comma_separated_elsewhere(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.skip_patterns() == ["bake/*/*"]
    monkeypatch.setenv("SHIPBENCH_SKIP", "venv/*/*, pyinstaller/onefile-*/*")
    assert settings.skip_patterns() == ["venv/*/*", "pyinstaller/onefile-*/*"]


@pytest.mark.parametrize(("where", "value", "says"), [
    ("environment", "x", "SHIPBENCH_WARM_RUNS='x': expected a whole number"),
    ("environment", "0", "expected a whole number of at least 1"),
    ("command line", "many", "--warm-runs 'many': expected a whole number"),
])
def test_a_bad_value_names_where_it_came_from(project: Path, monkeypatch: pytest.MonkeyPatch, where: str,
                                              value: str, says: str) -> None:
    if where == "environment":
        monkeypatch.setenv("SHIPBENCH_WARM_RUNS", value)
    else:
        settings.set_command_line({"warm-runs": value})
    with pytest.raises(UsageError, match=says.replace("(", r"\(").replace("*", r"\*")):
        settings.check_all()


def test_a_choice_lists_the_choices(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPBENCH_VM_ACCEL", "fast")
    with pytest.raises(UsageError, match="expected one of auto, kvm, tcg"):
        settings.check_all()


def test_folders_are_relative_to_the_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.results_dir() == project / "results"
    monkeypatch.setenv("SHIPBENCH_RESULTS", "/elsewhere")
    assert settings.results_dir() == Path("/elsewhere")


@pytest.mark.parametrize("name", ["results", "build", "report", "evidence"])
def test_a_folder_setting_naming_a_file_is_one_line_before_anything_runs(project: Path, name: str) -> None:
    """--build pointing at a file was planned, then failed in the first row's lock."""
    (project / "in-the-way").write_text("")
    settings.set_command_line({name: str(project / "in-the-way")})
    with pytest.raises(UsageError, match=f"^{name} = .*in-the-way: not a folder"):
        settings.check_all()


def test_every_option_has_a_schema_key_and_the_same_name_everywhere() -> None:
    keys = set(description.schema()["properties"]) - {"apps", "budgets"}
    assert keys == {option.name for option in settings.OPTIONS}
    for option in settings.OPTIONS:
        assert option.env == "SHIPBENCH_" + option.name.upper().replace("-", "_")
        assert option.flag == "--" + option.name


def test_a_folder_without_a_description_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPBENCH_PROJECT", str(tmp_path))
    with pytest.raises(UsageError, match="has no pyproject.toml"):
        settings.project_root()


def test_the_readme_lists_every_setting_with_its_variable() -> None:
    from conftest import documentation

    readme = documentation()
    for option in settings.OPTIONS:
        assert f"| `{option.name}` | `{option.env}` |" in readme, option.name


def test_a_broken_table_is_an_error_not_silently_the_defaults(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.shipbench]\nwarm-runs = "five"\n')
    description._checked_table.cache_clear()
    monkeypatch.setenv("SHIPBENCH_PROJECT", str(tmp_path))
    monkeypatch.delenv("SHIPBENCH_WARM_RUNS", raising=False)
    with pytest.raises(UsageError, match="warm-runs"):
        settings.warm_runs()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "not described"\n')
    assert settings.resolve("warm-runs") == (5, "default")  # no table at all: a report-only folder
