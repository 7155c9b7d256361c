"""The report document (document.py) as one self-contained HTML page: charts as inline SVG, screenshots as data
URIs, no network.

Its only script is a few lines at the end that check every chart drew (the browser test reads the result).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape as html_escape

from .document import Block, Cell, Charts, Document, Grid, Items, Text, cap


def escape(text: str) -> str:
    """Every text from the document, capped (document.cap) and escaped for HTML, attributes included."""
    return html_escape(cap(text), quote=True)

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1180px; padding: 0 1rem; color: #222; }
.table { overflow-x: auto; margin: .5rem 0 1.5rem; } table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
li, p, code, figcaption { overflow-wrap: anywhere; } .shots figure { max-width: 100%; }
@media (max-width: 600px) { body { font-size: 14px; margin: 1rem auto; } th, td { padding: .2rem .35rem; } }
th { background: #f2f2f2; }
td.value, td.ok, td.best, td.missing, td.skipped, td.failed { text-align: right; font-variant-numeric: tabular-nums; }
td.best { background: #e5f5e0; font-weight: 600; }
td.noisy { text-align: right; font-style: italic; color: #8a6d00; }
.skipped { color: #8a6d00; } .failed { color: #b00020; } .missing { color: #777; }
.explain { color: #555; font-style: italic; }
figure.chart { margin: 1rem 0 2rem; overflow-x: auto; }
/* a phone scrolls a chart, never shrinks its labels to 3 px */
figure.chart svg { max-width: 100%; height: auto; min-width: 640px; }
.shots { display: flex; flex-wrap: wrap; gap: 1rem; } .shots figure { margin: 0; width: 360px; }
.shots img { width: 100%; border: 1px solid #ccc; } details { margin: 1rem 0; }
"""

_CHECK = """
<script>
// The browser test reads this: every chart must have drawn something.
const charts = document.querySelectorAll("figure.chart svg");
const drawn = [...charts].filter(svg => svg.getBBox().width > 0 && svg.querySelectorAll("path, rect, use").length);
document.body.dataset.charts = charts.length;
document.body.dataset.chartsDrawn = drawn.length;
// and the page must fit the window: a wide table scrolls in its own box (1,431 px at 1,400 was the page's)
document.body.dataset.pageWidth = document.documentElement.scrollWidth;
document.body.dataset.windowWidth = window.innerWidth;
</script>
"""


def _cell(cell: str | Cell) -> str:
    if isinstance(cell, str):
        return f"<td>{escape(cell)}</td>"
    kind = f' class="{escape(cell.kind)}"' if cell.kind and cell.kind != "code" else ""
    title = f' title="{escape(cell.title)}"' if cell.title else ""
    text = f"<code>{escape(cell.text)}</code>" if cell.kind == "code" else escape(cell.text)
    note = f"<sup>{cell.note}</sup>" if cell.note else ""
    return f"<td{kind}{title}>{text}{note}</td>"


def _table(columns: Sequence[str], rows: Sequence[Sequence[str | Cell]]) -> str:
    head = "".join(f"<th>{escape(column)}</th>" for column in columns)
    body = "".join("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in rows)
    return f'<div class="table"><table><tr>{head}</tr>{body}</table></div>'  # a wide table scrolls, not the page


def _block(block: Block) -> str:
    if isinstance(block, Text):
        text = escape(block.text)
        return {"explain": f'<p class="explain">{text}</p>', "heading": f"<h3>{text}</h3>",
                "strong": f'<p class="missing"><strong>{text}</strong></p>'}.get(block.style, f"<p>{text}</p>")
    if isinstance(block, Grid):
        return _table(block.columns, block.rows)
    if isinstance(block, Items):
        items = []
        for item in block.items:
            if block.code_prefix and ": " in item:
                path, rest = item.split(": ", 1)
                items.append(f"<li><code>{escape(path)}</code>: {escape(rest)}</li>")
            else:
                items.append(f"<li>{escape(item)}</li>")
        tag = "ol" if block.ordered else "ul"
        return f"<{tag}>{''.join(items)}</{tag}>"
    if isinstance(block, Charts):
        return "".join(f'<figure class="chart" id="chart-{escape(c.name)}"><figcaption>{escape(c.title)}'
                       f"</figcaption>{c.svg}</figure>" for c in block.charts)
    shots = [f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,'
             f'{base64.b64encode(path.read_bytes()).decode()}"><figcaption>{escape(caption)}</figcaption></figure>'
             for caption, path in block.shots]
    return f'<div class="shots">{"".join(shots)}</div>' if shots else "<p>No screenshots in these records.</p>"


def render(document: Document) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{escape(document.title)}</title>", f"<style>{_STYLE}</style></head><body>",
             f"<h1>{escape(document.title)}</h1>", _block(document.summary)]
    folded = False
    for section in document.sections:
        if folded and not section.folded:
            parts.append("</details>")
            folded = False
        title = escape(section.title)
        if section.folded and not folded:
            parts.append(f"<details><summary><h{section.level} style='display:inline'>{title}</h{section.level}>"
                         "</summary>")
            folded = True
            if not section.blocks:
                continue
        else:
            parts.append(f"<h{section.level}>{title}</h{section.level}>")
        parts += [_block(block) for block in section.blocks]
    if folded:
        parts.append("</details>")
    parts += [_CHECK, "</body></html>"]
    return "\n".join(parts) + "\n"
