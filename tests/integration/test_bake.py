"""Docker Bake for real: the generated plan, the gui and dl images built and run, and no secret left in an image."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, ROOT, TORCH, requires, run_sample, sample_warm_runs, torch_missing

from shipbench import bake_context, docker, host, record
from shipbench.strategies import bake

pytestmark = requires(docker.unavailable_reason(), "bash scripts/install-docker.sh")
NEEDS_TORCH = requires(torch_missing("3.11"), TORCH)


def _stage(tmp_path: Path, app_name: str, variant: str, project: Path = ROOT) -> bake_context.Staged:
    """The build context the strategy generates for an app (a sample's by default), staged as a run would."""
    from shipbench import apps, settings
    from shipbench.console import steps
    from shipbench.strategies.base import Context

    app = apps.get(app_name, project)
    key = record.Key("bake", variant, app_name, "3.11")
    with steps("staging", 1) as progress:
        ctx = Context(key, app, settings.harness_root(), tmp_path, tmp_path, record.new_record(key), progress)
        return bake_context.stage(ctx, tmp_path / "context", "python:3.11-slim")


def _print(*argv: str, cwd: Path = ROOT) -> dict[str, Any]:
    done = subprocess.run(["docker", "buildx", "bake", "--print", *argv], cwd=cwd, capture_output=True, text=True,
                          check=True, env=bake_context.bake_environment(ROOT, None))
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_repository_bake_file_lists_the_samples_cpu_and_cuda_targets() -> None:
    """`docker buildx bake --print` at the root: the samples' targets, each with the build args shipbench derives
    from the same sample's description (SAMPLES in docker-bake.hcl cannot drift from pyproject.toml)."""
    from shipbench import apps

    assert set(_print()["target"]) == {"gui-cpu", "dl-cpu", "dl-cuda"}  # the default group
    assert set(_print("cpu")["target"]) == {"gui-cpu", "dl-cpu"}
    plan = _print("cpu", "distroless", "cuda")["target"]
    assert set(plan) == {"gui-cpu", "gui-distroless", "dl-cpu", "dl-distroless", "dl-cuda"}
    for name, app in apps.all_apps(ROOT).items():
        derived = bake_context.variables(app, "python:3.11-slim")
        for variant in ("cpu", "distroless", "cuda") if app.uses_torch else ("cpu", "distroless"):
            args = plan[f"{name}-{variant}"]["args"]
            assert args["APP_DIR"] == app.folder.relative_to(ROOT).as_posix()
            assert args["SYSTEM_PACKAGES"] == derived["APP_SYSTEM_PACKAGES"]
            for key in ("APP_START", "APP_IS_PROJECT", "APP_REQUIREMENTS", "APP_EXTRAS", "APP_TORCH", "BASE_IMAGE"):
                assert args[key] == derived[key], (name, key)
            assert args["TORCH_USE_WHEELS"] == ("0" if variant == "cuda" else "1")
            assert plan[f"{name}-{variant}"]["tags"] == [f"shipbench/{name}:bench-{variant}"]


def test_a_staged_context_is_the_same_bake_file_with_the_apps_variables(tmp_path: Path) -> None:
    """What a user sees who copies a project app's staged context: one target of the same file, from app.hcl."""
    staged = _stage(tmp_path, "wordcount", "cpu", project=FIXTURES / "wordcount")
    plan = _print("--file", "docker-bake.hcl", "--file", "app.hcl", staged.target, cwd=staged.bake_file.parent)
    (target,) = plan["target"].values()
    # the default group of an app without torch: its CPU image, and no CUDA group without a target
    default = _print("--file", "docker-bake.hcl", "--file", "app.hcl", cwd=staged.bake_file.parent)
    assert set(default["target"]) == {staged.target}
    assert target["args"]["APP_DIR"] == "app" and target["args"]["APP_START"].startswith("/opt/venv/bin/")
    assert target["tags"] == [staged.tag] and "secret" not in target


# app_dl's image is left out of CI (its time budget): what it alone proves is torch in a container
DL_BEYOND_CI = pytest.mark.beyond_ci(
    "app_dl's image: torch in a container, about 5 min here; in CI torch trains in the venv rows (three "
    "installers), and the same generated Dockerfile builds, runs and is measured for app_gui and three fixture apps")


@pytest.fixture(scope="module")
def gui_image() -> dict[str, Any]:
    """The main job's CPU image of app_gui, in the checkout's results/ and build/."""
    return run_sample("bake", "gui", "cpu")["cpu"]


@pytest.fixture(scope="module")
def distroless_gui_image() -> dict[str, Any]:
    return run_sample("bake", "gui", "distroless")["distroless"]


@pytest.fixture(scope="module")
def dl_image() -> dict[str, Any]:
    return run_sample("bake", "dl", "cpu")["cpu"]


def _ok(rec: dict[str, Any]) -> dict[str, Any]:
    assert rec["status"] == "ok", f"{rec['reason']}\n" + "\n".join(rec.get("log_tail", []))
    return rec["metrics"]


@pytest.mark.parametrize("target", ["gui", pytest.param("dl", marks=[NEEDS_TORCH, DL_BEYOND_CI])])
def test_images_build_run_and_are_measured(request: pytest.FixtureRequest, target: str) -> None:
    image = request.getfixturevalue(f"{target}_image")
    metrics = _ok(image)
    assert metrics["size_bytes"] > metrics["base_image_bytes"] > 0
    assert 0 < metrics["download_bytes"] < metrics["size_bytes"]
    assert metrics["layers"] >= 2 and metrics["venv_bytes"] > 0
    assert metrics["setup_s"]["cold"] > 0 and metrics["setup_s"]["warm"] > 0
    warm = metrics["startup_s"]["warm"]
    assert 0 < warm["min"] <= warm["median"] <= warm["max"] and warm["n"] == sample_warm_runs()
    assert metrics["peak_rss_bytes"] > 0  # the app's own report: the docker client's RSS would mean nothing
    assert image["versions"]["image_user"] not in ("", "root", "0")


def test_the_build_context_stays_small(gui_image: dict[str, Any]) -> None:
    assert _ok(gui_image)["context_bytes"] < 1_000_000  # the staged context: the app and its deps list only


def test_the_distroless_gui_image_has_no_shell_fewer_packages_and_still_draws(
        gui_image: dict[str, Any], distroless_gui_image: dict[str, Any]) -> None:
    """The same app, venv and window packages on an empty image: smaller, far fewer Debian packages, no /bin/sh,
    and the window is drawn offscreen (fonts found) and over X11 as from the cpu image."""
    metrics, cpu = _ok(distroless_gui_image), _ok(gui_image)
    assert metrics["shell"] is False and cpu["shell"] is True
    assert 0 < metrics["debian_packages"] < cpu["debian_packages"] / 1.5
    assert metrics["size_bytes"] < cpu["size_bytes"] and metrics["download_bytes"] < cpu["download_bytes"]
    assert metrics["venv_bytes"] > 10_000_000 and metrics["screenshot"]
    assert metrics["x11"]["status"] in ("ok", "skipped")
    assert distroless_gui_image["versions"]["image_user"] == "app"


def test_gui_image_runs_offscreen_and_over_x11(gui_image: dict[str, Any]) -> None:
    metrics = _ok(gui_image)
    assert metrics["qt_platform"] == "offscreen"
    x11 = metrics["x11"]
    assert x11["status"] == "ok", x11
    for shot in (metrics["screenshot"], x11["screenshot"]):
        assert (ROOT / "results" / shot).read_bytes()[:4] == b"\x89PNG"


@NEEDS_TORCH
@DL_BEYOND_CI
def test_dl_cpu_image_trains(dl_image: dict[str, Any]) -> None:
    metrics = _ok(dl_image)
    assert metrics["device"] == "cpu" and metrics["loss_last"] < 0.5 * metrics["loss_first"]
    assert metrics["throughput_ratio_to_baseline"] > 0


def test_no_secret_in_any_layer_or_the_history(tmp_path: Path) -> None:
    """Build an image with a CA bundle carrying a unique marker, then look for it everywhere. The app is the
    wordcount fixture: its pip install reaches PyPI through the secret as the samples' do, in a minute instead of
    the GUI image's uncached Qt install."""
    marker = f"shipbench-secret-{uuid.uuid4()}"
    host_bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    bundle = tmp_path / "ca.pem"
    bundle.write_text((host_bundle.read_text() if host_bundle.is_file() else "") + f"\n# {marker}\n")
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    tag = f"shipbench/secret-test:{uuid.uuid4().hex[:8]}"
    staged = _stage(tmp_path / "stage", "wordcount", "cpu", project=FIXTURES / "wordcount")
    subprocess.run(["docker", "buildx", "bake", "--load", "--no-cache", "--file", "docker-bake.hcl", "--file",
                    "app.hcl", "--set", f"{staged.target}.tags={tag}",
                    "--set", f"{staged.target}.args.BASE_IMAGE={bake.base_image('3.11', ROOT)[0]}", staged.target],
                   cwd=staged.bake_file.parent, check=True, capture_output=True, timeout=1800,
                   env=bake_context.bake_environment(ROOT, str(bundle)))
    try:
        history = subprocess.run(["docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag],
                                 capture_output=True, text=True, check=True).stdout
        assert marker not in history and str(bundle) not in history
        container = subprocess.run(["docker", "create", tag], capture_output=True, text=True,
                                   check=True).stdout.strip()
        export = subprocess.Popen(["docker", "export", container], stdout=subprocess.PIPE)
        try:
            with tarfile.open(fileobj=export.stdout, mode="r|") as files:  # every file of the image, streamed
                for member in files:
                    if member.isfile():
                        content = files.extractfile(member).read()
                        assert marker.encode() not in content, f"the secret is in {member.name}"
                        assert hashlib.sha256(content).hexdigest() != digest, f"the CA bundle is {member.name}"
        finally:
            export.wait()
            subprocess.run(["docker", "rm", container], capture_output=True, check=False)
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


def test_the_samples_image_builds_at_the_repository_root_without_shipbench(gui_image: dict[str, Any]) -> None:
    """`docker buildx bake gui-cpu` at the root, as docs/bake.md says (after the bake row: its layers are cached,
    the dependencies' layer included, as the two contexts give the same requirements file)."""
    tag = f"shipbench/gui:root-{uuid.uuid4().hex[:8]}"
    base = bake.base_image("3.11", ROOT)[0]
    subprocess.run(["docker", "buildx", "bake", "--load", "--set", f"gui-cpu.tags={tag}", "gui-cpu"], cwd=ROOT,
                   check=True, capture_output=True, timeout=1800,
                   env={**bake_context.bake_environment(ROOT, host.ca_bundle()), "BASE_IMAGE": base})
    try:
        done = subprocess.run(["docker", "run", "--rm", tag, "--help"], capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0 and "usage: app_gui" in done.stdout, done.stderr
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)
