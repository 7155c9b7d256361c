"""The distroless image's entry point: the app's start command (docker/app.Dockerfile writes it, as shell words,
to /usr/local/lib/app-start.cmd) carried out without a shell, in this Python process where it can be.

`python -m module` runs the module, `python path/script.py` the script (its folder first on sys.path), a console
script its entry point; anything else is exec'd. In-process, so that the image starts one interpreter, not two.
"""

from __future__ import annotations

import os
import runpy
import shlex
import sys

START = os.environ.get("SHIPBENCH_START_FILE", "/usr/local/lib/app-start.cmd")


def console_script(name: str) -> object:
    from importlib.metadata import entry_points

    found = entry_points()
    group = found.select(group="console_scripts") if hasattr(found, "select") else found.get("console_scripts", [])
    return next((e for e in group if e.name == name), None)


def main() -> None:
    with open(START, encoding="utf-8") as file:
        argv = shlex.split(file.read()) + sys.argv[1:]
    program = os.path.basename(argv[0])
    if program.startswith("python") and len(argv) > 2 and argv[1] == "-m":
        sys.argv = [argv[2], *argv[3:]]
        sys.path[0] = os.getcwd()  # as `python -m` puts the folder it starts in first, not this file's
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        return
    if program.startswith("python") and len(argv) > 1 and not argv[1].startswith("-"):
        sys.argv = argv[1:]
        sys.path[0] = os.path.dirname(os.path.abspath(argv[1]))  # the script's folder, as `python script.py`
        runpy.run_path(argv[1], run_name="__main__")
        return
    entry = None if program.startswith("python") else console_script(program)
    if entry is not None:
        sys.argv = argv
        sys.exit(entry.load()())  # type: ignore[attr-defined]
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
