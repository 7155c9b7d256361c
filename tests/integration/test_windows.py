"""Windows of kinds not shaped like the samples (issue 33), each a fixture of its own through the rows that prove
it: a Qt Quick app with a QML module folder of its own (trimmed PyInstaller keeps the QML it imports; cx_Freeze
finds its module where its script looks), a PyQt6 app drawing with numpy (trimmed builds keep numpy's vendored
OpenBLAS loadable), and a tkinter app started by a GUI script (its first window seen mapped on the X server, the
same picture in a venv, a bundle and an image). Each frozen window is compared pixel by pixel with the venv's.

CI runs the quick profile of each row (no portability check, no baseline: the samples' rows prove those)."""

from __future__ import annotations

from typing import Any

from conftest import HOST_DEPS, PYTHONS, fixture_results, ok_metrics, python_missing, requires, run_fixture

from shipbench import docker, interpreters, xserver
from shipbench.strategies.pyinstaller import shared_library_missing

QUICK = ("--profile", "quick")


def _libpython_missing() -> str | None:
    return python_missing("3.11") or shared_library_missing(interpreters.find("3.11"))


pytestmark = [requires(python_missing("3.11"), PYTHONS),
              requires(None if python_missing("3.11") else _libpython_missing(), HOST_DEPS),
              requires(None if xserver.available() else xserver.MISSING, HOST_DEPS)]


def _same_picture(fixture: str, first: dict[str, Any], second: dict[str, Any]) -> None:
    from PIL import Image, ImageChops

    results = fixture_results(fixture)
    with Image.open(results / first["screenshot"]) as a, Image.open(results / second["screenshot"]) as b:
        assert a.size == b.size and a.size[0] > 100
        assert len(a.convert("RGB").getcolors(1 << 16) or []) > 3, "the window is blank"
        assert ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None, "the windows differ"


def _rows(fixture: str, *rows: tuple[str, str]) -> dict[str, dict[str, Any]]:
    return {f"{strategy}/{variant}": ok_metrics(run_fixture(strategy, fixture, *QUICK, variants=(variant,))[variant])
            for strategy, variant in rows}


def test_a_qt_quick_app_keeps_the_qml_it_imports_when_trimmed_and_finds_its_own_module_frozen() -> None:
    """Issue 33: `module "QtQuick.Controls" is not installed` (trimmed PyInstaller dropped Qt's QML whatever the
    evidence said) and `module "Contact" ... qmldir file not found` (cx_Freeze put a script's data in lib/)."""
    rows = _rows("qmlcontacts", ("venv", "uv"), ("pyinstaller", "onedir-trimmed"), ("cxfreeze", "trimmed"))
    for name in ("pyinstaller/onedir-trimmed", "cxfreeze/trimmed"):
        _same_picture("qmlcontacts", rows["venv/uv"], rows[name])
    assert rows["pyinstaller/onedir-trimmed"]["missing_modules"]["own"] == []


def test_a_pyqt6_app_drawing_with_numpy_survives_trimming() -> None:
    """Issue 33: trimmed builds stripped numpy's vendored OpenBLAS (`ELF load command address/offset not
    page-aligned`): each trimmed bundle draws the venv's picture and computes its frames."""
    rows = _rows("pyqtplot", ("venv", "uv"), ("pyinstaller", "onedir-trimmed"), ("cxfreeze", "trimmed"))
    for name in ("pyinstaller/onedir-trimmed", "cxfreeze/trimmed"):
        _same_picture("pyqtplot", rows["venv/uv"], rows[name])
        assert rows[name]["throughput"]["median"] > 0


def test_a_tk_window_started_by_a_gui_script_is_seen_on_x_in_a_venv_and_a_bundle() -> None:
    """Issue 33: a tkinter window waited out the timeout (the Qt probe never fires for Tk), and a gui_scripts
    entry point was 'no console script' in the frozen rows."""
    rows = _rows("tkpaint", ("venv", "uv"), ("pyinstaller", "onedir-trimmed"))
    for metrics in rows.values():
        assert metrics["ready"] == "first-frame" and metrics["startup_s"]["warm"]["n"] == 3
    _same_picture("tkpaint", rows["venv/uv"], rows["pyinstaller/onedir-trimmed"])


@requires(docker.unavailable_reason(), "bash scripts/install-docker.sh")
def test_a_tk_window_in_its_image_gets_tk_and_the_rows_x_server() -> None:
    """Its image installs Tk (python3-tk on Debian's Python, libtk8.6 on the official image's) and is started with
    the row's X socket: the same picture as the venv's."""
    rows = _rows("tkpaint", ("venv", "uv"), ("bake", "cpu"))
    _same_picture("tkpaint", rows["venv/uv"], rows["bake/cpu"])

