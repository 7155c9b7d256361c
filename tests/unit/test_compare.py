"""Comparing two runs: the test on known samples, the verdicts, budgets (syntax and breaches), old records."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from shipbench import budgets, description, metric_kinds, record, stats
from shipbench.errors import UsageError
from shipbench.reporting import compare, document, markdown, write_report

FAST = [0.200, 0.201, 0.199, 0.202, 0.200]
SLOW = [0.250, 0.251, 0.249, 0.252, 0.250]


# --- the test, on samples with known answers ------------------------------------------------------------------
def test_fully_separated_samples_give_the_exact_smallest_p() -> None:
    assert stats.mann_whitney_p(FAST, SLOW) == pytest.approx(2 / math.comb(10, 5))  # 0.0079
    assert stats.mann_whitney_p([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)  # 3 a side can never reach 0.05


def test_equal_samples_are_no_change() -> None:
    assert stats.mann_whitney_p(FAST, FAST) == pytest.approx(1.0)
    assert stats.mann_whitney_p([1.0] * 5, [1.0] * 5) == pytest.approx(1.0)  # all tied


def test_interleaved_samples_are_not_significant() -> None:
    assert stats.mann_whitney_p([1, 3, 5, 7, 9], [2, 4, 6, 8, 10]) > 0.5


def test_the_normal_approximation_agrees_with_a_known_value() -> None:
    # 15 even numbers against 15 odd ones shifted by 9, no ties: U = 55 of 225 pairs, mean 112.5, variance
    # 15 * 15 * 31 / 12 = 581.25; with the continuity correction z = (57.5 - 0.5) / sqrt(581.25) = 2.364, p = 0.018
    a, b = [2 * i for i in range(15)], [2 * i + 9 for i in range(15)]
    expected = math.erfc(57 / math.sqrt(581.25) / math.sqrt(2))
    assert expected == pytest.approx(0.01807, abs=1e-5)
    assert math.comb(30, 15) > stats.EXACT_SPLITS
    assert stats.mann_whitney_p(a, b) == pytest.approx(expected, rel=1e-9)


def test_four_a_side_are_the_fewest_that_can_be_significant() -> None:
    assert stats.fewest_for_significance() == 4
    assert stats.summarize([0.3, 0.1, 0.2])["samples"] == [0.3, 0.1, 0.2]  # raw values kept, in order


# --- verdicts on records ------------------------------------------------------------------------------------------
def _warm(samples: list[float]) -> dict[str, Any]:
    return stats.summarize(samples)


def _run(folder: Path, make_record: Any, warm: list[float] | None, size: int = 250_000_000,
         throughput: list[float] | None = None, **changes: Any) -> Path:
    rec = make_record(**changes)
    if warm is not None:
        rec["metrics"]["startup_s"]["warm"] = _warm(warm)
    rec["metrics"]["size_bytes"] = size
    if throughput is not None:
        rec["metrics"]["throughput"] = stats.summarize(throughput)
    record.write(rec, folder)
    return folder


def _verdict(comparison: compare.Comparison, metric: str) -> compare.Change:
    return next(change for change in comparison.changes if change.metric == metric)


def test_an_unchanged_row_is_no_significant_change(tmp_path: Path, make_record: Any) -> None:
    base = _run(tmp_path / "base", make_record, FAST)
    head = _run(tmp_path / "head", make_record, [0.201, 0.199, 0.200, 0.202, 0.200])
    result = compare.compare(base, head)
    assert _verdict(result, "startup-warm").verdict.startswith("no significant change (p=")
    assert _verdict(result, "size").verdict == "unchanged"
    assert not any(change.significant for change in result.changes)


def test_a_slower_start_and_a_larger_bundle_are_flagged_exactly(tmp_path: Path, make_record: Any) -> None:
    base = _run(tmp_path / "base", make_record, FAST)
    head = _run(tmp_path / "head", make_record, SLOW, size=260_000_000)
    result = compare.compare(base, head)
    warm = _verdict(result, "startup-warm")
    assert warm.significant and warm.worse and warm.verdict == "slower, significant (p=0.008)"
    size = _verdict(result, "size")
    assert size.significant and size.verdict == "larger (exact)" and size.ratio == pytest.approx(1.04)
    assert [c.metric for c in result.changes if c.significant] == ["startup-warm", "size"]  # the largest first
    assert _verdict(result, "startup-cold").verdict == "one figure each: not tested"


def test_three_runs_a_side_are_too_few_to_tell(tmp_path: Path, make_record: Any) -> None:
    base = _run(tmp_path / "base", make_record, FAST[:3])
    head = _run(tmp_path / "head", make_record, SLOW[:3])
    verdict = _verdict(compare.compare(base, head), "startup-warm")
    assert not verdict.significant and verdict.verdict.startswith("too few samples to tell (3 and 3")


def test_a_busy_or_spread_side_is_too_noisy_to_tell(tmp_path: Path, make_record: Any) -> None:
    base = _run(tmp_path / "base", make_record, FAST)
    busy = make_record()
    busy["metrics"]["startup_s"]["warm"] = _warm(SLOW)
    busy["metrics"]["host_load"] = {"startup": {"outside_cores": 1.4, "load_avg_1m": 3.0, "other_runs": 0,
                                                "busy": True}}
    record.write(busy, tmp_path / "head")
    verdict = _verdict(compare.compare(base, tmp_path / "head"), "startup-warm")
    assert not verdict.significant and verdict.verdict.startswith("too noisy to tell (measured on a busy host")
    spread = _run(tmp_path / "spread", make_record, [0.2, 0.35, 0.5, 0.15, 0.42])
    assert _verdict(compare.compare(base, spread), "startup-warm").verdict == \
        "too noisy to tell (the middle half of its runs spread 2.1x)"


def test_one_slow_run_among_steady_ones_is_not_noise_to_a_rank_test(tmp_path: Path, make_record: Any) -> None:
    base = _run(tmp_path / "base", make_record, [0.200, 0.201, 0.199, 0.202, 0.200, 0.201])
    head = _run(tmp_path / "head", make_record, [0.201, 0.199, 0.450, 0.200, 0.202, 0.200])  # a page-fault run
    verdict = _verdict(compare.compare(base, head), "startup-warm")
    assert stats.middle_spread([0.201, 0.199, 0.450, 0.200, 0.202, 0.200]) == pytest.approx(1.009, abs=1e-3)
    assert verdict.verdict.startswith("no significant change (p=") and not verdict.significant


def _paced(folder: Path, make_record: Any, warm: list[float], pace: list[float]) -> Path:
    rec = make_record()
    rec["metrics"]["startup_s"]["warm"] = _warm(warm)
    rec["metrics"]["host_load"] = {"startup": {"outside_cores": 0.01, "load_avg_1m": 0.5, "other_runs": 0,
                                               "busy": False, "pace_s": stats.summarize(pace)}}
    record.write(rec, folder)
    return folder


def test_a_host_whose_pace_moved_between_the_runs_is_too_noisy_to_tell(tmp_path: Path, make_record: Any) -> None:
    """Seen here: an unchanged row started 20% faster in a second sitting on an idle host. The reference run
    timed beside each start-up moved with it, so the change is the host's, not the app's."""
    base = _paced(tmp_path / "base", make_record, FAST, [0.100, 0.101, 0.099, 0.102, 0.100])
    head = _paced(tmp_path / "head", make_record, SLOW, [0.125, 0.126, 0.124, 0.127, 0.125])
    verdict = _verdict(compare.compare(base, head), "startup-warm")
    assert not verdict.significant
    assert verdict.verdict == ("too noisy to tell (the host's pace moved between the runs: its reference run took "
                               "0.100 s → 0.125 s (+25%, p=0.008))")


def test_a_steady_pace_or_one_within_the_tolerance_leaves_the_test_to_decide(tmp_path: Path,
                                                                            make_record: Any) -> None:
    base = _paced(tmp_path / "base", make_record, FAST, [0.100, 0.101, 0.099, 0.102, 0.100])
    steady = _paced(tmp_path / "steady", make_record, SLOW, [0.101, 0.100, 0.100, 0.099, 0.102])
    assert _verdict(compare.compare(base, steady), "startup-warm").verdict == "slower, significant (p=0.008)"
    drifted = _paced(tmp_path / "drifted", make_record, SLOW, [0.103, 0.104, 0.103, 0.104, 0.105])  # +3%
    assert _verdict(compare.compare(base, drifted), "startup-warm").significant
    unpaced = _run(tmp_path / "unpaced", make_record, SLOW)  # a record from before the pace was kept
    assert _verdict(compare.compare(base, unpaced), "startup-warm").significant


def test_old_records_are_compared_by_their_summaries_only(tmp_path: Path, make_record: Any) -> None:
    base = _run(tmp_path / "base", make_record, None)  # the fixture's summary has no samples: an old record
    head = _run(tmp_path / "head", make_record, SLOW)
    verdict = _verdict(compare.compare(base, head), "startup-warm")
    assert not verdict.significant and verdict.verdict.startswith("summaries only")


def test_rows_in_one_run_only_are_listed(tmp_path: Path, make_record: Any) -> None:
    base = _run(tmp_path / "base", make_record, FAST)
    _run(base, make_record, FAST, strategy="pyinstaller", variant="onedir")
    head = _run(tmp_path / "head", make_record, FAST)
    _run(head, make_record, FAST, strategy="zipapp", variant="shiv")
    result = compare.compare(base, head)
    assert result.only_base == ["pyinstaller/onedir gui py3.12 linux"]
    assert result.only_head == ["zipapp/shiv gui py3.12 linux"]


def test_the_markdown_the_json_and_the_report_carry_the_same_comparison(tmp_path: Path, make_record: Any) -> None:
    base = _run(tmp_path / "base", make_record, FAST)
    head = _run(tmp_path / "head", make_record, SLOW, size=300_000_000)
    result = compare.compare(base, head)
    text = markdown.render(document.comparison_document(result))
    assert "| venv/uv gui py3.12 linux | size | 250.0 MB | 300.0 MB | +20.0% | larger (exact) |" in text
    assert text.index("| size |") < text.index("| startup-cold |")  # real changes first
    data = json.loads(json.dumps(result.as_json()))
    assert data["test"] == "two-sided Mann-Whitney U" and len(data["changes"]) == len(result.changes)
    assert write_report([head], tmp_path / "report", since=base) == 0
    page = (tmp_path / "report" / "report.md").read_text()
    assert f"## Since {base}" in page and "slower, significant (p=0.008)" in page


# --- budgets ------------------------------------------------------------------------------------------------------
def test_budget_syntax_is_read_and_bad_syntax_is_refused() -> None:
    rules = budgets.parse({"pyinstaller/*": {"size": "80 MB", "startup-warm": "600 ms"},
                           "*/* gui": {"size": "+5%", "throughput": "-10%", "download": "30 MiB"}})
    by = {(r.pattern, r.metric): r for r in rules}
    assert by["pyinstaller/*", "size"].limit == 80e6
    assert by["pyinstaller/*", "startup-warm"].limit == pytest.approx(0.6)
    assert by["*/* gui", "size"].relative == pytest.approx(0.05)
    assert by["*/* gui", "throughput"].relative == pytest.approx(0.10)
    assert by["*/* gui", "download"].limit == 30 * 2**20
    for table, message in [({"x/*": {"size": "80 parsecs"}}, "cannot read '80 parsecs'"),
                           ({"x/*": {"size": "-5%"}}, "a limit on size getting worse is written \\+5%"),
                           ({"x/*": {"startup-cold": "1 s"}}, "no budget metric 'startup-cold'"),
                           ({"x/*": {}}, "expected a table of limits"),
                           ({"x/*": {"size": 80}}, "expected a string")]:
        with pytest.raises(UsageError, match=message):
            budgets.parse(table)


def test_budget_metrics_are_the_schemas() -> None:
    names = description.schema()["properties"]["budgets"]["additionalProperties"]["propertyNames"]["enum"]
    assert names == list(metric_kinds.BUDGETED)


def test_patterns_match_a_row_with_or_without_its_app() -> None:
    rule = budgets.parse({"pyinstaller/*": {"size": "1 MB"}})[0]
    assert rule.applies_to("pyinstaller/onedir gui") and not rule.applies_to("nuitka/standalone gui")
    assert budgets.parse({"*/* gui": {"size": "1 MB"}})[0].applies_to("venv/uv gui")


def test_a_budget_breach_fails_with_one_line_and_noise_never_does(tmp_path: Path, make_record: Any) -> None:
    base = _run(tmp_path / "base", make_record, FAST)
    grown = _run(tmp_path / "grown", make_record, FAST, size=270_000_000)
    rules = budgets.parse({"venv/*": {"size": "+5%"}})
    (line,) = compare.compare(base, grown, rules).breaches
    assert line.startswith("budget broken: venv/uv gui py3.12 linux: size 250.0 MB → 270.0 MB (+8.0%")
    assert "'venv/*' size = '+5%'" in line
    # slower by 25%, but three runs a side cannot show it: no breach
    few = _run(tmp_path / "few-base", make_record, FAST[:3])
    slower = _run(tmp_path / "few-head", make_record, SLOW[:3])
    assert compare.compare(few, slower, budgets.parse({"venv/*": {"startup-warm": "+5%"}})).breaches == []
    # an absolute limit: broken only when every run is over it
    over = _run(tmp_path / "over", make_record, SLOW)
    absolute = budgets.parse({"venv/*": {"startup-warm": "0.24 s"}})
    assert len(compare.compare(base, over, absolute).breaches) == 1
    one_slow = _run(tmp_path / "one-slow", make_record, [0.2, 0.2, 0.3, 0.2, 0.2])
    assert compare.compare(base, one_slow, absolute).breaches == []


def test_compare_exits_1_on_a_breach_and_2_on_bad_budgets(tmp_path: Path, make_record: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from shipbench import cli, settings

    monkeypatch.setattr(settings, "_command_line", {})  # main() sets this process's flags: not for later tests
    monkeypatch.setattr(settings, "_project_override", None)
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("print('hi')\n")
    pyproject = project / "pyproject.toml"
    table = '[tool.shipbench.apps.hi]\nscript = "app.py"\nready = "exit"\n'
    pyproject.write_text(table + '[tool.shipbench.budgets]\n"venv/*" = { size = "+5%" }\n')
    base = _run(tmp_path / "base", make_record, FAST)
    head = _run(tmp_path / "head", make_record, FAST, size=300_000_000)
    out = tmp_path / "compare.md"
    args = ["compare", str(base), str(head), "--project", str(project), "--markdown", str(out)]
    assert cli.main(args) == 1
    assert "budget broken: venv/uv gui py3.12 linux: size" in out.read_text()
    assert cli.main(["compare", str(base), str(base), "--project", str(project)]) == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "app.py").write_text("print('hi')\n")
    (bad / "pyproject.toml").write_text(table + '[tool.shipbench.budgets]\n"venv/*" = { size = "big" }\n')
    assert cli.main(["compare", str(base), str(head), "--project", str(bad)]) == 2


def _project(tmp_path: Path, budget_lines: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose pyproject.toml has these [tool.shipbench.budgets] lines, for `compare --project`."""
    from shipbench import settings

    monkeypatch.setattr(settings, "_command_line", {})  # main() sets this process's flags: not for later tests
    monkeypatch.setattr(settings, "_project_override", None)
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("print('hi')\n")
    (project / "pyproject.toml").write_text('[tool.shipbench.apps.hi]\nscript = "app.py"\nready = "exit"\n'
                                            f"[tool.shipbench.budgets]\n{budget_lines}")
    return project


@pytest.mark.parametrize(("pattern", "hint"), [
    ("venv/uv/gui", "did you mean 'venv/uv gui' or 'venv/uv'?"),
    ("nosuch/*", "the rows are 'pyinstaller/onedir', 'pyinstaller/onedir gui', 'venv/uv', 'venv/uv gui'"),
])
def test_a_budget_pattern_that_matches_no_row_is_refused_naming_the_rows(
        tmp_path: Path, make_record: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        pattern: str, hint: str) -> None:
    from shipbench import cli

    project = _project(tmp_path, f'"{pattern}" = {{ size = "+5%" }}\n"venv/*" = {{ size = "1 GB" }}\n', monkeypatch)
    base = _run(tmp_path / "base", make_record, FAST)
    head = _run(tmp_path / "head", make_record, FAST, strategy="pyinstaller", variant="onedir")
    assert cli.main(["compare", str(base), str(head), "--project", str(project)]) == 2
    err = capsys.readouterr().err
    assert err == (f"shipbench: error: [tool.shipbench.budgets] {pattern!r} matches no row of either run ({hint}): a "
                   "budget that matches nothing checks nothing; correct the pattern or remove it\n")


def test_a_budget_pattern_matching_a_row_of_one_run_or_a_skipped_row_is_a_real_row(tmp_path: Path,
                                                                                   make_record: Any) -> None:
    """A pull request's narrow run lacks rows its base has, and a runner without a GPU skips the GPU rows: such a
    pattern names a real row, so it is no mistake (it checks the rows the head has, as always)."""
    base = _run(tmp_path / "base", make_record, FAST)
    _run(base, make_record, FAST, strategy="pyinstaller", variant="onedir")
    head = _run(tmp_path / "head", make_record, FAST, size=300_000_000)
    record.write(make_record("skipped", strategy="nuitka", variant="standalone"), head)
    rules = budgets.parse({"pyinstaller/*": {"size": "1 MB"}, "nuitka/*": {"size": "1 MB"}, "venv/*": {"size": "+5%"}})
    (line,) = compare.compare(base, head, rules).breaches
    assert line.startswith("budget broken: venv/uv gui py3.12 linux: size")


@pytest.mark.parametrize("trouble", ["a folder", "below a file", "in a read-only folder"])
@pytest.mark.parametrize("flag", ["--json", "--markdown"])
def test_compare_output_that_cannot_be_written_is_one_line_and_exit_2(
        tmp_path: Path, make_record: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        request: pytest.FixtureRequest, trouble: str, flag: str) -> None:
    from shipbench import cli

    project = _project(tmp_path, '"venv/*" = { size = "+5%" }\n', monkeypatch)
    base = _run(tmp_path / "base", make_record, FAST)
    if trouble == "a folder":
        out, why = tmp_path / "out", "Is a directory"
        out.mkdir()
    elif trouble == "below a file":
        (tmp_path / "file").write_text("")
        out, why = tmp_path / "file" / "compare.out", "Not a directory"
    else:
        out, why = request.getfixturevalue("read_only_dir") / "missing" / "compare.out", "Read-only file system"
        if os.geteuid() != 0:
            why = "Permission denied"
    assert cli.main(["compare", str(base), str(base), "--project", str(project), flag, str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"shipbench: error: cannot write {out}: {why}\n"
    left = [p for p in tmp_path.rglob("*") if p.name.startswith(".") and p.name.endswith(".tmp")]
    assert left == [] and not out.is_file()  # nothing half-written


# --- the gate metric ----------------------------------------------------------------------------------------------
def test_callgrinds_total_is_read_from_its_output() -> None:
    from shipbench import instructions

    text = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 906663530\nfn=(1) main\n"
    assert instructions.callgrind_total(text) == 906_663_530
    assert instructions.callgrind_total("events: Ir\ntotals: 12\n") == 12
    assert instructions.callgrind_total("events: Ir\n") is None


def _counted(folder: Path, make_record: Any, counts: list[float]) -> Path:
    rec = make_record()
    rec["metrics"]["instructions"] = stats.summarize(counts)
    record.write(rec, folder)
    return folder


def test_instruction_counts_change_beyond_their_floor_only(tmp_path: Path, make_record: Any) -> None:
    base = _counted(tmp_path / "base", make_record, [906.78e6, 906.67e6, 906.66e6, 906.70e6, 906.66e6])
    same = _counted(tmp_path / "same", make_record, [906.70e6, 906.69e6, 906.80e6])  # 0.01% apart: noise
    grown = _counted(tmp_path / "grown", make_record, [930.1e6, 930.2e6, 930.1e6])  # 2.6% more
    assert _verdict(compare.compare(base, same), "instructions").verdict == "no change beyond the 0.5% floor"
    moved = _verdict(compare.compare(base, grown), "instructions")
    assert moved.significant and moved.worse and moved.verdict == "more, beyond the 0.5% floor"
    rules = budgets.parse({"venv/*": {"instructions": "+1%"}})
    (line,) = compare.compare(base, grown, rules).breaches
    assert "instructions 906.7 M → 930.1 M (+2.6%" in line
    assert compare.compare(base, grown, budgets.parse({"venv/*": {"instructions": "950 M"}})).breaches == []
