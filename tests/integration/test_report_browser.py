"""The report as a person sees it: headless Chromium opens index.html from disk, draws it, screenshots it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT, requires

from shipbench import record
from shipbench.reporting import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = requires(None if CHROMIUM else "chromium not on PATH", "bash scripts/install-test-deps.sh")


def _browse(page: Path, profile: Path, screenshot: Path, width: int = 1280) -> tuple[str, str]:
    """(the DOM after the page's script ran, Chromium's log with the page's console messages)."""
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr",
             "--v=0", f"--window-size={width},2400"]
    subprocess.run([CHROMIUM, *flags, f"--screenshot={screenshot}", page.as_uri()], capture_output=True, text=True,
                   timeout=120, check=True)
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True)
    return dom.stdout, dom.stderr


def _png(path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (720, 520), (240, 240, 240)).save(path)


def _records(folder: Path, make_record) -> None:
    for strategy, variant, size, start in (("venv", "uv", 250e6, 0.13), ("pyinstaller", "onedir-trimmed", 75e6, 0.17),
                                           ("bake", "gui", 678e6, 0.46)):
        rec = make_record(strategy=strategy, variant=variant, python="3.11")
        rec["metrics"].update(size_bytes=int(size), download_bytes=int(size / 2.5),
                              startup_s={"cold": start * 1.2, "warm": {"median": start, "min": start * 0.9,
                                                                       "max": start * 1.1, "n": 5}},
                              screenshot=f"screenshots/{strategy}.png")
        _png(folder / "screenshots" / f"{strategy}.png")
        record.write(rec, folder)
    dl = make_record(app="dl", python="3.11")
    dl["metrics"]["samples_per_s"] = {"median": 70000.0, "min": 65000.0, "max": 72000.0, "n": 3}
    record.write(dl, folder)
    record.write(make_record("skipped", strategy="bake", variant="dl-cuda", app="dl", python="3.11"), folder)


def _check(tmp_path: Path, name: str) -> str:
    dom, log = _browse(tmp_path / "report" / "index.html", tmp_path / "profile", ARTIFACTS / f"report-{name}.png")
    assert (ARTIFACTS / f"report-{name}.png").stat().st_size > 10_000
    console = [line for line in log.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if re.search(r"error|uncaught", line, re.IGNORECASE)], console
    charts = re.search(r'data-charts="(\d+)" data-charts-drawn="(\d+)"', dom)
    assert charts, "the page's check did not run"
    assert charts.group(1) == charts.group(2), f"{charts.group(2)} of {charts.group(1)} charts drew"
    return dom


def test_a_full_report_renders_every_chart(tmp_path: Path, make_record) -> None:
    _records(tmp_path / "results", make_record)
    assert write_report([tmp_path / "results"], tmp_path / "report") == 0
    dom = _check(tmp_path, "full")
    assert int(re.search(r'data-charts="(\d+)"', dom).group(1)) >= 4
    assert dom.count("data:image/png;base64,") == 3  # a screenshot per GUI strategy


def test_only_skipped_rows_render_and_say_why(tmp_path: Path, make_record) -> None:
    for variant in ("uv", "pip"):
        record.write(make_record("skipped", variant=variant), tmp_path / "results")
    write_report([tmp_path / "results"], tmp_path / "report")
    dom = _check(tmp_path, "skipped")
    assert "skipped for a test" in dom and 'data-charts="0"' in dom


def test_a_huge_unicode_path_still_renders(tmp_path: Path, make_record) -> None:
    folder = tmp_path / ("résultats-ünïcødé-" + "x" * 150) / "日本語"
    _records(folder, make_record)
    write_report([folder], tmp_path / "report")
    dom = _check(tmp_path, "unicode")
    assert dom.count("data:image/png;base64,") == 3  # the screenshots were found beside records in that path


def test_the_page_fits_a_desktop_and_a_phone(tmp_path: Path, make_record) -> None:
    """1,431 px wide at 1,400 (the hardening table) and 1,337 px on a 400 px phone: a wide table now scrolls in
    its own box and the page keeps the window's width."""
    _records(tmp_path / "results", make_record)
    wide = make_record(strategy="pyinstaller", variant="onedir-" + "x" * 120, python="3.11")
    wide["reason"] = None
    record.write(wide, tmp_path / "results")
    assert write_report([tmp_path / "results"], tmp_path / "report") == 0
    for width in (1400, 400):
        dom, _ = _browse(tmp_path / "report" / "index.html", tmp_path / f"profile-{width}",
                         ARTIFACTS / f"report-{width}px.png", width)
        page = int(re.search(r'data-page-width="(\d+)"', dom).group(1))
        window = int(re.search(r'data-window-width="(\d+)"', dom).group(1))
        assert page <= window, f"the page is {page} px wide in a {window} px window"
