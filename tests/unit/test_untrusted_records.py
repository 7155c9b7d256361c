"""Records are untrusted input (CI artifacts, other hosts): the report survives any of them, lists each bad one
with its reason, renders every other, and reads no file outside the folder a record came from."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from shipbench import record
from shipbench.reporting import write_report

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0000003010100c9fe92ef0000000049454e44ae426082")


def _write(folder: Path, name: str | bytes, content: Any) -> None:
    text = content if isinstance(content, str) else json.dumps(content)
    path = os.path.join(os.fsencode(folder), name) if isinstance(name, bytes) else folder / name
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _report(results: Path, out: Path) -> tuple[int, str, str]:
    code = write_report([results], out)
    return code, (out / "report.md").read_text(), (out / "index.html").read_text()


@pytest.fixture
def results(tmp_path: Path, make_record: Any) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    good = make_record(variant="uv")
    good["metrics"]["screenshot"] = "screenshots/good.png"
    (folder / "screenshots").mkdir()
    (folder / "screenshots" / "good.png").write_bytes(PNG)
    record.write(good, folder)
    return folder


def _sparse(make_record: Any, variant: str, **metrics: Any) -> dict[str, Any]:
    rec = make_record(variant=variant)
    rec["metrics"].update(metrics)
    return rec


def test_one_bad_record_of_each_kind_never_stops_the_report(results: Path, tmp_path: Path, make_record: Any) -> None:
    _write(results, "deep.json", "[" * 1100 + "]" * 1100)
    nan = make_record(variant="nan")
    _write(results, "nan.json", json.dumps(nan).replace('"size_bytes": 250000000', '"size_bytes": NaN'))
    _write(results, "gpu.json", _sparse(make_record, "gpu-sparse", gpu={"status": "ok"}))
    _write(results, "portability.json", _sparse(make_record, "portable", portability={"debian-12": {"status": "ok"}}))
    cold_only = make_record(variant="cold-only")
    cold_only["metrics"]["startup_s"] = {"cold": 0.3}
    _write(results, "cold.json", cold_only)
    _write(results, b"bad-\xff-name.json", "{not json")
    code, markdown, html = _report(results, tmp_path / "report")
    assert code == 0
    assert "venv/uv gui" in markdown  # the good record renders
    invalid = markdown.split("## Invalid records (left out)")[1]
    for name in ("deep.json", "nan.json", "gpu.json", "portability.json", "cold.json", "bad-\\xff-name.json"):
        assert name in invalid, name
    assert "nested too deeply" in invalid and "NaN is not a number JSON allows" in invalid


def test_a_screenshot_outside_the_records_folder_is_never_read(results: Path, tmp_path: Path,
                                                              make_record: Any) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG + b"SECRET-BYTES")
    for variant, path in (("absolute", str(secret)), ("climbing", "../secret.png"),
                          ("linked", "screenshots/link.png"), ("text", "screenshots/notes.png")):
        rec = make_record(variant=variant)
        rec["metrics"]["screenshot"] = path
        _write(results, f"{variant}.json", rec)
    (results / "screenshots" / "link.png").symlink_to(secret)
    (results / "screenshots" / "notes.png").write_text("not a picture")
    code, markdown, html = _report(results, tmp_path / "report")
    assert code == 0
    assert base64.b64encode(secret.read_bytes()).decode() not in html
    assert base64.b64encode(PNG).decode() in html  # the record's own screenshot is shown
    # the schema refuses an absolute or climbing path outright; the link and the text file are refused on reading
    invalid = markdown.split("## Invalid records (left out)")[1]
    assert "absolute.json" in invalid and "climbing.json" in invalid
    refused = markdown.split("## Screenshots not shown")[1]
    assert "leads out of the record's folder" in refused and "not a PNG file" in refused


def test_html_in_records_is_escaped_in_markdown_and_long_texts_are_capped(results: Path, tmp_path: Path,
                                                                         make_record: Any) -> None:
    rec = make_record(variant="loud")
    rec["notes"] = ["<script>alert(1)</script> <img src=x onerror=alert(2)>", "x" * 200_000]
    record.write(rec, results)
    code, markdown, html = _report(results, tmp_path / "report")
    assert code == 0
    assert "<script>alert" not in markdown and "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown
    assert "<img src=x" not in markdown and "<script>alert" not in html
    assert "198,000 more characters in the record" in markdown
    assert len(markdown) < 100_000 and len(html) < 200_000


@pytest.mark.parametrize("trouble", ["read-only", "a file", "full"])
def test_a_report_that_cannot_be_written_is_one_line_and_exit_2(results: Path, tmp_path: Path, trouble: str,
                                                              capsys: pytest.CaptureFixture[str],
                                                              request: pytest.FixtureRequest) -> None:
    if trouble == "a file":
        out = tmp_path / "file"
        out.write_text("")
    else:
        out = request.getfixturevalue("read_only_dir" if trouble == "read-only" else "full_dir")
    assert write_report([results], out) == 2
    err = capsys.readouterr().err
    assert "cannot write the report to" in err and "Traceback" not in err
    if trouble == "full":  # written to temporary names first: nothing half-written is left
        assert sorted(p.name for p in out.iterdir()) == ["filler"]


def test_a_record_on_a_full_disk_is_one_clear_error_and_no_half_file(full_dir: Path, make_record: Any) -> None:
    from shipbench.errors import UsageError

    with pytest.raises(UsageError, match="No space left on device"):
        record.write(make_record(), full_dir)
    assert sorted(p.name for p in full_dir.iterdir()) == ["filler"]


def test_a_screenshot_moved_onto_a_full_disk_leaves_nothing(full_dir: Path, tmp_path: Path) -> None:
    from shipbench.fsutil import atomic_move

    shot = tmp_path / "shot.png"
    shot.write_bytes(PNG + b"\0" * 200_000)
    with pytest.raises(OSError):
        atomic_move(shot, full_dir / "shot.png")
    assert sorted(p.name for p in full_dir.iterdir()) == ["filler"]


# --- files that are no record: each is refused unread, with one line, and never blocks or exhausts anything --------
def _invalid_lines(markdown: str) -> list[str]:
    """The report's list of invalid records, one line each."""
    return markdown.split("## Invalid records (left out)")[1].split("\n## ")[0].strip().splitlines()


def _refused(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """Report and compare both finish on the folder; {file name: the reason the report gives}."""
    from shipbench.reporting import compare

    code, markdown, _html = _report(results, tmp_path / "report")
    comparison = compare.compare(results, results)
    said = capsys.readouterr()
    assert code == 0 and "Traceback" not in said.out + said.err
    assert "venv/uv gui" in markdown and comparison.changes  # the good record is read by both
    lines = _invalid_lines(markdown)
    assert comparison.invalid == 2 * len(lines)  # the folder is the base and the head
    return {line.split("`: ", 1)[0].rsplit("/", 1)[1]: line.split("`: ", 1)[1] for line in lines}


class _Watch:
    """Whether anything opened a FIFO to read it, and never a hang if so: the test's side opens the writing end
    only without blocking (ENXIO while no reader has it open), and closing it ends the reader's wait."""

    def __init__(self, fifo: Path) -> None:
        import threading

        self.fifo, self.opened, self.stop = fifo, False, threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self.stop.wait(0.005):
            try:
                os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                continue
            self.opened = True

    def __enter__(self) -> _Watch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def test_a_fifo_named_like_a_record_is_refused_unopened(results: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(results / "x.json")
    with _Watch(results / "x.json") as watch:
        refused = _refused(results, tmp_path, capsys)
    assert refused == {"x.json": "a FIFO, not a regular file: refused unread"}
    assert not watch.opened


LINK = "a symbolic link: refused unread (records are read from regular files only, never through a link)"


def test_a_link_to_dev_zero_is_refused_unread(results: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (results / "x.json").symlink_to("/dev/zero")
    assert _refused(results, tmp_path, capsys) == {"x.json": LINK}


def test_a_link_to_a_record_outside_or_inside_the_folder_is_never_followed(results: Path, tmp_path: Path,
                                                                            make_record: Any,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    _write(outside, "secret.json", make_record(variant="secret-outside"))
    _write(results, "inside.json.txt", make_record(variant="secret-inside"))
    (results / "secret.json").symlink_to(outside / "secret.json")
    (results / "inside.json").symlink_to(results / "inside.json.txt")
    (results / "linked").symlink_to(outside, target_is_directory=True)  # a folder link: not entered
    refused = _refused(results, tmp_path, capsys)
    assert refused == {"secret.json": LINK, "inside.json": LINK, "linked": "a symbolic link to a folder: not entered "
                       "(records are read from regular files only, never through a link)"}
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "secret-outside" not in markdown and "secret-inside" not in markdown


def test_a_50_mb_file_is_refused_unread(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (results / "x.json").open("wb") as handle:
        handle.truncate(50 * 10**6)  # sparse: 50 MB that cost no disk
    assert _refused(results, tmp_path, capsys) == {"x.json": "50,000,000 bytes, over the 16 MiB a record may be: "
                                                             "refused unread"}


BEYOND = "is beyond the range of a number a record may hold (a 64-bit float)"


@pytest.mark.parametrize(("number", "reason"), [
    ("1e999", f"1e999 {BEYOND}"),
    ("-1e999", f"-1e999 {BEYOND}"),
    ("NaN", "NaN is not a number JSON allows"),
    ("Infinity", "Infinity is not a number JSON allows"),
    ("-Infinity", "-Infinity is not a number JSON allows"),
    ("9" * 400, f"an integer of 400 digits {BEYOND}"),
    ("9" * 5000, f"an integer of 5,000 digits {BEYOND}"),  # Python itself refuses to read over 4,300 digits
])
def test_a_number_beyond_a_float_is_refused(results: Path, tmp_path: Path, make_record: Any, number: str,
                                           reason: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = json.dumps(make_record(variant="huge")).replace('"size_bytes": 250000000', f'"size_bytes": {number}')
    _write(results, "x.json", text)
    assert _refused(results, tmp_path, capsys) == {"x.json": f"not readable JSON: {reason}"}


def test_a_record_nested_2000_deep_is_refused(results: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _write(results, "x.json", '{"a": ' + "[" * 2000 + "]" * 2000 + "}")
    assert _refused(results, tmp_path, capsys) == {
        "x.json": f"not readable JSON: nested too deeply to read (more than {record.MAX_DEPTH} levels)"}


# --- Markdown in untrusted text ------------------------------------------------------------------------------------
HOSTILE = ("[click](javascript:alert(1)) ![img](http://x/y.png) <https://evil.example> `code` *bold* _em_ ~~gone~~ "
           "| cell <b>bold</b> &amp; \\| # not a heading")


def test_markdown_in_a_reason_or_a_note_shows_as_typed(results: Path, tmp_path: Path,
                                                                  make_record: Any) -> None:
    from markdown_it import MarkdownIt

    failed = make_record("failed", variant="hostile")
    failed["reason"] = HOSTILE
    failed["notes"] = ["- a list item\n1. a numbered one", HOSTILE]
    record.write(failed, results)
    code, markdown, html = _report(results, tmp_path / "report")
    assert code == 0
    assert "[click](javascript" not in markdown and "\\[click\\](javascript:alert(1))" in markdown
    # rendered as GitHub renders it (CommonMark, tables, strike-through): no link, image, code, emphasis or HTML
    # comes from the record, and the reason stays in its own cell of a three-column table
    page = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)
    for made in ("<a ", "<img", "<code>code", "<strong>bold", "<em>em", "<s>gone", "<b>", "<h1>not", "<li>a list"):
        assert made not in page, made
    assert "[click](javascript:alert(1))" in page and "*bold* _em_ ~~gone~~ | cell &lt;b&gt;bold&lt;/b&gt;" in page
    failures = markdown.split("## Skipped and failed")[1]
    (row,) = [line for line in failures.splitlines() if line.startswith("| venv/hostile")]
    assert len(re.split(r"(?<!\\)\|", row)) == 5  # | row | status | reason |: the reason's own | split nothing
    # and the page: every text escaped for HTML
    assert "<b>bold" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html and 'href="javascript' not in html


def test_a_code_span_of_untrusted_text_cannot_be_closed_by_its_backticks() -> None:
    from markdown_it import MarkdownIt

    from shipbench.reporting import markdown
    from shipbench.reporting.document import Cell, Document, Grid, Items, Section, Text

    doc = Document("t", Text("s"), [Section("x", [Grid(("command",), [(Cell("a ` [x](javascript:1) ``", "code"),)]),
                                                 Items(["p ``` [y](javascript:2): why"], code_prefix=True)])])
    page = MarkdownIt("commonmark").enable("table").render(markdown.render(doc))
    assert "<a " not in page
    assert "<code>a ` [x](javascript:1) ``</code>" in page and "<code>p ``` [y](javascript:2)</code>" in page
