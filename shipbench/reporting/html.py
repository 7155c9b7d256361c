"""The report as one self-contained HTML page: charts as inline SVG, screenshots as data URIs, no network.

Its only script is a few lines at the end that check every chart drew (the browser test reads the result).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from .advice import QUALITY_COLUMNS, qualities, recommendations
from .charts import charts
from .overview import Matrix, common_python, overview
from .tables import (
    GPU_COLUMNS,
    HOST_COLUMNS,
    LABEL_COLUMNS,
    MEASURED_COLUMNS,
    VM_COLUMNS,
    VM_EXPLANATION,
    Report,
    command_rows,
    gpu_gaps,
    gpu_rows,
    host_rows,
    largest_rows,
    measured_rows,
    needs_rows,
    problem_rows,
    row_name,
    variant_name,
    vm_rows,
)

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1180px; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.value, td.ok, td.best, td.missing, td.skipped, td.failed { text-align: right; font-variant-numeric: tabular-nums; }
td.best { background: #e5f5e0; font-weight: 600; }
.skipped { color: #8a6d00; } .failed { color: #b00020; } .missing { color: #777; }
.explain { color: #555; font-style: italic; }
figure.chart { margin: 1rem 0 2rem; } figure.chart svg { max-width: 100%; height: auto; }
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
</script>
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _matrix(matrix: Matrix) -> str:
    head = "".join(f"<th>{escape(c.title)}</th>" for c in matrix.columns)
    parts = [f"<h3>app_{matrix.app}</h3><table><tr><th>strategy / variant</th><th>os</th>{head}</tr>"]
    for rec, cells in matrix.rows:
        label = variant_name(rec)
        command = escape(rec.get("command") or "")
        tds = []
        for cell in cells:
            note = f"<sup>{cell.note}</sup>" if cell.note else ""
            title = f' title="{escape(rec["reason"] or "")}"' if cell.status in ("skipped", "failed") else ""
            tds.append(f'<td class="{cell.status}"{title}>{escape(cell.text)}{note}</td>')
        parts.append(f'<tr><td title="{command}">{escape(label)}</td><td>{escape(rec["os"])}</td>{"".join(tds)}</tr>')
    parts.append("</table>")
    return "".join(parts)


def _screenshots(report: Report, python: str | None) -> str:
    shots = []
    for rec in report.records:
        relative = rec["metrics"].get("screenshot")
        if rec["status"] != "ok" or not relative or rec["python"] != python:
            continue
        for suffix, path in (("", relative), (" (X11)", rec["metrics"].get("x11", {}).get("screenshot"))):
            file = Path(rec.get("_source", ".")).parent / path if path else None
            if file is not None and file.is_file():
                data = base64.b64encode(file.read_bytes()).decode()
                shots.append(f'<figure><img alt="{escape(row_name(rec))}" src="data:image/png;base64,{data}">'
                             f"<figcaption>{escape(row_name(rec) + suffix)}</figcaption></figure>")
    return f'<div class="shots">{"".join(shots)}</div>' if shots else "<p>No screenshots in these records.</p>"


def render(report: Report, root: Path = Path(".")) -> str:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>shipbench report</title>", f"<style>{_STYLE}</style></head><body>", "<h1>shipbench report</h1>"]
    if not report.records:
        sources = ", ".join(escape(str(s)) for s in report.sources)
        parts.append(f'<p class="failed"><strong>No records found</strong> in {sources}.</p>')
    else:
        ok = sum(r["status"] == "ok" for r in report.records)
        hosts = len(report.hosts)
        parts.append(f"<p>{len(report.records)} records from {hosts} host{'s' if hosts != 1 else ''}: {ok} ok, "
                     f"{len(report.not_ok)} skipped or failed.</p>")

    parts.append("<h2>What the numbers say</h2>")
    parts.append(_table(("priority", "derived from the records"), recommendations(report.records)))
    parts.append(_table(QUALITY_COLUMNS, qualities(report.records)))

    notes: dict[str, int] = {}
    python = common_python(report.records)
    matrices = overview(report.records, notes)
    if matrices:
        parts.append(f"<h2>Overview (Python {escape(python or '?')})</h2>")
        parts.append('<p class="explain">Best value per column (and OS) marked; hover a skipped or failed cell '
                     "for its reason, or see the notes below the matrices. Other Pythons: the tables further down."
                     "</p>")
        parts += [_matrix(m) for m in matrices]
        if notes:
            parts.append("<ol>" + "".join(f"<li>{escape(text)}</li>" for text in notes) + "</ol>")

    rows_by_app = {m.app: [rec for rec, _cells in m.rows] for m in matrices}
    gpu_records = [r for r in report.records if r["variant"].endswith("gpu")]
    drawn = charts(rows_by_app, gpu_records)
    if drawn:
        parts.append("<h2>Charts</h2>")
        parts += [f'<figure class="chart" id="chart-{c.name}"><figcaption>{escape(c.title)}</figcaption>{c.svg}'
                  "</figure>" for c in drawn]

    parts += ["<h2>Screenshots</h2>", '<p class="explain">What each build painted: proof it really renders.</p>',
              _screenshots(report, python)]

    gpu, gaps = gpu_rows(report), gpu_gaps(report)
    if gpu or gaps:
        parts += ["<h2>Training on the GPU</h2>",
                  '<p class="explain">Each torch app on CUDA with its description\'s gpu-args: median samples/s per '
                  'batch size, '
                  "achieved TFLOP/s, the fraction of the card's measured matmul peak, and the ratio to the host's "
                  "own PyTorch on the same card.</p>"]
        if gpu:
            parts.append(_table(GPU_COLUMNS, gpu))
        if gaps:
            parts += ["<p>Empty GPU cells, and why:</p>", _table(("row", "status", "reason"), gaps)]

    vms = vm_rows(report)
    if vms:
        parts += ["<h2>Virtual machines</h2>", f'<p class="explain">{escape(VM_EXPLANATION)}</p>',
                  _table(VM_COLUMNS, vms)]
    needs = needs_rows(report)
    if needs:
        parts += ["<h2>What the target machine needs</h2>",
                  '<p class="explain">Each bundle started in a clean minimal Debian container; the packages are '
                  "what its failures named until it started with readable text.</p>",
                  _table(("row", "target", "result", "packages added"), needs)]
    largest = largest_rows(report)
    if largest:
        parts += ["<h2>Where the bytes go (5 largest files)</h2>", _table(("row", "largest files"), largest)]

    parts.append("<details><summary><h2 style='display:inline'>All measurements, metric by metric</h2></summary>")
    parts += [_metric_table(table) for table in report.tables]
    parts.append("</details>")

    if report.not_ok:
        parts += ["<h2>Skipped and failed</h2>", _table(("row", "status", "reason"), problem_rows(report))]
    if report.invalid:
        parts.append("<h2>Invalid records (left out)</h2><ul>")
        parts += [f"<li><code>{escape(str(b.path))}</code>: {escape('; '.join(b.problems[:3]))}</li>"
                  for b in report.invalid]
        parts.append("</ul>")
    parts += ["<h2>Hosts</h2>", _table(HOST_COLUMNS, host_rows(report))]
    parts += ["<h2>Commands</h2>", _table(("command", "rows"), command_rows(report))]
    parts += ["<h2>When each row was measured</h2>", _table(MEASURED_COLUMNS, measured_rows(report))]
    if report.notes:
        parts.append("<h2>Notes from the measurements</h2><ul>")
        parts += [f"<li>{escape(note)}</li>" for note in report.notes]
        parts.append("</ul>")
    parts.append(_CHECK)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _metric_table(table: Any) -> str:
    parts = [f"<h3>{escape(table.metric.title)}</h3>", f'<p class="explain">{escape(table.metric.explanation)}</p>']
    if not table.rows:
        return "".join(parts) + "<p>No records for this metric.</p>"
    if table.missing_everywhere:
        parts.append('<p class="missing"><strong>Not measured in any record.</strong></p>')
    head = "".join(f"<th>{c}</th>" for c in LABEL_COLUMNS)
    parts.append(f"<table><tr>{head}<th>value</th></tr>")
    for row in table.rows:
        cells = "".join(f"<td>{escape(row.label[c])}</td>" for c in LABEL_COLUMNS)
        title = f' title="{escape(row.reason)}"' if row.reason else ""
        parts.append(f'<tr>{cells}<td class="value {row.status}"{title}>{escape(row.cell)}</td></tr>')
    parts.append("</table>")
    return "".join(parts)
