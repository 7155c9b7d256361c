"""The two sample apps and how shipbench drives them: the probe for start-up, the run for throughput."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError


@dataclass(frozen=True)
class App:
    name: str
    module: str
    project: str  # folder of the app's own pyproject.toml, relative to the repository root
    distribution: str  # the heavy dependency whose version each record names
    probe_args: tuple[str, ...]
    throughput_args: tuple[str, ...] | None = None

    @property
    def needs_torch(self) -> bool:
        return self.distribution == "torch"


APPS: dict[str, App] = {
    "gui": App(
        name="gui",
        module="app_gui",
        project="app_gui",
        distribution="PySide6-Essentials",
        probe_args=("--probe",),
    ),
    "dl": App(
        name="dl",
        module="app_dl",
        project="app_dl",
        distribution="torch",
        # ready comes after the first optimizer step; one small step keeps the probe about start-up
        probe_args=("--steps", "1", "--batch-size", "64", "--device", "cpu"),
        throughput_args=("--steps", "300", "--batch-size", "256", "--device", "cpu"),
    ),
}


def get(name: str) -> App:
    try:
        return APPS[name]
    except KeyError:
        raise UsageError(f"unknown app {name!r}: choose one of {', '.join(APPS)}") from None
