"""Start an app where it lives (inside a VM) and time spawn→ready there, not across the link to it.

A start-up measured from the host through SSH would add the connection's round trips to every number, and
they are not part of what a user of the VM waits for. The relay runs beside the app, starts it with the same
runner the host uses, and forwards the app's output line by line, the ready event carrying `spawn_to_ready_s`,
which the host's runner takes in place of its own clock.

    python3 -m shipbench.relay [--timeout S] [--cwd DIR] [--ready R] [--env NAME=VALUE]... -- APP ARGV...

--ready: event (the app's JSON ready line, the default), exit (it exits 0), or pattern:REGEX (a line matches);
the relay then prints a ready event of its own for the last two. --env: variables for the app, set after the
relay's own environment is cleaned (the first-frame probe's PYTHONPATH, a screenshot's path).

Only the standard library is used (runner, errors, fsutil and this file are copied into the guest), so it runs
on the guest's system Python, outside the venv under test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

from .errors import Failure
from .runner import NOT_FOR_APPS, parse_event, run_app


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
    ready: str | re.Pattern[str] = args.ready
    if args.ready.startswith("pattern:"):
        ready = re.compile(args.ready.removeprefix("pattern:"))
    state = {"said": False}

    def forward(line: str, seconds: float) -> None:
        """Pass the app's output on as it comes; the first ready gains the time it took here."""
        event = parse_event(line)
        if event is not None and event.get("event") == "ready" and "spawn_to_ready_s" not in event:
            line = json.dumps({**event, "spawn_to_ready_s": seconds}) + "\n"
            state["said"] = True
        elif isinstance(ready, re.Pattern) and not state["said"] and ready.search(line):
            _say_ready(seconds)
            state["said"] = True
        sys.stdout.write(line)
        sys.stdout.flush()

    try:
        # whether a run had to be ready is the host's to judge (a throughput run need not say so)
        run = run_app(command, env=env, cwd=args.cwd, timeout=args.timeout, on_line=forward, ready=ready,
                      need_ready=False)
    except Failure as failure:
        print(f"relay: {failure.reason}", file=sys.stderr, flush=True)
        return 1
    if ready == "exit" and run.ready_s is not None:
        _say_ready(run.ready_s)
    return 0


def _say_ready(seconds: float) -> None:
    sys.stdout.write(json.dumps({"event": "ready", "spawn_to_ready_s": seconds}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
