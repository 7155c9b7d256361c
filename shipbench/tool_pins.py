"""Where every tool shipbench drives is pinned: shipbench/tools/<name>.txt, one requirements file each.

    pyinstaller.txt  nuitka.txt  cxfreeze.txt  zipapp.txt (pex, shiv)  locked.txt (pip)  wheel.txt (pipx, uv)
    sbom.txt (cyclonedx-bom, every row's licences)
    installers.txt (uv, tox, tox-uv: the installers the venv rows time; the nox sessions' constraints)

Pinned so that sizes and build times compare across runs and hosts; each is installed into a kept venv of the
row's Python. A strategy's own file is part of that strategy's inputs (a new Nuitka re-measures Nuitka's rows,
nothing else); sbom.txt is part of every row's (inputs.py).
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "tools"


def requirements(name: str) -> Path:
    """The pinned requirements file of one tool (a strategy's name, or `sbom`)."""
    return FOLDER / f"{name}.txt"


def input_path(name: str) -> str:
    """The same file relative to the harness root: what a strategy lists in its `inputs`."""
    return f"shipbench/tools/{name}.txt"
