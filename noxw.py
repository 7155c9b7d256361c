#!/usr/bin/env python3
"""noxw: shipbench's nox sessions on a machine that has nothing but its distribution's python3.

    python3 noxw.py              the main job: every strategy this host supports, then the report
    python3 noxw.py -s tests     the fast tests
    python3 noxw.py -l           (any nox arguments: they are passed on)

    cd ~/src/your-app && python3 ~/src/shipbench/noxw.py
                                 the same for your project: the apps its pyproject.toml describes in
                                 [tool.shipbench]; results/ and report/ land in your project's folder

Like a Gradle wrapper, it brings its own tool. nox (with uv) lives in a private virtual environment, .noxw/,
made with the standard library's venv the first time and reused while the pinned nox and the Python stay the
same. Nothing is installed into the system Python, so PEP 668 ("externally-managed-environment", Debian 12,
Ubuntu 24.04, Fedora 38+) never applies and no `--break-system-packages` is needed.

On Debian and Ubuntu it first installs the host packages the strategies need, only those missing
(scripts/install-host-deps.sh: python3-venv, Python's shared library for PyInstaller, Xvfb, Qt's X11
libraries, a C compiler, debootstrap), as root or through sudo. SHIPBENCH_HOST_SETUP=0 leaves the system
alone. Docker and Vagrant start daemons, so they are installed only on request (scripts/install-docker.sh,
scripts/install-vagrant.sh); without them their rows are recorded as skipped with that command.

Standard library only, and it parses on Python 3.6+, so that an old one is told what it lacks.
"""

import json
import os
import platform
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(ROOT, ".noxw")
NOX_REQUIREMENT = "nox[uv]==2026.10.20"  # the noxfile's nox.needs_version allows it; bump both together
MINIMUM_PYTHON = (3, 10)


def say(message):
    print("noxw: " + message, file=sys.stderr, flush=True)


def host_setup():
    """Install the strategies' host packages where apt-get is the package manager; elsewhere say what is needed.

    A failure here is not fatal: a row whose host tool is missing is recorded as skipped, naming the package.
    """
    if os.environ.get("SHIPBENCH_HOST_SETUP", "1") == "0":
        return
    if not sys.platform.startswith("linux") or shutil.which("apt-get") is None:
        say("no apt-get here: install Xvfb, a C compiler and Python's shared library with your package manager "
            "(README: The two commands); rows that need a missing tool are recorded as skipped")
        return
    script = os.path.join(ROOT, "scripts", "install-host-deps.sh")
    if subprocess.call(["bash", script]) != 0:
        say("host packages could not be installed (see above); continuing: rows that need them will say so")


def venv_python(venv):
    return os.path.join(venv, "Scripts", "python.exe") if os.name == "nt" else os.path.join(venv, "bin", "python")


def tool_env():
    """The private venv with nox in it, made or remade only when the pinned nox or this Python changed."""
    venv = os.path.join(TOOLS, "venv")
    stamp_path = os.path.join(venv, "noxw.json")
    wanted = {"requirement": NOX_REQUIREMENT, "python": sys.executable, "version": platform.python_version()}
    try:
        with open(stamp_path, encoding="utf-8") as stamp:
            if json.load(stamp) == wanted and os.path.exists(venv_python(venv)):
                return venv
    except (OSError, ValueError):
        pass
    say("making the tool environment " + os.path.relpath(venv) + " with " + NOX_REQUIREMENT)
    shutil.rmtree(venv, ignore_errors=True)
    if subprocess.call([sys.executable, "-m", "venv", venv]) != 0:
        shutil.rmtree(venv, ignore_errors=True)
        version = "{}.{}".format(*sys.version_info[:2])
        sys.exit("noxw: this Python cannot make a virtual environment (no ensurepip): on Debian/Ubuntu "
                 f"`apt-get install python3-venv` (python{version}-venv), then run this again; the host packages "
                 "named above (scripts/install-host-deps.sh) are needed for the rows that use them")
    install = [venv_python(venv), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", NOX_REQUIREMENT]
    if subprocess.call(install) != 0:
        shutil.rmtree(venv, ignore_errors=True)
        sys.exit(f"noxw: installing {NOX_REQUIREMENT} failed (see above); nothing was kept")
    with open(stamp_path, "w", encoding="utf-8") as stamp:
        json.dump(wanted, stamp)
    return venv


def main(args):
    if sys.version_info < MINIMUM_PYTHON:
        wanted = "{}.{}".format(*MINIMUM_PYTHON)
        sys.exit(f"noxw: shipbench needs Python {wanted} or newer; this is {platform.python_version()} "
                 f"({sys.executable})")
    host_setup()
    venv = tool_env()
    # the project is the folder this was started from (nox itself runs in shipbench's folder)
    os.environ.setdefault("SHIPBENCH_PROJECT", os.getcwd())
    nox = [venv_python(venv), "-m", "nox", "--noxfile", os.path.join(ROOT, "noxfile.py"), *args]
    if os.name == "nt":
        return subprocess.call(nox)
    sys.stderr.flush()
    os.execv(nox[0], nox)  # nox replaces this process: signals and the exit status are its own
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
