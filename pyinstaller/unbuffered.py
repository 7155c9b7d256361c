"""A runtime hook: the bundle honours PYTHONUNBUFFERED as `python` does.

A frozen program's interpreter reads no environment for its own flags, so its stdout stays block-buffered when it
writes to a pipe (a service manager's journal, a CI log, shipbench), and a line the app prints ("Listening on
...") arrives only when the buffer fills or the app exits. With PYTHONUNBUFFERED set, stdout and stderr flush at
every line, as under `python` with the same variable. PyInstaller runs it first (`runtime_hooks` in the spec);
cx_Freeze's entry script imports it first.
"""

import os
import sys

if os.environ.get("PYTHONUNBUFFERED"):
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
