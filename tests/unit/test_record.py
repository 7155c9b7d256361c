from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipbench import record
from shipbench.errors import UsageError


def test_new_record_is_valid_and_has_the_stable_keys(make_record) -> None:
    rec = make_record()
    assert record.validation_errors(rec) == []
    for key in ("schema_version", "strategy", "variant", "app", "python", "os", "arch", "status", "reason",
                "metrics", "host", "versions"):
        assert key in rec


def test_write_is_atomic_and_named_by_key(tmp_path: Path, make_record) -> None:
    path = record.write(make_record(), tmp_path)
    assert path.name == "venv-uv-gui-py3.12-linux-x86_64.json"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    assert json.loads(path.read_text())["status"] == "ok"


def test_an_invalid_record_is_refused_and_nothing_is_written(tmp_path: Path, make_record) -> None:
    rec = make_record(app="Not An App Name")
    with pytest.raises(ValueError, match="app"):
        record.write(rec, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "change",
    [
        {"status": "failed", "reason": None},  # failed needs a reason
        {"status": "ok", "reason": "why?"},  # ok has none
        {"python": "3"},
        {"metrics": {"startup_s": {"warm": {"median": 1.0}}}},  # a summary needs min, max, n
        {"metrics": {"size_bytes": -1}},
    ],
)
def test_schema_rejects(make_record, change) -> None:
    rec = make_record()
    rec.update(change)
    assert record.validation_errors(rec)


def test_load_lists_corrupt_and_invalid_records_and_keeps_the_rest(tmp_path: Path, make_record) -> None:
    record.write(make_record(), tmp_path)
    (tmp_path / "corrupt.json").write_text("{not json")
    bad = make_record(variant="pip")
    bad["status"] = "great"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    records, invalid = record.load_all([tmp_path])
    assert [r["variant"] for r in records] == ["uv"]
    assert sorted(i.path.name for i in invalid) == ["bad.json", "corrupt.json"]
    assert any("status" in problem for i in invalid for problem in i.problems)


def test_the_same_record_merged_twice_counts_once(tmp_path: Path, make_record) -> None:
    rec = make_record()
    for job in ("linux-job", "copy-of-linux-job"):
        (tmp_path / job).mkdir()
        (tmp_path / job / "r.json").write_text(json.dumps(rec))
    records, invalid = record.load_all([tmp_path])
    assert len(records) == 1 and not invalid


def test_a_read_only_results_folder_is_a_clear_error(read_only_dir: Path) -> None:
    with pytest.raises(UsageError, match="cannot write results to .*read-only"):
        record.check_writable(read_only_dir / "results")


@pytest.mark.parametrize("levels", [record.MAX_DEPTH + 1, 1100, 200_000])
def test_nesting_beyond_the_limit_is_refused_the_same_on_every_python(levels: int, make_record) -> None:
    """The rule is shipbench's, not the interpreter's: json.loads gives up near 1,000 levels on 3.11 and takes
    far more on 3.13, so neither a RecursionError nor its absence may decide what a record is."""
    with pytest.raises(ValueError, match="nested too deeply"):
        record.parse("[" * levels + "]" * levels)
    rec = make_record()
    rec["notes"] = ["x"]
    nested: object = "deep"
    for _ in range(levels if levels < 10_000 else record.MAX_DEPTH + 1):
        nested = {"a": nested}
    rec["metrics"]["extra"] = nested
    assert record.validation_errors(rec)[0].startswith("nested too deeply")


def test_nesting_within_the_limit_is_read() -> None:
    levels = record.MAX_DEPTH
    assert record.depth(record.parse("[" * levels + "]" * levels)) == levels
    assert record.depth({"a": [1, {"b": 2}]}) == 3 and record.depth(5) == 0
