"""The registry of strategies: one module each, all with the interface in base.py."""

from __future__ import annotations

from ..errors import UsageError
from .bake import BakeStrategy
from .base import Strategy
from .cxfreeze import CxFreezeStrategy
from .deb import DebStrategy
from .locked import LockedStrategy
from .nuitka import NuitkaStrategy
from .pyinstaller import PyInstallerStrategy
from .vagrant import VagrantStrategy
from .venv import VenvStrategy
from .wheel import WheelStrategy
from .zipapp import ZipappStrategy

_ALL: tuple[Strategy, ...] = (
    VenvStrategy(), LockedStrategy(), WheelStrategy(), ZipappStrategy(), PyInstallerStrategy(), NuitkaStrategy(),
    CxFreezeStrategy(), DebStrategy(), BakeStrategy(), VagrantStrategy(),
)
STRATEGIES: dict[str, Strategy] = {strategy.name: strategy for strategy in _ALL}


def get(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise UsageError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}") from None
