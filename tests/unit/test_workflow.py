"""The GitHub Actions workflows, read as GitHub's runners would run them: safe (zizmor), valid (GitHub's schema),
pinned to commits from the recorded list, every shell step clean under shellcheck, the matrix right for pushes
and pull requests, a failing plan that fails, and package names chosen per distribution."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from conftest import ROOT, documentation

from shipbench import description
from shipbench.strategies import STRATEGIES

WORKFLOWS = ROOT / ".github" / "workflows"
REUSABLE = WORKFLOWS / "measure.yml"
CALLER = WORKFLOWS / "shipbench.yml"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.fail(f"{name} is missing: it is in the test extra (pip install -e '.[test]')")
    return found


def _load(path: Path) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def _jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, name, job) for path in sorted(WORKFLOWS.glob("*.yml"))
            for name, job in _load(path)["jobs"].items()]


@pytest.fixture(scope="module")
def listed() -> list[dict[str, Any]]:
    return _script("ci_matrix").sessions()  # type: ignore[no-any-return]


# --- safety and validity ---------------------------------------------------------------------------------------
def test_zizmor_finds_nothing() -> None:
    result = subprocess.run([_tool("zizmor"), "--offline", str(WORKFLOWS)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_actionlint_finds_nothing() -> None:
    """The newest actionlint there is on PyPI (a fork that follows GitHub: `$/` calls, a called job's permissions)."""
    result = subprocess.run([_tool("actionlint"), *map(str, sorted(WORKFLOWS.glob("*.yml")))], capture_output=True,
                            text=True, timeout=120, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


_LEVEL = {"none": 0, "read": 1, "write": 2}


def _granted(permissions: Any, scope: str) -> int:
    if permissions in ("read-all", "write-all"):
        return _LEVEL[permissions.split("-")[0]]
    return _LEVEL[(permissions or {}).get(scope, "none")] if isinstance(permissions, dict) else 0


def _lacking(caller: dict[str, Any], workflow: dict[str, Any], called: dict[str, Any]) -> list[str]:
    """What a called workflow's jobs ask for that the calling job does not grant (GitHub refuses such a run before
    any job starts: "The nested job 'report' is requesting 'actions: read', but is only allowed 'actions: none'").
    A job's own `permissions` replace its workflow's; the caller's are the ceiling of every nested job."""
    grants = caller.get("permissions", workflow.get("permissions"))
    lacking = []
    for name, job in called["jobs"].items():
        asks = job.get("permissions", called.get("permissions")) or {}
        for scope, level in (asks.items() if isinstance(asks, dict) else []):
            if _LEVEL[level] > _granted(grants, scope):
                lacking.append(f"{name}: {scope}: {level}")
    return lacking


def _callers() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every job that calls measure.yml: shipbench.yml's and the documentation's example for another repository."""
    found = [(f"{path.name}:{name}", _load(path), job) for path in sorted(WORKFLOWS.glob("*.yml"))
             for name, job in _load(path)["jobs"].items() if str(job.get("uses", "")).find("measure.yml") >= 0]
    for block in re.findall(r"```yaml\n(# \.github/workflows/shipbench\.yml in your repository\n.*?)```",
                            documentation(), re.S):
        example = yaml.safe_load(block)
        found += [(f"the docs' example:{name}", example, job) for name, job in example["jobs"].items()]
    return found


def test_every_caller_grants_what_the_called_jobs_ask_for() -> None:
    callers = _callers()
    assert {name.split(":")[0] for name, _, _ in callers} == {"shipbench.yml", "the docs' example"}
    assert len(callers) >= 3  # shipbench, as-a-user, the example
    called = _load(REUSABLE)
    for name, workflow, job in callers:
        assert not _lacking(job, workflow, called), name


def test_a_caller_that_grants_less_than_a_called_job_asks_is_caught() -> None:
    called = {"jobs": {"plan": {"permissions": {"contents": "read"}},
                       "report": {"permissions": {"contents": "read", "actions": "read"}}}}
    workflow = {"permissions": {}}
    assert _lacking({"permissions": {"contents": "read"}}, workflow, called) == ["report: actions: read"]
    assert _lacking({}, workflow, called) == ["plan: contents: read", "report: contents: read", "report: actions: read"]
    assert _lacking({"permissions": "read-all"}, workflow, called) == []
    assert _lacking({"permissions": {"contents": "write", "actions": "read"}}, workflow, called) == []


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_the_workflow_is_valid_for_github(workflow: Path) -> None:
    result = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_to_the_commit_the_list_records() -> None:
    pins = _script("action_pins")
    listed_pins = pins.read_pins()
    assert listed_pins and all(re.fullmatch(r"[0-9a-f]{40}", pin.commit) for pin in listed_pins.values())
    assert pins.problems(listed_pins, pins.workflow_files()) == []
    uses = [u for path in WORKFLOWS.glob("*.yml")
            for u in re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)", path.read_text(), re.M)]
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) or u.startswith("$/") for u in uses), uses


def test_a_pin_that_is_not_the_listed_commit_or_tag_is_caught(tmp_path: Path) -> None:
    pins = _script("action_pins")
    listed_pins = pins.read_pins()
    checkout = listed_pins["actions/checkout"]
    workflow = WORKFLOWS / "measure.yml"
    text = workflow.read_text()
    moved = tmp_path / "moved.yml"
    moved.write_text(text.replace(checkout.commit, "0" * 40, 1))
    wrong_tag = tmp_path / "tag.yml"
    wrong_tag.write_text(text.replace(f"# {checkout.tag}", "# v1", 1))
    monkey_root = pins.ROOT
    pins.ROOT = tmp_path  # the messages name files relative to the root
    try:
        assert any("the list pins" in p for p in pins.problems(listed_pins, [moved]))
        assert any("should name its tag" in p for p in pins.problems(listed_pins, [wrong_tag]))
    finally:
        pins.ROOT = monkey_root


def test_every_job_has_a_time_limit_and_every_upload_can_be_rerun() -> None:
    for workflow, name, job in _jobs():
        if "uses" in job:  # a call of the reusable workflow: its jobs carry their own limits
            continue
        assert "timeout-minutes" in job, f"{workflow}: {name}"
        for step in job["steps"]:
            if "upload-artifact" in step.get("uses", ""):
                assert step["with"].get("overwrite") is True, f"{workflow}: {name}: {step.get('name')}"


def _run_blocks() -> list[tuple[str, str]]:
    blocks = []
    for workflow, name, job in _jobs():
        for index, step in enumerate(job.get("steps", [])):
            if "run" in step:
                # an expression is text GitHub pastes in: for shellcheck, a quoted word
                script = re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", step["run"])
                blocks.append((f"{workflow}:{name}:{step.get('name', index)}", script))
    return blocks


def test_the_shell_steps_and_scripts_pass_shellcheck(tmp_path: Path) -> None:
    shellcheck = _tool("shellcheck")
    files = [*sorted((ROOT / "scripts").glob("*.sh")), ROOT / "scripts" / "lib" / "apt.sh", ROOT / ".ci" / "run"]
    for label, script in _run_blocks():
        # GitHub runs `bash --noprofile --norc -eo pipefail {0}` for shell: bash (the default on Linux)
        path = tmp_path / (re.sub(r"[^\w.-]+", "_", label) + ".sh")
        path.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + script)
        files.append(path)
    result = subprocess.run([shellcheck, "--external-sources", *map(str, files)], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the matrix ------------------------------------------------------------------------------------------------
def test_the_full_matrix_covers_every_strategy_session_on_its_systems(listed: list[dict[str, Any]]) -> None:
    from shipbench import strategies

    include = _script("ci_matrix").matrix(listed, pythons=["3.11", "3.13"])["include"]
    strategy_sessions = {s["session"] for s in listed if "strategies" in s["tags"]}
    assert strategy_sessions and strategy_sessions == {job["session"] for job in include}
    by_session: dict[tuple[str, str], set[str]] = {}
    for job in include:
        by_session.setdefault((job["session"], job["python"]), set()).add(job["os"])
        strategy = strategies.get(job["session"].split("(")[0])
        assert job["minutes"] == strategy.ci_minutes  # said once, in the strategy's module
    for (session, _python), systems in by_session.items():
        assert systems == set(strategies.get(session.split("(")[0]).oses), session
        assert {p for s, p in by_session if s == session} == {"3.11", "3.13"}  # every session on every Python
    assert by_session[("vagrant", "3.13")] == {"linux"} and by_session[("venv", "3.11")] == {"linux", "windows",
                                                                                              "macos"}
    assert [job["free-disk"] for job in include if job["session"] == "bake(variant='cuda')"] == [True, True]
    artifacts = [job["artifact"] for job in include]
    assert len(set(artifacts)) == len(artifacts)
    assert all(re.fullmatch(r"[A-Za-z0-9.-]+", name) for name in artifacts)


def test_a_quick_run_has_the_first_python_no_vm_and_no_cuda_image(listed: list[dict[str, Any]]) -> None:
    """The first of the Pythons the caller names, whatever they are (never a Python the caller left out)."""
    ci_matrix = _script("ci_matrix")
    full = ci_matrix.matrix(listed, pythons=["3.13", "3.11"])["include"]
    quick = ci_matrix.matrix(listed, quick=True, pythons=["3.13", "3.11"], apps=["gui"])["include"]
    assert 0 < len(quick) < len(full)
    assert {job["python"] for job in quick} == {"3.13"}
    sessions = {job["session"] for job in quick}
    assert "vagrant" not in sessions and "bake(variant='cuda')" not in sessions and "bake(variant='cpu')" in sessions
    assert "venv" in sessions and all(job["args"] == "--app gui" for job in quick)
    assert {job["python"] for job in ci_matrix.matrix(listed, quick=True)["include"]} == set(ci_matrix.DEFAULT_PYTHONS)


def test_strategies_and_pythons_narrow_the_matrix(listed: list[dict[str, Any]]) -> None:
    include = _script("ci_matrix").matrix(listed, strategies=["venv", "bake"], pythons=["3.12"])["include"]
    assert {job["session"] for job in include} == {"venv", "bake(variant='cpu')", "bake(variant='distroless')",
                                                  "bake(variant='cuda')"}
    assert {job["python"] for job in include} == {"3.12"}


def test_the_plan_step_fails_when_nox_fails(tmp_path: Path) -> None:
    broken = tmp_path / "broken" / "nox"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("")
    (broken / "__main__.py").write_text("import sys\nsys.exit('nox: the noxfile could not be read')\n")
    output = tmp_path / "github_output"
    env = {**os.environ, "PYTHONPATH": str(broken.parent), "GITHUB_OUTPUT": str(output), "PATH": _python_first()}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "ci-plan.sh")], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert result.returncode != 0, result.stdout
    assert "nox --list --json` failed" in result.stderr
    assert not output.exists() or "matrix=" not in output.read_text()


def test_the_plan_step_writes_the_matrix(tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "QUICK": "true", "APPS": "gui", "PATH": _python_first()}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "ci-plan.sh")], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    line = output.read_text().strip()
    assert line.startswith("matrix=")
    assert json.loads(line[len("matrix="):])["include"]


def _python_first() -> str:
    """PATH with this interpreter's folder first: the plan step calls `python`, the runner's setup-python one."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


# --- the reusable workflow -------------------------------------------------------------------------------------
def test_the_reusable_workflow_takes_a_project_and_gives_a_report() -> None:
    called = _load(REUSABLE)[True]["workflow_call"]  # YAML 1.1 reads the key `on` as True
    assert {"project", "strategies", "pythons", "apps", "narrow"} <= set(called["inputs"])
    assert "report-artifact" in called["outputs"]


def test_shipbench_calls_the_reusable_workflow_like_any_repository() -> None:
    caller = _load(CALLER)
    triggers = caller[True]
    assert {"push", "pull_request", "schedule"} <= set(triggers)
    job = caller["jobs"]["shipbench"]
    assert job["uses"] == "$/.github/workflows/measure.yml"  # GitHub's self-repository syntax (zizmor asks for it)
    assert job["with"]["narrow"] == "${{ github.event_name == 'pull_request' }}"


def test_a_second_call_takes_a_users_path_with_a_project_of_its_own() -> None:
    """The default shipbench repository, a project folder that is not the root with its own description, and a
    report artifact of its own (so the two calls' records never mix)."""
    jobs = _load(CALLER)["jobs"]
    user = jobs["as-a-user"]
    assert user["uses"] == jobs["shipbench"]["uses"] and "shipbench-repository" not in user["with"]
    project = ROOT / user["with"]["project"]
    described = description.load(project)
    assert project != ROOT and described
    assert any(app.wants(user["with"]["strategies"], variant)
               for app in described.values() for variant in STRATEGIES[user["with"]["strategies"]].variants)
    names = {job["with"].get("report-artifact", "shipbench-report") for job in jobs.values()}
    assert len(names) == len(jobs)


def test_the_readme_example_calls_the_reusable_workflow_with_its_inputs() -> None:
    readme = documentation()
    block = re.search(r"```yaml\n(# \.github/workflows/shipbench\.yml in your repository\n.*?)```", readme, re.S)
    assert block, "README: the example for another repository"
    example = yaml.safe_load(block[1])
    (job,) = example["jobs"].values()
    assert re.fullmatch(r"shipbench/shipbench/\.github/workflows/measure\.yml@\S+", job["uses"]), job["uses"]
    inputs = _load(REUSABLE)[True]["workflow_call"]["inputs"]
    assert set(job.get("with", {})) <= set(inputs)
    assert {name for name, spec in inputs.items() if spec.get("required")} <= set(job["with"])
    assert job["with"]["narrow"] == "${{ github.event_name == 'pull_request' }}"  # no CUDA image on every PR
    assert job["permissions"] == {"contents": "read", "actions": "read"}


def test_the_readmes_job_counts_are_the_matrix_shipbenchs_own_workflow_plans(listed: list[dict[str, Any]]) -> None:
    matrix = _script("ci_matrix")
    caller = _load(CALLER)["jobs"]["shipbench"]["with"]
    pythons = caller["pythons"].split(",")
    quick = matrix.cost(matrix.matrix(listed, quick=True, pythons=pythons, apps=["gui"]))
    full = matrix.cost(matrix.matrix(listed, pythons=pythons))
    readme = documentation()
    for jobs, minutes in (quick, full):
        assert f"{jobs} measuring jobs whose time limits add up to {minutes} runner-minutes" in readme
    example = matrix.cost(matrix.matrix(listed, quick=True, pythons=["3.12"],
                                        strategies=["venv", "pyinstaller", "bake"]))
    assert f"the example below: {example[0]} jobs, {example[1]} runner-minutes on a pull request" in readme


def test_a_deb_job_is_planned_only_for_a_debian_releases_python(listed: list[dict[str, Any]]) -> None:
    from shipbench import docker
    from shipbench.strategies.deb import DebStrategy as Deb

    assert set(Deb.ci_pythons) == set(docker.PYTHON_SUITES)
    jobs = _script("ci_matrix").matrix(listed, pythons=["3.12", "3.11", "3.13"])["include"]
    assert sorted(job["python"] for job in jobs if job["session"] == "deb") == ["3.11", "3.13"]


# --- host packages by distribution -----------------------------------------------------------------------------
TABLE = ROOT / "scripts" / "lib" / "packages.txt"


def _rows() -> list[list[str]]:
    return [line.split(None, 3) for line in TABLE.read_text().splitlines() if line.strip() and line[0] != "#"]


def _packages(tmp_path: Path, os_release: str, *needs: str) -> list[str]:
    release = tmp_path / "os-release"
    release.write_text(os_release)
    script = f'source "{ROOT}/scripts/lib/apt.sh"; packages_for {" ".join(needs)}'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, timeout=60,
                            env={**os.environ, "OS_RELEASE": str(release)})
    return result.stdout.split()


def test_the_package_table_has_a_name_or_a_dash_for_each_distribution_and_a_reason() -> None:
    rows = _rows()
    assert rows and all(len(row) == 4 for row in rows)
    scripts = " ".join(p.read_text() for p in (ROOT / "scripts").glob("*.sh"))
    used = set(re.findall(r"packages_for ([\w-]+)", scripts))
    assert used == {row[0] for row in rows}  # every need a script asks for is listed, and only those


def test_ubuntu_gets_its_own_names(tmp_path: Path) -> None:
    ubuntu = _packages(tmp_path, "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=24.04\n", "measure", "vagrant", "test")
    assert "libglib2.0-0t64" in ubuntu and "libglib2.0-0" not in ubuntu
    assert not {"vagrant", "vagrant-libvirt", "chromium"} & set(ubuntu)  # HashiCorp's vagrant; the runner's browser
    mint = _packages(tmp_path, "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", "measure")
    assert mint == _packages(tmp_path, "ID=ubuntu\n", "measure")


def test_debian_gets_its_own_names(tmp_path: Path) -> None:
    debian = _packages(tmp_path, "ID=debian\nVERSION_ID=\"12\"\n", "measure", "vagrant", "test")
    assert {"libglib2.0-0", "vagrant", "vagrant-libvirt", "chromium"} <= set(debian)
    assert not [name for name in debian if name.endswith("t64") or "{py}" in name]


# --- what a runner may refuse ----------------------------------------------------------------------------------
def test_debootstrap_without_root_and_without_sudo_is_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from shipbench import docker

    monkeypatch.setattr(docker.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(docker.os, "geteuid", lambda: 1001)
    monkeypatch.setattr(docker.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1))
    assert "sudo -n is refused" in (docker.debootstrap_reason() or "")
    monkeypatch.setattr(docker.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0))
    assert docker.debootstrap_reason() is None


def test_too_little_disk_for_the_cuda_image_says_how_much_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    from shipbench import docker

    monkeypatch.setattr(docker, "output", lambda argv: "/var/lib/docker")
    monkeypatch.setattr(docker.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(100, 90, 10 * 10**9))
    assert docker.disk_shortfall(28 * 10**9) == "10.0 GB are free under /var/lib/docker"
    assert docker.disk_shortfall(5 * 10**9) is None


def test_a_pull_request_is_compared_with_its_base_branchs_latest_run() -> None:
    workflow = _load(REUSABLE)
    assert workflow[True]["workflow_call"]["inputs"]["compare-with-base"]["default"] is False
    report = workflow["jobs"]["report"]
    assert report["permissions"] == {"contents": "read", "actions": "read"}  # nothing more
    steps = {step.get("name"): step for step in report["steps"]}
    download = steps["Download the base branch's latest records"]
    assert "pull_request" in download["if"] and "inputs.compare-with-base" in download["if"]
    assert "${{" not in download["run"]  # what the event says reaches the shell as variables only
    assert download["env"]["BASE_REF"] == "${{ github.base_ref }}"
    compare = steps["Compare with the base branch (budgets in [tool.shipbench.budgets] fail this step)"]
    assert "--session compare" in compare["run"] and 'exit "$status"' in compare["run"]


def _fake(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_the_history_downloads_earlier_runs_oldest_first_and_passes_them_to_the_report(tmp_path: Path) -> None:
    """The two steps' shell run for real, with `gh` and `python` standing in for GitHub and the report: runs come
    oldest first, this run and a run whose artifact expired are left out, and the report gets the rest."""
    report = _load(REUSABLE)["jobs"]["report"]
    assert _load(REUSABLE)[True]["workflow_call"]["inputs"]["history-runs"]["default"] == 0
    steps = {step.get("name"): step for step in report["steps"]}
    download = steps["Download earlier runs' records for the history"]
    merge = steps["Merge the records into one report"]
    assert "${{" not in download["run"] and "${{" not in merge["run"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # gh applies --jq itself: the fake prints what the query makes of newest-first runs 103, 102, 101
    _fake(bin_dir, "gh", 'if [ "$2" = list ]; then printf "101 aaaaaaa1111\\n102 bbbbbbb2222\\n103 ccccccc3333\\n"; '
                         'exit 0; fi\ncase "$*" in *"--pattern shipbench-report-records-*"*) ;; *) exit 9;; esac\n'
                         'case "$3" in 102) exit 1;; esac\nwhile [ "$1" != --dir ]; do shift; done\n'
                         'mkdir -p "$2/shipbench-report-records-x"\n')
    _fake(bin_dir, "python", 'printf "%s\\n" "$@" > "$ARGS_OUT"\n')
    output = tmp_path / "output"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path / "temp"), "GITHUB_OUTPUT":
           str(output), "THIS_RUN": "103", "RUNS": "3", "REPOSITORY": "o/r", "WORKFLOW": "w", "BRANCH": "main",
           "GITHUB_WORKSPACE": str(tmp_path / "ws"), "ARGS_OUT": str(tmp_path / "args"),
           "RECORDS": "shipbench-report-records-*"}
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", download["run"]], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "run 102 has no records artifact left" in done.stdout
    sets = output.read_text().strip().removeprefix("sets=")
    assert sets == f"{tmp_path}/temp/history/101-aaaaaaa"
    done = subprocess.run(["bash", "-e", "-c", merge["run"]], env={**env, "HISTORY": sets}, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "args").read_text().splitlines()[-4:] == [
        "--results", f"{tmp_path}/ws/artifacts", "--history", sets]
    done = subprocess.run(["bash", "-e", "-c", merge["run"]], env={**env, "HISTORY": ""}, check=False)
    assert done.returncode == 0 and "--history" not in (tmp_path / "args").read_text()  # none asked: none given


def test_a_base_whose_records_expired_is_said_and_passes(tmp_path: Path) -> None:
    """The base's latest run is there, its records artifact is not (kept 14 days): the step says so, passes, and
    gives no folder, so the comparison is not run (it failed the report job)."""
    download = {step.get("name"): step for step in _load(REUSABLE)["jobs"]["report"]["steps"]}[
        "Download the base branch's latest records"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake(bin_dir, "gh", 'if [ "$2" = list ]; then echo 77; exit 0; fi\necho "no valid artifacts found" >&2; exit 1\n')
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(output),
           "GITHUB_STEP_SUMMARY": str(summary), "REPOSITORY": "o/r", "WORKFLOW": "w", "BASE_REF": "main",
           "RECORDS": "shipbench-report-records-*"}
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", download["run"]], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "(77) has no records artifact left" in summary.read_text()
    assert not output.exists() or "folder=" not in output.read_text()


def test_only_a_pull_requests_newer_push_cancels_a_run() -> None:
    """Pushes to main and the weekly run share their ref: cancelling on it killed each full run (hours) and its
    report at the next push."""
    concurrency = _load(CALLER)["concurrency"]
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"


def test_the_records_artifacts_are_named_after_the_report_so_two_calls_keep_theirs_apart(
        listed: list[dict[str, Any]]) -> None:
    matrix = _script("ci_matrix")
    jobs = matrix.matrix(listed, artifact_prefix="nightly-report-records")["include"]
    assert jobs and all(job["artifact"].startswith("nightly-report-records-") for job in jobs)
    workflow = _load(REUSABLE)["jobs"]
    plan = next(step for step in workflow["plan"]["steps"] if step.get("id") == "plan")
    assert plan["env"]["ARTIFACT_PREFIX"] == "${{ inputs.report-artifact }}-records"
    downloads = [step for step in workflow["report"]["steps"] if "download-artifact" in str(step.get("uses"))]
    assert [step["with"]["pattern"] for step in downloads] == ["${{ inputs.report-artifact }}-records-*"]
    shells = [step for step in workflow["report"]["steps"] if "gh run download" in str(step.get("run"))]
    assert len(shells) == 2 and all(step["env"]["RECORDS"] == "${{ inputs.report-artifact }}-records-*"
                                    and "'records-*'" not in step["run"] for step in shells)


def test_a_failed_host_set_up_still_runs_the_session_that_records_why() -> None:
    """The vagrant job's set-up failed on every full run and left no record: the session runs regardless."""
    steps = _load(REUSABLE)["jobs"]["measure"]["steps"]
    set_up = next(step for step in steps if "install-vagrant.sh" in step.get("run", ""))
    assert set_up.get("continue-on-error") is True
    session = next(step for step in steps if "noxw.py" in step.get("run", ""))
    assert "if" not in session or "always()" in session["if"]


def test_the_report_needs_a_plan_that_succeeded() -> None:
    """A failed plan measured nothing: a report of evidence/ alone must not pass for this run's result."""
    report = _load(REUSABLE)["jobs"]["report"]
    assert set(report["needs"]) == {"plan", "measure"}
    assert report["if"] == "${{ !cancelled() && needs.plan.result == 'success' }}"


def test_the_harness_commit_is_the_callers_to_give() -> None:
    """A default of main ran main's harness under a workflow pinned to another commit."""
    ref = _load(REUSABLE)[True]["workflow_call"]["inputs"]["shipbench-ref"]
    assert ref.get("required") is True and "default" not in ref


def test_an_engine_of_windows_containers_is_no_docker_for_linux_images(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub's Windows runners have Docker, for Windows containers only: the clean-container checks must say so,
    not advise `apt-get install debootstrap` after `docker info` answered."""
    from shipbench import docker

    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho '27.5.1 windows'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert "runs windows containers" in (docker.unavailable_reason() or "")
    fake.write_text("#!/bin/sh\necho '27.5.1 linux'\n")
    assert docker.unavailable_reason() is None
