"""A service's throughput: one described HTTP request sent over loopback, many times, on a few kept-alive
connections; requests per second and the latency of each, bounded in count and in time.

    python -m shipbench.loadgen --port 8000 --request "GET /items" [--requests 2000] [--seconds 20]
                                [--connections 4] [--body TEXT --content-type TYPE]

Prints one JSON line: {"requests_per_s", "latency_ms": {"p50", "p90", "p99", "max"}, "completed", "errors",
"first_error", "seconds", "warmup", "connections"}. A tenth of the requests (at most 200) go first as a warm-up
and are not counted. Every connection is to 127.0.0.1: nothing leaves the host.

It runs as a process of its own (measure.py starts it with the harness's Python), so that its threads share no
interpreter lock with the harness; it is standard library only. The figure compares ways of shipping the same
service on the same host: the generator is a Python client, so a fast server may be bounded by it (its own CPU
time is in the line, `client_cpu_s`). Connections a server closes (HTTP/1.0, `Connection: close`) are reopened.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

HOST = "127.0.0.1"
NAME = "shipbench.loadgen (Python http.client, kept-alive connections)"


class _Shared:
    """The requests left to send, shared by the connections, and what each sent request gave."""

    def __init__(self, total: int, deadline: float) -> None:
        self.lock = threading.Lock()
        self.left = total
        self.deadline = deadline
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error: str | None = None

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0 or time.perf_counter() > self.deadline:
                return False
            self.left -= 1
            return True

    def error(self, text: str) -> None:
        with self.lock:
            self.errors += 1
            self.first_error = self.first_error or text


def _connection(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str],
                shared: _Shared, count: bool) -> None:
    connection: http.client.HTTPConnection | None = None
    while shared.take():
        try:
            if connection is None:
                connection = http.client.HTTPConnection(HOST, port, timeout=30)
            began = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            took = time.perf_counter() - began
            if response.status >= 400:
                shared.error(f"HTTP {response.status} {response.reason} for {method} {path}")
            elif count:
                with shared.lock:
                    shared.latencies.append(took)
            if response.will_close:
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as error:
            shared.error(f"{type(error).__name__}: {error}")
            if connection is not None:
                connection.close()
            connection = None
    if connection is not None:
        connection.close()


def _send(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str], total: int,
          seconds: float, connections: int, count: bool) -> tuple[_Shared, float]:
    shared = _Shared(total, time.perf_counter() + seconds)
    threads = [threading.Thread(target=_connection, args=(port, method, path, body, headers, shared, count))
               for _ in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return shared, time.perf_counter() - began


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share 0.5: the median) of values, which must not be empty."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure(port: int, request: str, requests: int = 2000, seconds: float = 20.0, connections: int = 4,
            body: str | None = None, content_type: str | None = None) -> dict[str, Any]:
    """Warm up, then send `requests` requests (or as many as `seconds` allows) and summarise them."""
    method, _, path = request.partition(" ")
    data = body.encode("utf-8") if body is not None else None
    headers = {"Content-Type": content_type} if content_type else {}
    warmup = min(200, max(1, requests // 10))
    cpu = time.process_time()
    warm, _ = _send(port, method, path or "/", data, headers, warmup, seconds, connections, count=False)
    shared, took = _send(port, method, path or "/", data, headers, requests, seconds, connections, count=True)
    completed = len(shared.latencies)
    result: dict[str, Any] = {
        "request": request, "connections": connections, "warmup": warmup, "completed": completed,
        "errors": warm.errors + shared.errors, "first_error": warm.first_error or shared.first_error,
        "seconds": round(took, 4), "client_cpu_s": round(time.process_time() - cpu, 3),
        "requests_per_s": round(completed / took, 2) if completed and took > 0 else 0.0,
    }
    if completed:
        result["latency_ms"] = {name: round(percentile(shared.latencies, share) * 1000, 3)
                                for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))}
    return result


def against(spec: Any, python: str = sys.executable) -> dict[str, Any]:
    """Run the generator as a process of its own against a described service (description.Throughput with
    `http`); its result line. Any failure of the generator itself is a result with errors, never a traceback."""
    import subprocess

    argv = [python, "-m", "shipbench.loadgen", "--port", str(spec.port), "--request", spec.http, "--requests",
            str(spec.requests), "--seconds", str(spec.seconds), "--connections", str(spec.connections)]
    if spec.body is not None:
        argv += ["--body", spec.body]
    if spec.content_type:
        argv += ["--content-type", spec.content_type]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=2 * spec.seconds + 60, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        return {"completed": 0, "errors": 1, "first_error": f"the load generator did not run: {error}"}
    lines = done.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        said = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"completed": 0, "errors": 1, "first_error": f"the load generator failed: {said}"}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shipbench.loadgen", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--request", required=True, help='"METHOD /path?query"')
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--body")
    parser.add_argument("--content-type")
    args = parser.parse_args(argv)
    result = measure(args.port, args.request, args.requests, args.seconds, args.connections, args.body,
                     args.content_type)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
