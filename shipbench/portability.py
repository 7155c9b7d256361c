"""Where does a Linux bundle run? Start it in clean Debian containers and find what the target must install.

Each target starts as a minimal Debian image (debootstrap --variant=minbase). The bundle is mounted read-only
and started as an unprivileged user; when it fails, the libraries its output names are mapped to Debian
packages, added to the image, and the bundle is started again, until it says ready or nothing more can be
learnt. The packages added are the evidence for "what the target machine needs".
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from . import docker, measure, settings, xserver
from .apps import App
from .errors import Failure, Skip
from .runner import run_app

# each round adds the packages one failure named; Nuitka ships fewer system libraries than PyInstaller, so a
# Qt app needs more rounds (six packages for app_gui on Debian 12)
MAX_ROUNDS = 12
_MISSING_LIBRARY = re.compile(r"(lib[\w.+-]+\.so(?:\.\d+)*): cannot open shared object file")
# Needs that Qt states in words rather than as a missing file
_QT_HINTS = {
    re.compile(r"xcb-cursor0 or libxcb-cursor0 is needed"): "libxcb-cursor0",
    re.compile(r"Fontconfig error: Cannot load default config file"): "fontconfig-config",
    re.compile(r"Cannot find font directory|Note that Qt no longer ships fonts"): "fonts-dejavu-core",
}


def package_for_library(library: str) -> str:
    """The Debian package that ships a library: asked of dpkg where the host has it, else by Debian's naming."""
    try:
        found = subprocess.run(["dpkg", "-S", f"*/{library}"], capture_output=True, text=True, timeout=30,
                               check=False)
        if found.returncode == 0 and found.stdout:
            return found.stdout.split(":", 1)[0].split(",")[0].strip()
    except OSError:
        pass
    # Debian policy: libfoo.so.4 -> libfoo4, libfoo-1.0.so.0 -> libfoo-1.0-0
    match = re.fullmatch(r"(lib[\w.+-]+?)\.so\.(\d+)(?:\.\d+)*", library)
    if not match:
        return library
    name, soversion = match.groups()
    separator = "-" if name[-1].isdigit() else ""
    return f"{name}{separator}{soversion}".lower().replace("_", "-")


def needs_from_output(output: str) -> list[str]:
    """Debian packages that a failed start names (missing libraries, Qt's own hints), in order, once each."""
    needs: list[str] = []
    for library in _MISSING_LIBRARY.findall(output):
        package = package_for_library(library)
        if package not in needs:
            needs.append(package)
    for pattern, package in _QT_HINTS.items():
        if pattern.search(output) and package not in needs:
            needs.append(package)
    return needs


# /tmp as a target has it. Docker's own --tmpfs default is noexec and 64 MB: a onefile bundle, which unpacks its
# libraries there, would fail for a reason of the check's, not of the bundle. So /tmp is executable and roomy,
# and a onefile bundle is started a second time with a noexec /tmp, as hardened servers mount it.
TMP = {"exec": "/tmp:rw,exec,nosuid,size=2g,mode=1777", "noexec": "/tmp:rw,noexec,nosuid,size=2g,mode=1777"}
NOEXEC_REMEDY = ("a onefile program unpacks its libraries into the temporary folder, and a noexec /tmp (as "
                 "hardened servers mount it) stops it: set TMPDIR to an executable folder when starting it, or "
                 "build it with PyInstaller's runtime_tmpdir (Nuitka: --onefile-tempdir-spec) pointing at one")


def _start(image: str, bundle: Path, program: str, app: App, extra: list[str], env: dict[str, str],
           tmp: str = "exec") -> float:
    """Start the bundle in a container; return seconds to ready or raise Failure with the container's output.

    A GUI that comes up unable to draw text counts as a failure: it is ready, but shows only boxes.
    """
    # no network, but for a service: its port on loopback must be the host's, where ready is seen
    network = "host" if app.service else "none"
    argv = [*docker.container(), "--rm", *docker.start_label_args(),
            "--network", network, "--user", "65534:65534", "--tmpfs", TMP[tmp],
            "--volume", f"{bundle.resolve()}:/bundle:ro", *extra]
    for name, value in {**measure.probe_env(app), **env}.items():
        argv += ["--env", f"{name}={value}"]
    try:
        run = run_app([*argv, image, f"/bundle/{program}", *app.args, *app.probe_args],
                      timeout=settings.app_timeout_s(), ready=measure.ready_signal(app))
    finally:
        docker.remove_started()
    assert run.ready_s is not None
    if (run.event("ready") or {}).get("text_renders") is False:
        raise Failure("ready, but no font has a glyph for 'A': every character is drawn as a box",
                      [*run.output.splitlines()[-10:], "Note that Qt no longer ships fonts"])
    return run.ready_s


def noexec_tmp(base: str, needs: list[str], bundle: Path, program: str, app: App) -> dict[str, Any]:
    """The same start, with what the target needed installed, but /tmp mounted noexec: a condition of the target
    (hardened servers), recorded as one, with the remedy, never as a property of the bundle."""
    env = {"QT_QPA_PLATFORM": "offscreen"} if app.shows_window else {}
    try:
        ready = _start(docker.with_packages(base, needs), bundle, program, app, [], env, tmp="noexec")
    except Failure as failure:
        return {"status": "failed", "condition": "noexec /tmp", "needs": needs, "reason": NOEXEC_REMEDY,
                "log_tail": failure.log_tail}
    return {"status": "ok", "condition": "noexec /tmp", "needs": needs, "startup_s": ready}


def discover(base: str, bundle: Path, program: str, app: App, display: str | None) -> dict[str, Any]:
    """Start the bundle from the minimal base, adding what each failure names, until it is ready."""
    env = {"QT_DEBUG_PLUGINS": "1"} if app.shows_window else {}
    extra: list[str] = []
    if app.shows_window and display:
        extra = xserver.socket_mount_args(display)
        env["QT_QPA_PLATFORM"] = "xcb"
    elif app.shows_window:
        env["QT_QPA_PLATFORM"] = "offscreen"
    packages: list[str] = []
    last_output: list[str] = []
    image = base
    for _round in range(MAX_ROUNDS):
        image = docker.with_packages(base, packages, on_top_of=image)
        try:
            ready = _start(image, bundle, program, app, extra, env)
        except Failure as failure:
            output = "\n".join(failure.log_tail)
            last_output = failure.log_tail
            new = [p for p in needs_from_output(output) if p not in packages]
            if not new:
                return {"status": "failed", "needs": packages, "reason": failure.reason, "log_tail": last_output}
            packages += new
            continue
        return {"status": "ok", "needs": packages, "startup_s": ready}
    return {"status": "failed", "needs": packages, "reason": f"still failing after {MAX_ROUNDS} rounds",
            "log_tail": last_output}


def check(bundle: Path, program: str, app: App, root: Path, onefile: bool = False) -> dict[str, Any]:
    """Evidence per target (debian-12, debian-13) and per display (offscreen, x11 for a window app); a onefile
    program also with a noexec /tmp (`<target>/noexec-tmp`)."""
    reason = docker.unavailable_reason()
    # a Qt window starts offscreen and on X11; a window seen on X (kinds.py) only there, on the row's own display
    displays = ["x11"] if app.window_on_x else ["offscreen", "x11"] if app.shows_window else ["none"]
    results: dict[str, Any] = {}
    for target, suite in docker.DEBIAN_SUITES.items():
        for display in displays:
            key = target if display == "none" else f"{target}/{display}"
            if reason:
                results[key] = {"status": "skipped", "reason": reason}
                continue
            if display == "x11" and not xserver.available():
                results[key] = {"status": "skipped", "reason": xserver.MISSING}
                continue
            try:
                base = docker.base_image(suite, root)
                if display == "x11" and app.window_on_x:
                    results[key] = discover(base, bundle, program, app, xserver.current_display())
                elif display == "x11":
                    with xserver.xvfb() as x_display:
                        results[key] = discover(base, bundle, program, app, x_display)
                else:
                    results[key] = discover(base, bundle, program, app, None)
                    if onefile and results[key]["status"] == "ok":
                        results[f"{target}/noexec-tmp"] = noexec_tmp(base, results[key]["needs"], bundle, program,
                                                                     app)
            except Skip as skip:
                results[key] = {"status": "skipped", "reason": skip.reason}
            except Failure as failure:
                results[key] = {"status": "failed", "reason": failure.reason, "log_tail": failure.log_tail}
    return results
