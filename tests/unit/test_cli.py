from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def test_unknown_app_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    result = run_cli("run", "venv", "--app", "cli", "--python", "3.12", "--results", str(tmp_path))
    assert result.returncode == 2
    assert "unknown app 'cli':" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_strategy_and_malformed_python_are_clear_errors(tmp_path: Path) -> None:
    result = run_cli("run", "flatpak", "--app", "gui", "--python", "3.12", "--results", str(tmp_path))
    assert result.returncode == 2 and "unknown strategy 'flatpak'" in result.stderr
    result = run_cli("run", "venv", "--app", "gui", "--python", "twelve", "--results", str(tmp_path))
    assert result.returncode == 2 and "expected Python versions like 3.12" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_python_the_host_lacks_gives_skipped_records(tmp_path: Path) -> None:
    result = run_cli("run", "venv", "--app", "gui", "--python", "3.99", "--results", str(tmp_path))
    assert result.returncode == 0, result.stderr
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.json"))]
    assert sorted(r["variant"] for r in records) == ["pip", "tox-uv", "uv"]
    assert all(r["status"] == "skipped" and "no Python 3.99" in r["reason"] for r in records)


def test_a_read_only_results_folder_fails_before_building(read_only_dir: Path) -> None:
    result = run_cli("run", "venv", "--app", "gui", "--python", "3.99", "--results", str(read_only_dir))
    assert result.returncode == 2
    assert "cannot write results to" in result.stderr and "Traceback" not in result.stderr


def test_report_command_renders_with_a_corrupt_record(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "x.json").write_text("garbage")
    result = run_cli("report", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    assert "x.json" in (tmp_path / "report" / "report.md").read_text()


def test_list_names_every_strategy_and_app() -> None:
    result = run_cli("list")
    assert result.returncode == 0
    assert result.stdout.startswith("venv:") and "app gui:" in result.stdout and "app dl:" in result.stdout


def test_console_markup_in_an_app_name_is_printed_as_typed(tmp_path: Path) -> None:
    result = run_cli("run", "venv", "--app", "[/x]", "--python", "3.11", "--results", str(tmp_path / "results"))
    assert result.returncode == 2
    assert "unknown app '[/x]'" in result.stderr and "Traceback" not in result.stderr
