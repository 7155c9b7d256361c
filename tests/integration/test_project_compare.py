"""`shipbench compare` on real rows: one row measured, the app changed (a dependency added, so the environment
grows), measured again; compare flags the size exactly, fails the size budget with one line, and judges the
warm start-up by its test (whatever the verdict: timing is never asserted). The same run against itself is no
change at all, and passes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES

TESTED = ("no significant change (p=", "slower, significant (p=", "faster, significant (p=", "too noisy to tell (")


def _shipbench(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipbench", *args, "--project", str(project)], cwd=project,
                          capture_output=True, text=True, timeout=900, check=False)


def _measure(project: Path, results: str) -> None:
    run = _shipbench(project, "run", "venv", "--variant", "uv", "--warm-runs", "5", "--results", results)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def test_compare_flags_the_grown_environment_and_its_budget(tmp_path: Path) -> None:
    project = tmp_path / "wordcount"
    shutil.copytree(FIXTURES / "wordcount", project, ignore=shutil.ignore_patterns("build"))
    description = project / "pyproject.toml"
    _measure(project, "base")
    text = description.read_text()
    assert 'dependencies = ["tabulate>=0.9"]' in text
    description.write_text(text.replace('dependencies = ["tabulate>=0.9"]', 'dependencies = ["tabulate>=0.9", '
                                        '"six"]') + '\n[tool.shipbench.budgets]\n"venv/*" = { size = "+1%" }\n')
    _measure(project, "head")

    result = _shipbench(project, "compare", "base", "head", "--json", "compare.json")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    breaches = [line for line in result.stdout.splitlines() if line.startswith("budget broken:")]
    assert len(breaches) == 1 and ": size " in breaches[0] and "'venv/*' size = '+1%'" in breaches[0], breaches
    changes = {c["metric"]: c for c in json.loads((project / "compare.json").read_text())["changes"]}
    assert changes["size"]["significant"] and changes["size"]["head"] > changes["size"]["base"]
    assert changes["startup-warm"]["samples"] == [5, 5]
    assert changes["startup-warm"]["verdict"].startswith(TESTED), changes["startup-warm"]

    same = _shipbench(project, "compare", "base", "base", "--json", "same.json")
    assert same.returncode == 0, same.stdout[-3000:]
    unchanged = json.loads((project / "same.json").read_text())["changes"]
    assert unchanged and not any(c["significant"] for c in unchanged)
    (warm,) = [c["verdict"] for c in unchanged if c["metric"] == "startup-warm"]
    assert warm == "no significant change (p=1.00)" or warm.startswith("too noisy to tell ("), warm  # a busy host

    # the same two runs as a history (base, then this run's results): the size step is marked, in both files
    drawn = _shipbench(project, "report", "--history", "base", "--results", "head", "--out", "history")
    assert drawn.returncode == 0, drawn.stdout[-3000:] + drawn.stderr[-3000:]
    page = (project / "history" / "report.md").read_text()
    assert "## History across 2 result sets" in page
    size_row = next(line for line in page.splitlines() if line.startswith("| venv/uv wordcount") and "| size |" in line)
    assert size_row.rstrip().endswith("↑ | 1 |"), size_row
    assert "wordcount: size across the result sets" in (project / "history" / "index.html").read_text()
    # every warm start-up was paced: the reference run beside each is in the record
    (head_record,) = (project / "head").glob("venv-uv-*.json")
    assert json.loads(head_record.read_text())["metrics"]["host_load"]["startup"]["pace_s"]["n"] == 5
