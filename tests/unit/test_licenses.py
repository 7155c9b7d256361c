"""Licences from CycloneDX components (metadata's expression, SPDX ids, classifiers), copyleft by kind, the SBOM
written whole or not at all, and the report's table with each SBOM copied beside it (and nothing else read)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from shipbench import licenses, record
from shipbench.errors import Failure
from shipbench.reporting import write_report

# components as cyclonedx-py 7.5 writes them for a venv with PySide6 and requests (cut)
BOM = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
    {"type": "library", "name": "PySide6_Essentials", "version": "6.12.0",
     "licenses": [{"acknowledgement": "declared", "expression": "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only"}]},
    {"type": "library", "name": "certifi", "version": "2026.10.19",
     "licenses": [{"license": {"acknowledgement": "declared", "id": "MPL-2.0"}},
                  {"license": {"acknowledgement": "declared",
                               "name": "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)"}}]},
    {"type": "library", "name": "requests", "version": "2.34.2",
     "licenses": [{"license": {"acknowledgement": "declared", "id": "Apache-2.0"}}]},
    {"type": "library", "name": "oldlib", "version": "1.0",
     "licenses": [{"license": {"name": "License :: OSI Approved :: GNU General Public License v3 (GPLv3)"}}]},
    {"type": "library", "name": "bare", "version": "0.1"},
]}


def test_a_components_licence_is_its_expression_else_its_ids_else_its_classifier() -> None:
    parts = {c["name"]: licenses.licence_of(c) for c in BOM["components"]}
    assert parts == {"PySide6_Essentials": "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only", "certifi": "MPL-2.0",
                     "requests": "Apache-2.0", "oldlib": "GNU General Public License v3 (GPLv3)", "bare": ""}


@pytest.mark.parametrize(("expression", "kind"), [
    ("MIT", "permissive"), ("BSD-3-Clause AND Apache-2.0", "permissive"), ("MPL-2.0", "weak copyleft"),
    ("LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only", "weak copyleft"), ("GPL-3.0-only", "strong copyleft"),
    ("AGPL-3.0-or-later", "strong copyleft"), ("MIT OR GPL-3.0-only", "permissive"),
    ("GPL-2.0-or-later WITH Bootloader-exception", "weak copyleft"),
    ("GNU General Public License v3 (GPLv3)", "strong copyleft"), ("", "unknown")])
def test_copyleft_is_read_from_the_expression_and_of_a_choice_the_weaker_counts(expression: str, kind: str) -> None:
    assert licenses.kind(expression) == kind


def test_the_summary_names_copyleft_and_undeclared_distributions_and_what_ships_besides() -> None:
    found = licenses.summarize(BOM, (("CPython, the interpreter it carries", "PSF-2.0"),))
    assert (found["distributions"], found["kinds"]) == (5, {"permissive": 1, "weak copyleft": 2,
                                                            "strong copyleft": 1, "unknown": 1})
    assert [entry["name"] for entry in found["copyleft"]] == ["certifi", "oldlib", "PySide6_Essentials"]
    assert found["unknown"] == ["bare"]
    assert found["runtime"] == [{"name": "CPython, the interpreter it carries", "license": "PSF-2.0",
                                 "kind": "permissive"}]


def _tool(tmp_path: Path, body: str) -> Path:
    tool = tmp_path / "cyclonedx-py"
    tool.write_text(f"#!{sys.executable}\nimport json, sys\nargs = sys.argv[1:]\n{body}\n", encoding="utf-8")
    tool.chmod(0o755)
    return tool


def test_the_sbom_is_written_whole_and_a_failing_tool_leaves_nothing_and_says_its_last_line(tmp_path: Path) -> None:
    good = _tool(tmp_path, f"open(args[args.index('-o') + 1], 'w').write({json.dumps(json.dumps(BOM))})")
    target = tmp_path / "results" / "sboms" / "row.cdx.json"
    assert licenses.write_sbom(good, Path(sys.executable), target)["components"][0]["name"] == "PySide6_Essentials"
    assert json.loads(target.read_text())["bomFormat"] == "CycloneDX"
    bad = _tool(tmp_path, "open(args[args.index('-o') + 1], 'w').write('{'); "
                          "sys.exit('ValueError: no site-packages found')")
    broken = tmp_path / "results" / "sboms" / "other.cdx.json"
    with pytest.raises(Failure, match="cyclonedx-py failed: ValueError: no site-packages found"):
        licenses.write_sbom(bad, Path(sys.executable), broken)
    assert sorted(path.name for path in broken.parent.iterdir()) == ["row.cdx.json"]
    # a full disk: the tool "succeeds" with an empty file (found: a 0-byte .partial SBOM left in results/)
    empty = _tool(tmp_path, "open(args[args.index('-o') + 1], 'w').write('')")
    with pytest.raises(Failure, match="the SBOM could not be written to .*other.cdx.json"):
        licenses.write_sbom(empty, Path(sys.executable), broken)
    assert sorted(path.name for path in broken.parent.iterdir()) == ["row.cdx.json"]


def test_the_report_lists_licences_and_puts_each_checked_sbom_beside_it(tmp_path: Path, make_record: Any) -> None:
    results = tmp_path / "results"
    (results / "sboms").mkdir(parents=True)
    (results / "sboms" / "good.cdx.json").write_text(json.dumps(BOM))
    (results / "sboms" / "fake.cdx.json").write_text('{"not": "a bom"}')
    (tmp_path / "secret.cdx.json").write_text(json.dumps(BOM))
    for index, sbom in enumerate(("sboms/good.cdx.json", "sboms/fake.cdx.json", "../secret.cdx.json")):
        rec = make_record(strategy="pyinstaller", variant=f"v{index}")
        rec["metrics"]["licenses"] = {**licenses.summarize(BOM), "sbom": sbom}
        (results / f"r{index}.json").write_text(json.dumps(rec))
    assert write_report([results], tmp_path / "report") == 0
    page = (tmp_path / "report" / "report.md").read_text()
    assert "## What ships inside: glibc floor, hardening, licences" in page
    assert ("| 5 | certifi 2026.10.19 (MPL-2.0; weak copyleft); oldlib 1.0 (GNU General Public License v3 (GPLv3); "
            "strong copyleft); PySide6_Essentials 6.12.0 (LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only; weak "
            "copyleft) | bare | – | sboms/") in page
    copied = list((tmp_path / "report" / "sboms").iterdir())
    assert [path.name.split("-", 1)[1] for path in copied] == ["good.cdx.json"]
    assert json.loads(copied[0].read_text()) == BOM
    assert "refused: not a CycloneDX JSON document" in page
    assert "refused: not a relative path to a .cdx.json file inside the record's folder" in page
    loaded, invalid = record.load_all([results])  # the SBOMs beside the records are never read as records
    assert len(loaded) == 3 and invalid == []
