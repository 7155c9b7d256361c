"""Every setting shipbench reads, in one declarative table, and where each value comes from.

A setting has one name, used three ways: the `[tool.shipbench]` key in the project's pyproject.toml
(`warm-runs = 3`), the environment variable (`SHIPBENCH_WARM_RUNS=3`) and the command-line flag
(`--warm-runs 3`). One precedence holds for all of them, as in nox's option table:

    command line  >  environment  >  pyproject.toml  >  the default here

The project is the folder whose pyproject.toml describes the apps (description.py): `--project`, else
SHIPBENCH_PROJECT, else the current folder. Folders that a setting names (results, build, report, evidence)
are relative to the project.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError

PYPROJECT = "pyproject.toml"
TABLE = "tool.shipbench"


def _whole(minimum: int) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise ValueError("a whole number")
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("a whole number") from None
        if value < minimum:
            raise ValueError(f"a whole number of at least {minimum}")
        return value

    parse.__doc__ = f"a whole number of at least {minimum}"
    return parse


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("a string")
    return raw


def _duration(raw: Any) -> int:
    """Seconds from 600, "600", "600s", "10m" or "1h"; 0 or "none": no limit."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise ValueError("a duration (600, 10m, 1h) or none")
    text = str(raw).strip().lower()
    if text in ("none", "0"):
        return 0
    found = re.fullmatch(r"(\d+)\s*(s|m|min|h)?", text)
    if not found:
        raise ValueError("a duration (600, 10m, 1h) or none")
    return int(found.group(1)) * {"s": 1, "m": 60, "min": 60, "h": 3600}.get(found.group(2) or "s", 1)


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        if raw not in choices:
            raise ValueError(f"one of {', '.join(choices)}")
        return str(raw)

    return parse


def _flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise ValueError("1 or 0 (true or false)")


def _patterns(raw: Any) -> tuple[str, ...]:
    """A list in pyproject.toml; comma-separated in the environment and on the command line."""
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(raw, list) and all(isinstance(part, str) for part in raw):
        return tuple(part.strip() for part in raw if part.strip())
    raise ValueError("a list of strings (comma-separated outside pyproject.toml)")


def _pythons(raw: Any) -> tuple[str, ...]:
    """Python versions (MAJOR.MINOR), each once, in the order given: a list, or comma-separated."""
    versions = _patterns(raw) if not isinstance(raw, (int, float)) else ()
    if not versions or not all(re.fullmatch(r"3\.\d{1,2}", version) for version in versions):
        raise ValueError("Python versions like 3.12 (MAJOR.MINOR), comma-separated outside pyproject.toml")
    return tuple(dict.fromkeys(versions))


def running_python() -> str:
    """The interpreter shipbench runs on: noxw.py's (the distribution's python3 on a fresh machine), since nox
    runs every session's harness on the Python it runs itself."""
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


# what `profile` chooses between (the quick one: each strategy's `quick_variant`, see strategies/base.py)
PROFILES = ("full", "quick")


@dataclass(frozen=True)
class Option:
    """One setting. `measuring`: whether it can change what a row measures (part of each row's inputs)."""

    name: str
    parse: Callable[[Any], Any]
    default: Callable[[], Any]
    help: str
    measuring: bool = True

    @property
    def env(self) -> str:
        return "SHIPBENCH_" + self.name.upper().replace("-", "_")

    @property
    def flag(self) -> str:
        return "--" + self.name

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option("python", _pythons, lambda: (running_python(),), "the Pythons every strategy builds and measures for, "
           'e.g. "3.11,3.13" (default: the one shipbench runs on)', measuring=False),
    Option("results", _text, lambda: "results", "folder the records are written to", measuring=False),
    Option("build", _text, lambda: "build", "folder for builds and caches, kept between runs", measuring=False),
    Option("report", _text, lambda: "report", "folder report.md and index.html are written to", measuring=False),
    Option("evidence", _patterns, lambda: (), "more record folders the report reads (records from other hosts)",
           measuring=False),
    Option("skip", _patterns, lambda: (), "strategy/variant/app patterns (fnmatch; a fourth part names the Python) "
           'recorded as skipped, not run, e.g. "bake/cuda/*,pyinstaller/onefile-*/*,venv/*/*/py3.10"',
           measuring=False),
    Option("fresh", _flag, lambda: False, "measure every row again, even where its inputs are unchanged",
           measuring=False),
    Option("profile", _choice(*PROFILES), lambda: "full", "full: every variant of every strategy; quick: one "
           "representative row per strategy and app, no VM under software emulation, 3 warm start-ups (a first "
           "answer in minutes)"),
    Option("warm-runs", _whole(1), lambda: 3 if profile() == "quick" else 5, "start-up runs after the cold one "
           "(default 5, the quick profile's 3; the median of fewer than 5 says little)"),
    Option("throughput-runs", _whole(1), lambda: 3, "runs of the throughput command"),
    Option("instruction-runs", _whole(0), lambda: 0, "start-up runs under valgrind's callgrind that count the "
           "instructions from spawn to exit, a gate metric that wall time on a shared runner cannot be (0: off; "
           "each run costs about 50 starts)"),
    Option("app-timeout", _whole(1), lambda: 120, "seconds an app may take to be ready"),
    Option("build-timeout", _whole(60), lambda: 3600, "seconds one build step of any way may run (an install, a "
           "freeze, an image, a package; Nuitka compiling torch can take hours on 2 cores): a step still running then "
           "is stopped, its helpers with it, and the row is recorded as failed"),
    Option("time-budget", _duration, lambda: 0, "a run's time budget (600, 10m, 1h; none: no limit): the plan keeps, "
           "per app, the cheapest row of each kind of artifact first, then the cheapest others, as far as their "
           "estimates fit, and plans the rest as skipped with the command that measures them (nox -s quick: 9m)",
           measuring=False),
    Option("qt-platform", _text, lambda: "offscreen", "QT_QPA_PLATFORM of window apps: offscreen needs no "
           "display; xcb (with DISPLAY) draws on X11"),
    Option("torch", _text, lambda: "auto", "where torch comes from: auto, pypi, index:URL or wheels:DIR "
           "(see Where torch comes from)"),
    Option("base-image", _text, lambda: "", "the images' base (default: python:X.Y-slim, else one built from "
           "Debian packages)"),
    Option("bake-cache", _text, lambda: "", 'an external BuildKit cache for bake, e.g. "type=gha"'),
    Option("vm-accel", _choice("auto", "kvm", "tcg"), lambda: "auto",
           "VM acceleration: auto (KVM where it works), kvm, or tcg (QEMU software emulation)"),
    Option("vm-memory", _whole(512), lambda: 2048, "guest memory in MiB"),
    Option("vm-cpus", _whole(1), lambda: min(4, os.cpu_count() or 1), "guest CPUs (default: the host's, up to 4)"),
    Option("vm-boot-timeout", _whole(10), lambda: 600, "seconds `vagrant up` may wait for SSH"),
)
BY_NAME = {option.name: option for option in OPTIONS}

# Values given on the command line (cli.py fills this): the first place a setting is looked up.
_command_line: dict[str, Any] = {}
_project_override: Path | None = None


def set_command_line(values: Mapping[str, Any], project: Path | None = None) -> None:
    """Settings given as flags (None: not given) and --project, for this process."""
    global _project_override
    _command_line.clear()
    _command_line.update({name: value for name, value in values.items() if value is not None})
    _project_override = project


def project_root() -> Path:
    """The folder whose pyproject.toml describes the apps: --project, SHIPBENCH_PROJECT, or the current one."""
    root = (_project_override or Path(os.environ.get("SHIPBENCH_PROJECT") or Path.cwd())).resolve()
    if not (root / PYPROJECT).exists():  # a FIFO or a folder there: description.py says which, in one line
        raise UsageError(f"{root} has no {PYPROJECT}: run from your project's folder, or name it with --project "
                         "(README, 'Your own app')")
    return root


def harness_root() -> Path:
    """shipbench's own checkout: its Dockerfile, Vagrantfile, scripts and templates (installed with `-e .`)."""
    return Path(__file__).resolve().parent.parent


def table(root: Path | None = None) -> dict[str, Any]:
    """The project's [tool.shipbench] table, validated (description.py reads and checks it); empty where there is
    no project here at all (the report of records from elsewhere needs none). A table with errors is an error."""
    from . import description

    if root is not None:
        return description.tool_table(root)
    try:
        root = project_root()
    except UsageError:
        return {}
    return description.optional_table(root) or {}


def resolve(name: str, root: Path | None = None) -> tuple[Any, str]:
    """(value, where it came from) for one setting, by the one precedence; bad values raise UsageError."""
    option = BY_NAME[name]
    if name in _command_line:
        return _parsed(option, _command_line[name], f"{option.flag} {_command_line[name]!r}"), "command line"
    raw = os.environ.get(option.env)
    if raw is not None and raw != "":
        return _parsed(option, raw, f"{option.env}={raw!r}"), "environment"
    tool = table(root)
    if name in tool:
        where = f"{(root or project_root()) / PYPROJECT} [{TABLE}] {name} = {tool[name]!r}"
        return _parsed(option, tool[name], where), PYPROJECT
    return option.default(), "default"


def _parsed(option: Option, raw: Any, where: str) -> Any:
    try:
        return option.parse(raw)
    except ValueError as error:
        raise UsageError(f"{where}: expected {error}") from None


def get(name: str) -> Any:
    return resolve(name)[0]


def check_all(root: Path | None = None) -> None:
    """Parse every setting, and the budgets, now, so a bad value stops the run before any build starts."""
    from . import budgets

    for option in OPTIONS:
        resolve(option.name, root)
    folders = [(name, _folder(name)) for name in FOLDERS] + [("evidence", path) for path in evidence_dirs()]
    for name, path in folders:
        if path.exists() and not path.is_dir():  # a file, a FIFO: every write below it would fail mid-run
            raise UsageError(f"{name} = {path}: not a folder (something else of that name is in the way)")
    budgets.from_project(table(root))


def measuring() -> dict[str, str]:
    """The settings that can change what a row measures, as text, for each row's inputs (inputs.py)."""
    return {option.name: repr(get(option.name)) for option in OPTIONS if option.measuring}


FOLDERS = ("results", "build", "report")  # the folder settings a run writes below


def _folder(name: str) -> Path:
    path = Path(get(name))
    if path.is_absolute():
        return path
    try:
        return project_root() / path
    except UsageError:
        return path


# --- named accessors: what the rest of shipbench calls -----------------------------------------------------------
def results_dir() -> Path:
    return _folder("results")


def build_dir() -> Path:
    return _folder("build")


def report_dir() -> Path:
    return _folder("report")


def evidence_dirs() -> list[Path]:
    root = project_root()
    return [path if (path := Path(item)).is_absolute() else root / path for item in get("evidence")]


def profile() -> str:
    return str(get("profile"))


# What the quick profile does not measure, beside the variants it leaves out: each is tens of seconds to minutes
# a row (here, 2 cores: about 11 of the 27 minutes both samples took with them). Its rows say so in a note, and
# the profile is part of every row's inputs, so a full run measures them again, whole.
QUICK_LEAVES_OUT = ("the warm build", "the baseline venv measured right after", "the starts in clean Debian "
                    "containers", "the other Pythons a zipapp runs on")


def quick() -> bool:
    """The quick profile: one row per strategy and app, and none of QUICK_LEAVES_OUT measured."""
    return profile() == "quick"


def warm_runs() -> int:
    return int(get("warm-runs"))


def throughput_runs() -> int:
    return int(get("throughput-runs"))


def instruction_runs() -> int:
    return int(get("instruction-runs"))


def app_timeout_s() -> int:
    return int(get("app-timeout"))


def time_budget_s() -> int:
    """0: no budget."""
    return int(get("time-budget"))


def build_timeout_s() -> int:
    return int(get("build-timeout"))


def qt_platform() -> str:
    return str(get("qt-platform"))


def pythons() -> list[str]:
    return list(get("python"))


def skip_patterns() -> list[str]:
    return list(get("skip"))


def fresh() -> bool:
    return bool(get("fresh"))


def torch_source() -> str:
    return str(get("torch"))


def base_image() -> str:
    return str(get("base-image"))


def bake_cache() -> str:
    return str(get("bake-cache"))


def vm_accel() -> str:
    return str(get("vm-accel"))


def vm_memory_mib() -> int:
    return int(get("vm-memory"))


def vm_cpus() -> int:
    return int(get("vm-cpus"))


def vm_boot_timeout_s() -> int:
    return int(get("vm-boot-timeout"))
