"""Start an app where it lives (inside a VM) and time spawn→ready there, not across the link to it.

A start-up measured from the host through SSH would add the connection's round trips to every number, and
they are not part of what a user of the VM waits for. The relay runs beside the app, starts it with the same
runner the host uses, then prints the app's output with the ready event carrying `spawn_to_ready_s`, which
the host's runner takes in place of its own clock.

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
from .runner import parse_event, run_app

# what the relay's own start needs and the measured app must not inherit
_DROP = ("PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m shipbench.relay")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--cwd", default=os.path.expanduser("~"))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no app command after --")
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    try:
        run = run_app(command, env=env, cwd=args.cwd, timeout=args.timeout)
    except Failure as failure:
        for line in failure.log_tail:
            print(line)
        print(f"relay: {failure.reason}", file=sys.stderr)
        return 1
    for line in run.output.splitlines():
        event = parse_event(line)
        if event is not None and event.get("event") == "ready":
            event["spawn_to_ready_s"] = run.ready_s
            line = json.dumps(event)
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
