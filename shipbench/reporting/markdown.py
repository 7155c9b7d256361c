"""The report document (document.py) as Markdown: short enough to append to a GitHub job summary.

Charts and screenshots are left out (the HTML page has them); everything else is the same document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .document import Block, Cell, Charts, Document, Grid, Items, Screenshots, Text, cap

# Markdown's inline markup, escaped wherever it stands: emphasis and strike-through (* _ ~), code spans (`), links
# and images ([ ], which ![ and ]( need), headings' closing #, and the backslash itself. A "_" between two letters
# or digits (app_gui) can open or close nothing, and is left as it is.
_INLINE = re.compile(r"[\\`*~\[\]#]|(?<![^\W_])_|_(?![^\W_])")
# what starts a block when a line begins with it (a quote's > is an entity by then): a list item ("- ", "+ "), a
# rule or a heading's underline ("---", "==="), a numbered item ("1. ", "1) "); "-10%" and "0.35 s" are text
_BLOCK_START = re.compile(r"^\s*(?:[-+=](?=[\s=-]|$)|\d{1,9}[.)](?=\s|$))")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n]")


def _escape(text: str, code: bool = False) -> str:
    """Untrusted text (a record's reason, note, app name, log tail; a folder's name) as plain Markdown text: the
    one place text enters report.md. One line, capped, table-safe (|); outside code spans HTML is escaped (GitHub
    renders HTML in Markdown, and a job summary would run a record's <script> or show its <img>) and so is
    Markdown's own markup, so `[x](javascript:…)` shows as typed and never becomes a link. In a code span (_code)
    nothing but | acts."""
    text = _LINE_BREAKS.sub(" ", cap(text))
    if not code:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        text = _INLINE.sub(lambda found: "\\" + found.group(0), text)
        text = _BLOCK_START.sub(lambda found: found.group(0)[:-1] + "\\" + found.group(0)[-1], text)
    return text.replace("|", "\\|")  # last: a backslash the text had is escaped by now, and cannot eat this one


def _code(text: str) -> str:
    """A code span of untrusted text: fenced by more backticks than any run inside it, so none can close it."""
    inner = _escape(text, code=True)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", inner)), default=0) + 1)
    pad = " " if inner.startswith("`") or inner.endswith("`") else ""  # CommonMark strips one space each side
    return f"{fence}{pad}{inner}{pad}{fence}"


def _cell(cell: str | Cell) -> str:
    if isinstance(cell, str):
        return _escape(cell)
    text = _code(cell.text) if cell.kind == "code" else _escape(cell.text)
    if cell.kind == "best":
        text = f"**{text}**"
    return text + (f" [{cell.note}]" if cell.note else "")


def _table(columns: Sequence[str], rows: Sequence[Sequence[str | Cell]]) -> list[str]:
    lines = ["| " + " | ".join(_escape(column) for column in columns) + " |", "|" + "---|" * len(columns)]
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
                item = f"{_code(path)}: {_escape(rest)}"
            else:
                item = _escape(item)
            items.append(f"{number}. {item}" if block.ordered else f"- {item}")
        return [*items, ""]
    assert isinstance(block, (Charts, Screenshots))
    return []  # pictures live in index.html


def render(document: Document) -> str:
    out = [f"# {_escape(document.title)}", "", *_block(document.summary)]
    for section in document.sections:
        if any(isinstance(block, (Charts, Screenshots)) for block in section.blocks):
            continue  # a section of pictures: index.html has it
        body = [line for block in section.blocks for line in _block(block)]
        out += ["#" * section.level + " " + _escape(section.title), ""]
        out += body
    return "\n".join(out)
