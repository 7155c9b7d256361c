"""The report as one document: sections of text, tables, charts and screenshots, built once from the records.

Everything the report says is decided here: which sections exist, in which order, with which explanation and
which rows. markdown.py and html.py only format this model (Markdown leaves out what it cannot show: charts
and screenshots), so the two files can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fsutil import is_png
from ..hostload import BUSY_CORES
from ..metric_kinds import BY_NAME as COMPARED
from . import verdict
from .advice import QUALITY_COLUMNS, qualities, recommendations
from .charts import MAX_APPS, Chart, charts, history_charts
from .compare import Comparison, fmt
from .history import History
from .inside import INSIDE_COLUMNS, INSIDE_EXPLANATION, LICENCE_COLUMNS, LICENCE_EXPLANATION, inside_rows, licence_rows
from .overview import common_python, overview
from .tables import (
    GPU_COLUMNS,
    HOST_COLUMNS,
    LABEL_COLUMNS,
    MEASURED_COLUMNS,
    VM_COLUMNS,
    VM_EXPLANATION,
    Report,
    busy_rows,
    command_rows,
    gpu_gaps,
    gpu_rows,
    host_rows,
    largest_rows,
    measured_rows,
    needs_rows,
    plan_against_time,
    problem_rows,
    row_name,
    variant_name,
    vm_rows,
)

TEXT_LIMIT = 2000


def cap(text: str, limit: int = TEXT_LIMIT) -> str:
    """Text as the report shows it: at most `limit` characters (a record's note or reason can be megabytes; the
    record keeps all of it)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit:,} more characters in the record)"


@dataclass(frozen=True)
class Cell:
    """A table cell with what a renderer may show of it: a kind (best, skipped, failed, missing, value), a hover
    title, a footnote number."""

    text: str
    kind: str = ""
    title: str = ""
    note: int | None = None


@dataclass
class Text:
    text: str
    style: str = "plain"  # plain, explain (how to read what follows), strong (a warning), heading (a sub-title)


@dataclass
class Grid:
    columns: Sequence[str]
    rows: Sequence[Sequence[str | Cell]]


@dataclass
class Items:
    items: list[str]
    ordered: bool = False
    code_prefix: bool = False  # each item starts with a path, shown as code up to the first ": "


@dataclass
class Charts:
    charts: list[Chart]


@dataclass
class Screenshots:
    shots: list[tuple[str, Path]]  # caption, PNG file beside a record


Block = Text | Grid | Items | Charts | Screenshots


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    level: int = 2
    folded: bool = False  # long detail a page may fold away (HTML: <details>)


@dataclass
class Document:
    title: str
    summary: Text
    sections: list[Section]
    attachments: list[tuple[str, Path]] = field(default_factory=list)  # (name in the report folder, checked file)


def build(report: Report, progress: str | None = None, since: Comparison | None = None,
          history: History | None = None) -> Document:
    """The report's one model. `progress`: a run is still going (or stopped), said before anything else;
    `since`: these records compared with a base run's (`report --since BASE`), said next; `history`: result
    sets in commit order (`report --history`), after it."""
    if not report.records:
        summary = Text("No records found in " + ", ".join(str(s) for s in report.sources) + ".", "strong")
    else:
        ok = sum(r["status"] == "ok" for r in report.records)
        hosts = len(report.hosts)
        summary = Text(f"{len(report.records)} records from {hosts} host{'s' if hosts != 1 else ''}: {ok} ok, "
                       f"{len(report.not_ok)} skipped or failed.")
    sections = [Section("This run is not finished", [Text(progress, "strong")])] if progress else []
    sections += [since_section(since)] if since else []
    sections += history_sections(history) if history else []
    if report.records:
        sections.append(Section("Which way to ship", [Text(
            "Per audience, from this host's records only: the way, the figures that decided it with their margin "
            "over the runner-up (sizes are exact; start-up tested on the raw samples), and its caveat; or the "
            "command that would decide it.", "explain"), Grid(verdict.COLUMNS, verdict.rows(report.records))]))
    sections += [Section("What the numbers say", [Grid(("priority", "derived from the records"),
                                                      list(recommendations(report.records))),
                                                 Grid(QUALITY_COLUMNS, list(qualities(report.records)))])]
    notes: dict[str, int] = {}
    python = common_python(report.records)
    matrices = overview(report.records, notes)
    if matrices:
        overview_section = Section(f"Overview (Python {python or '?'})", [Text(
            "Best value per column (and OS) marked; a skipped or failed cell points to its reason below the "
            "matrices (in the page, hover it). A value marked ~ was measured on a busy host, or its two sides "
            "under different load, or from runs too spread to compare: shown, never ranked (its note says which). "
            "Other Pythons: the tables further down.", "explain")])
        for matrix in matrices:
            rows: list[Sequence[str | Cell]] = []
            for rec, cells in matrix.rows:
                first = Cell(variant_name(rec), title=rec.get("command") or "")
                reason = rec["reason"] or ""
                rows.append((first, rec["os"], *(Cell(c.text, c.status, reason if c.status in ("skipped", "failed")
                                                      else "", c.note) for c in cells)))
            overview_section.blocks += [Text(matrix.app, "heading"),
                                        Grid(("strategy / variant", "os", *(c.title for c in matrix.columns)), rows)]
        if notes:
            overview_section.blocks.append(Items(list(notes), ordered=True))
        sections.append(overview_section)
    rows_by_app = {m.app: [rec for rec, _cells in m.rows] for m in matrices}
    drawn = charts(rows_by_app, [r for r in report.records if r["metrics"].get("gpu", {}).get("batches")])
    if drawn:
        cut = ([Text(f"Charts for the first {MAX_APPS} of {len(rows_by_app)} apps; the tables above hold every app.",
                     "explain")] if len(rows_by_app) > MAX_APPS else [])
        sections.append(Section("Charts", [*cut, Charts(drawn)]))
    shots, refused = _screenshots(report)
    sections.append(Section("Screenshots", [Text("What each build painted: proof it really renders.", "explain"),
                                            Screenshots(shots)]))
    if refused:
        sections.append(Section("Screenshots not shown", [Items(refused)]))
    gpu, gaps = gpu_rows(report), gpu_gaps(report)
    if gpu or gaps:
        section = Section("Training on the GPU", [Text(
            "Each torch app on CUDA with its description's gpu-args: median samples/s (min – max, n runs) per batch "
            "size, achieved TFLOP/s, the fraction of the card's measured matmul peak, and the ratio to the host's "
            "own PyTorch on the same card.", "explain")])
        if gpu:
            section.blocks.append(Grid(GPU_COLUMNS, list(gpu)))
        if gaps:
            section.blocks += [Text("Empty GPU cells, and why:"), Grid(("row", "status", "reason"), list(gaps))]
        sections.append(section)
    vms = vm_rows(report)
    if vms:
        sections.append(Section("Virtual machines", [Text(VM_EXPLANATION, "explain"), Grid(VM_COLUMNS, list(vms))]))
    needs = needs_rows(report)
    if needs:
        sections.append(Section("What the target machine needs", [Text(
            "Each bundle started in a clean minimal Debian container; the packages are what its failures named "
            "until it started with readable text. A onefile program is started once more with /tmp mounted noexec, "
            "as hardened servers mount it (target …/noexec-tmp): it unpacks there, and the row names the remedy.",
            "explain"),
            Grid(("row", "target", "result", "packages added"), list(needs))]))
    inside = inside_rows(report)
    licences, attachments = licence_rows(report)
    shipped: list[Block] = []
    for explanation, columns, table in ((INSIDE_EXPLANATION, INSIDE_COLUMNS, inside),
                                        (LICENCE_EXPLANATION, LICENCE_COLUMNS, licences)):
        shipped += [Text(explanation, "explain"), Grid(columns, table)] if table else []
    if shipped:
        sections.append(Section("What ships inside: glibc floor, hardening, licences", shipped))
    busy = busy_rows(report)
    if busy:
        sections.append(Section("Measured on a busy host", [Text(
            "Phases during which other processes used the CPU (in cores, averaged over the phase; busy from "
            f"{BUSY_CORES} cores) or another shipbench run was active: their figures are marked ~ above and are "
            "not findings. Measure again on a quiet host.", "explain"),
            Grid(("row", "phase", "other processes' CPU", "load average", "other shipbench runs"), busy)]))
    largest = largest_rows(report)
    if largest:
        sections.append(Section("Where the bytes go (5 largest files)", [Grid(("row", "largest files"), largest)]))
    sections += _metric_sections(report)
    if report.not_ok:
        sections.append(Section("Skipped and failed", [Grid(("row", "status", "reason"), list(problem_rows(report)))]))
    if report.invalid:
        sections.append(Section("Invalid records (left out)", [Items(
            [f"{bad.shown}: {'; '.join(bad.problems[:3])}" for bad in report.invalid], code_prefix=True)]))
    sections += [Section("Hosts", [Grid(HOST_COLUMNS, list(host_rows(report)))]),
                 Section("Commands", [Grid(("command", "rows"), [(Cell(c, "code"), r) for c, r in
                                                                 command_rows(report)])]),
                 Section("When each row was measured", [
                     *([Text(held)] if (held := plan_against_time(report.records)) else []),
                     Grid(MEASURED_COLUMNS, list(measured_rows(report)))])]
    if report.notes:
        sections.append(Section("Notes from the measurements", [Items(list(report.notes))]))
    return Document("shipbench report", summary, sections, attachments)


COMPARE_COLUMNS = ("row", "metric", "base", "head", "change", "verdict")
COMPARE_EXPLANATION = (
    "Each row measured in both runs, metric by metric, real changes first and the largest first. Size and download "
    "size are exact. Warm start-up and throughput are tested on their raw samples (two-sided Mann-Whitney U, "
    "p < 0.05; it needs 4 samples a side); a side measured on a busy host, or the middle half of whose runs spread "
    "more than 1.5x, is too noisy to tell (one slow run among steady ones is not). Instruction counts (callgrind) "
    "are nearly deterministic: a change is real when the two sides' ranges lie more than 0.5% apart, whatever the "
    "load. Single figures (cold start, cold build) are shown, never called significant.")


def since_section(comparison: Comparison) -> Section:
    """A comparison with a base run, in the report ("Since <base>") and alone (`shipbench compare`)."""
    blocks: list[Block] = [Text(COMPARE_EXPLANATION, "explain")]
    if comparison.breaches:
        blocks += [Text("Budgets broken:", "strong"), Items(list(comparison.breaches))]
    rows = []
    for change in comparison.changes:
        kind = COMPARED[change.metric]
        ratio = f"{change.ratio - 1:+.1%}" if change.ratio is not None else "–"
        if kind.exact and change.head != change.base and ratio in ("+0.0%", "-0.0%"):  # a few bytes: say how many
            ratio = f"{change.head - change.base:+,.0f} B"
        rows.append((change.row, change.metric, fmt(kind, change.base), fmt(kind, change.head),
                     Cell(ratio, "failed" if change.significant and change.worse else
                          "best" if change.significant else ""), change.verdict))
    blocks.append(Grid(COMPARE_COLUMNS, rows) if rows else Text("No row was measured in both runs."))
    for title, names in (("Only in the base run:", comparison.only_base), ("Only in this run:", comparison.only_head)):
        if names:
            blocks += [Text(title), Items(list(names))]
    if comparison.invalid:
        blocks.append(Text(f"{comparison.invalid} invalid record(s) left out (`shipbench report` lists them)."))
    return Section(f"Since {cap(comparison.base, 200)}", blocks)


HISTORY_SHOWN = 12  # sets in the table (the chart draws every one): a job summary stays readable
HISTORY_EXPLANATION = (
    "Each row's newest ok record in every result set, in the order given (oldest first; a set is named by its "
    "folder). A marked cell is a step `shipbench compare` calls significant against the nearest earlier set that "
    "has the row, judged as that comparison judges (the same test and noise rules): ↑ got worse, ↓ got better. "
    "Rows in fewer than two sets are left out.")


def history_sections(history: History) -> list[Section]:
    """The history of each row across result sets: a table (both renderings) and its charts (the page)."""
    blocks: list[Block] = [Text(HISTORY_EXPLANATION, "explain")]
    shown = list(range(len(history.labels)))[-HISTORY_SHOWN:]
    if len(shown) < len(history.labels):
        blocks.append(Text(f"The table shows the last {len(shown)} of {len(history.labels)} sets; the charts all."))
    rows = []
    for series in history.series:
        kind = COMPARED[series.metric]
        at = {step.index: step for step in series.steps}
        cells: list[str | Cell] = [series.row, series.metric]
        for index in shown:
            point, step = series.points[index], at.get(index)
            if point.value is None:
                cells.append(Cell("–", "missing", "no ok record of this row in this set"))
            elif step is None:
                cells.append(fmt(kind, point.value))
            else:
                arrow = "↑" if step.change.worse else "↓"
                cells.append(Cell(f"{fmt(kind, point.value)} {arrow}", "failed" if step.change.worse else "best",
                                  f"since {history.labels[step.since]}: {step.change.verdict}"))
        cells.append(str(len(series.steps)))
        rows.append(cells)
    columns = ("row", "metric", *(history.labels[index] for index in shown), "steps")
    blocks.append(Grid(columns, rows) if rows else Text("No row has an ok record in two of the sets."))
    steps = [f"{series.row} {series.metric}, {history.labels[step.since]} → {history.labels[step.index]}: "
             f"{fmt(COMPARED[series.metric], step.change.base)} → {fmt(COMPARED[series.metric], step.change.head)}"
             f"{f' ({step.change.ratio - 1:+.1%})' if step.change.ratio is not None else ''}, {step.change.verdict}"
             for series in history.series for step in series.steps]
    if steps:
        blocks += [Text("The significant steps:"), Items(steps)]
    if history.invalid:
        blocks.append(Text(f"{history.invalid} invalid record(s) left out (`shipbench report` lists them)."))
    sections = [Section(f"History across {len(history.labels)} result sets "
                        f"({history.significant_steps} significant step(s))", blocks)]
    drawn = history_charts(history)
    if drawn:
        sections.append(Section("History charts", [Charts(drawn)], level=3))
    return sections


def comparison_document(comparison: Comparison) -> Document:
    """What `shipbench compare` writes: the one section, for a job summary or a pull request comment."""
    changed = sum(change.significant for change in comparison.changes)
    summary = Text(f"{cap(comparison.head, 200)} against {cap(comparison.base, 200)}: {changed} significant "
                   f"change(s), {len(comparison.breaches)} budget(s) broken.",
                   "strong" if comparison.breaches else "plain")
    return Document("shipbench compare", summary, [since_section(comparison)])


def _metric_sections(report: Report) -> list[Section]:
    """Every measurement, metric by metric: one section each, folded together in the page."""
    sections = [Section("All measurements, metric by metric", folded=True)]
    for table in report.tables:
        section = Section(table.metric.title, [Text(table.metric.explanation, "explain")], level=3, folded=True)
        if not table.rows:
            section.blocks.append(Text("No records for this metric."))
        else:
            if table.missing_everywhere:  # one line, not a table of rows that each say "not measured"
                reasons = sorted({row.reason for row in table.rows if row.reason})
                section.blocks.append(Text(f"Not measured in any of its {len(table.rows)} rows"
                                           + (f" ({'; '.join(reasons[:2])})" if reasons else "") + ".", "strong"))
                sections.append(section)
                continue
            section.blocks.append(Grid((*LABEL_COLUMNS, "value"), [
                (*(row.label[c] for c in LABEL_COLUMNS), Cell(row.cell, f"value {row.status}", row.reason or ""))
                for row in table.rows]))
        sections.append(section)
    return sections


SCREENSHOT_MAX_BYTES = 8 * 2**20


def screenshot_file(rec: dict[str, Any], relative: str) -> tuple[Path | None, str]:
    """The PNG a record names, or None and why it is refused. Records are untrusted: only a relative path inside
    the folder the record was read from, to a PNG file of sensible size, is ever read (never /etc/..., never
    ../../)."""
    folder = Path(rec.get("_source", ".")).parent.resolve()
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        return None, "not a relative path inside the record's folder"
    file = (folder / relative).resolve()
    if not file.is_relative_to(folder):
        return None, "leads out of the record's folder"
    if not file.is_file():
        return None, "no such file beside the record"
    if not is_png(file):
        return None, "not a PNG file"
    if file.stat().st_size > SCREENSHOT_MAX_BYTES:
        return None, f"larger than {SCREENSHOT_MAX_BYTES // 2**20} MB"
    return file, ""


def _screenshots(report: Report) -> tuple[list[tuple[str, Path]], list[str]]:
    """The PNGs of every ok row (each labelled with its Python), found beside the records that name them (never
    elsewhere), and what was refused, with why."""
    shots, refused = [], []
    for rec in report.records:
        if rec["status"] != "ok":
            continue
        metrics = rec["metrics"]
        x11 = metrics.get("x11") if isinstance(metrics.get("x11"), dict) else {}
        for suffix, relative in (("", metrics.get("screenshot")), (" (X11)", x11.get("screenshot"))):
            if not relative:
                continue
            file, why = screenshot_file(rec, str(relative))
            if file is None:
                refused.append(f"{row_name(rec)}{suffix}: {relative!r} refused: {why}")
            else:
                shots.append((row_name(rec) + suffix, file))
    return shots, refused
