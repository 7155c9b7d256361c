"""The GitHub Actions workflow: safe (zizmor), valid (GitHub's schema), and its matrix covers every session."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "shipbench.yml"


def _ci_matrix():
    spec = importlib.util.spec_from_file_location("ci_matrix", ROOT / "scripts" / "ci_matrix.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.fail(f"{name} is missing: it is in the test extra (pip install -e '.[test]')")
    return found


def test_zizmor_finds_nothing() -> None:
    result = subprocess.run([_tool("zizmor"), "--offline", str(WORKFLOW)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_the_workflow_is_valid_for_github() -> None:
    result = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_matrix_covers_every_strategy_session_on_its_systems() -> None:
    ci_matrix = _ci_matrix()
    listed = ci_matrix.sessions(str(ROOT / "noxfile.py"))
    include = ci_matrix.matrix(listed)["include"]
    strategy_sessions = {s["session"] for s in listed if "strategies" in s["tags"]}
    assert strategy_sessions and strategy_sessions == {job["session"] for job in include}
    by_session: dict[str, set[str]] = {}
    for job in include:
        by_session.setdefault(job["session"], set()).add(job["os"])
    from shipbench import strategies

    for session, systems in by_session.items():
        strategy = strategies.get(session.split("(")[0])
        assert systems == set(strategy.oses), session  # said once, in the strategy's module
    assert by_session["vagrant"] == {"linux"} and by_session["venv(py='3.12')"] == {"linux", "windows", "macos"}
    artifacts = [job["artifact"] for job in include]
    assert len(set(artifacts)) == len(artifacts)
    assert all(re.fullmatch(r"[A-Za-z0-9.-]+", name) for name in artifacts)


def test_every_action_is_pinned_by_commit() -> None:
    uses = re.findall(r"uses:\s*(\S+)", WORKFLOW.read_text())
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses
