"""The report as Markdown: short enough to append to a GitHub job summary."""

from __future__ import annotations

from .tables import LABEL_COLUMNS, Report


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(report: Report) -> str:
    out = ["# shipbench report", ""]
    if not report.records:
        out += ["**No records found** in " + ", ".join(f"`{s}`" for s in report.sources) + ".", ""]
    else:
        ok = sum(r["status"] == "ok" for r in report.records)
        out += [f"{len(report.records)} records: {ok} ok, {len(report.not_ok)} skipped or failed.", ""]
    for table in report.tables:
        out += [f"## {table.metric.title}", "", f"_{table.metric.explanation}_", ""]
        if not table.rows:
            out += ["No records for this metric.", ""]
            continue
        if table.missing_everywhere:
            out += ["**Not measured in any record.**", ""]
        out += ["| " + " | ".join(LABEL_COLUMNS) + " | value |", "|" + "---|" * (len(LABEL_COLUMNS) + 1)]
        for row in table.rows:
            out.append("| " + " | ".join(_cell(row.label[c]) for c in LABEL_COLUMNS) + f" | {_cell(row.cell)} |")
        out.append("")
    if report.not_ok:
        out += ["## Skipped and failed", "", "| row | status | reason |", "|---|---|---|"]
        for rec in report.not_ok:
            row = f"{rec['strategy']}/{rec['variant']} {rec['app']} py{rec['python']} {rec['os']}"
            out.append(f"| {_cell(row)} | {rec['status']} | {_cell(rec['reason'] or '')} |")
        out.append("")
    if report.invalid:
        out += ["## Invalid records (left out)", ""]
        out += [f"- `{_cell(str(bad.path))}`: {_cell('; '.join(bad.problems[:3]))}" for bad in report.invalid]
        out.append("")
    out += ["## Hosts", "", "| host | OS | CPU | cores | memory | GPU |", "|---|---|---|---|---|---|"]
    for h in report.hosts:
        memory = f"{h['memory_bytes'] / 2**30:.0f} GiB" if h.get("memory_bytes") else "?"
        gpus = ", ".join(g["name"] for g in h.get("gpus", [])) or "none"
        out.append(f"| {_cell(h['name'])} | {_cell(h.get('os_release', h['os']))} | {_cell(h['cpu'])} | "
                   f"{h['cores']} | {memory} | {_cell(gpus)} |")
    out.append("")
    if report.notes:
        out += ["## Notes from the measurements", ""] + [f"- {_cell(note)}" for note in report.notes] + [""]
    return "\n".join(out)
