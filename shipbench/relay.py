"""Start an app where it lives (inside a VM) and time spawn→ready there, not across the link to it.

A start-up measured from the host through SSH would add the connection's round trips to every number, and
they are not part of what a user of the VM waits for. The relay runs beside the app, starts it with the same
runner the host uses, and forwards the app's output line by line, the ready event carrying `spawn_to_ready_s`,
which the host's runner takes in place of its own clock.

    python3 -m shipbench.relay [--timeout S] [--cwd DIR] -- APP ARGV...

Only the standard library is used (runner, errors, fsutil and this file are copied into the guest), so it runs
on the guest's system Python, outside the venv under test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import Failure
from .runner import NOT_FOR_APPS, parse_event, run_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m shipbench.relay")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--cwd", default=os.path.expanduser("~"))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no app command after --")
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_APPS}
    try:
        run_app(command, env=env, cwd=args.cwd, timeout=args.timeout, on_line=_forward)
    except Failure as failure:
        print(f"relay: {failure.reason}", file=sys.stderr, flush=True)
        return 1
    return 0


def _forward(line: str, seconds: float) -> None:
    """Pass the app's output on as it comes; the first ready event gains the time it took here."""
    event = parse_event(line)
    if event is not None and event.get("event") == "ready" and "spawn_to_ready_s" not in event:
        line = json.dumps({**event, "spawn_to_ready_s": seconds}) + "\n"
    sys.stdout.write(line)
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
