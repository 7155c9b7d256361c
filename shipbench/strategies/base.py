"""The one interface every strategy implements: build the artifact, then measure it.

A strategy module holds only what is particular to its way of shipping (how to build, how to start the app
from what was built) and the facts about that way that no measurement gives: what it isolates, what the target
machine needs, the files a team maintains, the OSes it runs on. The report and CI read those facts from here.
Measuring start-up, throughput and screenshots is shared and lives in measure.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from .. import interpreters, settings, torch_source
from ..apps import App
from ..console import Steps
from ..errors import Skip
from ..record import Key


@dataclass
class Context:
    """What a strategy gets to work with for one (variant, app, python) target, and the record it fills."""

    key: Key
    app: App  # its description: folder, start command, capabilities (description.py)
    root: Path  # shipbench's own checkout: templates, the Vagrantfile, scripts
    build_dir: Path  # where this strategy may write (kept between runs; caches live here)
    results_dir: Path
    record: dict[str, Any]
    steps: Steps

    @property
    def metrics(self) -> dict[str, Any]:
        metrics: dict[str, Any] = self.record["metrics"]
        return metrics

    @property
    def versions(self) -> dict[str, Any]:
        versions: dict[str, Any] = self.record["versions"]
        return versions

    def note(self, text: str | None) -> None:
        """Add a note to the row's record (None: nothing to say, as what tells of a step may return)."""
        if text:
            self.record["notes"].append(text)

    def maintains(self, *paths: Path) -> None:
        """Record the files a team keeps for this way of shipping, with their line counts (the report's "files
        to maintain"; it never reads them itself)."""
        files = self.record.setdefault("maintained_files", [])
        for path in paths:
            try:
                lines = len(path.read_text(encoding="utf-8").splitlines())
            except (OSError, UnicodeDecodeError):
                continue
            name = path.name if not path.is_relative_to(self.app.project) else path.relative_to(
                self.app.project).as_posix()
            files.append({"path": name, "lines": lines})


@dataclass(frozen=True)
class Artifact:
    """What a user must ship, and how to start the app from it."""

    path: Path
    kind: str
    launcher: tuple[str, ...]  # argv that starts the app; the app's own arguments follow
    env: dict[str, str] = field(default_factory=dict)  # added to the environment of each app run
    description: str = ""
    # (host folder, the same folder as the app sees it) where the app can write a screenshot; None: same path
    share: tuple[Path, str] | None = None
    # copies a file the app wrote (as the app sees its path) to the host, where `share` is not a shared folder
    fetch: Callable[[str, Path], None] | None = None
    # the launcher is a wrapper (docker run, vagrant ssh): peak RSS comes from the app's own report
    rss_from_app: bool = False
    # an emulated machine is many times slower: app timeouts are multiplied by this, and throughput_args (the
    # description's quick-args; None: the usual args) keep a throughput run to minutes, not hours
    slowdown: float = 1.0
    throughput_args: tuple[str, ...] | None = None
    # a launcher that hands these variables to the app, where the launcher's own environment does not reach it
    # (a command run over SSH in a guest); None: the environment of the launcher process is the app's
    with_env: Callable[[dict[str, str]], tuple[str, ...]] | None = None
    # the folder the launcher starts in; None: the app's working folder on this host (its description's
    # `workdir`, by default its own folder, where a user types `python train.py`). A container or guest sets the
    # same folder of its copy inside (docker run --workdir, the relay's --cwd)
    cwd: Path | None = None
    # the app's loopback is this host's (the host, a container on the host's network): a service's load generator
    # reaches it. False in a VM, whose ports the host does not reach
    shares_loopback: bool = True
    # called after every start of the app, however it ended: removes what a wrapper may leave behind (a container
    # whose `docker run` client was killed)
    after_run: Callable[[], None] | None = None


APP_KINDS = ("cli", "window", "torch")


def app_kind(app: App) -> str:
    """What decides how long a row takes, for the stated figures (`rough_row_s`): torch apps freeze, bake and
    train for minutes; window apps carry Qt; the rest are small."""
    return "torch" if app.uses_torch else "window" if app.shows_window else "cli"


class Defaults:
    """What most strategies share, inherited rather than repeated: every variant fits every app, and no host tool
    of their own to version (their tools are pinned in files that are already part of the inputs)."""

    variants: tuple[str, ...]
    quick_variant: str
    audiences: tuple[str, ...] = ()
    runs_on_host: bool = True
    runs_probe: bool = True
    rough_variant_share: Mapping[str, float] = MappingProxyType({})

    def variants_for(self, app: App) -> tuple[str, ...]:
        return self.variants

    def quick_variants(self, app: App) -> tuple[str, ...]:
        return tuple(variant for variant in self.variants_for(app) if variant == self.quick_variant)

    def planned_skip(self, app: App, key: Key, profile: str) -> str | None:
        return None

    def python_skip(self, key: Key) -> str | None:
        # what runs on this host builds with this host's pythonX.Y; an image or guest has its own
        if not self.runs_on_host:
            return None
        try:
            interpreters.find(key.python)
        except Skip as skip:
            return skip.reason
        return None

    def torch_skip(self, app: App, key: Key) -> str | None:
        # the torch setting resolved for where the app runs: this host's OS, else a Linux image or guest
        if not app.uses_torch:
            return None
        try:
            torch_source.resolve(settings.torch_source(), key.python, key.os if self.runs_on_host else "linux",
                                 key.arch, torch_source.pip_find_links())
        except Skip as skip:
            return skip.reason
        return None

    def cold_build_estimate_s(self, app: App, variant: str) -> float | None:
        return None

    def tool_versions(self) -> dict[str, str | None]:
        return {}


@runtime_checkable
class ReachesGpu(Protocol):
    """A strategy whose rows can reach a GPU (its module says how). The measure step of `gpu_variant` calls
    `measure_gpu`; on a GPU machine where nothing may be installed (scripts/gpu-bench.sh, shipbench/gpu.py) the
    same step measures `offline_gpu_artifact`, what the strategy can make or find there without installing."""

    name: str
    gpu_variant: str

    def measure_gpu(self, ctx: Context, artifact: Artifact) -> None:
        """The app's gpu-args sweep from the artifact, into metrics.gpu (or the reason it cannot run)."""
        ...

    def offline_gpu_artifact(self, ctx: Context, python: str) -> Artifact:
        """The artifact on a GPU machine from its own `python` (with CUDA torch), installing nothing; Skip where
        that cannot be."""
        ...


class Strategy(Protocol):
    name: str
    variants: tuple[str, ...]
    summary: str
    isolation: str  # what it isolates from the target machine (the report's one qualitative column)
    target_needs: str  # what the target machine must have for the app to run
    # whom it ships to, for the report's verdict (reporting/verdict.py's AUDIENCES): "desktop" (Linux desktop
    # users), "servers" (servers and containers), "python" (machines that have Python), "dev" (reproducing a dev
    # environment); the GPU verdict takes any row that trained on a GPU
    audiences: tuple[str, ...]
    # what kind of artifact it makes, for the time budget (plan.within_budget): "environment", "archive",
    # "frozen bundle", "image", "system package", "virtual machine"; a first answer has one of each that fits
    family: str
    oses: tuple[str, ...]  # where it builds and runs: "linux", "windows", "macos" (CI's matrix reads this)
    ci_minutes: int  # the time limit of its CI job (one session on one runner), with room over what it takes here
    # files and folders besides the app, relative to the project root, that this strategy's builds read (its
    # spec, Dockerfiles, Vagrantfile, scripts): part of every row's inputs (inputs.py), so a change re-measures
    inputs: tuple[str, ...]
    # whether the measured app runs on this host's OS (True) or in a container or guest of its own (False): a
    # host library missing on this host skips a row of the first kind and is a finding in the second
    runs_on_host: bool
    # whether the injected first-frame probe (a sitecustomize, a runtime hook) runs in what this strategy makes;
    # where it cannot (a compiled program), a Qt window's first frame is seen mapped on the X server instead
    runs_probe: bool

    def tool_versions(self) -> dict[str, str | None]:
        """Versions of the host tools this strategy drives (None: absent); a new version re-measures its rows."""
        ...

    def variants_for(self, app: App) -> tuple[str, ...]:
        """The variants that make sense for this app (a bake target builds one app)."""
        ...

    # The quick profile (settings: profile = "quick") measures this one variant of each app it fits: the row
    # that answers "which way, roughly?" for this strategy
    quick_variant: str
    # seconds the quick variant's full row takes (cold and warm build, then measuring) on a 2-core host like the
    # one CI runs on, by app kind (APP_KINDS): the plan's estimate until this host has a record of the row or of
    # the same row for another app of the kind. window, torch: the samples' rows in one full main job on
    # shipbench's 2-core development host (2026-12-07, alone, caches warm; rounded); cli: the quick figure times
    # the window sample's full/quick ratio (no full run of a public CLI app yet)
    rough_row_s: dict[str, float]
    # the same for a quick row (one cold build, 3 warm starts): the samples' quick rows here (window, torch;
    # 2026-12-07, alone) and the median of 5 public command-line apps' (cli); a quick row's share of a full one
    # ranges from a quarter (PyInstaller) to nearly all (an image: its cold build is most of it)
    rough_quick_s: dict[str, float]

    @property
    def rough_variant_share(self) -> Mapping[str, float]:
        """A full row of a variant against the stated figure, which is the quick variant's: pip takes twice uv's
        time, a onefile bundle about twice a onedir one (a variant not named: 1)."""
        ...

    def quick_variants(self, app: App) -> tuple[str, ...]:
        """The quick profile's rows for this app: `quick_variant` where it fits the app, else none."""
        ...

    def planned_skip(self, app: App, key: Key, profile: str) -> str | None:
        """Why this row is skipped before any work (None: it runs): whatever can be known before a build, a host
        tool missing, an app this way cannot ship, no VM under software emulation in the quick profile. The plan
        skips the row by it, and build() raises it too, so that no row is planned and then skipped in seconds."""
        ...

    def python_skip(self, key: Key) -> str | None:
        """Why the Python this row builds with is not there (None: it is, or the row brings its own): the
        plan's, before a build."""
        ...

    def torch_skip(self, app: App, key: Key) -> str | None:
        """Why no torch fits this row of a torch app (None: one does, or the app needs none), by the torch setting
        (torch_source.py): known before a build, so the plan skips it rather than a build in seconds."""
        ...

    def cold_build_estimate_s(self, app: App, variant: str) -> float | None:
        """What this strategy knows of one cold build's time that no record tells (Nuitka compiling torch on few
        cores); None: nothing. Above the build-timeout setting, the row is planned as skipped, not burnt."""
        ...

    def build(self, ctx: Context) -> Artifact:
        """Build (cold, then warm) and fill the set-up metrics; raise Skip or Failure."""
        ...

    def measure(self, ctx: Context, artifact: Artifact) -> None:
        """Fill the run-time metrics (most strategies use measure.standard)."""
        ...

    def planned_steps(self, app: App) -> int:
        """How many progress steps build + measure will report, for the progress bar."""
        ...
