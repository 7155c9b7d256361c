"""The wheel a command-line tool is installed from (`uv tool install`, `pipx install`), for apps that are not one.

uv and pipx install a distribution and expose *its own* console scripts. An app described as a project with a
console script of its own is built as it is (`uv build --wheel`); every other shape (a module, a script, a
requirements file) gets a tiny generated wheel: a package whose `main()` starts the app as its description says,
one console script named after the app, and the app's dependencies as Requires-Dist. A script travels inside
the package with the modules and data beside it (as `python train.py` finds them: its folder first on
sys.path).

The wheel is written by hand (a zip with METADATA, WHEEL, entry_points.txt and RECORD, PEP 427), with fixed
times and sorted names: the same app gives the same bytes, and no build backend is fetched to make it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from pathlib import Path

from .errors import Skip

VERSION = "0"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def distribution_name(app_name: str) -> str:
    """The generated wheel's distribution name (normalized, as a wheel's file name wants it)."""
    return "shipbench_tool_" + re.sub(r"[-_.]+", "_", app_name).lower()


def requirement_lines(path: Path) -> list[str]:
    """A requirements file's requirements, each a Requires-Dist value. Skip (with the line) where the file holds
    what a wheel's metadata cannot: pip options (-r, -e, --index-url …) or a local path."""
    found = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line.startswith("-") or line.startswith((".", "/", "file:")):
            raise Skip(f"{path.name}:{number}: {line!r}: a wheel's Requires-Dist holds requirements only (pip "
                       "options and local paths have no place in it); describe the app as a project to ship it "
                       "as a tool")
        found.append(line)
    return found


def launcher_source(kind: str, value: str) -> str:
    """The generated package's __init__.py: main() starts a module through runpy, or the script that lies beside
    it with its folder first on sys.path (as `python script.py` has it)."""
    if kind == "module":
        body = f"    runpy.run_module({value!r}, run_name='__main__', alter_sys=True)\n"
    else:
        body = (f"    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), {Path(value).name!r})\n"
                "    sys.path.insert(0, os.path.dirname(path))\n    sys.argv[0] = path\n"
                "    runpy.run_path(path, run_name='__main__')\n")
    return ("# written by shipbench: starts the app installed as a tool\nimport os\nimport runpy\nimport sys\n\n\n"
            f"def main():\n{body}")


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write(folder: Path, name: str, package: Path, requires: list[str], scripts: dict[str, str]) -> Path:
    """A pure-Python wheel `name` in `folder` holding the folder `package` (its name is the import name), the
    requirements and the console scripts (name: module:function)."""
    info = f"{name}-{VERSION}.dist-info"
    files = {f"{package.name}/{path.relative_to(package).as_posix()}": path.read_bytes()
             for path in sorted(package.rglob("*")) if path.is_file() and "__pycache__" not in path.parts}
    files[f"{info}/METADATA"] = ("Metadata-Version: 2.1\n" f"Name: {name}\nVersion: {VERSION}\n"
                                 + "".join(f"Requires-Dist: {line}\n" for line in requires)).encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: shipbench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = ("[console_scripts]\n" + "".join(
        f"{script} = {target}\n" for script, target in sorted(scripts.items()))).encode()
    record = "".join(f"{path},{_digest(data)},{len(data)}\n" for path, data in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    wheel = folder / f"{name}-{VERSION}-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as out:
        for path, data in files.items():
            entry = zipfile.ZipInfo(path, ZIP_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(entry, data)
    return wheel
