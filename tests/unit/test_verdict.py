"""The report's first answer, which way to ship per audience: records of each shape, each verdict checked against
them (the way named is the best eligible row by the deciding figure; a gap is said as the profile's; a bundle is
left out only on evidence that it breaks)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from shipbench.reporting import verdict
from shipbench.reporting.tables import variant_name

MB = 1_000_000


def _row(make_record: Any, strategy: str, variant: str, download: int | None, warm: list[float],
         app: str = "gui", **metrics: Any) -> dict[str, Any]:
    rec = make_record(strategy=strategy, variant=variant, app=app)
    rec["capabilities"] = ["window"]
    if download is not None:
        rec["metrics"]["download_bytes"] = download
    rec["metrics"]["startup_s"]["warm"] = {"median": sorted(warm)[len(warm) // 2], "min": min(warm),
                                           "max": max(warm), "n": len(warm), "samples": warm}
    rec["metrics"].update(metrics)
    return rec


PORTABLE = {"portability": {"debian-12": {"status": "ok", "needs": ["libgl1"]}, "debian-13": {"status": "ok"}}}


def _by(rows: list[verdict.Verdict], audience: str, app: str = "gui") -> verdict.Verdict:
    return next(v for v in rows if v.audience == verdict.AUDIENCES[audience] and v.app == app)


def test_desktop_users_get_the_smallest_bundle_proven_in_clean_containers(make_record: Any) -> None:
    fast, slow = [0.10, 0.11, 0.10, 0.12, 0.11], [0.30, 0.31, 0.29, 0.32, 0.30]
    rows = [_row(make_record, "pyinstaller", "onedir-trimmed", 50 * MB, fast, **PORTABLE),
            _row(make_record, "nuitka", "standalone-trimmed", 80 * MB, slow, **PORTABLE),
            _row(make_record, "cxfreeze", "trimmed", 20 * MB, fast),  # smaller, but never started elsewhere
            _row(make_record, "cxfreeze", "default", 10 * MB, fast, **PORTABLE,
                 missing_modules={"count": 1, "own": ["gui.plugins"]})]  # breaks: lacks the app's own module
    found = _by(verdict.verdicts(rows), "desktop")
    assert found.way == "pyinstaller/onedir-trimmed"
    assert "50.0 MB to download (30.0 MB less than nuitka/standalone-trimmed; sizes are exact)" in found.why
    assert "significant: p=" in found.why and "started in clean debian-12, debian-13" in found.why
    assert found.caveat == "the target needs libgl1"


def test_a_start_up_margin_that_the_samples_cannot_tell_is_said_so(make_record: Any) -> None:
    same = [0.10, 0.12, 0.11, 0.13, 0.10]
    best = _row(make_record, "pyinstaller", "onedir-trimmed", 50 * MB, same)
    other = _row(make_record, "nuitka", "standalone-trimmed", 80 * MB, list(reversed(same)))
    assert "too close to call: p=" in verdict.startup_margin(best, other)
    other["metrics"]["host_load"] = {"startup": {"busy": True, "outside_cores": 1.2}}
    assert "too noisy to tell: measured on a busy host" in verdict.startup_margin(best, other)


def test_the_quick_profiles_gap_is_said_as_the_profiles_with_the_command(make_record: Any) -> None:
    row = _row(make_record, "pyinstaller", "onedir-trimmed", 50 * MB, [0.1, 0.1, 0.1])
    row["profile"] = "quick"
    found = _by(verdict.verdicts([row]), "desktop")
    assert found.way == "pyinstaller/onedir-trimmed (not yet proven elsewhere)"
    assert found.caveat.startswith("the quick profile starts no bundle in a clean container: "
                                   "python3 noxw.py -s pyinstaller -- --app gui")


def test_what_cannot_be_decided_names_the_row_and_the_command(make_record: Any) -> None:
    venv = make_record(app="dl")
    venv["capabilities"] = ["torch", "throughput"]
    skipped = make_record("skipped", strategy="bake", variant="cpu", app="dl")
    skipped["reason"] = "docker is not installed: bash scripts/install-docker.sh"
    found = verdict.verdicts([venv, skipped])
    assert not any(v.audience == verdict.AUDIENCES["desktop"] for v in found)  # no window: no desktop verdict
    servers, gpu = _by(found, "servers", "dl"), _by(found, "gpu", "dl")
    assert servers.way == "not decided" and "docker is not installed" in servers.why
    assert servers.caveat == "measure one: python3 noxw.py -s bake -- --app dl (needs Docker)"
    assert gpu.way == "not decided" and "bash scripts/gpu-bench.sh" in gpu.caveat
    assert _by(found, "dev", "dl").caveat == "measure one: python3 noxw.py -s locked -- --app dl"


def test_machines_with_python_get_the_smallest_archive_and_the_pythons_it_started_on(make_record: Any) -> None:
    shiv = _row(make_record, "zipapp", "shiv", 30 * MB, [0.2] * 3,
                runs_on={"3.11": {"status": "ok"}, "3.12": {"status": "failed"}})
    pex = _row(make_record, "zipapp", "pex", 40 * MB, [0.2] * 3)
    found = _by(verdict.verdicts([shiv, pex]), "python")
    assert found.way == "zipapp/shiv" and "10.0 MB less than zipapp/pex" in found.why
    assert found.caveat == "the target needs Python 3.11"


def test_a_lock_that_did_not_reproduce_is_no_dev_environment(make_record: Any) -> None:
    same = make_record(strategy="locked", variant="uv-sync")
    same["metrics"]["reproducibility"] = {"status": "same", "files": 120}
    differs = make_record(strategy="locked", variant="pylock")
    differs["metrics"]["reproducibility"] = {"status": "differs", "differing_file_count": 2}
    differs["metrics"]["setup_s"] = {"cold": 1.0, "warm": 0.1}  # faster, but not the same twice
    assert _by(verdict.verdicts([same, differs]), "dev").way == "locked/uv-sync"
    assert _by(verdict.verdicts([differs]), "dev").way == "not decided"


def test_the_gpu_verdict_compares_samples(make_record: Any) -> None:
    def gpu_row(strategy: str, variant: str, samples: list[float]) -> dict[str, Any]:
        rec = make_record(strategy=strategy, variant=variant, app="dl")
        rec["capabilities"] = ["torch"]
        rec["metrics"]["gpu"] = {"status": "ok", "device_name": "NVIDIA H100", "batches": [
            {"batch_size": 4096, "samples_per_s": {"median": sorted(samples)[1], "min": min(samples),
                                                   "max": max(samples), "n": 3, "samples": samples}}]}
        return rec

    found = _by(verdict.verdicts([gpu_row("venv", "uv", [100.0, 101.0, 99.0]),
                                  gpu_row("bake", "cuda", [98.0, 102.0, 100.0])]), "gpu", "dl")
    assert found.way == "venv/uv" and "NVIDIA H100" in found.why
    assert "too few runs to tell: n=3+3, 4 a side needed" in found.why  # the "1.22x venv" of n=3 said nothing


@pytest.mark.parametrize("seed", range(12))
def test_no_verdict_contradicts_its_rows(make_record: Any, seed: int) -> None:
    """Sets of rows of every shape (sizes, portability, missing modules, status in every combination): the way
    each verdict names is the eligible row with the smallest download, as the rows themselves say."""
    shapes = list(itertools.product((10, 30, 60), (True, False), (False, True), ("ok", "failed")))
    rows = []
    for number, (size, portable, lacking, status) in enumerate(shapes[seed:] + shapes[:seed]):
        strategy, variant = [("pyinstaller", "onedir"), ("nuitka", "standalone"), ("cxfreeze", "default"),
                             ("zipapp", "shiv"), ("bake", "cpu")][number % 5]
        warm = 0.1 + (number * 7 % 5) / 10  # start-ups that differ, so a tie on size is decided by them
        rec = _row(make_record, strategy, f"{variant}-{number}", (size + number) * MB, [warm, warm + 0.01, warm],
                   **(PORTABLE if portable else {}),
                   **({"missing_modules": {"count": 1, "own": ["gui.x"]}} if lacking else {}))
        if status != "ok":
            rec = make_record(status, strategy=strategy, variant=f"{variant}-{number}")
            rec["capabilities"] = ["window"]
        rows.append(rec)
    audiences = {"desktop": ("pyinstaller", "nuitka", "cxfreeze"), "python": ("zipapp",), "servers": ("bake",)}
    for found in verdict.verdicts(rows):
        key = next(k for k, words in verdict.AUDIENCES.items() if words == found.audience)
        if key not in audiences:
            continue
        eligible = [r for r in rows if r["status"] == "ok" and r["strategy"] in audiences[key]
                    and not r["metrics"].get("missing_modules")
                    and (key != "desktop" or "portability" in r["metrics"])]
        if not eligible:
            assert found.way == "not decided" or found.way.endswith("(not yet proven elsewhere)")
            continue
        smallest = min(r["metrics"]["download_bytes"] for r in eligible)
        tied = sorted((r for r in eligible if r["metrics"]["download_bytes"] <= smallest * (1 + verdict.SIZE_TIE)),
                      key=lambda r: r["metrics"]["download_bytes"])
        best = min(tied, key=lambda r: r["metrics"]["startup_s"]["warm"]["median"])  # the first fastest
        assert found.way == variant_name(best), (found, [variant_name(r) for r in eligible])
        assert f"{best['metrics']['download_bytes'] / MB:.1f} MB to download" in found.why


def test_a_tie_on_size_is_decided_by_start_up(make_record: Any) -> None:
    """CI's GUI rows: a onefile 0.4 MB smaller than its onedir, but three times slower to start."""
    onefile = _row(make_record, "pyinstaller", "onefile-trimmed", 29_200_000, [0.54, 0.55, 0.56, 0.55], **PORTABLE)
    onedir = _row(make_record, "pyinstaller", "onedir-trimmed", 29_600_000, [0.17, 0.18, 0.17, 0.18], **PORTABLE)
    found = _by(verdict.verdicts([onefile, onedir]), "desktop")
    assert found.way == "pyinstaller/onedir-trimmed"
    assert "0.4 MB more than pyinstaller/onefile-trimmed, within 10%: a tie on size, start-up decides" in found.why
    assert "(3.06x faster, significant: p=0.029)" in found.why
