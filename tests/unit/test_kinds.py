"""Kinds of app (kinds.py, issue 33): a window's toolkit from what the app declares, the packages a target needs
for it, services from the description, a service's load generator against a real loopback server."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shipbench import description, kinds, loadgen, x11_window
from shipbench.errors import UsageError


def _app(tmp_path: Path, table: str, files: dict[str, str] | None = None) -> description.App:
    for name, text in (files or {"app.py": ""}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(f"[tool.shipbench.apps.a]\n{table}\n", encoding="utf-8")
    description._checked_table.cache_clear()
    return description.load(tmp_path)["a"]


@pytest.mark.parametrize(("requirements", "toolkit"), [
    ("PySide6-Essentials>=6.7\n", "qt"), ("pyqt6\n", "qt"), ("numpy\npygame==2.6\n", "sdl"),
    ("wxPython\n", "wx"), ("PyGObject\n", "gtk"), ("numpy\n", "tk"), ("", "tk"),
])
def test_a_windows_toolkit_is_read_from_what_the_app_declares(tmp_path: Path, requirements: str,
                                                              toolkit: str) -> None:
    app = _app(tmp_path, 'script = "app.py"\nrequirements = "requirements.txt"\ncapabilities = ["window"]\n'
                         'ready = "first-frame"', {"app.py": "", "requirements.txt": requirements})
    assert app.toolkit == toolkit
    assert app.window_on_x == (toolkit != "qt") and app.stops_at_ready == (toolkit != "qt")


def test_the_description_overrides_the_guess_and_only_a_window_has_a_toolkit(tmp_path: Path) -> None:
    app = _app(tmp_path, 'script = "app.py"\nrequirements = "r.txt"\ncapabilities = ["window"]\ntoolkit = "qt"',
               {"app.py": "", "r.txt": "-r more.txt\n", "more.txt": "somegui  # a Qt app by another name\n"})
    assert app.toolkit == "qt"
    with pytest.raises(UsageError, match="toolkit = 'tk': only an app with capabilities"):
        _app(tmp_path, 'script = "app.py"\nrequirements = "r.txt"\ntoolkit = "tk"')


def test_a_project_declares_its_toolkit_in_its_dependencies_and_extras(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "v"\nversion = "1"\ndependencies = ["numpy"]\n'
        '[project.optional-dependencies]\ngui = ["PyQt6>=6.6"]\n'
        '[tool.shipbench.apps.a]\nmodule = "v"\nextras = ["gui"]\ncapabilities = ["window"]\n', encoding="utf-8")
    (tmp_path / "v.py").write_text("", encoding="utf-8")
    description._checked_table.cache_clear()
    assert description.load(tmp_path)["a"].toolkit == "qt"


def test_a_target_gets_the_toolkits_packages_for_its_python() -> None:
    assert kinds.target_packages("tk", debian_python=True) == ("python3-tk",)
    assert kinds.target_packages("tk", debian_python=False) == ("libtk8.6",)
    assert "libxcb-cursor0" in kinds.target_packages("qt") and kinds.target_packages(None) == ()
    assert kinds.is_official_python_image("python:3.11-slim")
    assert kinds.is_official_python_image("docker.io/library/python:3.13-slim@sha256:abc")
    assert not kinds.is_official_python_image("shipbench/python:3.11-bookworm")


def test_a_service_is_ready_on_a_port_and_its_throughput_is_an_http_request(tmp_path: Path) -> None:
    app = _app(tmp_path, 'script = "app.py"\nrequirements = "r.txt"\nready = { port = 8000 }\n'
                         'capabilities = ["throughput"]\n[tool.shipbench.apps.a.throughput]\nhttp = "GET /items?n=3"',
               {"app.py": "", "r.txt": ""})
    assert app.service and app.stops_at_ready and app.ready == "port" and app.ready_port == 8000
    assert app.throughput is not None and (app.throughput.port, app.throughput.unit) == (8000, "requests/s")


@pytest.mark.parametrize(("throughput", "error"), [
    ('http = "GET /"', "say where the service listens"),
    ('http = "GET /"\nport = 1\nbody = "x"', "GET requests carry no body"),
    ('http = "GET /"\nport = 1\npattern = "(x)"', "read by shipbench's load generator"),
    ('args = []\npattern = "(x)"\nport = 1', "only for a service's throughput"),
])
def test_a_services_throughput_that_cannot_be_taken_is_refused(tmp_path: Path, throughput: str,
                                                                error: str) -> None:
    with pytest.raises(UsageError, match=error):
        _app(tmp_path, f'script = "app.py"\nrequirements = "r.txt"\nready = {{ pattern = "up" }}\n'
                       f'capabilities = ["throughput"]\n[tool.shipbench.apps.a.throughput]\n{throughput}',
             {"app.py": "", "r.txt": ""})


def test_a_folder_of_scripts_with_no_dependencies_has_nothing_to_install(tmp_path: Path) -> None:
    """Issue 33: hello.py and a pyproject.toml holding only [tool.shipbench]."""
    app = _app(tmp_path, 'script = "hello.py"\nready = "exit"', {"hello.py": "print('hello')\n"})
    assert not app.is_project and app.install_items() == []


def test_the_load_generator_counts_requests_and_latency_against_a_real_server() -> None:
    class Hello(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            status = 200 if self.path == "/ok" else 404
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        found = loadgen.measure(port, "GET /ok", requests=50, seconds=120, connections=2)
        assert found["completed"] == 50 and found["errors"] == 0 and found["warmup"] == 5
        assert found["requests_per_s"] > 0 and 0 < found["latency_ms"]["p50"] <= found["latency_ms"]["max"]
        missing = loadgen.measure(port, "GET /nothing", requests=20, seconds=120, connections=1)
        assert missing["completed"] == 0 and missing["first_error"] == "HTTP 404 Not Found for GET /nothing"
    finally:
        server.shutdown()


def test_a_service_nobody_answers_is_an_error_not_a_traceback() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = description.Throughput(args=(), quick_args=None, event=None, key="", pattern=None, unit="requests/s",
                                  http="GET /", port=port, requests=10, seconds=60, connections=1)
    found = loadgen.against(spec, sys.executable)
    assert found["completed"] == 0 and "ConnectionRefusedError" in found["first_error"]


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (loadgen.percentile(values, 0.5), loadgen.percentile(values, 0.99), loadgen.percentile([3.0], 0.99)) \
        == (50.0, 99.0, 3.0)


def test_a_window_read_back_from_the_x_server_is_written_as_a_png(tmp_path: Path) -> None:
    """Two pixels, blue-first as a ZPixmap holds them: the PNG holds them red-first."""
    import zlib

    data = x11_window.png(2, 1, bytes([255, 0, 0, 0, 0, 0, 255, 0]))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8:start - 4], "big")
    assert zlib.decompress(data[start:start + length]) == b"\0" + bytes([0, 0, 255, 255, 0, 0])


def test_a_qt_window_where_the_probe_cannot_run_is_seen_on_x(tmp_path: Path) -> None:
    """A compiled program (Nuitka: runs_probe False) runs no sitecustomize: the driver gives its row an app whose
    Qt window is seen mapped on the row's X server, drawn there (xcb)."""
    import dataclasses

    from shipbench import measure, strategies, xserver

    app = _app(tmp_path, 'script = "app.py"\nrequirements = "r.txt"\ncapabilities = ["window"]\n'
                         'ready = "first-frame"', {"app.py": "", "r.txt": "PySide6-Essentials\n"})
    assert not app.window_on_x and strategies.get("pyinstaller").runs_probe
    assert not strategies.get("nuitka").runs_probe
    compiled = dataclasses.replace(app, probe_runs=False)
    assert compiled.window_on_x and compiled.stops_at_ready
    xserver._CURRENT.append(":42")
    try:
        assert measure.probe_env(compiled)["QT_QPA_PLATFORM"] == "xcb"
        assert measure.ready_signal(compiled).kind == "window"
    finally:
        xserver._CURRENT.pop()
