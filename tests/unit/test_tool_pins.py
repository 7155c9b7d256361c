"""One place for every tool's pins (shipbench/tools/): each strategy's pin is that strategy's input alone, the SBOM
writer's is every row's."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipbench import inputs, tool_pins
from shipbench.strategies import STRATEGIES


def test_every_pin_file_is_a_strategys_input_or_the_sbom_writers_or_the_installers() -> None:
    pins = {path.stem for path in tool_pins.FOLDER.glob("*.txt")}
    assert pins == {"pyinstaller", "nuitka", "cxfreeze", "zipapp", "locked", "wheel", "sbom", "installers"}
    # the installers are the nox sessions' constraints; their versions are every row's inputs (harness_tool_versions)
    noxfile = (Path(inputs.__file__).resolve().parent.parent / "noxfile.py").read_text(encoding="utf-8")
    assert '"shipbench" / "tools" / "installers.txt"' in noxfile
    assert noxfile.count("*INSTALLERS)") == noxfile.count("session.install(\"-e\"")
    for name in pins - {"sbom", "installers"}:
        assert tool_pins.input_path(name) in STRATEGIES[name].inputs, name
        assert (Path(inputs.__file__).resolve().parent.parent / tool_pins.input_path(name)) == \
            tool_pins.requirements(name)


def test_a_strategys_pin_changes_its_rows_not_every_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    harness = tmp_path / "shipbench"
    (harness / "tools").mkdir(parents=True)
    (harness / "measure.py").write_text("x = 1\n")
    (harness / "tools" / "nuitka.txt").write_text("nuitka==1\n")
    (harness / "tools" / "sbom.txt").write_text("cyclonedx-bom==1\n")
    monkeypatch.setattr(inputs, "_HARNESS", harness)
    before = inputs.harness_digest()
    (harness / "tools" / "nuitka.txt").write_text("nuitka==2\n")
    assert inputs.harness_digest() == before
    (harness / "tools" / "sbom.txt").write_text("cyclonedx-bom==2\n")
    after_sbom = inputs.harness_digest()
    assert after_sbom != before
    (harness / "measure.py").write_text("x = 2\n")
    assert inputs.harness_digest() != after_sbom
