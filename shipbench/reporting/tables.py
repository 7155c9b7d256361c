"""From records to the tables the report shows: one table per metric, one row per record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import hostload
from ..record import Invalid, skipped_unplanned
from ..stats import duration, samples_verdict


def metric(path: str, numeric: bool = False) -> Callable[[dict[str, Any]], Any]:
    """A getter for a dotted path into a record's metrics ("startup_s.warm.median"); None where it is missing,
    and, with numeric, where it is not a number."""

    def getter(metrics: dict[str, Any]) -> Any:
        value: Any = metrics
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if numeric and not isinstance(value, (int, float)):
            return None
        return value

    return getter


def fmt_bytes(value: Any) -> str:
    return f"{value / 1e6:,.1f} MB"


def fmt_seconds(value: Any) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def fmt_summary(unit: Callable[[Any], str]) -> Callable[[Any], str]:
    def render(value: dict[str, Any]) -> str:
        return f"{unit(value['median'])} ({unit(value['min'])} – {unit(value['max'])}, n={value['n']})"

    return render


def fmt_rate(value: Any) -> str:
    return f"{value:,.0f}"


def fmt_ratio(value: Any) -> str:
    """Two decimals, except far below 1 (training under emulation), where two significant digits say more."""
    return f"{value:.2f}×" if value >= 0.1 else f"{value:.2g}×"


def ratio_with_verdict(ratio: str, ours: str, theirs: str) -> Callable[[dict[str, Any]], Any]:
    """A getter for a ratio to the venv with its verdict on the two sides' samples (dotted paths)."""
    get_ratio, get_ours, get_theirs = metric(ratio, numeric=True), metric(ours), metric(theirs)

    def getter(metrics: dict[str, Any]) -> Any:
        value = get_ratio(metrics)
        if value is None:
            return None
        return {"ratio": value, "verdict": samples_verdict(get_ours(metrics), get_theirs(metrics))}

    return getter


def fmt_ratio_verdict(value: Any) -> str:
    return f"{fmt_ratio(value['ratio'])} ({value['verdict']})"


@dataclass(frozen=True)
class Metric:
    title: str
    explanation: str
    get: Callable[[dict[str, Any]], Any]
    render: Callable[[Any], str]
    needs: str | None = None  # the capability an app must have for this metric to apply (description.py)
    phases: tuple[str, ...] = ()  # the timed phases behind it (hostload.py): a busy one makes it no finding
    runs: str | None = None  # the summary of runs whose spread can make it too noisy to compare
    optional: bool = False  # measured only when a setting asks (instruction-runs): no table where no record has it


METRICS = (
    Metric("Size on disk", "what must be shipped or installed (the venv folder, the bundle, the image)",
           metric("size_bytes"), fmt_bytes),
    Metric("Download size", "compressed, as a user downloads it", metric("download_bytes"), fmt_bytes),
    Metric("Set-up / build time, cold cache", "from nothing, with empty package caches", metric("setup_s.cold"),
           fmt_seconds, phases=("setup_cold",)),
    Metric("Set-up / build time, warm cache", "again, with the caches the cold run filled", metric("setup_s.warm"),
           fmt_seconds, phases=("setup_warm",)),
    Metric("Start-up, cold", "spawn to the app's ready event, first run after the build", metric("startup_s.cold"),
           fmt_seconds, phases=("startup_cold",)),
    Metric("Start-up, warm", "spawn to ready: median (min – max, n runs)", metric("startup_s.warm"),
           fmt_summary(fmt_seconds), phases=("startup",), runs="startup_s.warm"),
    Metric("Start-up relative to a venv", "warm median over the same app in a venv measured right after it "
           "(1.00× = as fast as the venv), and whether the two sides' samples tell them apart",
           ratio_with_verdict("startup_ratio_to_baseline", "startup_s.warm.samples", "baseline.startup_s.samples"),
           fmt_ratio_verdict,
           phases=("startup", "baseline_startup")),
    Metric("Instructions to start (callgrind)", "a start-up run's instructions, spawn to exit, counted by valgrind: "
           "median (min – max, n runs); the metric a budget can gate on (instruction-runs)",
           metric("instructions"), fmt_summary(lambda value: f"{value / 1e6:,.1f} M"), optional=True),
    Metric("Peak memory (RSS)", "largest resident set of the app process over all runs", metric("peak_rss_bytes"),
           fmt_bytes),
    Metric("Throughput", "the app's own figure (its unit in the cell): median (min – max, n runs)",
           lambda m: {**m["throughput"], "unit": m.get("throughput_unit", "")} if m.get("throughput") else None,
           lambda value: f"{fmt_summary(fmt_rate)(value)} {value['unit']}".strip(), needs="throughput",
           phases=("throughput",), runs="throughput"),
    Metric("Latency of a service's request, p50", "a service's own: the described request's median latency under the "
           "load generator, per throughput run: median (min – max, n runs)", metric("latency_ms.p50"),
           fmt_summary(lambda value: f"{value:.2f} ms"), needs="throughput", phases=("throughput",), optional=True),
    Metric("Latency of a service's request, p99", "the same request's 99th percentile latency, per throughput run: "
           "median (min – max, n runs)", metric("latency_ms.p99"), fmt_summary(lambda value: f"{value:.2f} ms"),
           needs="throughput", phases=("throughput",), optional=True),
    Metric("Throughput relative to a venv", "median figure over the same app in a venv measured right after it "
           "(1.00× = no cost), and whether the two sides' samples tell them apart",
           ratio_with_verdict("throughput_ratio_to_baseline", "throughput.samples", "baseline.throughput.samples"),
           fmt_ratio_verdict, needs="throughput",
           phases=("throughput", "baseline_throughput")),
)


@dataclass
class Row:
    label: dict[str, str]
    status: str
    cell: str
    reason: str | None = None


@dataclass
class Table:
    metric: Metric
    rows: list[Row]
    missing_everywhere: bool


@dataclass
class Report:
    tables: list[Table]
    records: list[dict[str, Any]]
    not_ok: list[dict[str, Any]]
    hosts: list[dict[str, Any]]
    invalid: list[Invalid]
    sources: list[Path]
    notes: list[str] = field(default_factory=list)


LABEL_COLUMNS = ("strategy", "variant", "app", "python", "os")


def capabilities(record: dict[str, Any]) -> set[str]:
    """What the record's app can do, as its description said (older records: inferred from what was measured)."""
    if isinstance(record.get("capabilities"), list):
        return set(record["capabilities"])
    metrics = record["metrics"]
    found = {"window"} if metrics.get("screenshot") or metrics.get("qt_platform") else set()
    return found | ({"throughput"} if metrics.get("throughput") or metrics.get("samples_per_s") else set())


def _sort_key(record: dict[str, Any]) -> tuple[Any, ...]:
    python = tuple(int(part) for part in record["python"].split("."))
    return (record["app"], record["strategy"], record["variant"], python, record["os"], record["host"]["name"])


GPU_COLUMNS = ("row", "card", "batch size", "samples/s", "TFLOP/s", "fraction of peak", "vs venv")
HOST_COLUMNS = ("host", "OS", "CPU", "cores", "memory", "GPU", "tools")


def host_rows(report: Report) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for h in report.hosts:
        memory = f"{h['memory_bytes'] / 2**30:.0f} GiB" if h.get("memory_bytes") else "?"
        gpus = ", ".join(g["name"] for g in h.get("gpus", [])) or "none"
        tools: dict[str, str] = {}
        for rec in report.records:
            if host_identity(rec) == host_identity({"host": h, "os": rec["os"]}):
                tools.update({k: v for k, v in rec["versions"].items() if v and k != "torch_source"})
        rows.append((host_label(h), h.get("os_release", h["os"]), h["cpu"], str(h["cores"]), memory, gpus,
                     ", ".join(f"{k} {v}" for k, v in sorted(tools.items()))))
    return rows


def command_rows(report: Report) -> list[tuple[str, str]]:
    """The exact command behind each row, once per command."""
    seen: dict[str, list[str]] = {}
    for rec in report.records:
        seen.setdefault(rec.get("command") or "?", []).append(row_name(rec))
    return [(command, ", ".join(rows)) for command, rows in seen.items()]


MEASURED_COLUMNS = ("row", "profile", "measured", "took (planned)", "reused")


def _took(rec: dict[str, Any]) -> str:
    """The row's wall time beside the plan's estimate for it, and how far apart they were."""
    took = rec.get("duration_s")
    if not isinstance(took, (int, float)) or isinstance(took, bool):
        return "–"
    both = _planned_and_took(rec)
    if both is None:
        return duration(took)
    return f"{duration(took)} ({duration(both[0])}, x{took / both[0]:.1f})"


PLAN_HELD = 1.5  # an estimate within this factor of the row's time either way held (issue 36's measure)


def _planned_and_took(rec: dict[str, Any]) -> tuple[float, float] | None:
    """(the plan's estimate, the row's time) where both are there; a row may take under a tenth of a second (0)."""
    took, planned = rec.get("duration_s"), rec.get("planned")
    estimate = planned.get("estimate_s") if isinstance(planned, dict) else None
    if _number(estimate) and _number(took) and float(estimate) > 0 and float(took) >= 0:  # type: ignore[arg-type]
        return float(estimate), float(took)  # type: ignore[arg-type]
    return None


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _why_missed(rec: dict[str, Any]) -> str:
    """Why a row's estimate may have missed, as far as its record tells: what the estimate came from (a stated
    figure is a guess for an app nobody measured here; a record of the row itself is not) and whether other work
    kept the host busy while the row ran (hostload's `busy`)."""
    source = str(rec["planned"].get("from") or "unknown").split(", x")[0]
    loads = rec["metrics"].get("host_load")
    busy = sorted(phase for phase, load in loads.items() if isinstance(load, dict) and load.get("busy") is True) \
        if isinstance(loads, dict) else []
    return f"estimated from {source[:80]}" + (f"; the host was busy during {', '.join(busy[:3])}" if busy else "")


def plan_against_time(records: Sequence[dict[str, Any]]) -> str:
    """The plan's total against the rows' real one, and which rows its estimate missed by more than PLAN_HELD:
    a plan people can trust says so of itself."""
    pairs = [(rec, both) for rec in records if rec["status"] != "skipped"
             for both in [_planned_and_took(rec)] if both]
    if not pairs:
        return ""
    planned, took = sum(both[0] for _, both in pairs), sum(both[1] for _, both in pairs)
    missed = [f"{row_name(rec)} x{both[1] / both[0]:.1f} ({_why_missed(rec)})" for rec, both in pairs
              if not 1 / PLAN_HELD <= both[1] / both[0] <= PLAN_HELD]
    held = len(pairs) - len(missed)
    return (f"The plan's estimates against the rows' time: {len(pairs)} row{'s' if len(pairs) != 1 else ''} planned "
            f"{duration(planned)} in all and took {duration(took)} (x{took / planned:.2f}); {held} of {len(pairs)} "
            f"within {PLAN_HELD}x" + (f"; beyond it: {', '.join(missed)}." if missed else "."))


def measured_rows(report: Report) -> list[tuple[str, str, str, str, str]]:
    """When each row's numbers were taken, by which profile (older records: full), how long it took against the
    plan's estimate, and which later runs kept them because nothing they depend on changed."""
    rows = []
    for rec in report.records:
        if rec["status"] != "ok":
            continue  # nothing was measured; "Skipped and failed" says why
        reused = rec.get("reused")
        kept = (f"reused by {reused['runs']} later run{'s' if reused['runs'] > 1 else ''}, last {_when(reused['last'])}"
                " (inputs unchanged)" if reused else "–")
        rows.append((row_name(rec), str(rec.get("profile") or "full"), _when(rec["created"]), _took(rec), kept))
    return rows


def _when(timestamp: str) -> str:
    """An ISO timestamp to the minute, as people read it: 2026-11-28 13:05."""
    return timestamp[:16].replace("T", " ")


def problem_rows(report: Report) -> list[tuple[str, str, str]]:
    """(row, status, reason) for every skipped or failed record; a skip the plan did not foresee says so."""
    return [(row_name(r), "skipped once run (planned to run)" if skipped_unplanned(r) else r["status"],
             r["reason"] or "") for r in report.not_ok]


def emulated(record: dict[str, Any]) -> bool:
    """A VM row measured under software emulation: its times must never pass for hardware-virtualized ones."""
    return bool(record["metrics"].get("vm", {}).get("acceleration") == "tcg")


def variant_name(record: dict[str, Any]) -> str:
    """strategy/variant, marked where the numbers come from software emulation."""
    return f"{record['strategy']}/{record['variant']}" + (" (software emulation)" if emulated(record) else "")


def row_name(record: dict[str, Any]) -> str:
    return f"{variant_name(record)} {record['app']} py{record['python']} {record['os']}"


def needs_rows(report: Report) -> list[tuple[str, ...]]:
    """(row, target, result, packages added) from the portability evidence: what a target machine must have."""
    rows: list[tuple[str, ...]] = []
    for rec in report.records:
        for target, result in sorted(rec["metrics"].get("portability", {}).items()):
            if result["status"] == "ok":
                outcome = f"starts ({result['startup_s']:.2f} s)"
            else:
                outcome = f"{result['status']}: {result.get('reason', '')}"
            rows.append((row_name(rec), target, outcome, ", ".join(result.get("needs", [])) or "nothing"))
    return rows


def gpu_rows(report: Report) -> list[tuple[str, ...]]:
    """(row, card, batch size, samples/s, TFLOP/s, fraction of peak, vs venv) for every measured GPU batch."""
    rows: list[tuple[str, ...]] = []
    for rec in report.records:
        gpu = rec["metrics"].get("gpu")
        if not gpu or gpu.get("status") != "ok":
            continue
        for batch in gpu.get("batches", []):
            ratio = batch.get("ratio_to_venv")
            card = f"{gpu.get('device_name') or '?'}" + (f" ({gpu['amp']})" if gpu.get("amp") else "")
            rows.append((row_name(rec), card, f"{batch['batch_size']:,}",
                         fmt_summary(fmt_rate)(batch["samples_per_s"]), f"{batch['tflops']:.1f}",
                         f"{batch['mfu']:.0%} of {batch['peak_tflops']:.0f} TFLOP/s" if batch.get("mfu") else "–",
                         f"{fmt_ratio(ratio)} ({batch.get('ratio_verdict') or samples_verdict(None, None)})"
                         if ratio else "–"))
    return rows


def gpu_gaps(report: Report) -> list[tuple[str, ...]]:
    """Why a GPU cell is empty: skipped GPU rows, and CUDA images whose GPU run could not happen."""
    gaps: list[tuple[str, ...]] = []
    for rec in report.records:
        gpu = rec["metrics"].get("gpu")
        if rec["variant"].endswith("gpu") and rec["status"] != "ok":
            gaps.append((row_name(rec), rec["status"], rec["reason"] or ""))
        elif gpu and gpu.get("status") != "ok":
            gaps.append((row_name(rec), gpu["status"], gpu.get("reason", "")))
    return gaps


VM_EXPLANATION = (
    "The weight of a virtual machine: the box a user downloads and how long it took to build from Debian packages; "
    "`vagrant up` for a new machine (first: the box is also copied into libvirt's storage pool) and for the same "
    "machine booted again; when SSH first answered; the guest's own boot time (systemd-analyze); installing the app "
    "into the guest; the guest's disk on the host; the resident memory of the QEMU process; app start-up timed "
    "inside the guest. Rows marked software emulation ran without KVM: the same VM under KVM is much faster, "
    "training above all.")
VM_COLUMNS = ("row", "acceleration", "box download", "box build", "vagrant up: first / again",
              "boot to SSH: first / again", "guest boot (systemd)", "provision", "guest disk on host",
              "VM process RSS (peak)", "app start-up in the guest, warm", "vs venv on the host")


def vm_rows(report: Report) -> list[tuple[str, ...]]:
    """What a virtual machine costs, per VM row: the box, the guest's life cycle, the host's memory and disk."""

    def seconds(value: Any) -> str:
        return fmt_seconds(value) if isinstance(value, (int, float)) else "–"

    def pair(values: dict[str, Any] | None) -> str:
        values = values or {}
        return f"{seconds(values.get('cold'))} / {seconds(values.get('warm'))}"

    def size(value: Any) -> str:
        return fmt_bytes(value) if isinstance(value, int) else "–"

    rows: list[tuple[str, ...]] = []
    for rec in report.records:
        vm = rec["metrics"].get("vm")
        if rec["status"] != "ok" or not vm:
            continue
        build = seconds(vm["box_build_s"]) + ("" if vm.get("box_built_in_this_run", True) else " (cached)")
        startup = rec["metrics"].get("startup_s", {}).get("warm")
        ratio = rec["metrics"].get("startup_ratio_to_baseline")
        rows.append((row_name(rec), vm.get("acceleration_label", vm["acceleration"]), size(vm["box_bytes"]), build,
                     pair(vm.get("up_s")), pair(vm.get("ssh_ready_s")), seconds(vm.get("guest_boot_s")),
                     seconds(vm.get("provision_s")), size(vm.get("guest_disk_bytes")),
                     size(vm.get("host_rss_peak_bytes")),
                     fmt_summary(fmt_seconds)(startup) if startup else "–", fmt_ratio(ratio) if ratio else "–"))
    return rows


def busy_rows(report: Report) -> list[tuple[str, ...]]:
    """(row, phase, other processes' CPU, load average, other runs) for every phase measured on a busy host."""
    rows: list[tuple[str, ...]] = []
    for rec in report.records:
        loads = rec["metrics"].get("host_load")
        for phase, load in sorted(loads.items()) if isinstance(loads, dict) else ():
            if isinstance(load, dict) and load.get("busy"):
                cores, average = load.get("outside_cores"), load.get("load_avg_1m")
                rows.append((row_name(rec), phase, f"{cores:.2f} cores" if isinstance(cores, (int, float)) else "?",
                             f"{average:.2f}" if isinstance(average, (int, float)) else "?",
                             str(load.get("other_runs", 0))))
    return rows


def largest_rows(report: Report, count: int = 5) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for rec in report.records:
        files = rec["metrics"].get("largest_files", [])[:count]
        if files:
            rows.append((row_name(rec), ", ".join(f"{f['path']} ({f['bytes'] / 1e6:.1f} MB)" for f in files)))
    return rows


def host_label(facts: dict[str, Any]) -> str:
    """A host as the report names it: its name and its stable id (two machines called "vm" stay two), or what it
    is made of where an older record has no id."""
    if isinstance(facts.get("id"), str):
        return f"{facts['name']} · {facts['id']}"
    return f"{facts['name']} ({facts.get('cpu', '?')}, {facts.get('cores', '?')} cores)"


def host_identity(rec: dict[str, Any]) -> str:
    """Host names are often generic ("localhost", "vm"): tell machines apart by what they are made of too."""
    facts = rec["host"]
    return str((facts["name"], facts.get("id"), rec["os"], facts["cpu"], facts["cores"], facts.get("memory_bytes"),
                tuple(g["name"] for g in facts.get("gpus", []))))


def build(records: list[dict[str, Any]], invalid: list[Invalid], sources: list[Path]) -> Report:
    records = sorted(records, key=_sort_key)
    tables = []
    for metric in METRICS:
        rows = []
        for rec in records:
            if metric.needs and metric.needs not in capabilities(rec):
                continue
            label = {column: rec[column] for column in LABEL_COLUMNS}
            if emulated(rec):
                label["variant"] += " (software emulation)"
            value = metric.get(rec["metrics"])
            if rec["status"] != "ok":
                rows.append(Row(label, rec["status"], f"{rec['status']} (see below)", rec["reason"]))
            elif value is None:
                rows.append(Row(label, "missing", "not measured"))
            elif why := hostload.caveat(rec["metrics"], metric.phases, metric.get(rec["metrics"]) if metric.runs
                                        else None):
                rows.append(Row(label, "noisy", metric.render(value) + " ~", f"{why}: shown, not ranked"))
            else:
                rows.append(Row(label, "ok", metric.render(value)))
        missing = not any(row.status in ("ok", "noisy") for row in rows)
        if not (missing and metric.optional):
            tables.append(Table(metric, rows, missing_everywhere=missing))
    hosts: dict[str, dict[str, Any]] = {}
    for rec in records:
        hosts.setdefault(host_identity(rec), rec["host"])
    notes = sorted({note for rec in records for note in rec.get("notes", [])})
    return Report(tables, records, [r for r in records if r["status"] != "ok"], list(hosts.values()), invalid,
                  sources, notes)
