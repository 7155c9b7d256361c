"""Start an app where it lives (inside a VM) and time spawn→ready there, not across the link to it.

A start-up measured from the host through SSH would add the connection's round trips to every number, and
they are not part of what a user of the VM waits for. The relay runs beside the app, starts it with the same
runner the host uses, and forwards the app's output line by line, the ready event carrying `spawn_to_ready_s`,
which the host's runner takes in place of its own clock.

    python3 -m shipbench.relay [--timeout S] [--cwd DIR] [--ready R] [--env NAME=VALUE]... -- APP ARGV...

--ready: event (the app's JSON ready line, the default), exit (it exits 0), pattern:REGEX (a line matches) or
port:N (a TCP port on the guest's loopback accepts); the relay then prints a ready event of its own for the last
three. --env: variables for the app, set after the relay's own environment is cleaned (the first-frame probe's
PYTHONPATH, a screenshot's path); SHIPBENCH_STOP_AT_READY=1 among them is the host's word that this is a start-up
of an app stopped at ready (a service): the relay stops it there, beside it, and ends.

Only the standard library is used (runner, errors, fsutil and this file are copied into the guest), so it runs
on the guest's system Python, outside the venv under test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import Failure
from .runner import NOT_FOR_APPS, Ready, parse_event, run_app

STOP_AT_READY = "SHIPBENCH_STOP_AT_READY"  # measure.STOP_AT_READY: the relay's copy must not import measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m shipbench.relay")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--cwd", default=os.path.expanduser("~"))
    parser.add_argument("--ready", default="event")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no app command after --")
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_APPS}
    env.update(item.split("=", 1) for item in args.env if "=" in item)
    stop = env.pop(STOP_AT_READY, "") == "1"
    ready = Ready.from_argument(args.ready, stop=stop)
    state = {"said": False}

    def forward(line: str, seconds: float) -> None:
        """Pass the app's output on as it comes; the first ready gains the time it took here."""
        event = parse_event(line)
        if event is not None and event.get("event") == "ready" and "spawn_to_ready_s" not in event:
            line = json.dumps({**event, "spawn_to_ready_s": seconds}) + "\n"
            state["said"] = True
        elif ready.pattern is not None and not state["said"] and ready.pattern.search(line):
            _say_ready(seconds)
            state["said"] = True
        # a line cut short (the app stopped mid-print) still ends here, or the next line (a ready event) would
        # be glued to it and never parsed
        sys.stdout.write(line if line.endswith("\n") else line + "\n")
        sys.stdout.flush()

    try:
        # whether a run had to be ready is the host's to judge (a throughput run need not say so)
        run = run_app(command, env=env, cwd=args.cwd, timeout=args.timeout, on_line=forward, ready=ready,
                      need_ready=stop)
    except Failure as failure:
        print(f"relay: {failure.reason}", file=sys.stderr, flush=True)
        return 1
    if ready.kind in ("exit", "port") and run.ready_s is not None and not state["said"]:
        _say_ready(run.ready_s)
    return 0


def _say_ready(seconds: float) -> None:
    sys.stdout.write(json.dumps({"event": "ready", "spawn_to_ready_s": seconds}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
