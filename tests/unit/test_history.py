"""History across result sets: the series, the significant steps between neighbours, the report's section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipbench import record, stats
from shipbench.reporting import write_report
from shipbench.reporting.history import history

FAST = [0.200, 0.201, 0.199, 0.202, 0.200]
SLOW = [0.250, 0.251, 0.249, 0.252, 0.250]


def _set(folder: Path, make_record: Any, warm: list[float], size: int = 250_000_000, **changes: Any) -> Path:
    rec = make_record(**changes)
    rec["metrics"]["startup_s"]["warm"] = stats.summarize(warm)
    rec["metrics"]["size_bytes"] = size
    record.write(rec, folder)
    return folder


def test_steps_are_marked_where_compare_would_call_them_significant(tmp_path: Path, make_record: Any) -> None:
    sets = [_set(tmp_path / "a1b2c3d", make_record, FAST),
            _set(tmp_path / "b2c3d4e", make_record, [0.201, 0.199, 0.200, 0.202, 0.200]),  # unchanged
            _set(tmp_path / "c3d4e5f", make_record, SLOW, size=260_000_000)]  # a dependency added
    drawn = history(sets)
    assert drawn.labels == ["a1b2c3d", "b2c3d4e", "c3d4e5f"]
    by_metric = {series.metric: series for series in drawn.series}
    assert set(by_metric) == {"size", "startup-warm"}  # no instruction counts in these records
    size = by_metric["size"]
    assert [point.value for point in size.points] == [250e6, 250e6, 260e6]
    assert [(step.since, step.index) for step in size.steps] == [(1, 2)]
    warm = by_metric["startup-warm"]
    assert [(step.since, step.index, step.change.verdict) for step in warm.steps] == \
        [(1, 2, "slower, significant (p=0.008)")]
    assert warm.points[0].low == 0.199 and warm.points[0].high == 0.202
    assert drawn.significant_steps == 2


def test_a_row_missing_from_a_set_is_compared_with_the_nearest_earlier_one(tmp_path: Path,
                                                                           make_record: Any) -> None:
    first = _set(tmp_path / "1", make_record, FAST)
    middle = _set(tmp_path / "2", make_record, FAST, strategy="zipapp", variant="shiv")  # the venv row failed
    last = _set(tmp_path / "3", make_record, FAST, size=300_000_000)
    drawn = history([first, middle, last])
    size = next(s for s in drawn.series if s.metric == "size" and s.row.startswith("venv"))
    assert size.points[1].value is None
    assert [(step.since, step.index) for step in size.steps] == [(0, 2)]
    assert not any(s.row.startswith("zipapp") for s in drawn.series)  # in one set only: no history to draw


def test_the_report_shows_the_history_in_both_renderings(tmp_path: Path, make_record: Any) -> None:
    older = [_set(tmp_path / "sets" / "0001-a1b2c3d", make_record, FAST),
             _set(tmp_path / "sets" / "0002-b2c3d4e", make_record, FAST)]
    results = _set(tmp_path / "results", make_record, SLOW, size=260_000_000)
    (tmp_path / "sets" / "0002-b2c3d4e" / "broken.json").write_text("{not json")  # untrusted input
    assert write_report([results], tmp_path / "report", history=[*older, tmp_path / "no-such-set"]) == 0
    page = (tmp_path / "report" / "report.md").read_text()
    assert "## History across 3 result sets (2 significant step(s))" in page
    assert "| venv/uv gui py3.12 linux | size | 250.0 MB | 250.0 MB | 260.0 MB ↑ | 1 |" in page
    assert "- venv/uv gui py3.12 linux size, 0002-b2c3d4e → results: 250.0 MB → 260.0 MB (+4.0%), larger " \
           "(exact)" in page
    assert "1 invalid record(s) left out" in page
    html = (tmp_path / "report" / "index.html").read_text()
    assert "gui: size across the result sets" in html and "<svg" in html
    assert 'class="failed" title="since 0002-b2c3d4e: larger (exact)"' in html


def test_no_row_in_two_sets_says_so(tmp_path: Path, make_record: Any) -> None:
    results = _set(tmp_path / "results", make_record, FAST)
    other = _set(tmp_path / "other", make_record, FAST, app="dl")
    assert write_report([results], tmp_path / "report", history=[other]) == 0
    assert "No row has an ok record in two of the sets." in (tmp_path / "report" / "report.md").read_text()
