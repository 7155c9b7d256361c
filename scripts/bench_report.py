"""How long the report takes per record: N synthetic records (copies of real ones, each a row of its own), then
`report` over them, timed. A benchmark, not a test: it prints the time and the time per record.

    python scripts/bench_report.py --records 10000 [--from results/] [--repeat 3]

The copies come from real records (`--from`, default this checkout's results/), so every shape the report draws
is there; each copy gets an app name of its own (app-00001, ...) and a fresh id, so none is a duplicate.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def synthesize(sources: list[dict], count: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        rec = json.loads(json.dumps(sources[number % len(sources)]))
        rec["app"] = f"app-{number // len(sources):05d}"
        rec["id"] = uuid.uuid4().hex
        rec.get("metrics", {}).pop("screenshot", None)  # a copy has no file beside it
        (folder / f"{rec['strategy']}-{rec['variant']}-{rec['app']}-{rec['id']}.json").write_text(
            json.dumps(rec), encoding="utf-8")


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from shipbench import record
    from shipbench.reporting import write_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--from", dest="source", type=Path, default=ROOT / "results")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sources, _ = record.load_all([args.source])
    if not sources:
        parser.error(f"no valid records under {args.source} to copy")
    for rec in sources:
        rec.pop("_source", None)
    times = []
    with tempfile.TemporaryDirectory(prefix="shipbench-bench-") as temp:
        results, out = Path(temp) / "results", Path(temp) / "report"
        synthesize(sources, args.records, results)
        for _ in range(args.repeat):
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            if write_report([results], out) != 0:
                return 1
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"report of {args.records} records (copies of {len(sources)}): median {median:.1f} s "
          f"(min {min(times):.1f}, max {max(times):.1f}, n={len(times)}), "
          f"{median / args.records * 1000:.2f} ms per record")
    return 0


if __name__ == "__main__":
    sys.exit(main())
