"""Generated PyInstaller specs for apps not shaped like the samples: a console script with a data file in a src/
layout, a silent Qt app (the first-frame probe as a runtime hook; its trimmed profile derived from what one run
loaded, and checked pixel by pixel against the venv's window), a plain script with numpy."""

from __future__ import annotations

import json

from conftest import (
    FIXTURES,
    HOST_DEPS,
    PYTHONS,
    fixture_build,
    fixture_results,
    ok_metrics,
    python_missing,
    requires,
    run_fixture,
)

from shipbench import interpreters
from shipbench.strategies.pyinstaller import shared_library_missing


def _libpython_missing() -> str | None:
    return None if python_missing("3.11") else shared_library_missing(interpreters.find("3.11"))


pytestmark = [requires(python_missing("3.11"), PYTHONS), requires(_libpython_missing(), HOST_DEPS)]


def test_a_console_script_with_a_data_file_is_bundled_and_trimmed() -> None:
    rows = run_fixture("pyinstaller", "wordcount", variants=("onedir-default", "onedir-trimmed"))
    default, trimmed = ok_metrics(rows["onedir-default"]), ok_metrics(rows["onedir-trimmed"])
    assert default["ready"] == "exit"
    assert trimmed["size_bytes"] < default["size_bytes"]
    assert rows["onedir-default"]["maintained_files"][0]["path"] == "wordcount.spec"
    spec = (fixture_build("wordcount") / "pyinstaller" / "wordcount-py3.11-onedir-default" / "spec" /
            "wordcount.spec").read_text()
    assert "stopwords.txt', 'wordcount')" in spec  # the data file lands beside the package that reads it
    for metrics in (default, trimmed):  # an app whose imports PyInstaller can read lacks nothing
        assert metrics["missing_modules"] == {**metrics["missing_modules"], "count": 0, "missing": []}


def test_a_plugin_imported_by_a_computed_name_is_reported_missing_by_name() -> None:
    """The bundle starts and exits 0 without its plugin (the app falls back): only the check says so, and the
    report never recommends the bundle."""
    rec = run_fixture("pyinstaller", "lazyplugin", variants=("onedir-default",))["onedir-default"]
    missing = ok_metrics(rec)["missing_modules"]
    assert missing["status"] == "ok" and missing["scope"] == "all"
    assert missing["missing"] == ["lazyplugin.plugins", "lazyplugin.plugins.shout"]


def test_a_bundle_of_a_gpl_project_names_it_as_strong_copyleft_in_its_licences_and_sbom() -> None:
    """The fixture declares the GPL by its classifier only; the bundle's record names it, and its SBOM says it."""
    rec = run_fixture("pyinstaller", "lazyplugin", variants=("onedir-default",))["onedir-default"]
    found = ok_metrics(rec)["licenses"]
    assert found["status"] == "ok" and found["kinds"]["strong copyleft"] == 1
    (entry,) = found["copyleft"]
    assert (entry["name"], entry["kind"]) == ("lazyplugin-fixture", "strong copyleft") and "GPL" in entry["license"]
    sbom = json.loads((fixture_results("lazyplugin") / found["sbom"]).read_text(encoding="utf-8"))
    assert any(component["name"] == "lazyplugin-fixture" for component in sbom["components"])


def test_a_silent_qt_app_frozen_draws_what_the_venv_draws() -> None:
    from PIL import Image, ImageChops

    frozen = run_fixture("pyinstaller", "quietwindow", variants=("onedir-trimmed",))["onedir-trimmed"]
    metrics = ok_metrics(frozen)
    assert metrics["ready"] == "first-frame" and metrics["startup_s"]["warm"]["n"] == 3
    for target, result in metrics["portability"].items():
        assert result["status"] in ("ok", "skipped"), (target, result)
    venv = run_fixture("venv", "quietwindow", variants=("uv",))["uv"]
    results = fixture_results("quietwindow")
    with Image.open(results / metrics["screenshot"]) as a, Image.open(results / ok_metrics(venv)["screenshot"]) as b:
        assert a.size == b.size
        assert ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None, "the windows differ"


def test_a_plain_script_is_frozen_and_measured() -> None:
    rec = run_fixture("pyinstaller", "trainer", variants=("onedir-default",))["onedir-default"]
    metrics = ok_metrics(rec)
    assert metrics["throughput"]["n"] == 3 and metrics["throughput_ratio_to_baseline"] > 0
    assert not (FIXTURES / "trainer" / "build").exists()  # nothing written into the project but results
