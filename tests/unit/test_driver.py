"""The driver's promise: every variant ends as exactly one record, whatever the strategy does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shipbench import driver, strategies
from shipbench.errors import Failure
from shipbench.runner import run_app
from shipbench.strategies.base import Artifact, Context


class FakeStrategy:
    """A strategy whose 'artifact' is a Python one-liner, so the driver and measurement run for real."""

    name = "fake"
    variants = ("never-ready", "build-breaks", "bug", "ready")
    summary = "for tests"

    def variants_for(self, app) -> tuple[str, ...]:
        return self.variants

    def planned_steps(self, app) -> int:
        return 3

    def build(self, ctx: Context) -> Artifact:
        if ctx.key.variant == "build-breaks":
            raise Failure("the build failed", ["error: something went wrong", "last line"])
        if ctx.key.variant == "bug":
            raise KeyError("oops")
        code = {
            "never-ready": "import time; print('loading...', flush=True); time.sleep(60)",
            "ready": "import json; print(json.dumps({'event': 'ready'}))",
        }[ctx.key.variant]
        ctx.metrics["size_bytes"] = 1
        return Artifact(path=ctx.build_dir, kind="test", launcher=(sys.executable, "-c", code))

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        run = run_app([*artifact.launcher], timeout=2)
        ctx.metrics["startup_s"] = {"cold": run.ready_s}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setitem(strategies.STRATEGIES, "fake", FakeStrategy())
    monkeypatch.setenv("SHIPBENCH_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("SHIPBENCH_ROOT", str(Path(__file__).resolve().parents[2]))
    return tmp_path / "results"


def test_each_variant_ends_as_one_record(fake: Path) -> None:
    records = {r["variant"]: r for r in driver.run("fake", "gui", "3.12", results_dir=fake)}
    assert len(list(fake.glob("*.json"))) == len(FakeStrategy.variants) == len(records)
    assert records["never-ready"]["status"] == "failed"
    assert records["never-ready"]["reason"].startswith("no ready event within 2 s")
    assert records["never-ready"]["log_tail"] == ["loading..."]
    assert records["build-breaks"]["log_tail"][-1] == "last line"
    assert records["bug"]["reason"] == "shipbench error: KeyError: 'oops'"
    assert records["ready"]["status"] == "ok" and records["ready"]["metrics"]["startup_s"]["cold"] > 0


def test_skip_patterns_leave_a_skipped_record(fake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPBENCH_SKIP", "fake/never-*/gui, other/*")
    records = {r["variant"]: r for r in driver.run("fake", "gui", "3.12", variants=["never-ready", "ready"],
                                                    results_dir=fake)}
    assert records["never-ready"]["status"] == "skipped"
    assert "SHIPBENCH_SKIP (fake/never-*/gui)" in records["never-ready"]["reason"]
    assert records["ready"]["status"] == "ok"


def test_unknown_variant_is_a_usage_error(fake: Path) -> None:
    from shipbench.errors import UsageError

    with pytest.raises(UsageError, match="unknown variant"):
        driver.run("fake", "gui", "3.12", variants=["nope"], results_dir=fake)
