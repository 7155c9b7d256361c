"""The plan's estimate of a row: this host's record of it, else its usual time here for the app's kind or the stated
figure, times how the app's other rows here ran; each scaled by the host's pace where it moved far."""

from __future__ import annotations

from typing import Any

import pytest
from test_driver import FakeStrategy  # tests/unit is on sys.path (pytest prepends it)

from shipbench import apps, record, row_estimates, strategies
from shipbench.stats import duration

HERE = {"name": record.host.facts()["name"]}


def _estimate(strategy_name: str, variant: str, previous: dict[str, Any] | None, profile: str = "full",
              others: list[dict[str, Any]] | None = None, app: str = "gui") -> tuple[float, str]:
    strategy = FakeStrategy() if strategy_name == "fake" else strategies.get(strategy_name)
    return row_estimates.estimate(strategy, apps.get(app), variant, "3.11", previous, profile, others or [])


def _rec(app: str, strategy: str, variant: str, seconds: float, capabilities: tuple[str, ...] = ("window",),
         **changes: object) -> dict[str, Any]:
    return {"status": "ok", "created": "2026-12-07T10:00:00+00:00", "profile": "full", "duration_s": seconds,
            "host": HERE, "app": app, "strategy": strategy, "variant": variant, "python": "3.11",
            "capabilities": list(capabilities), **changes}


@pytest.fixture(autouse=True)
def _steady_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(row_estimates, "pace_now", lambda: None)


def test_this_hosts_last_record_is_the_estimate() -> None:
    previous = {"status": "failed", "created": "2026-12-01T10:00:00+00:00", "duration_s": 321.0, "host": HERE}
    assert _estimate("fake", "ready", previous) == (321.0, "last run here 2026-12-01")
    assert _estimate("fake", "ready", {**previous, "host": {"name": "elsewhere"}})[1] == "stated (window app)"
    assert _estimate("fake", "ready", {**previous, "status": "skipped"})[0] == 2.0  # a skip took no real time
    assert duration(40) == "40 s" and duration(180) == "3 min" and duration(7560) == "2.1 h"


def test_an_estimate_is_this_hosts_record_of_the_same_profile_scaled_by_the_pace_now(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick plan said 43 min for a run of 875 s: it took full rows' records (and full rows' stated figures)
    for quick rows, and never asked how fast the host was now."""
    pace = {"median": 0.05, "min": 0.05, "max": 0.05, "n": 3}
    previous = {"status": "ok", "created": "2026-12-07T10:00:00+00:00", "profile": "full", "duration_s": 100.0,
                "host": HERE, "metrics": {"host_load": {"startup": {"pace_s": pace}, "setup_cold": None}}}
    monkeypatch.setattr(row_estimates, "pace_now", lambda: 0.05)
    assert _estimate("venv", "uv", previous) == (100.0, "last run here 2026-12-07")
    monkeypatch.setattr(row_estimates, "pace_now", lambda: 0.09)  # within the probe's own swings here: not scaled
    assert _estimate("venv", "uv", previous) == (100.0, "last run here 2026-12-07")
    monkeypatch.setattr(row_estimates, "pace_now", lambda: 0.125)  # another state altogether: 2.5x as slow
    assert _estimate("venv", "uv", previous) == (250.0, "last run here 2026-12-07, x2.5 for the host's pace now")
    monkeypatch.setattr(row_estimates, "pace_now", lambda: 5.0)  # a moment's stall says little of the host: capped
    assert _estimate("venv", "uv", previous)[0] == 100.0 * row_estimates.PACE_RANGE[1]
    seconds, source = _estimate("venv", "uv", previous, "quick")  # a full record says little of a quick row
    assert (seconds, source) == (strategies.get("venv").rough_quick_s["window"], "stated (window app, quick)")
    assert _estimate("venv", "uv", {**previous, "host": {"name": "elsewhere"}})[1] == "stated (window app)"


def test_a_row_never_run_here_is_its_usual_time_for_apps_of_the_kind() -> None:
    """A host's first run of a new app planned every row from stated figures (3-10x off) while records of the same
    rows for apps of the same kind lay beside it."""
    others = [_rec("qtquick", "pyinstaller", "onedir-trimmed", 80.0),
              _rec("tkpaint", "pyinstaller", "onedir-trimmed", 40.0),
              _rec("paint", "pyinstaller", "onedir-trimmed", 60.0),
              _rec("trainer", "pyinstaller", "onedir-trimmed", 500.0, ("torch",)),  # another kind
              _rec("other", "pyinstaller", "onefile-trimmed", 1.0),  # another variant
              _rec("py13", "pyinstaller", "onedir-trimmed", 1.0, python="3.13"),  # another Python
              _rec("far", "pyinstaller", "onedir-trimmed", 1.0, host={"name": "elsewhere"}),
              _rec("skip", "pyinstaller", "onedir-trimmed", 1.0, status="skipped"),
              _rec("quickly", "pyinstaller", "onedir-trimmed", 1.0, profile="quick")]
    assert _estimate("pyinstaller", "onedir-trimmed", None, "full", others) == (
        60.0, "like paint, qtquick, tkpaint here (window apps, median of 3)")
    assert _estimate("pyinstaller", "onedir-trimmed", None, "quick", others) == (1.0, "like quickly here (window app)")
    assert _estimate("pyinstaller", "onedir-trimmed", None, "full", others[3:4])[1] == "stated (window app)"
    # the row's own record comes first
    own = _rec("gui", "pyinstaller", "onedir-trimmed", 70.0)
    assert _estimate("pyinstaller", "onedir-trimmed", own, "full", others) == (70.0, "last run here 2026-12-07")


def test_a_stated_figure_is_the_quick_variants_and_other_variants_scale_it() -> None:
    """A first full run here from stated figures planned pip's venv rows at uv's time and onefile bundles at onedir
    ones': they took about twice as long (2026-12-07, both samples)."""
    venv, pyinstaller = strategies.get("venv"), strategies.get("pyinstaller")
    window = venv.rough_row_s["window"]
    assert _estimate("venv", "uv", None) == (window, "stated (window app)")
    share = venv.rough_variant_share["pip"]
    assert share > 1 and _estimate("venv", "pip", None) == (window * share, f"stated (window app; pip x{share:.1f})")
    onedir, onefile = (_estimate("pyinstaller", f"{mode}-trimmed", None)[0] for mode in ("onedir", "onefile"))
    assert onedir == pyinstaller.rough_row_s["window"] and onefile > onedir
    # a quick row is the quick variant's own figure: no share
    assert _estimate("venv", "pip", None, "quick")[1] == "stated (window app, quick)"
    for strategy in strategies.STRATEGIES.values():  # a share names a variant the strategy has
        assert set(strategy.rough_variant_share) <= set(getattr(strategy, "variants", ())), \
            strategy.name


def test_an_apps_other_rows_here_scale_its_estimate() -> None:
    """An app's size decides most of its rows' times and is not known before a build; its other rows are. (Public
    apps here: datasette's rows ran 3.7-5.8x their kind's usual, hello's 0.1-0.5x.)"""
    others = [_rec("paint", "pyinstaller", "onedir-trimmed", 60.0), _rec("paint", "venv", "uv", 10.0),
              _rec("paint", "zipapp", "shiv", 20.0),
              _rec("gui", "venv", "uv", 40.0), _rec("gui", "zipapp", "shiv", 60.0)]  # 4x and 3x paint's
    seconds, source = _estimate("pyinstaller", "onedir-trimmed", None, "full", others)
    assert seconds == pytest.approx(60.0 * 3.5)
    assert source == "like paint here (window app), x3.5 as gui's 2 other rows here ran"
    # against the stated figures where no other app ran the row
    alone = [_rec("gui", "venv", "uv", 2 * strategies.get("venv").rough_row_s["window"])]
    seconds, source = _estimate("pyinstaller", "onedir-trimmed", None, "full", alone)
    assert seconds == 2 * strategies.get("pyinstaller").rough_row_s["window"]
    assert source == "stated (window app), x2.0 as gui's 1 other row here ran"
    # a record of a strategy shipbench does not know (an untrusted results folder) says nothing
    assert _estimate("pyinstaller", "onedir-trimmed", None, "full", [_rec("gui", "nosuch", "x", 999.0)])[1] \
        == "stated (window app)"
