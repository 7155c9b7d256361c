"""Locked environments for real: a script with numpy locked by uv, installed twice by uv sync --frozen and twice
by pip from the exported pylock.toml; the installs compared file by file."""

from __future__ import annotations

from conftest import FIXTURES, PYTHONS, fixture_build, ok_metrics, python_missing, requires, run_fixture

from shipbench import docker

pytestmark = requires(python_missing("3.11"), PYTHONS)


def test_two_installs_from_one_lock_are_the_same_and_the_app_runs_from_them() -> None:
    rows = run_fixture("locked", "trainer")
    assert set(rows) == {"uv-sync", "pylock"}
    for variant, rec in rows.items():
        metrics = ok_metrics(rec)
        result = metrics["reproducibility"]
        assert result["status"] == "same", result
        assert result["packages"] >= 1 and result["files"] > 100, result  # numpy was installed and compared
        assert metrics["throughput"]["n"] == 3
        assert {item["path"] for item in rec["maintained_files"]} >= {"pyproject.toml", "uv.lock"}, variant
    container = rows["uv-sync"]["metrics"]["reproducibility"]["container"]
    if docker.unavailable_reason() is None:  # a third install, on a clean Debian 12 with its own Python
        assert container["status"] == "same" and container["files"] == rows["uv-sync"]["metrics"][
            "reproducibility"]["files"], container
    else:
        assert container["status"] == "skipped" and "docker" in container["reason"].lower()
    assert "pylock.toml" in {item["path"] for item in rows["pylock"]["maintained_files"]}
    lock = fixture_build("trainer") / "locked" / "trainer-py3.11" / "project" / "uv.lock"
    assert "numpy" in lock.read_text()
    assert not (FIXTURES / "trainer" / "uv.lock").exists()  # locked in a copy, never in the app's folder
