"""What an app is: read from `[tool.shipbench.apps.<name>]` in a project's pyproject.toml, checked, typed.

Everything shipbench knows about an app comes from here: how to install it, how to start it, what it can do
(capabilities: a window, a throughput figure, torch), how "ready" is seen, and what it adds to the generated
specs, images and guests. The table is checked against shipbench/schema/project.schema.json first; every
error names the file, the key and what was expected, so a typo never reaches a build.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import json
import os
import re
import reprlib
import stat
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePath
from typing import Any

import jsonschema

from . import kinds
from .errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["tomllib"]  # the one TOML reader of the package (3.10 has no tomllib): wheel.py and tests read it here

# what an app can do and how its readiness shows (the schema's enums; the report and strategies ask these)
CAPABILITIES = ("window", "throughput", "torch")
READY_KINDS = ("event", "exit", "first-frame", "pattern", "port")


@functools.cache
def schema() -> dict[str, Any]:
    text = resources.files("shipbench").joinpath("schema/project.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@dataclass(frozen=True)
class Throughput:
    """The run whose figure is the app's throughput, and how to read the figure from its output."""

    args: tuple[str, ...]
    quick_args: tuple[str, ...] | None  # a shorter run for machines many times slower (software emulation)
    event: str | None  # the JSON event holding the figure ("result") ...
    key: str  # ... and its key; or:
    pattern: str | None  # a regex whose first group is the figure
    unit: str
    # a service's throughput: an HTTP request sent over loopback by shipbench's load generator (loadgen.py)
    http: str | None = None  # "GET /items?limit=5"
    port: int | None = None
    body: str | None = None
    content_type: str | None = None
    requests: int = 2000
    seconds: float = 20.0
    connections: int = 4


@dataclass(frozen=True)
class App:
    name: str
    project: Path  # the folder of the pyproject.toml that describes it
    folder: Path  # the app's own folder (a project with its pyproject.toml, or a script's folder)
    requirements: str | None  # a requirements file in `folder`; None: install `folder` as a project
    extras: tuple[str, ...]
    start: tuple[str, str]  # ("module", "pkg") | ("script", "tool.py") | ("console-script", "name")
    entry_point: str | None  # a console script's "module:function" (None: a dependency's, found once installed)
    args: tuple[str, ...]
    capabilities: frozenset[str]
    ready: str  # one of READY_KINDS
    ready_pattern: str | None
    probe_args: tuple[str, ...]
    screenshot_args: tuple[str, ...] | None
    throughput: Throughput | None
    gpu_args: tuple[str, ...] | None
    data: tuple[str, ...]
    hidden_imports: tuple[str, ...]
    system_packages: tuple[str, ...]
    strategies: tuple[str, ...]
    pyinstaller_spec: Path | None
    dockerfile: Path | None
    record_version: str | None
    icu_data: bool = True  # False: trimmed builds may ship an empty ICU data package (pyinstaller/icudata_stub.c)
    workdir: str = "."  # where the app starts, relative to `folder` (a user runs `python train.py` there)
    env: tuple[tuple[str, str], ...] = ()  # variables every run of the app gets
    ready_port: int | None = None  # ready = {port = N}
    toolkit: str | None = None  # a window app's toolkit (kinds.TOOLKITS): the description's, else guessed
    trim_keep: tuple[str, ...] = ()  # paths in a bundle trimmed builds keep whatever the evidence says
    collect: tuple[str, ...] = ()  # packages frozen whole (their submodules and data files)
    # whether the injected Qt probe runs where this row starts the app; False for a compiled program (Nuitka), whose
    # Qt window is then seen on the X server like any other toolkit's (driver.py sets it per strategy)
    probe_runs: bool = True
    # installed as a project (pip install FOLDER); False: a requirements file, or a folder of scripts with no
    # dependencies (no requirements file, no [project] table, no setup.py), which has nothing to install
    is_project: bool = True

    @property
    def workdir_path(self) -> Path:
        """The folder the app starts in on this host."""
        return (self.folder / self.workdir).resolve()

    @property
    def environment(self) -> dict[str, str]:
        return dict(self.env)

    # --- capabilities: what the strategies and the report ask, instead of an app's name ------------------------
    @property
    def shows_window(self) -> bool:
        return "window" in self.capabilities

    @property
    def uses_torch(self) -> bool:
        return "torch" in self.capabilities

    @property
    def first_frame(self) -> bool:
        """Ready is the first frame: a Qt app's first paint, seen by the probe shipbench injects
        (shipbench/inject/), or any other toolkit's first window mapped on the X server (x11_window.py)."""
        return self.ready == "first-frame"

    @property
    def window_on_x(self) -> bool:
        """Its first frame is seen on an X server (a toolkit without the Qt probe, or a program the probe cannot
        run in): it needs a display."""
        return self.first_frame and self.toolkit is not None and not (kinds.TOOLKITS[self.toolkit].probe
                                                                      and self.probe_runs)

    @property
    def service(self) -> bool:
        """It serves until stopped (ready on a port, or its throughput is an HTTP request): kinds.py."""
        return self.ready == "port" or bool(self.throughput and self.throughput.http)

    @property
    def stops_at_ready(self) -> bool:
        """A start-up run ends at ready, by SIGTERM: the app does not know shipbench and may never end by itself
        (a service, a window nobody closes, a pattern in a long run's output)."""
        return self.ready in ("pattern", "port") or self.window_on_x

    # --- how to start it ------------------------------------------------------------------------------------
    def command(self, python: str, scripts_dir: str, folder: str) -> list[str]:
        """argv that starts the app where its environment's Python, scripts and its own folder are as given."""
        kind, value = self.start
        if kind == "module":
            return [python, "-m", value, *self.args]
        if kind == "script":
            return [python, f"{folder}/{value}", *self.args]
        return [f"{scripts_dir}/{value}", *self.args]

    def install_items(self, folder: str | None = None) -> list[str]:
        """pip/uv arguments that install the app and its dependencies (the app's folder as given, else here);
        none for a folder of scripts with no dependencies."""
        where = folder or str(self.folder)
        if self.requirements:
            return ["-r", f"{where}/{self.requirements}"]
        if not self.is_project:
            return []
        return [where + (f"[{','.join(self.extras)}]" if self.extras else "")]

    def wants(self, strategy: str, variant: str) -> bool:
        """Whether the description asks for this strategy/variant (strategies = patterns; default: all)."""
        row = f"{strategy}/{variant}"
        return not self.strategies or any(fnmatch.fnmatch(row, p) or fnmatch.fnmatch(strategy, p)
                                          for p in self.strategies)


# --- reading and checking --------------------------------------------------------------------------------------
def read_pyproject(path: Path) -> dict[str, Any]:
    """path's TOML, or one line naming it and what is wrong: a description is untrusted input (a project cloned to
    be measured), so none of it may end in a traceback or a hang. It must be a regular file before it is opened (a
    FIFO would block open() until some writer came; a device is not opened at all), and it is opened without
    blocking and checked again, in case something else was put there in between."""
    try:
        _regular_file(path, os.stat(path).st_mode)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise UsageError(f"{path}: cannot read it ({error.strerror or error})") from None
    try:
        _regular_file(path, os.fstat(fd).st_mode)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as file:
        try:
            data: dict[str, Any] = tomllib.load(file)
        except OSError as error:
            raise UsageError(f"{path}: cannot read it ({error.strerror or error})") from None
        except UnicodeDecodeError as error:
            raise UsageError(f"{path}: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset "
                             f"{error.start}); TOML is UTF-8: save it as UTF-8") from None
        except RecursionError:
            raise UsageError(f"{path}: not valid TOML here: arrays or inline tables nested too deep to read; "
                             "nest them less") from None
        except tomllib.TOMLDecodeError as error:
            raise UsageError(f"{path}: not valid TOML ({error})") from None
    return data


def _regular_file(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a special file"
        raise UsageError(f"{path}: not a regular file ({what}); make it a TOML file")


def subtable(data: dict[str, Any], path: Path, *keys: str) -> dict[str, Any] | None:
    """data[keys[0]][keys[1]]..., None where a key is missing; one line where a step is not a table (`tool = 1`
    would otherwise end in an AttributeError)."""
    table: Any = data
    for depth, key in enumerate(keys):
        if key not in table:
            return None
        table = table[key]
        if not isinstance(table, dict):
            dotted = ".".join(keys[:depth + 1])
            raise UsageError(f"{path}: {dotted} must be a table ([{dotted}]), not {reprlib.repr(table)}")
    return dict(table)


def tool_table(root: Path) -> dict[str, Any]:
    """The checked [tool.shipbench] table of root/pyproject.toml."""
    tool = optional_table(root)
    if tool is None:
        raise UsageError(f"{root.resolve() / 'pyproject.toml'} has no [tool.shipbench] table: describe your app "
                         "there (README, 'Your own app')")
    return tool


def optional_table(root: Path) -> dict[str, Any] | None:
    """The checked table, or None where the pyproject.toml has none; read and checked once per process (every
    setting asks for it)."""
    return _checked_table(root.resolve())


@functools.cache
def _checked_table(root: Path) -> dict[str, Any] | None:
    path = root / "pyproject.toml"
    tool = subtable(read_pyproject(path), path, "tool", "shipbench")
    if tool is None:
        return None
    errors = schema_errors(tool)
    if errors:
        raise UsageError(f"{path}: " + "; ".join(errors))
    return dict(tool)


def schema_errors(tool: object) -> list[str]:
    """Each problem as '[tool.shipbench.apps.gui] key: what was expected'."""
    validator = jsonschema.Draft202012Validator(schema())
    messages = []
    for error in sorted(validator.iter_errors(tool), key=lambda e: [str(p) for p in e.absolute_path]):
        messages.append(_describe(error))
    return messages


def _printable(key: object) -> str:
    """A key as typed, or its repr where it holds a line break or another control character (TOML allows any in
    a quoted key): every message stays one line."""
    text = str(key)
    return text if text.isprintable() else repr(text)


def _describe(error: jsonschema.ValidationError) -> str:
    path = [_printable(part) for part in error.absolute_path]
    table = ".".join(["tool", "shipbench", *path[:-1]]) if path else "tool.shipbench"
    key = path[-1] if path else None
    where = f"[{table}] {key}" if key is not None else f"[{table}]"
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed]
        table = ".".join(["tool", "shipbench", *path])
        parts = []
        for name in unknown:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(allowed)})"
            parts.append(f"[{table}] {_printable(name)}: unknown key{hint}")
        return "; ".join(parts)
    if error.validator == "required":
        table = ".".join(["tool", "shipbench", *path])
        return f"[{table}]: {error.message}"
    if error.validator == "enum":
        return f"{where} = {error.instance!r}: expected one of {', '.join(map(repr, error.validator_value))}"
    if error.validator == "oneOf" and key == "ready":
        return (f"{where} = {error.instance!r}: expected \"event\", \"exit\", \"first-frame\", "
                "{pattern = \"...\"} or {port = N}")
    return f"{where}: {error.message}"


def load(root: Path) -> dict[str, App]:
    """Every app the project describes, in the order of the file."""
    root = root.resolve()
    tool = tool_table(root)
    return {name: _app(name, raw, root) for name, raw in tool["apps"].items()}


def _app(name: str, raw: dict[str, Any], root: Path) -> App:
    where = f"{root / 'pyproject.toml'} [tool.shipbench.apps.{name}]"
    folder = inside(where, "path", raw.get("path", "."), root, root)
    if not folder.is_dir():
        raise UsageError(f"{where} path = {raw.get('path')!r}: no such folder")
    starts = [key for key in ("module", "script", "console-script") if key in raw]
    if len(starts) != 1:
        raise UsageError(f"{where}: say how to start the app with exactly one of module, script or console-script"
                         + (f" (found {', '.join(starts)})" if starts else ""))
    kind = starts[0]
    start = (kind, str(raw[kind]))
    requirements = raw.get("requirements")
    if requirements and not inside(where, "requirements", requirements, folder, root).is_file():
        raise UsageError(f"{where} requirements = {requirements!r}: no such file in {folder}")
    if not requirements and not (folder / "pyproject.toml").is_file() and not (folder / "setup.py").is_file():
        raise UsageError(f"{where}: {folder} is not a project (no pyproject.toml); name a requirements file "
                         "with requirements = \"...\"")
    pyproject = folder / "pyproject.toml"
    document = read_pyproject(pyproject) if pyproject.is_file() else {}
    project = subtable(document, pyproject, "project")
    # a pyproject.toml that only describes (no [project] table) beside scripts, and no setup.py: nothing to install
    is_project = not requirements and ((folder / "setup.py").is_file() or project is not None)
    entry_point = _check_start(where, folder, root, kind, start[1], requirements, document)
    capabilities = frozenset(raw.get("capabilities", ()))
    ready_raw = raw.get("ready", "event")
    ready, pattern, port = ready_raw, None, None
    if isinstance(ready_raw, dict):
        ready = "pattern" if "pattern" in ready_raw else "port"
        pattern, port = ready_raw.get("pattern"), ready_raw.get("port")
    if pattern is not None:
        _check_regex(f"{where} ready.pattern", pattern)
    if ready == "first-frame" and "window" not in capabilities:
        raise UsageError(f"{where} ready = \"first-frame\": only an app with capabilities = [\"window\"] paints one")
    toolkit = raw.get("toolkit")
    if toolkit is not None and "window" not in capabilities:
        raise UsageError(f"{where} toolkit = {toolkit!r}: only an app with capabilities = [\"window\"] has one")
    if toolkit is None and "window" in capabilities:
        subtable(document, pyproject, "project", "optional-dependencies")  # kinds reads it: a table or none
        toolkit = kinds.guess_toolkit(kinds.declared_distributions(folder, requirements, tuple(raw.get("extras", ())),
                                                                    project or {}))
    throughput = _throughput(where, raw.get("throughput"), port)
    if "throughput" in capabilities and throughput is None:
        raise UsageError(f"{where}: capability \"throughput\" needs a [throughput] table (args, and event/key or "
                         "pattern)")
    if throughput is not None and "throughput" not in capabilities:
        raise UsageError(f"{where}: a [throughput] table without the \"throughput\" capability")
    workdir = raw.get("workdir", ".")
    if not inside(where, "workdir", workdir, folder, root).is_dir():
        raise UsageError(f"{where} workdir = {workdir!r}: not a folder inside {folder}")
    for item in raw.get("data", ()):
        found = inside(where, "data", item, folder, root)
        if not found.exists():
            raise UsageError(f"{where} data: {item!r} does not exist in {folder}")
        if not found.is_file() and not found.is_dir():  # a FIFO would block the copy of every bundle that took it
            raise UsageError(f"{where} data: {item!r} is neither a file nor a folder")
    own = {}
    for key in ("pyinstaller-spec", "dockerfile"):
        if key in raw:
            path = inside(where, key, raw[key], root, root)
            if not path.is_file():
                raise UsageError(f"{where} {key} = {raw[key]!r}: no such file")
            own[key] = path
    return App(
        name=name, project=root, folder=folder, requirements=requirements, extras=tuple(raw.get("extras", ())),
        start=start, entry_point=entry_point, args=tuple(raw.get("args", ())), capabilities=capabilities,
        ready=ready, ready_pattern=pattern, probe_args=tuple(raw.get("probe-args", ())),
        screenshot_args=tuple(raw["screenshot-args"]) if "screenshot-args" in raw else None,
        throughput=throughput, gpu_args=tuple(raw["gpu-args"]) if "gpu-args" in raw else None,
        data=tuple(raw.get("data", ())), hidden_imports=tuple(raw.get("hidden-imports", ())),
        system_packages=tuple(raw.get("system-packages", ())), strategies=tuple(raw.get("strategies", ())),
        pyinstaller_spec=own.get("pyinstaller-spec"), dockerfile=own.get("dockerfile"),
        record_version=raw.get("record-version"), icu_data=raw.get("icu-data", True), workdir=workdir,
        env=tuple(sorted(raw.get("env", {}).items())), ready_port=port, toolkit=toolkit,
        trim_keep=tuple(raw.get("trim-keep", ())), is_project=is_project, collect=tuple(raw.get("collect", ())),
    )


def inside(where: str, key: str, value: str, base: Path, root: Path) -> Path:
    """`value`, a path the description names relative to `base` (the project `root`, or the app's folder in it),
    resolved with its symlinks followed; one line naming the key where it is absolute, climbs out of `base` with
    `..`, or leads out of the project by a symlink. Every path key goes through here before anything is built: a
    path outside was read into records and written beside (a shiv row staged `data` outside its build folder),
    and the copy of the app's folder that images, guests and packages hold has nothing above it."""
    what = "the project" if base == root else "the app's folder"
    relative = PurePath(os.path.normpath(value))
    if relative.is_absolute() or relative.parts[:1] == ("..",):
        raise UsageError(f"{where} {key}: {value!r} is outside {what} {base} (paths are relative to it and stay "
                         "inside)")
    try:
        resolved = (base / value).resolve()
        if (base / value).is_symlink():  # a loop raises on every Python (3.13's lax resolve() no longer does)
            (base / value).resolve(strict=True)
    except (OSError, RuntimeError, ValueError) as error:  # a symlink loop, a dangling link, a NUL
        raise UsageError(f"{where} {key}: {value!r} cannot be resolved ({error})") from None
    if not resolved.is_relative_to(root):
        raise UsageError(f"{where} {key}: {value!r} is outside the project {root} (a symlink leads it to {resolved}; "
                         "paths stay inside)")
    return resolved


def _check_start(where: str, folder: Path, root: Path, kind: str, value: str, requirements: str | None,
                 document: dict[str, Any]) -> str | None:
    """The entry point must exist before anything is built; returns a console script's module:function.
    `document` is the app's own pyproject.toml as read ({} where it has none)."""
    if kind == "script":
        if not inside(where, "script", value, folder, root).is_file():
            raise UsageError(f"{where} script = {value!r}: no such file in {folder}")
        return None
    if kind == "module":
        top = value.split(".")[0]
        places = [f"{top}", f"{top}.py", f"src/{top}", f"src/{top}.py"]
        found = [place for place in places if (folder / place).exists()]
        for place in found:  # the schema's pattern keeps the name inside; a symlink could still lead out
            inside(where, "module", place, folder, root)
        if not requirements and not found:
            raise UsageError(f"{where} module = {value!r}: no {top}/ or {top}.py in {folder} (or its src/)")
        return None
    pyproject = folder / "pyproject.toml"
    # console scripts and GUI scripts alike: both are commands on PATH once installed
    project = subtable(document, pyproject, "project") or {}
    scripts = {**(subtable(document, pyproject, "project", "scripts") or {}),
               **(subtable(document, pyproject, "project", "gui-scripts") or {})}
    if value in scripts:
        return str(scripts[value])
    # a dependency's console script (httpie's `http`, a requirements file's tools) is found once installed;
    # a project with no dependencies and no requirements file can only mean one of its own
    if requirements or project.get("dependencies") or "dependencies" in project.get("dynamic", ()):
        return None
    known = ", ".join(scripts) or "none"
    raise UsageError(f"{where} console-script = {value!r}: {pyproject} [project.scripts] and [project.gui-scripts] "
                     f"have no such entry (they have: {known}), and it has no dependencies that could install one")


def _check_regex(where: str, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise UsageError(f"{where} = {pattern!r}: not a regular expression ({error})") from None


def _throughput(where: str, raw: dict[str, Any] | None, ready_port: int | None) -> Throughput | None:
    if raw is None:
        return None
    if "http" in raw:
        return _http_throughput(where, raw, ready_port)
    pattern = raw.get("pattern")
    if pattern is not None:
        _check_regex(f"{where} throughput.pattern", pattern)
        if re.compile(pattern).groups < 1:
            raise UsageError(f"{where} throughput.pattern = {pattern!r}: needs a group around the figure")
    if pattern is None and "key" not in raw:
        raise UsageError(f"{where} [throughput]: say how to read the figure: key (of a JSON event) or pattern")
    for key in _HTTP_ONLY:
        if key in raw:
            raise UsageError(f"{where} [throughput] {key}: only for a service's throughput (http = \"GET /...\")")
    return Throughput(args=tuple(raw["args"]), quick_args=tuple(raw["quick-args"]) if "quick-args" in raw else None,
                      event=raw.get("event", "result") if pattern is None else None, key=raw.get("key", "value"),
                      pattern=pattern, unit=raw.get("unit", "per s"))


_HTTP_ONLY = ("port", "body", "content-type", "requests", "seconds", "connections")


def _http_throughput(where: str, raw: dict[str, Any], ready_port: int | None) -> Throughput:
    """A service's throughput: its request, where it listens, how many requests over how many connections."""
    for key in ("event", "key", "pattern", "quick-args"):
        if key in raw:
            raise UsageError(f"{where} [throughput] {key}: a service's throughput (http) is read by shipbench's "
                             "load generator, not from the app's output")
    port = raw.get("port", ready_port)
    if port is None:
        raise UsageError(f"{where} [throughput] http: say where the service listens: ready = {{port = N}} or "
                         "[throughput] port = N")
    if "body" in raw and raw["http"].split()[0] in ("GET", "HEAD", "DELETE", "OPTIONS"):
        raise UsageError(f"{where} [throughput] body: {raw['http'].split()[0]} requests carry no body here")
    return Throughput(args=tuple(raw.get("args", ())), quick_args=None, event=None, key="", pattern=None,
                      unit=raw.get("unit", "requests/s"), http=raw["http"], port=port, body=raw.get("body"),
                      content_type=raw.get("content-type"), requests=raw.get("requests", 2000),
                      seconds=float(raw.get("seconds", 20.0)), connections=raw.get("connections", 4))
