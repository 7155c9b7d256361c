"""The report as one self-contained HTML page: no scripts, no fonts, no network; it opens from disk."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .tables import (
    GPU_COLUMNS,
    HOST_COLUMNS,
    LABEL_COLUMNS,
    Report,
    gpu_gaps,
    gpu_rows,
    host_rows,
    largest_rows,
    needs_rows,
    problem_rows,
)

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.value { text-align: right; font-variant-numeric: tabular-nums; }
.skipped { color: #8a6d00; } .failed { color: #b00020; } .missing { color: #777; }
.explain { color: #555; font-style: italic; }
"""


def _table(headers: tuple[str, ...], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render(report: Report) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>shipbench report</title>", f"<style>{_STYLE}</style></head><body>", "<h1>shipbench report</h1>"]
    if not report.records:
        sources = ", ".join(escape(str(s)) for s in report.sources)
        parts.append(f'<p class="failed"><strong>No records found</strong> in {sources}.</p>')
    else:
        ok = sum(r["status"] == "ok" for r in report.records)
        parts.append(f"<p>{len(report.records)} records: {ok} ok, {len(report.not_ok)} skipped or failed.</p>")
    for table in report.tables:
        parts.append(f"<h2>{escape(table.metric.title)}</h2>")
        parts.append(f'<p class="explain">{escape(table.metric.explanation)}</p>')
        if not table.rows:
            parts.append("<p>No records for this metric.</p>")
            continue
        if table.missing_everywhere:
            parts.append('<p class="missing"><strong>Not measured in any record.</strong></p>')
        head = "".join(f"<th>{c}</th>" for c in LABEL_COLUMNS)
        parts.append(f"<table><tr>{head}<th>value</th></tr>")
        for row in table.rows:
            cells = "".join(f"<td>{escape(row.label[c])}</td>" for c in LABEL_COLUMNS)
            title = f' title="{escape(row.reason)}"' if row.reason else ""
            parts.append(f'<tr>{cells}<td class="value {row.status}"{title}>{escape(row.cell)}</td></tr>')
        parts.append("</table>")
    gpu, gaps = gpu_rows(report), gpu_gaps(report)
    if gpu or gaps:
        parts += ["<h2>Training on the GPU</h2>",
                  '<p class="explain">app_dl on CUDA (bf16 autocast, hidden 4096): median samples/s per batch size, '
                  "achieved TFLOP/s, the fraction of the card's measured matmul peak, and the ratio to the host's "
                  "own PyTorch on the same card.</p>"]
        if gpu:
            parts.append(_table(GPU_COLUMNS, gpu))
        if gaps:
            parts += ["<p>Empty GPU cells, and why:</p>", _table(("row", "status", "reason"), gaps)]
    needs = needs_rows(report)
    if needs:
        parts += ["<h2>What the target machine needs</h2>",
                  '<p class="explain">Each bundle started in a clean minimal Debian container; the packages are '
                  "what its failures named until it started with readable text.</p>",
                  _table(("row", "target", "result", "packages added"), needs)]
    largest = largest_rows(report)
    if largest:
        parts += ["<h2>Where the bytes go (5 largest files)</h2>", _table(("row", "largest files"), largest)]
    if report.not_ok:
        parts.append("<h2>Skipped and failed</h2>")
        parts.append(_table(("row", "status", "reason"), problem_rows(report)))
    if report.invalid:
        parts.append("<h2>Invalid records (left out)</h2><ul>")
        parts += [f"<li><code>{escape(str(b.path))}</code>: {escape('; '.join(b.problems[:3]))}</li>"
                  for b in report.invalid]
        parts.append("</ul>")
    parts += ["<h2>Hosts</h2>", _table(HOST_COLUMNS, host_rows(report))]
    if report.notes:
        parts.append("<h2>Notes from the measurements</h2><ul>")
        parts += [f"<li>{escape(note)}</li>" for note in report.notes]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
