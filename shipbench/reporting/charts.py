"""The report's charts: matplotlib, drawn to SVG text and inlined, so the page needs nothing from the network."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

from ..metric_kinds import BY_NAME  # noqa: E402
from .history import History, Series  # noqa: E402
from .tables import metric, variant_name  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False})

COLD, WARM, THIRD = "#9ecae1", "#3182bd", "#e6550d"
WORSE, BETTER = "#d62728", "#2ca02c"
HISTORY_UNITS = {"bytes": ("MB", 1e6), "seconds": ("seconds from spawn to ready (median, min–max)", 1.0),
                 "count": ("million instructions to start (callgrind)", 1e6)}


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    svg: str


def _label(rec: dict[str, Any]) -> str:
    return f"{variant_name(rec)} py{rec['python']} {rec['os']}"


def _svg(fig: Any, name: str) -> str:
    buffer = io.StringIO()
    # ids inside an SVG are global in the page: salt them per chart (which also makes the output repeatable)
    with plt.rc_context({"svg.hashsalt": name}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue and doctype: the SVG sits inside HTML


def _figure(rows: int) -> tuple[Any, Any]:
    return plt.subplots(figsize=(8.5, 0.9 + 0.32 * max(rows, 1)))


# A report of thousands of records (a year of CI, many hosts) still draws in seconds: each chart shows at most
# MAX_ROWS rows (the best by its figure; the tables hold every row), and charts are drawn for at most MAX_APPS apps.
MAX_ROWS = 40
MAX_APPS = 12
MISSING = "#999999"


def _wide(values: list[float]) -> bool:
    """Values so far apart that a linear axis hides the small ones: they are drawn as dots on a log axis then,
    never as bars (a bar's length on a log axis says nothing)."""
    positive = [v for v in values if v and v > 0]
    return bool(positive) and max(positive) / min(positive) > 20


def _best(records: list[dict[str, Any]], value: Any, higher_is_better: bool = False) -> list[dict[str, Any]]:
    """At most MAX_ROWS rows: the best by `value`, in the tables' order."""
    if len(records) <= MAX_ROWS:
        return records
    ranked = sorted(records, key=lambda rec: value(rec) or 0.0, reverse=higher_is_better)[:MAX_ROWS]
    kept = {id(rec) for rec in ranked}
    return [rec for rec in records if id(rec) in kept]


def _cut(title: str, shown: int, total: int) -> str:
    return title if shown == total else f"{title} (the {shown} best of {total} rows; the tables hold every row)"


def _missing(ax: Any, positions: list[float]) -> None:
    """A value a row lacks is said on its line, never drawn as a zero-length bar."""
    for position in positions:
        ax.annotate("not measured", (0, position), xycoords=("axes fraction", "data"), xytext=(3, -3),
                    textcoords="offset points", color=MISSING, fontsize=7)


def _paired_bars(records: list[dict[str, Any]], first: tuple[str, str], second: tuple[str, str], unit: str,
                 scale: float) -> Any:
    """Two values per record (cold/warm, size/download): bars from zero, or dots on a log axis where the values
    are too far apart for bars; a missing value is said, not drawn."""
    fig, ax = _figure(len(records))
    positions = range(len(records))
    series = []
    for offset, (name, path), color in ((-0.2, first, COLD), (0.2, second, WARM)):
        get = metric(path, numeric=True)
        series.append((name, color, [(i + offset, (get(r["metrics"]) or 0) / scale) for i, r in enumerate(records)]))
    wide = _wide([v for _, _, data in series for _, v in data])
    for name, color, data in series:
        present = [(p, v) for p, v in data if v]
        if wide:
            ax.scatter([v for _, v in present], [p for p, _ in present], color=color, label=name, zorder=3)
        elif present:
            ax.barh([p for p, _ in present], [v for _, v in present], height=0.38, color=color, label=name)
        _missing(ax, [p for p, v in data if not v])
    ax.set_yticks(list(positions), [_label(r) for r in records])
    ax.invert_yaxis()
    if wide:
        ax.set_xscale("log")
        ax.grid(axis="x", which="both", alpha=0.3)
    ax.set_xlabel(f"{unit} ({'log scale, dots' if wide else 'bars from zero'})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig


def _startup(records: list[dict[str, Any]]) -> Any:
    """Warm median with min–max whiskers, and the cold (first) start as a dot."""
    fig, ax = _figure(len(records))
    medians, lows, highs, colds = [], [], [], []
    for rec in records:
        warm = rec["metrics"]["startup_s"]["warm"]
        medians.append(warm["median"])
        lows.append(warm["median"] - warm["min"])
        highs.append(warm["max"] - warm["median"])
        colds.append(rec["metrics"]["startup_s"]["cold"])
    positions = list(range(len(records)))
    wide = _wide(medians + [c for c in colds if c])
    if wide:  # dots with whiskers on a log axis: a bar's length there would mean nothing
        ax.errorbar(medians, positions, xerr=[lows, highs], fmt="o", color=WARM, capsize=3,
                    label="warm: median, min–max")
        ax.set_xscale("log")
        ax.grid(axis="x", which="both", alpha=0.3)
    else:
        ax.barh(positions, medians, xerr=[lows, highs], color=WARM, height=0.5, capsize=3,
                label="warm: median, min–max")
    ax.scatter([c for c in colds if c], [p for p, c in zip(positions, colds, strict=True) if c], color=THIRD,
               zorder=3, label="cold: first run after the build")
    _missing(ax, [p for p, c in zip(positions, colds, strict=True) if not c])
    ax.set_yticks(positions, [_label(r) for r in records])
    ax.invert_yaxis()
    ax.set_xlabel(f"seconds from spawn to ready ({'log scale, dots' if wide else 'bars from zero'})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig


def _throughput(records: list[dict[str, Any]]) -> Any:
    fig, ax = _figure(len(records))
    positions = list(range(len(records)))
    summary = [r["metrics"]["throughput"] for r in records]
    medians = [s["median"] for s in summary]
    ax.barh(positions, medians, xerr=[[s["median"] - s["min"] for s in summary],
                                      [s["max"] - s["median"] for s in summary]],
            color=WARM, height=0.5, capsize=3)
    for position, rec, median in zip(positions, records, medians, strict=True):
        ratio = rec["metrics"].get("throughput_ratio_to_baseline")
        if ratio:
            ax.annotate(f"{ratio:.2f}× venv", (median, position), xytext=(6, -3), textcoords="offset points")
    ax.set_yticks(positions, [_label(r) for r in records])
    ax.invert_yaxis()
    units = sorted({r["metrics"].get("throughput_unit", "") for r in records} - {""})
    ax.set_xlabel(f"{' / '.join(units) or 'throughput'} on the CPU (median, min–max)")
    return fig


def _gpu(records: list[dict[str, Any]]) -> Any:
    rows = [(rec, batch) for rec in records for batch in rec["metrics"]["gpu"]["batches"]]
    fig, ax = _figure(len(rows))
    positions = list(range(len(rows)))
    medians = [batch["samples_per_s"]["median"] for _, batch in rows]
    ax.scatter(medians, positions, color=WARM, zorder=3)  # dots: the axis is logarithmic
    ax.grid(axis="x", which="both", alpha=0.3)
    for position, (_rec, batch), median in zip(positions, rows, medians, strict=True):
        text = f"{batch['tflops']:.0f} TFLOP/s"
        if batch.get("mfu"):
            text += f", {batch['mfu']:.0%} of peak"
        if batch.get("ratio_to_venv"):
            text += f", {batch['ratio_to_venv']:.2f}× venv"
        ax.annotate(text, (median, position), xytext=(6, -3), textcoords="offset points")
    ax.set_yticks(positions, [f"{_label(rec)} bs {batch['batch_size']:,}" for rec, batch in rows])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("samples/s on the GPU (median; log scale, dots)")
    return fig


def charts(rows_by_app: dict[str, list[dict[str, Any]]], gpu_records: list[dict[str, Any]]) -> list[Chart]:
    """Every chart the data supports; a chart with no data is left out (the tables say what is missing)."""
    drawn = []
    for app, records in list(rows_by_app.items())[:MAX_APPS]:
        ok = [r for r in records if r["status"] == "ok"]
        sized = [r for r in ok if r["metrics"].get("size_bytes")]
        if sized:
            shown = _best(sized, lambda r: r["metrics"]["size_bytes"])
            drawn.append(Chart(f"size-{app}", _cut(f"{app}: size on disk and download size", len(shown), len(sized)),
                               _svg(_paired_bars(shown, ("on disk", "size_bytes"), ("download", "download_bytes"),
                                                 "MB", 1e6), f"size-{app}")))
        started = [r for r in ok if r["metrics"].get("startup_s", {}).get("warm")]
        if started:
            shown = _best(started, lambda r: r["metrics"]["startup_s"]["warm"]["median"])
            drawn.append(Chart(f"startup-{app}", _cut(f"{app}: start-up, cold and warm", len(shown), len(started)),
                               _svg(_startup(shown), f"startup-{app}")))
        built = [r for r in ok if r["metrics"].get("setup_s")]
        if built:
            shown = _best(built, lambda r: metric("setup_s.warm", numeric=True)(r["metrics"]))
            drawn.append(Chart(f"setup-{app}", _cut(f"{app}: set-up / build time, cold and warm cache", len(shown),
                                                    len(built)),
                               _svg(_paired_bars(shown, ("cold", "setup_s.cold"), ("warm", "setup_s.warm"), "seconds",
                                                 1), f"setup-{app}")))
        trained = [r for r in ok if r["metrics"].get("throughput")]
        if trained:
            shown = _best(trained, lambda r: r["metrics"]["throughput"]["median"], higher_is_better=True)
            drawn.append(Chart(f"throughput-{app}", _cut(f"{app}: throughput on the CPU", len(shown), len(trained)),
                               _svg(_throughput(shown), f"throughput-{app}")))
    measured_gpu = [r for r in gpu_records if r["status"] == "ok" and r["metrics"].get("gpu", {}).get("batches")]
    if measured_gpu:
        drawn.append(Chart("gpu", "training throughput on the GPU (each app's gpu-args)",
                           _svg(_gpu(measured_gpu), "gpu")))
    return drawn


def _history(labels: list[str], series: list[Series]) -> Any:
    """One line per row across the sets (median with min–max), a ring on each significant step: red where it
    got worse, green where better, with the change beside it."""
    fig, ax = plt.subplots(figsize=(8.5, 3.2))
    kind = BY_NAME[series[0].metric]
    unit, scale = HISTORY_UNITS[kind.unit]
    for line in series:
        drawn = [(index, point) for index, point in enumerate(line.points) if point.value is not None]
        xs = [index for index, _ in drawn]
        ys = [point.value / scale for _, point in drawn if point.value is not None]
        low = [(point.value - point.low) / scale if point.low is not None and point.value is not None else 0
               for _, point in drawn]
        high = [(point.high - point.value) / scale if point.high is not None and point.value is not None else 0
                for _, point in drawn]
        ax.errorbar(xs, ys, yerr=[low, high], marker="o", markersize=3, capsize=2, label=line.line)
        for step in line.steps:
            value = line.points[step.index].value
            if value is None:
                continue
            color = WORSE if step.change.worse else BETTER
            ax.scatter([step.index], [value / scale], s=90, facecolors="none", edgecolors=color, zorder=3)
            if step.change.ratio is not None:
                ax.annotate(f"{step.change.ratio - 1:+.1%}", (step.index, value / scale), xytext=(5, 5),
                            textcoords="offset points", color=color)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_ylabel(unit)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig


def history_charts(history: History) -> list[Chart]:
    """One chart per app and metric across the result sets."""
    groups: dict[tuple[str, str], list[Series]] = {}
    for line in history.series:
        groups.setdefault((line.app, line.metric), []).append(line)
    drawn = []
    for (app, name), lines in groups.items():
        chart = f"history-{name}-{app}"
        drawn.append(Chart(chart, f"{app}: {name} across the result sets",
                           _svg(_history(history.labels, lines), chart)))
    return drawn
