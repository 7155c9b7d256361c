"""The platform-dependent parts of the PyInstaller strategy, with the platform injected (only Linux runs here)."""

from __future__ import annotations

import importlib.util
import tarfile
from pathlib import Path

import pytest
from conftest import ROOT

from shipbench import portability
from shipbench.errors import Failure
from shipbench.fsutil import archive_format, download_size, largest_files, write_archive
from shipbench.strategies.pyinstaller import PyInstallerStrategy, bundle_path


def _trim():
    spec = importlib.util.spec_from_file_location("trim", ROOT / "pyinstaller" / "trim.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bundle_is_whatever_the_spec_put_into_dist(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "tool").mkdir(parents=True)
    assert bundle_path(dist, "onedir", "win32") == (dist / "tool", dist / "tool" / "tool.exe")
    assert bundle_path(dist, "onedir", "linux") == (dist / "tool", dist / "tool" / "tool")
    assert bundle_path(dist, "onefile", "linux") == (dist / "tool", dist / "tool")
    (dist / "other").mkdir()
    with pytest.raises(Failure, match="2 entries"):
        bundle_path(dist, "onedir")


def test_variants_are_every_mode_and_profile() -> None:
    assert PyInstallerStrategy.variants == ("onedir-default", "onedir-trimmed", "onefile-default",
                                            "onefile-trimmed")


def test_downloads_are_zip_on_windows_and_tar_gz_elsewhere(tmp_path: Path) -> None:
    assert archive_format("win32") == "zip" and archive_format("linux") == archive_format("darwin") == "tar.gz"
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "big.bin").write_bytes(b"\0" * 1_000_000)
    (bundle / "small.txt").write_text("hello")
    size = download_size(bundle, tmp_path / "scratch", "linux")
    assert 0 < size < 100_000  # zeros compress
    assert list((tmp_path / "scratch").iterdir()) == []  # the archive is not left behind
    assert [f["path"] for f in largest_files(bundle)] == ["big.bin", "small.txt"]


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_a_download_unpacks_to_the_bundle(tmp_path: Path, fmt: str) -> None:
    import zipfile

    bundle = tmp_path / "app"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "app").write_text("#!/bin/sh\n")
    (bundle / "_internal" / "lib.so").write_bytes(b"x")
    archive = write_archive(bundle, tmp_path / f"out.{fmt}", fmt)
    with zipfile.ZipFile(archive) if fmt == "zip" else tarfile.open(archive) as packed:
        names = packed.namelist() if fmt == "zip" else packed.getnames()
    assert "app/app" in names and "app/_internal/lib.so" in names


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_the_same_files_built_at_another_time_pack_to_the_same_bytes(tmp_path: Path, fmt: str) -> None:
    """An unchanged bundle rebuilt has new file times: its download must not change (compare calls any
    difference in an exact metric a change)."""
    import os
    import zipfile

    packed = []
    for build, when in (("one", 1_700_000_000), ("two", 1_800_000_000)):
        bundle = tmp_path / build / "app"
        (bundle / "_internal").mkdir(parents=True)
        (bundle / "app").write_text("#!/bin/sh\n")
        (bundle / "app").chmod(0o755)
        (bundle / "_internal" / "lib.so").write_bytes(b"x" * 1000)
        for file in (bundle / "app", bundle / "_internal" / "lib.so", bundle / "_internal", bundle):
            os.utime(file, (when, when))
        packed.append(write_archive(bundle, tmp_path / build / f"out.{fmt}", fmt).read_bytes())
    assert packed[0] == packed[1]
    archive = tmp_path / "one" / f"out.{fmt}"
    if fmt == "zip":
        with zipfile.ZipFile(archive) as bundle_zip:
            assert bundle_zip.getinfo("app/app").external_attr >> 16 & 0o777 == 0o755  # still executable
    else:
        with tarfile.open(archive) as bundle_tar:
            assert bundle_tar.getmember("app/app").mode & 0o777 == 0o755


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_trimmed_qt_keeps_the_platform_plugins_and_core_libraries(platform: str) -> None:
    trim = _trim()
    plugin = {"linux": "libqxcb.so", "win32": "qwindows.dll", "darwin": "libqcocoa.dylib"}[platform]
    toc = [
        (f"PySide6/Qt/plugins/platforms/{plugin}", "src", "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", "src", "BINARY"),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", "src", "BINARY"),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "src", "BINARY"),
        ("PySide6/Qt/translations/qt_de.qm", "src", "DATA"),
        ("PySide6/Qt/lib/libQt6Core.so.6", "src", "BINARY"),
        ("PySide6/Qt/lib/libQt6Network.so.6", "src", "BINARY"),
        ("PySide6/Qt/lib/libicudata.so.73", "src", "BINARY"),
        ("PySide6/QtWidgets.abi3.so", "src", "EXTENSION"),
    ]
    kept = {dest for dest, _src, _kind in trim.prune_qt(toc, platform)}
    assert kept == {f"PySide6/Qt/plugins/platforms/{plugin}", "PySide6/Qt/lib/libQt6Core.so.6",
                    "PySide6/Qt/lib/libicudata.so.73", "PySide6/QtWidgets.abi3.so"}


def test_trimmed_torch_drops_tests_binaries_and_headers() -> None:
    trim = _trim()
    toc = [("torch/lib/libtorch_cpu.so", "s", "BINARY"), ("torch/bin/test_api", "s", "BINARY"),
           ("torch/bin/torch_shm_manager", "s", "BINARY"),
           ("torch/test/test_jit", "s", "DATA"), ("torch/include/ATen/ATen.h", "s", "DATA"),
           ("torch/lib/libtorchbind_test.so", "s", "BINARY"), ("torch/_C/__init__.pyi", "s", "DATA")]
    kept = [dest for dest, _s, _k in trim.prune(toc, trim.TORCH_DROP, keep=trim.TORCH_KEEP)]
    assert kept == ["torch/lib/libtorch_cpu.so", "torch/bin/torch_shm_manager"]


def test_failures_name_debian_packages() -> None:
    output = ("/bundle/app_gui: error while loading shared libraries: libEGL.so.1: cannot open shared object file\n"
              "Cannot load library libqxcb.so: (libxcb-icccm.so.4: cannot open shared object file: No such file)\n"
              "qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb platform plugin.\n"
              "Fontconfig error: Cannot load default config file: No such file: (null)")
    assert portability.needs_from_output(output) == ["libegl1", "libxcb-icccm4", "libxcb-cursor0",
                                                     "fontconfig-config"]


@pytest.mark.parametrize(("library", "package"), [("libnotonthishost.so.3", "libnotonthishost3"),
                                                   ("libfoo-1.0.so.0", "libfoo-1.0-0"),
                                                   ("libbar2.so.5", "libbar2-5")])
def test_library_to_package_by_debian_naming(library: str, package: str) -> None:
    assert portability.package_for_library(library) == package


@pytest.mark.parametrize(("probe", "platform", "missing"), [
    ("libpython3.11.so.1.0 True", "linux", False),
    ("libpython3.11.so.1.0 False", "linux", True),
    (None, "linux", True),  # the interpreter did not even run the probe
    ("libpython3.11.so.1.0 False", "darwin", False),  # frameworks and DLLs are found another way
])
def test_a_python_without_its_shared_library_is_skipped_with_the_package(
        monkeypatch: pytest.MonkeyPatch, probe: str | None, platform: str, missing: bool) -> None:
    from shipbench import interpreters
    from shipbench.strategies import pyinstaller

    monkeypatch.setattr(pyinstaller, "output", lambda argv: probe)
    python = interpreters.Interpreter("3.11", "/usr/bin/python3.11", "3.11.2")
    reason = pyinstaller.shared_library_missing(python, platform)
    if not missing:
        assert reason is None
    else:
        assert reason and "apt-get install libpython3.11" in reason and "/usr/bin/python3.11" in reason


def test_the_portability_check_gives_an_executable_tmp_and_tries_noexec_apart(monkeypatch: pytest.MonkeyPatch,
                                                                             tmp_path: Path) -> None:
    """A onefile bundle that needs an executable /tmp: ok on the target, and the noexec condition named."""
    from shipbench import apps, docker, portability
    from shipbench.errors import Failure

    starts: list[str] = []

    def start(image: str, bundle: Path, program: str, app: object, extra: list[str], env: dict[str, str],
              tmp: str = "exec") -> float:
        starts.append(portability.TMP[tmp])
        if tmp == "noexec":
            raise Failure("not ready", ["libz.so.1: failed to map segment from shared object"])
        return 0.5

    monkeypatch.setattr(portability, "_start", start)
    monkeypatch.setattr(docker, "unavailable_reason", lambda: None)
    monkeypatch.setattr(docker, "base_image", lambda suite, root: f"debian:{suite}")
    monkeypatch.setattr(docker, "with_packages", lambda base, packages, on_top_of=None: base)
    monkeypatch.setenv("SHIPBENCH_PROJECT", str(Path(__file__).resolve().parents[2]))
    app = apps.get("dl")  # no window: one start per target
    results = portability.check(tmp_path, "app", app, tmp_path, onefile=True)
    assert results["debian-12"] == {"status": "ok", "needs": [], "startup_s": 0.5}
    assert results["debian-12/noexec-tmp"]["condition"] == "noexec /tmp"
    assert "TMPDIR" in results["debian-12/noexec-tmp"]["reason"]
    assert all(",exec," in flags for flags in starts if "noexec" not in flags)
    assert not any(flags == "/tmp" for flags in starts)  # never Docker's default noexec, 64 MB tmpfs


class _AnalysisSeen(Exception):
    """Raised by the stand-in Analysis once it has recorded its options: the rest of the spec is not run."""

    def __init__(self, options: dict[str, object]) -> None:
        super().__init__("analysis seen")
        self.options = options


def _spec_globals(spec: Path) -> dict[str, object]:
    def analysis(scripts: list[str], **options: object) -> None:
        excludes = options.get("excludes") or ()
        if "__main__" not in excludes:  # what PyInstaller 6's initialize_modgraph does to the object it is given
            excludes += ("__main__",)  # type: ignore[operator]
        raise _AnalysisSeen(options)

    return {"Analysis": analysis, "SPECPATH": str(spec.parent), "workpath": "/nonexistent", "__file__": str(spec)}


def _specs(tmp_path: Path) -> list[Path]:
    """The samples' hand specs and one generated for a fixture app."""
    from conftest import FIXTURES

    from shipbench import description, measure, pyinstaller_spec

    app = description.load(FIXTURES / "wordcount")["wordcount"]
    generated, evidence = pyinstaller_spec.write(app, tmp_path / "spec", ROOT, measure.INJECT_DIR / "sitecustomize.py")
    evidence.write_text('{"modules": ["wordcount", "json"], "libraries": []}', encoding="utf-8")
    return [ROOT / "pyinstaller" / "app_gui.spec", ROOT / "pyinstaller" / "app_dl.spec", generated]


def test_every_spec_keeps_its_excludes_unchanged_across_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PyInstaller 6 adds "__main__" to the excludes object it is given; a list grows in place, the build's saved
    state then differs from the spec's next list, and every warm build redoes the analysis. A tuple stays."""
    import sys

    for spec in _specs(tmp_path):
        monkeypatch.setattr(sys, "argv", [str(spec), "--mode", "onedir", "--profile", "trimmed"])
        monkeypatch.syspath_prepend(str(spec.parent))
        code = compile(spec.read_text(encoding="utf-8"), str(spec), "exec")
        with pytest.raises(_AnalysisSeen) as seen:
            exec(code, _spec_globals(spec))  # the spec is ours: what PyInstaller itself does with it
        excludes = seen.value.options["excludes"]
        assert isinstance(excludes, tuple) and excludes and "__main__" not in excludes, (spec.name, excludes)
