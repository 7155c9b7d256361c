"""A project outside this repository gets its results and report with the README's one command, run from the
project's own folder, and nothing of it lands in shipbench's checkout."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, ROOT

COMMAND = "python3 ~/src/shipbench/noxw.py"


def test_the_readme_shows_the_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"cd ~/src/your-project\n{COMMAND}\n" in readme


def test_a_project_in_a_temporary_folder_gets_its_report(tmp_path: Path) -> None:
    project = tmp_path / "someone-elses-tool"
    shutil.copytree(FIXTURES / "wordcount", project)
    description = project / "pyproject.toml"
    # the quick rows only, said the way a user says it: in the description
    text, said = re.subn(r"^strategies = .*$", 'strategies = ["venv/uv"]', description.read_text(), flags=re.M)
    assert said == 1, "the fixture's description no longer has one strategies line"
    description.write_text(text)
    before = set((ROOT / "results").glob("*wordcount*")) if (ROOT / "results").is_dir() else set()
    # as from a user's shell: none of this test session's settings, virtual environment or nox
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPBENCH_", "NOX_")) and k != "VIRTUAL_ENV"}
    session_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != session_bin)
    result = subprocess.run(["python3", str(ROOT / "noxw.py")], cwd=project, env=env, capture_output=True,
                            text=True, timeout=1800, check=False)
    log = result.stdout[-4000:] + result.stderr[-4000:]
    assert result.returncode == 0, log
    records = [json.loads(path.read_text()) for path in sorted((project / "results").glob("*.json"))]
    assert records and {r["app"] for r in records} == {"wordcount"}, log
    measured = [r for r in records if r["status"] == "ok"]
    assert {(r["strategy"], r["variant"]) for r in measured} == {("venv", "uv")}, log
    assert {r["python"] for r in measured} >= {"3.11"}
    assert all("not among the app's strategies" in r["reason"] or "Python" in r["reason"]
               for r in records if r["status"] == "skipped")
    assert "wordcount" in (project / "report" / "report.md").read_text()
    assert (project / "report" / "index.html").stat().st_size > 0
    after = set((ROOT / "results").glob("*wordcount*")) if (ROOT / "results").is_dir() else set()
    assert after == before  # nothing of the project's run in shipbench's own results
