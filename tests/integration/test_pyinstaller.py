"""PyInstaller for real: the GUI in three variants, app_dl onedir trimmed, and builds that go wrong."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    HOST_DEPS,
    PYTHONS,
    ROOT,
    TORCH,
    python_missing,
    requires,
    run_cli,
    run_sample,
    sample_warm_runs,
    torch_missing,
)

from shipbench import record


def _libpython_missing() -> str | None:
    from shipbench import interpreters
    from shipbench.strategies.pyinstaller import shared_library_missing

    return None if python_missing("3.11") else shared_library_missing(interpreters.find("3.11"))


pytestmark = [requires(python_missing("3.11"), PYTHONS), requires(_libpython_missing(), HOST_DEPS)]


def _run(base: Path, app: str, *variants: str, root: Path = ROOT) -> dict[str, dict[str, Any]]:
    env = {"SHIPBENCH_BUILD": str(base / "build"), "SHIPBENCH_PROJECT": str(root)}
    args = [f"--variant={v}" for v in variants]
    result = run_cli("run", "pyinstaller", "--app", app, "--python", "3.11", *args, "--results",
                     str(base / "results"), env=env, cwd=root)
    records, invalid = record.load_all([base / "results"])
    assert not invalid
    found = {r["variant"]: r for r in records if r["app"] == app}
    assert found, result.stderr[-3000:]
    return found


def _ok(rec: dict[str, Any]) -> dict[str, Any]:
    assert rec["status"] == "ok", f"{rec['reason']}\n" + "\n".join(rec.get("log_tail", []))
    return rec["metrics"]


GUI_VARIANTS = ("onedir-default", "onedir-trimmed", "onefile-trimmed")


@pytest.fixture(scope="module")
def gui() -> dict[str, Any]:
    """The main job's rows, in the checkout's results/ and build/ (onefile-default left out for CI's time:
    onefile is onedir packed into one file, and onefile-trimmed covers it)."""
    return {"base": ROOT, "records": run_sample("pyinstaller", "gui", *GUI_VARIANTS)}


@pytest.mark.parametrize("variant", GUI_VARIANTS)
def test_gui_bundles_build_start_and_are_measured(gui: dict[str, Any], variant: str) -> None:
    metrics = _ok(gui["records"][variant])
    assert metrics["size_bytes"] > 10_000_000 and 0 < metrics["download_bytes"] <= metrics["size_bytes"]
    assert metrics["setup_s"]["cold"] > 0 and metrics["setup_s"]["warm"] > 0
    warm = metrics["startup_s"]["warm"]
    assert 0 < warm["min"] <= warm["median"] <= warm["max"] and warm["n"] == sample_warm_runs()
    assert metrics["baseline"]["startup_s"]["n"] == sample_warm_runs() and metrics["startup_ratio_to_baseline"] > 0
    assert metrics["largest_files"][0]["bytes"] >= metrics["largest_files"][-1]["bytes"]
    assert gui["records"][variant]["versions"]["pyinstaller"]
    inside = metrics["binaries"]  # readelf over the real bundle: Qt's libraries and the bootloader are inside
    assert inside["status"] == "ok" and inside["elf_files"] > 10 and inside["executables"] >= 1
    assert inside["glibc_floor"] and inside["glibc_floor_file"]
    found = metrics["licenses"]  # the app alone, without PyInstaller; the bootloader it ships named besides
    assert found["status"] == "ok" and not any(entry["name"].lower() == "pyinstaller" for entry in found["copyleft"])
    assert {entry["name"] for entry in found["runtime"]} == {"CPython, the interpreter it carries",
                                                            "PyInstaller bootloader"}
    assert any(entry["name"].lower() == "pyside6_essentials" for entry in found["copyleft"]), found


def test_trimming_shrinks_the_gui_bundle(gui: dict[str, Any]) -> None:
    default = _ok(gui["records"]["onedir-default"])["size_bytes"]
    assert _ok(gui["records"]["onedir-trimmed"])["size_bytes"] < default
    assert _ok(gui["records"]["onefile-trimmed"])["size_bytes"] < default


def test_trimmed_gui_shows_the_same_window_as_the_venv(gui: dict[str, Any], tmp_path: Path) -> None:
    """Same size; the table, button and status line pixel for pixel (the facts above name the executable)."""
    from PIL import Image, ImageChops

    shots = gui["base"] / "results"
    trimmed = Image.open(shots / _ok(gui["records"]["onedir-trimmed"])["screenshot"]).convert("RGB")
    default = Image.open(shots / _ok(gui["records"]["onedir-default"])["screenshot"]).convert("RGB")
    venv_python = gui["base"] / "build" / "pyinstaller" / "env" / "gui-py3.11" / "bin" / "python"
    import os
    import subprocess

    venv_shot = tmp_path / "venv.png"
    subprocess.run([str(venv_python), "-m", "app_gui", "--probe", "--screenshot", str(venv_shot)], check=True,
                   env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, capture_output=True, timeout=120)
    venv = Image.open(venv_shot).convert("RGB")
    assert trimmed.size == default.size == venv.size
    below_facts = (0, 190, venv.size[0], venv.size[1])
    for bundle in (trimmed, default):
        assert ImageChops.difference(bundle.crop(below_facts), venv.crop(below_facts)).getbbox() is None


def test_gui_portability_evidence(gui: dict[str, Any]) -> None:
    portability = _ok(gui["records"]["onedir-trimmed"])["portability"]
    assert set(portability) == {"debian-12/offscreen", "debian-12/x11", "debian-13/offscreen", "debian-13/x11"}
    for target, result in portability.items():
        if result["status"] == "skipped":
            assert result["reason"], target
            continue
        assert result["status"] == "ok", f"{target}: {result}"
        assert "fontconfig-config" in result["needs"]  # else Qt draws boxes: a real need of the target


@requires(torch_missing("3.11"), TORCH)
@pytest.mark.beyond_ci("app_dl's trimmed onedir bundle: torch frozen twice (cold, warm), trained and started on "
                       "every target, 5.5 min here; in CI the trimmed spec (evidence, excludes, the ICU stub) is "
                       "proven on app_gui's three bundles and three fixture apps; only this proves that "
                       "trim.TORCH_EXCLUDES leave torch training")
def test_app_dl_trimmed_onedir_trains_to_the_same_loss() -> None:
    base = ROOT
    rec = run_sample("pyinstaller", "dl", "onedir-trimmed")["onedir-trimmed"]
    metrics = _ok(rec)
    assert metrics["loss_last"] < 0.5 * metrics["loss_first"]
    assert metrics["throughput_unit"] == "samples/s" and metrics["throughput_ratio_to_baseline"] > 0
    bundle = base / "build" / "pyinstaller" / "dl-py3.11-onedir-trimmed" / "dist" / "app_dl" / "_internal" / "torch"
    assert (bundle / "lib").is_dir()
    for dropped in ("test", "include"):
        assert not (bundle / dropped).exists(), f"torch/{dropped} is still in the trimmed bundle"
    assert [p.name for p in (bundle / "bin").iterdir()] == ["torch_shm_manager"]  # `import torch` checks for it


@pytest.fixture
def broken_checkout(tmp_path: Path) -> Path:
    """A copy of app_gui and its spec, described as a project of its own, that a test may break."""
    root = tmp_path / "checkout"
    for folder in ("app_gui", "pyinstaller"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", "build"))
    (root / "pyproject.toml").write_text('[tool.shipbench.apps.gui]\npath = "app_gui"\nmodule = "app_gui"\n'
                                         'capabilities = ["window"]\nprobe-args = ["--probe"]\n'
                                         'pyinstaller-spec = "pyinstaller/app_gui.spec"\n')
    return root


def test_a_failing_build_records_pyinstallers_log(broken_checkout: Path, tmp_path: Path) -> None:
    spec = broken_checkout / "pyinstaller" / "app_gui.spec"
    spec.write_text(spec.read_text() + "\nraise SystemExit('spec broken on purpose')\n")
    rec = _run(tmp_path, "gui", "onedir-default", root=broken_checkout)["onedir-default"]
    assert rec["status"] == "failed" and "PyInstaller (cold) failed" in rec["reason"]
    assert any("spec broken on purpose" in line for line in rec["log_tail"])


def test_a_bundle_that_crashes_on_start_records_the_apps_stderr(broken_checkout: Path, tmp_path: Path) -> None:
    spec = broken_checkout / "pyinstaller" / "app_gui.spec"
    text = spec.read_text()
    broken = text.replace("excludes=tuple(", 'excludes=("json",) + tuple(')  # a module the app needs
    assert broken != text, "the spec no longer says excludes=tuple(: break it some other way"
    spec.write_text(broken)
    rec = _run(tmp_path, "gui", "onedir-trimmed", root=broken_checkout)["onedir-trimmed"]
    assert rec["status"] == "failed" and "exit code" in rec["reason"]
    assert any("No module named 'json'" in line for line in rec["log_tail"])
    # the default profile of the same spec starts: the record says trimming broke it, and what to keep
    assert rec["reason"].startswith("trimming breaks this app: ModuleNotFoundError: No module named 'json'")
    assert 'add trim-keep = ["json"]' in rec["reason"]


def test_a_onefile_bundle_starts_with_an_executable_tmp_and_names_the_noexec_condition(gui: dict[str, Any]) -> None:
    """The check's own /tmp is executable (Docker's default tmpfs is noexec): a onefile bundle's result is the
    bundle's; the noexec /tmp of hardened servers is recorded as a condition of the target, with its remedy."""
    portability = _ok(gui["records"]["onefile-trimmed"])["portability"]
    for target in ("debian-12", "debian-13"):
        started = portability[f"{target}/offscreen"]
        if started["status"] == "skipped":
            continue
        assert started["status"] == "ok", started
        noexec = portability[f"{target}/noexec-tmp"]
        assert noexec["condition"] == "noexec /tmp"
        assert noexec["status"] == "ok" or "TMPDIR" in noexec["reason"], noexec
    assert gui["records"]["onefile-trimmed"]["versions"]["docker_client"]


def test_a_onefile_bundle_killed_at_ready_leaves_its_unpacked_copy_and_one_stopped_by_sigterm_does_not(
        gui: dict[str, Any]) -> None:
    """PyInstaller's launcher passes SIGTERM to the app and deletes its _MEI folder; SIGKILL leaves it whole."""
    after = _ok(gui["records"]["onefile-trimmed"])["temp_left"]["after"]
    kill, term = after["sigkill"], after["sigterm"]
    assert kill["stopped_while_running"] and term["stopped_while_running"]
    assert kill["files"] > 10 and kill["bytes"] > 10_000_000 and kill["entries"][0].startswith("_MEI"), kill
    assert (term["files"], term["entries"]) == (0, []), term
    assert "temp_left" not in _ok(gui["records"]["onedir-trimmed"])  # a folder bundle unpacks nothing
