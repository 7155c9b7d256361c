from __future__ import annotations

import json
from pathlib import Path

from shipbench import record
from shipbench.reporting import write_report


def _write(folder: Path, recs) -> None:
    for rec in recs:
        record.write(rec, folder)


def test_report_has_a_table_per_metric_and_the_reasons(tmp_path: Path, make_record) -> None:
    results = tmp_path / "results"
    ok = make_record(python="3.11")
    ok["metrics"]["size_bytes"] = 123_400_000
    dl = make_record(app="dl", python="3.11")
    dl["metrics"]["throughput"] = {"median": 80000.0, "min": 79000.0, "max": 81000.0, "n": 3}
    dl["metrics"]["throughput_unit"] = "samples/s"
    dl["capabilities"] = ["throughput", "torch"]
    skipped = make_record("skipped", python="3.13")
    skipped["reason"] = "no Python 3.13 on this host"
    failed = make_record("failed", variant="pip")
    failed["reason"] = "no ready event within 60 s"
    _write(results, [ok, dl, skipped, failed])

    assert write_report([results], tmp_path / "report") == 0
    md = (tmp_path / "report" / "report.md").read_text()
    html = (tmp_path / "report" / "index.html").read_text()
    for title in ("Size on disk", "Set-up / build time, cold cache", "Start-up, warm", "Throughput"):
        assert f"### {title}" in md and f"<h3>{title}</h3>" in html
    assert "123.4 MB" in md
    assert "0.200 s (0.150 s – 0.250 s, n=5)" in md
    assert "80,000 (79,000 – 81,000, n=3) samples/s" in md
    assert "no Python 3.13 on this host" in md and "no ready event within 60 s" in html
    assert "Not measured in any of its 4 rows (" in md  # download size: nothing measures it yet: a line, no table
    assert "src=\"http" not in html and "href=\"http" not in html  # self-contained: nothing from the network


def test_only_skipped_rows_still_render(tmp_path: Path, make_record) -> None:
    results = tmp_path / "results"
    _write(results, [make_record("skipped"), make_record("skipped", app="dl")])
    assert write_report([results], tmp_path / "out") == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "2 records from 1 host: 0 ok, 2 skipped or failed" in md


def test_no_records_at_all_says_so(tmp_path: Path) -> None:
    assert write_report([tmp_path / "nowhere"], tmp_path / "out") == 0
    assert "No records found" in (tmp_path / "out" / "report.md").read_text()
    assert "No records found" in (tmp_path / "out" / "index.html").read_text()


def test_invalid_records_are_listed_and_the_rest_renders(tmp_path: Path, make_record) -> None:
    results = tmp_path / "results"
    _write(results, [make_record()])
    (results / "broken.json").write_text('{"schema_version": 1')
    assert write_report([results], tmp_path / "out") == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Invalid records" in md and "broken.json" in md
    assert "250.0 MB" in md


def test_markup_in_records_is_escaped(tmp_path: Path, make_record) -> None:
    results = tmp_path / "résultats ünïcode"
    rec = make_record("failed")
    rec["reason"] = "<script>alert(1)</script> | pipe"
    _write(results, [rec])
    write_report([results], tmp_path / "out")
    html = (tmp_path / "out" / "index.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "\\| pipe" in (tmp_path / "out" / "report.md").read_text()


def test_records_from_two_hosts_merge_into_one_report(tmp_path: Path, make_record) -> None:
    linux = make_record()
    mac = make_record(os="macos", arch="aarch64")
    mac["host"] = {**mac["host"], "name": "mac-runner", "os": "macos", "cpu": "Apple M1"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    record.write(linux, tmp_path / "a")
    record.write(mac, tmp_path / "b")
    (tmp_path / "b" / "again.json").write_text(json.dumps(linux))  # the same record twice counts once
    write_report([tmp_path], tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    assert "2 records from 2 hosts" in md and "Apple M1" in md and "| macos |" in md


def test_portability_evidence_and_largest_files_are_shown(tmp_path: Path, make_record) -> None:
    rec = make_record(strategy="pyinstaller", variant="onedir-trimmed")
    rec["metrics"]["portability"] = {
        "debian-12/offscreen": {"status": "ok", "needs": ["libegl1", "fontconfig-config"], "startup_s": 0.4},
        "debian-13/x11": {"status": "skipped", "reason": "no Xvfb on this host"},
    }
    rec["metrics"]["largest_files"] = [{"path": "_internal/libQt6Gui.so.6", "bytes": 11_300_000}]
    rec["metrics"]["startup_ratio_to_baseline"] = 1.04
    record.write(rec, tmp_path / "results")
    write_report([tmp_path / "results"], tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| pyinstaller/onedir-trimmed gui py3.12 linux | debian-12/offscreen | starts (0.40 s) | " \
           "libegl1, fontconfig-config |" in md
    assert "skipped: no Xvfb on this host" in md
    assert "_internal/libQt6Gui.so.6 (11.3 MB)" in md
    assert "1.04×" in md


def test_reused_rows_say_when_they_were_measured_and_kept(tmp_path: Path, make_record) -> None:
    results = tmp_path / "results"
    reused = make_record(python="3.11", created="2026-11-01T09:30:00+00:00")
    reused["reused"] = {"last": "2026-11-28T14:05:00+00:00", "runs": 2}
    fresh = make_record(variant="pip", python="3.11", created="2026-11-28T14:06:00+00:00")
    fresh.update(duration_s=150.0, planned={"estimate_s": 100.0, "from": "last run here 2026-11-27"})
    skipped = make_record("skipped", variant="tox-uv", python="3.11", created="2026-11-28T14:07:00+00:00")
    _write(results, [reused, fresh, skipped])
    assert write_report([results], tmp_path / "report") == 0
    md = (tmp_path / "report" / "report.md").read_text()
    html = (tmp_path / "report" / "index.html").read_text()
    kept = "reused by 2 later runs, last 2026-11-28 14:05 (inputs unchanged)"
    assert f"| venv/uv gui py3.11 linux | full | 2026-11-01 09:30 | – | {kept} |" in md
    # how long the row took beside what the plan said, and how far apart
    assert "| venv/pip gui py3.11 linux | full | 2026-11-28 14:06 | 2.5 min (1.7 min, x1.5) | – |" in md
    assert "reused by 2 later runs, last 2026-11-28 14:05" in html
    assert "| venv/tox-uv gui py3.11 linux | 2026-11-28 14:07" not in md  # skipped: nothing was measured
    # and the plan's total against the rows' (a row 1.5x over its estimate still held)
    assert ("The plan's estimates against the rows' time: 1 row planned 1.7 min in all and took 2.5 min (x1.50); "
            "1 of 1 within 1.5x.") in md


def test_the_report_names_the_rows_whose_estimate_missed(tmp_path: Path, make_record) -> None:
    rows = []
    for variant, estimate, took in (("uv", 100.0, 90.0), ("pip", 60.0, 200.0), ("tox-uv", 300.0, 100.0)):
        rec = make_record(variant=variant, python="3.11")
        source = ("last run here 2026-12-01" if variant == "tox-uv"
                  else "stated (window app), x0.7 as gui's 3 other rows")
        rec.update(duration_s=took, planned={"estimate_s": estimate, "from": source})
        if variant == "pip":
            rec["metrics"]["host_load"] = {"setup_cold": {"outside_cores": 1.2, "busy": True},
                                           "setup_warm": {"outside_cores": 0.0, "busy": False}}
        rows.append(rec)
    unplanned = make_record("skipped", variant="uv", app="dl", python="3.11")  # a skip at run time: listed apart
    unplanned["planned"] = {"estimate_s": 50.0, "from": "stated (torch app)"}
    _write(tmp_path / "results", [*rows, unplanned])
    assert write_report([tmp_path / "results"], tmp_path / "report") == 0
    md = (tmp_path / "report" / "report.md").read_text()
    # each miss says what its estimate came from, and a busy host where one was
    assert "3 rows planned 7.7 min in all and took 6.5 min (x0.85); 1 of 3 within 1.5x; beyond it: " \
           "venv/pip gui py3.11 linux x3.3 (estimated from stated (window app); the host was busy during " \
           "setup_cold), " \
           "venv/tox-uv gui py3.11 linux x0.3 (estimated from last run here 2026-12-01)." in md
    assert "skipped once run (planned to run)" in md


def test_the_overview_compares_on_the_python_that_measured_most(tmp_path: Path, make_record) -> None:
    """On a Debian 13 host, rows pinned to 3.11 were all skipped: the overview was "Python 3.11", all skipped."""
    from shipbench.reporting.overview import common_python

    skipped = [make_record("skipped", strategy=s, python="3.11") for s in ("pyinstaller", "nuitka", "cxfreeze")]
    measured = [make_record(strategy=s, python="3.13") for s in ("venv", "locked")]
    assert common_python(skipped + measured) == "3.13"
    assert common_python(skipped) == "3.11"  # nothing measured: the rows there are, still shown
    gpu = [make_record(strategy=s, variant="gpu", python="3.12") for s in ("pyinstaller", "bake", "nuitka")]
    assert common_python([*gpu, *measured[1:]]) == "3.13"  # another host's GPU evidence is not the overview's


def test_screenshots_of_every_python_are_shown(tmp_path: Path, make_record) -> None:
    """"No screenshots in these records" while three were taken, on a Python other than the overview's."""
    results = tmp_path / "results"
    shot = make_record(strategy="pyinstaller", variant="onedir-default", python="3.13", capabilities=["window"])
    shot["metrics"]["screenshot"] = "screenshots/a.png"
    (results / "screenshots").mkdir(parents=True)
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00")) + chunk(b"IEND", b""))
    (results / "screenshots" / "a.png").write_bytes(png)
    others = [make_record(strategy=s, python="3.11") for s in ("locked", "nuitka", "cxfreeze")]
    _write(results, [shot, *others])
    write_report([results], tmp_path / "out")
    html = (tmp_path / "out" / "index.html").read_text()
    assert "No screenshots in these records" not in html and "py3.13" in html


def test_a_command_line_app_is_not_framed_as_a_desktop_app_and_failures_are_said(make_record) -> None:
    from shipbench.reporting.advice import qualities, recommendations

    cli = [make_record(strategy="pyinstaller", variant="onedir-default", app="tool", capabilities=[]),
           make_record("failed", strategy="nuitka", variant="standalone-default", app="tool")]
    desktop = dict(recommendations(cli))["Ship to desktop users"]
    assert "no window app" in desktop and "portability evidence" not in desktop
    nuitka = next(row for row in qualities(cli) if row[0] == "nuitka")
    assert nuitka[3] == "nowhere: 1 failed (reasons in the overview's notes)"


def test_another_hosts_reasons_name_that_host(make_record) -> None:
    """The repository's GPU evidence said "bake: docker is not installed": that host's, read as this one's."""
    from shipbench.reporting.advice import recommendations

    gpu = make_record(strategy="venv", variant="uv-gpu", app="dl")
    gpu["metrics"]["gpu"] = {"status": "ok", "device_name": "H100", "batches": [
        {"batch_size": 256, "samples_per_s": {"median": 1000.0, "min": 900.0, "max": 1100.0, "n": 3}}]}
    gpu["host"] = {**gpu["host"], "name": "gpu-host", "gpus": [{"name": "H100"}]}
    bake = make_record("skipped", strategy="bake", variant="cuda-gpu", app="dl")
    bake["reason"] = "docker is not installed"
    bake["host"] = {**bake["host"], "name": "gpu-host", "gpus": [{"name": "H100"}]}
    text = dict(recommendations([gpu, bake]))["Reproduce a GPU dev environment"]
    assert "bake (on gpu-host): docker is not installed" in text


def test_a_report_of_good_records_builds_its_model_once(tmp_path: Path, make_record, monkeypatch) -> None:
    """Thousands of records (a year of CI) cost one build, not one per record; a record that cannot be shown is
    still found (halving) and listed, and the rest is built."""
    from shipbench.reporting import document

    calls = []
    real = document.build
    monkeypatch.setattr(document, "build", lambda *a, **k: calls.append(1) or real(*a, **k))
    results = tmp_path / "results"
    _write(results, [make_record(variant=f"v{n}") for n in range(20)])
    assert write_report([results], tmp_path / "report") == 0
    assert len(calls) == 1
    sparse = make_record(variant="cold-only")
    sparse["metrics"]["startup_s"] = {"cold": 0.3}  # a shape the report does not expect
    (results / "cold-only.json").write_text(json.dumps(sparse))
    calls.clear()
    assert write_report([results], tmp_path / "report") == 0
    page = (tmp_path / "report" / "report.md").read_text()
    assert "cold-only.json" in page.split("## Invalid records (left out)")[1]
    assert "venv/v19 gui" in page
    assert len(calls) < 21  # about log2(21) halvings, never one build per record


def test_charts_show_the_best_rows_and_say_what_is_missing(make_record) -> None:
    from shipbench.reporting import charts

    many = []
    for n in range(charts.MAX_ROWS + 10):
        rec = make_record(variant=f"v{n:02d}")
        rec["metrics"]["startup_s"]["warm"] = {"median": 1.0 + n, "min": 0.9 + n, "max": 1.1 + n, "n": 5}
        rec["metrics"]["download_bytes"] = 1_000_000 if n else None
        many.append(rec)
    many[0]["metrics"].pop("download_bytes")
    drawn = {chart.name: chart for chart in charts.charts({"gui": many}, [])}
    startup = drawn["startup-gui"]
    assert f"the {charts.MAX_ROWS} best of {charts.MAX_ROWS + 10} rows" in startup.title
    assert "venv/v00" in startup.svg and "venv/v49" not in startup.svg  # the slowest ten are left out
    assert "not measured" in drawn["size-gui"].svg  # v00's download: said on its line, not a bar of zero
    assert "log scale, dots" in drawn["size-gui"].svg  # 1 MB beside 250 MB: dots on a log axis, never bars
    apps = {f"app{n:02d}": [make_record(app=f"app{n:02d}")] for n in range(charts.MAX_APPS + 1)}
    assert {chart.name.split("-", 1)[1] for chart in charts.charts(apps, [])} == set(list(apps)[:charts.MAX_APPS])


def test_another_machines_evidence_is_shown_as_theirs_never_as_this_hosts(tmp_path: Path, make_record) -> None:
    """The committed GPU evidence (an H100 host called "vm") read as this laptop's: "2 hosts", its Python in the
    overview's, "trained on CUDA" in this host's GPU column, its skips among this run's."""
    here = make_record(python="3.13")
    here["host"] = {**here["host"], "name": "vm", "id": "aaaa1111"}
    gpu = make_record(python="3.12", variant="host-torch")
    gpu["host"] = {**gpu["host"], "name": "vm", "id": "bbbb2222", "cpu": "EPYC", "cores": 16,
                   "gpus": [{"name": "NVIDIA H100 80GB HBM3"}]}
    gpu["metrics"]["startup_s"]["warm"]["median"] = 0.01  # would be "fastest" if it were ranked here
    skipped = make_record("skipped", python="3.12", strategy="bake", variant="cpu")
    skipped["host"] = gpu["host"]
    skipped["reason"] = "docker is not installed"
    record.write(here, tmp_path / "results")
    for rec in (gpu, skipped):
        record.write(rec, tmp_path / "evidence" / "gpu")
    write_report([tmp_path / "results", tmp_path / "evidence"], tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    own, others = md.split("## Other machines' records")
    assert "1 records from 1 host" in own and "Overview (Python 3.13)" in own
    assert "0.010" not in own and "docker is not installed" not in own and "H100" not in own.split("## Hosts")[0]
    assert "vm · bbbb2222" in others and "0.010 s" in others and "docker is not installed" in others
    assert "vm · aaaa1111" in md.split("## Hosts")[1]  # two machines named vm stay two


def test_a_host_id_is_stable_and_never_the_machine_id(tmp_path: Path, monkeypatch) -> None:
    from shipbench import host

    first, second = host.host_id(), host.host_id()
    assert first == second and len(first) == 8
    machine = Path("/etc/machine-id")
    if machine.is_file():
        assert first not in machine.read_text()


def test_every_ratio_says_whether_its_samples_tell_the_two_sides_apart(tmp_path: Path, make_record) -> None:
    """"1.22x venv" from n=3 with overlapping ranges carried no noise verdict; start-up ratios did not either."""
    from shipbench.stats import samples_verdict

    rec = make_record(strategy="pyinstaller", variant="onedir")
    rec["metrics"]["startup_s"]["warm"]["samples"] = [0.20, 0.21, 0.19, 0.20, 0.22]
    rec["metrics"]["baseline"] = {"what": "the same app in its build venv", "startup_s": {
        "median": 0.1, "min": 0.09, "max": 0.11, "n": 5, "samples": [0.10, 0.09, 0.11, 0.10, 0.10]}}
    rec["metrics"]["startup_ratio_to_baseline"] = 2.0
    record.write(rec, tmp_path / "results")
    write_report([tmp_path / "results"], tmp_path / "out")
    page = (tmp_path / "out" / "report.md").read_text()
    assert "2.00× (significant: p=0.008)" in page
    assert samples_verdict([1.2, 1.3, 1.25], [1.0, 1.1, 1.05]) == "too few runs to tell: n=3+3, 4 a side needed"
    assert samples_verdict([1.0, 1.1, 1.0, 1.1], [1.05, 1.0, 1.1, 1.0]).startswith("too close to call")
    assert samples_verdict(None, [1.0]) == "no raw samples to test"


def test_a_licence_cell_the_row_above_holds_word_for_word_reads_as_above() -> None:
    from shipbench.reporting.inside import _said_once

    copyleft = "PySide6-Essentials 6.10.1 (LGPL-3.0-only; runtime); shiboken6 6.10.1 (LGPL-3.0-only; runtime)"
    rows = [("venv/uv gui", "12", copyleft, "none", "–", "a.json"),
            ("pyinstaller/onedir gui", "12", copyleft, "none", "–", "b.json"),
            ("venv/uv dl", "30", "none", "none", "–", "c.json")]
    assert [row[2] for row in _said_once(rows)] == [copyleft, "as above", "none"]
    assert [row[5] for row in _said_once(rows)] == ["a.json", "b.json", "c.json"]  # the SBOM is each row's own


def test_a_quick_bundle_not_started_in_a_clean_container_says_the_profile_is_why(make_record) -> None:
    from shipbench.reporting.inside import _proof

    bundle = make_record(strategy="pyinstaller", variant="onedir-trimmed")
    bundle["profile"] = "quick"
    assert "the quick profile does not" in _proof(bundle, None)
    venv = make_record()
    venv["profile"] = "quick"
    assert _proof(venv, None) == "not started in a clean container (this way runs on the host's system)"
