"""The build Python is a setting (issue 22): by default the one shipbench runs on (the distribution's python3 on a
fresh machine, not a fixed 3.11), and images and guests use the Debian release whose own python3 it is."""

from __future__ import annotations

import sys

import pytest

from shipbench import docker, record, settings


def test_the_default_python_is_the_one_shipbench_runs_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPBENCH_PYTHON", raising=False)
    assert settings.pythons() == [f"{sys.version_info[0]}.{sys.version_info[1]}"]


def test_the_python_setting_takes_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPBENCH_PYTHON", "3.13,3.11,3.13")
    assert settings.pythons() == ["3.13", "3.11"]
    monkeypatch.setenv("SHIPBENCH_PYTHON", "3.x")
    with pytest.raises(Exception, match="SHIPBENCH_PYTHON='3.x'"):
        settings.pythons()


@pytest.mark.parametrize(("python", "suite"), [("3.11", "bookworm"), ("3.13", "trixie"), ("3.12", None)])
def test_each_python_has_the_debian_release_whose_python3_it_is(python: str, suite: str | None) -> None:
    assert docker.suite_for_python(python) == suite


def test_a_python_no_debian_release_has_is_skipped_by_the_vm_with_the_pythons_that_work(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import ROOT
    from rich.progress import Progress

    from shipbench import apps, console
    from shipbench.errors import Skip
    from shipbench.strategies import base, vagrant

    strategy = vagrant.VagrantStrategy()
    key = record.Key("vagrant", "libvirt", "gui", "3.12")
    ctx = base.Context(key, apps.get("gui", ROOT), ROOT, tmp_path, tmp_path, record.new_record(key),
                       console.Steps(Progress(console=console.console), "x", 1))
    monkeypatch.setattr(vagrant, "unavailable_reason", lambda: None)  # as where Vagrant is installed
    with pytest.raises(Skip, match="no Debian release has Python 3.12 .*--python 3.11 or 3.13"):
        strategy.build(ctx)


def test_the_reason_names_the_releases() -> None:
    assert docker.no_suite_reason("3.12") == ("no Debian release has Python 3.12 as its python3 (3.11: Debian 12, "
                                              "3.13: Debian 13); run with --python 3.11 or 3.13")
