"""cx_Freeze for real: a console script with a data file (default and trimmed), and a silent Qt app frozen
trimmed that must draw what the venv draws."""

from __future__ import annotations

from conftest import PYTHONS, fixture_build, fixture_results, ok_metrics, python_missing, requires, run_fixture

pytestmark = requires(python_missing("3.11"), PYTHONS)


def test_a_console_script_with_a_data_file_is_frozen_and_trimmed() -> None:
    rows = run_fixture("cxfreeze", "wordcount")
    default, trimmed = ok_metrics(rows["default"]), ok_metrics(rows["trimmed"])
    assert default["ready"] == trimmed["ready"] == "exit"
    assert trimmed["size_bytes"] < default["size_bytes"]
    config = fixture_build("wordcount") / "cxfreeze" / "wordcount-py3.11-trimmed" / "pyproject.toml"
    assert "[tool.cxfreeze.build_exe]" in config.read_text()  # what a team would keep, written out
    for metrics in (default, trimmed):  # an app whose imports a freezer can read lacks nothing
        assert metrics["missing_modules"]["count"] == 0, metrics["missing_modules"]


def test_a_plugin_imported_by_a_computed_name_is_reported_missing_by_name() -> None:
    """The bundle starts and exits 0 without its plugin (the app falls back): only the check says so."""
    missing = ok_metrics(run_fixture("cxfreeze", "lazyplugin", variants=("default",))["default"])["missing_modules"]
    assert missing["status"] == "ok" and missing["missing"] == ["lazyplugin.plugins", "lazyplugin.plugins.shout"]


def test_a_silent_qt_app_frozen_trimmed_draws_what_the_venv_draws() -> None:
    from PIL import Image, ImageChops

    frozen = ok_metrics(run_fixture("cxfreeze", "quietwindow", variants=("trimmed",))["trimmed"])
    assert frozen["ready"] == "first-frame"
    for target, result in frozen["portability"].items():
        assert result["status"] in ("ok", "skipped"), (target, result)
    venv = ok_metrics(run_fixture("venv", "quietwindow", variants=("uv",))["uv"])
    results = fixture_results("quietwindow")
    with Image.open(results / frozen["screenshot"]) as a, Image.open(results / venv["screenshot"]) as b:
        assert a.size == b.size
        assert ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None, "the windows differ"
