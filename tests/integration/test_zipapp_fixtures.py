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


def test_a_first_frame_script_starts_from_a_pex_venv() -> None:
    """pex runs its venv with `python -I`, which ignores PYTHONPATH: the probe never loaded and the row waited
    120 s for a first frame (issue 22); PEX_EXTRA_SYS_PATH brings it."""
    metrics = ok_metrics(run_fixture("zipapp", "quietwindow", variants=("pex-venv",))["pex-venv"])
    assert metrics["ready"] == "first-frame" and metrics["startup_s"]["warm"]["n"] == 3
    assert metrics.get("screenshot")


def test_a_script_reading_its_folder_and_its_data_runs_from_shiv() -> None:
    """trainer reads settings.ini from the folder it starts in, labels.txt beside itself, TRAINER_SEED from the
    environment: shiv's archive carries labels.txt (the description's data), the run starts in the app's folder
    with the description's env."""
    metrics = ok_metrics(run_fixture("zipapp", "trainer", variants=("shiv",))["shiv"])
    assert metrics["throughput"]["median"] > 0
