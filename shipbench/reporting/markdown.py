"""The report document (document.py) as Markdown: short enough to append to a GitHub job summary.

Charts and screenshots are left out (the HTML page has them); everything else is the same document.
"""

from __future__ import annotations

from collections.abc import Sequence

from .document import Block, Cell, Charts, Document, Grid, Items, Screenshots, Text, cap


def _escape(text: str, code: bool = False) -> str:
    """Table-safe, one line, capped; outside code spans HTML is escaped too (GitHub renders HTML in Markdown, and
    a job summary would run a record's <script> or show its <img>)."""
    text = cap(text).replace("|", "\\|").replace("\n", " ")
    if not code:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _cell(cell: str | Cell) -> str:
    if isinstance(cell, str):
        return _escape(cell)
    text = _escape(cell.text, code=cell.kind == "code")
    if cell.kind == "best":
        text = f"**{text}**"
    elif cell.kind == "code":
        text = f"`{text}`"
    return text + (f" [{cell.note}]" if cell.note else "")


def _table(columns: Sequence[str], rows: Sequence[Sequence[str | Cell]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]


def _block(block: Block) -> list[str]:
    if isinstance(block, Text):
        text = _escape(block.text)
        return [{"explain": f"_{text}_", "strong": f"**{text}**", "heading": f"### {text}"}.get(block.style, text), ""]
    if isinstance(block, Grid):
        return [*_table(block.columns, block.rows), ""]
    if isinstance(block, Items):
        items = []
        for number, item in enumerate(block.items, start=1):
            if block.code_prefix and ": " in item:
                path, rest = item.split(": ", 1)
                item = f"`{_escape(path, code=True)}`: {_escape(rest)}"
            else:
                item = _escape(item)
            items.append(f"{number}. {item}" if block.ordered else f"- {item}")
        return [*items, ""]
    assert isinstance(block, (Charts, Screenshots))
    return []  # pictures live in index.html


def render(document: Document) -> str:
    out = [f"# {document.title}", "", *_block(document.summary)]
    for section in document.sections:
        if any(isinstance(block, (Charts, Screenshots)) for block in section.blocks):
            continue  # a section of pictures: index.html has it
        body = [line for block in section.blocks for line in _block(block)]
        out += ["#" * section.level + " " + section.title, ""]
        out += body
    return "\n".join(out)
