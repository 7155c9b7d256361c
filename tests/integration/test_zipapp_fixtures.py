"""Zipapps for real: a console script with a data file through pex (--venv, packed) and shiv, started from an
emptied cache and then warm, and tried on every Python this host has."""

from __future__ import annotations

from conftest import PYTHONS, fixture_build, ok_metrics, python_missing, requires, run_fixture

pytestmark = requires(python_missing("3.11"), PYTHONS)


def test_every_builder_makes_an_archive_that_unpacks_once_and_says_where_it_runs() -> None:
    rows = run_fixture("zipapp", "wordcount")
    assert set(rows) == {"pex-venv", "pex-packed", "shiv"}
    for variant, rec in rows.items():
        metrics = ok_metrics(rec)
        assert metrics["ready"] == "exit" and metrics["startup_s"]["warm"]["n"] == 3
        assert metrics["cache"]["bytes"] > 0, variant  # the first start unpacked into the cache shipbench chose
        assert metrics["cache"]["variable"] == ("SHIV_ROOT" if variant == "shiv" else "PEX_ROOT")
        assert metrics["runs_on"]["3.11"] == {"status": "ok"}, metrics["runs_on"]
        tried = [v for v, result in metrics["runs_on"].items() if result["status"] != "skipped"]
        assert len(tried) >= 2, metrics["runs_on"]  # the claim "needs a matching Python" is tested, not assumed
        assert metrics["baseline"]["startup_s"]["n"] == 3
    assert (fixture_build("wordcount") / "zipapp" / "wordcount-py3.11-pex-packed" / "wordcount.pex").is_dir()
