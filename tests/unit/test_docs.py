"""The documentation as its readers use it: examples they copy and uncomment, a site opened from disk, pages
that speak of the product and not of the tracker that shaped it."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import ROOT, documentation

from shipbench import description


def _toml_examples() -> list[tuple[str, str]]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [(f"{page.name}#{number}", block) for page in pages
            for number, block in enumerate(re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), re.S))]


@pytest.mark.parametrize(("where", "block"), _toml_examples(), ids=[where for where, _ in _toml_examples()])
def test_every_toml_example_is_valid_with_its_commented_keys_uncommented(where: str, block: str) -> None:
    """Readers copy an example and uncomment what they need: both must be TOML the description accepts."""
    uncommented = re.sub(r"(?m)^# (?=[a-z][a-z-]* = )", "", block)
    for text in (block, uncommented):
        parsed = description.tomllib.loads(text)
        described = parsed.get("tool", {}).get("shipbench")
        if described is not None and "apps" in described:  # a page may show one table of it (budgets)
            assert description.schema_errors(described) == [], where


def test_no_page_speaks_of_issue_numbers() -> None:
    assert not re.findall(r"\b[Ii]ssues? \d+", documentation())


def test_the_site_opens_from_disk_and_its_first_page_says_the_two_commands() -> None:
    site = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert site["use_directory_urls"] is False  # a folder link opened from file:// shows a directory listing
    first = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "python3 noxw.py " in first and "python3 noxw.py -s tests" in first


def test_every_figure_measured_here_says_when() -> None:
    """The same figure differed between pages (a venv's warm start 0.344 / 0.240 / 0.13 s) with no date: each
    paragraph that reports figures measured here says when, so sittings can be told apart."""
    undated = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for paragraph in page.read_text(encoding="utf-8").split("\n\n"):
            if re.search(r"[Mm]easured here|On real rows here|\bHere \(", paragraph) and \
                    not re.search(r"\b20\d\d-\d\d-\d\d\b", paragraph):
                undated.append(f"{page.name}: {paragraph[:80]}")
    assert not undated, undated
