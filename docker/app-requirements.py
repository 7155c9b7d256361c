"""The app's dependencies as one requirements file: what docker/app.Dockerfile's dependency layer installs.

    python3 docker/app-requirements.py APP_DIR OUT [--requirements FILE] [--extras a,b]

A folder of scripts names its requirements file (`--requirements`, relative to APP_DIR): taken as it is; one with
neither a requirements file nor a [project] table (nor a setup.py) needs nothing installed. A project
gives its [project] dependencies and those of the extras asked for, then its build backend, so that the app layer
can install the project without build isolation and without an index. OUT `-` writes to standard output.

Runs inside the image (its own Python, 3.8 or newer: tomllib, or the TOML reader pip carries) and on the host
before a build (shipbench checks an app with it, so that an app it cannot read is skipped with the reason). Exit 2
with that reason, on one line, where the dependencies cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib  # Python 3.11+

        return tomllib.loads(path.read_text(encoding="utf-8"))
    except ImportError:
        pass
    try:  # Python 3.10 where tomli is installed (shipbench's own environment there)
        import tomli

        return tomli.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except ImportError:
        pass
    try:  # pip 21.2+ carries tomli
        from pip._vendor import tomli  # type: ignore[attr-defined]

        return tomli.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except ImportError:  # older pip carries toml
        from pip._vendor import toml  # type: ignore[attr-defined]

        return toml.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def requirements(app_dir: Path, requirements_file: str, extras: list[str]) -> list[str]:
    if requirements_file:
        return (app_dir / requirements_file).read_text(encoding="utf-8").splitlines()
    pyproject = app_dir / "pyproject.toml"
    if not pyproject.is_file():
        raise ValueError(f"{pyproject.name} is missing in the app's folder, and no requirements file is named")
    data = read_toml(pyproject)
    project = data.get("project")
    if project is None and not (app_dir / "setup.py").is_file():
        return []  # a folder of scripts whose pyproject.toml only describes it: nothing to install
    if project is None or "dependencies" in project.get("dynamic", []):
        raise ValueError(f"{pyproject.name} declares its dependencies dynamically: the image's dependency layer "
                         "needs them listed in [project] dependencies (or give the app a requirements file)")
    lines: list[str] = list(project.get("dependencies", []))
    for extra in extras:
        lines += project.get("optional-dependencies", {}).get(extra, [])
    backend: list[str] = list(data.get("build-system", {}).get("requires", ["setuptools>=61"]))
    # setuptools before 70.1 asks for `wheel` at build time, which --no-build-isolation cannot fetch then
    return lines + backend + (["wheel"] if any(r.startswith("setuptools") for r in backend) else [])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app_dir", type=Path)
    parser.add_argument("out")
    parser.add_argument("--requirements", default="")
    parser.add_argument("--extras", default="")
    options = parser.parse_args()
    try:
        lines = requirements(options.app_dir, options.requirements,
                             [e.strip() for e in options.extras.split(",") if e.strip()])
    except (OSError, ValueError) as error:
        print(f"app-requirements: {error}", file=sys.stderr)
        return 2
    text = "".join(line + "\n" for line in lines)
    if options.out == "-":
        sys.stdout.write(text)
    else:
        Path(options.out).parent.mkdir(parents=True, exist_ok=True)
        Path(options.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
