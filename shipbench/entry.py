"""How a built program starts the app: one launcher script for every app shape, written for every tool that
freezes or compiles a file (PyInstaller, cx_Freeze, Nuitka, pyside6-deploy).

An app starts as a module (`python -m pkg`: a package runs its `__main__`), as a script, or as a console
script (its own project's or a dependency's, resolved in the build venv). The tools differ in what they can
follow: PyInstaller and cx_Freeze analyse imports, so a module app started through runpy needs the module
and its `__main__` named; Nuitka compiles modules, which leaves runpy no code object to run, so a compiled
launcher imports the function it calls. Each case is written here once and tested on each shape.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from .description import App
from .errors import Failure, Skip
from .runner import output

_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")


def console_entry_point(app: App, python: Path) -> str:
    """A console script's `module:function`: the description's (the project's own [project.scripts] or
    [project.gui-scripts]) or, for a dependency's script, what the environment of `python` has installed under
    that name as a console or a GUI script (both are commands on PATH)."""
    if app.entry_point:
        return app.entry_point
    name = app.start[1]
    code = ("import sys\nfrom importlib.metadata import entry_points\n"
            f"found = [e.value for group in ('console_scripts', 'gui_scripts') for e in entry_points(group=group)"
            f" if e.name == {name!r}]\n"
            "print(found[0] if found else '')")
    value = output([python, "-c", code]) or ""
    if ":" not in value:
        raise Failure(f"no console script {name!r} in the app's environment: neither its project nor a dependency "
                      "installs one (console_scripts or gui_scripts) by that name")
    return value


def collected_packages(app: App, entry_point: str | None = None) -> list[str]:
    """The packages a freezer takes whole: the description's `collect`, and where the app's code is a
    dependency's (a dependency's console script, `entry_point` as the build venv resolved it, or a module that is
    not in the app's folder) that package: it is the app, and freezers see only the imports they can read in it
    (datasette's vendored data files, pypiserver's modules loaded by name, thonny's images were all left out)."""
    kind, value = app.start
    own: str | None = None
    if kind == "console-script" and not app.entry_point and entry_point:
        own = entry_point.split(":")[0].split(".")[0]
    elif kind == "module":
        top = value.split(".")[0]
        places = [folder / name for folder in (app.folder, app.folder / "src") for name in (top, f"{top}.py")]
        own = None if any(place.exists() for place in places) else top
    return list(dict.fromkeys([*app.collect, *([own] if own else [])]))


def runpy_launcher(app: App, entry_point: str | None = None) -> str | None:
    """A launcher for tools that analyse imports (PyInstaller, cx_Freeze); None where the app's script is one.

    The app's `args` are not in it: the launcher of what was built passes them, as for every strategy."""
    kind, value = app.start
    if kind == "module":
        return f"import runpy\n\nrunpy.run_module({value!r}, run_name='__main__', alter_sys=True)\n"
    if kind == "script":
        return None
    return _call(entry_point or app.entry_point or "")


def compiled_launcher(app: App, module_file: Path | None = None, entry_point: str | None = None) -> str | None:
    """A launcher for a compiler (Nuitka through pyside6-deploy, which compiles one script): a module app's
    `main()` imported and called (module_file: its `__main__.py` or module file in the build venv); None where
    the app's script is one. Skip where a module defines no main() to call."""
    kind, value = app.start
    if kind == "script":
        return None
    if kind == "console-script":
        return _call(entry_point or app.entry_point or "")
    source = module_file.read_text(encoding="utf-8") if module_file and module_file.is_file() else ""
    tree = ast.parse(source) if source else None
    if tree is None or not any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
        raise Skip(f"pyside6-deploy compiles one script; {module_file or value} has no main() for a generated "
                   f"script to call (pyside6-deploy cannot run `python -m {value}`)")
    where = f"{value}.__main__" if module_file is not None and module_file.name == "__main__.py" else value
    return _call(f"{where}:main")


def main_modules(app: App) -> list[str]:
    """The modules a module app's runpy launcher starts, for the analysis to include: the module and, where it is
    a package, its `__main__` (a hidden import that does not exist is only a warning)."""
    if app.start[0] != "module":
        return []
    return [app.start[1], f"{app.start[1]}.__main__"]


def with_first_import(source: str, module: str) -> str:
    """The script with `import module` as its first statement that may come first: after the docstring and any
    `from __future__` imports (which must stay first) and after a shebang or coding line."""
    return with_first_lines(source, f"import {module}  # noqa: F401  imported first by shipbench\n")


def with_file_beside_the_program(source: str, script: str) -> str:
    """The script with its `__file__` set, first thing, to where the script would be in a frozen program's folder
    (`script`: its path relative to the app's folder, below the program's folder): cx_Freeze runs a script from
    its library.zip, where `Path(__file__).parent` finds none of the data the app keeps beside it, and the data
    is put there instead (cxfreeze._data_target)."""
    return with_first_lines(source, "__file__ = __import__('os').path.join(__import__('os').path.dirname("
                                    f"__import__('sys').executable), {script!r})  # shipbench: data beside it\n")


def with_first_lines(source: str, line: str) -> str:
    """The script with `line` as its first statement that may come first: after the docstring and any
    `from __future__` imports (which must stay first) and after a shebang or coding line."""
    lines = source.splitlines(keepends=True)
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return line + source  # the tool reports the app's own error as it is
    after = 0
    for index, node in enumerate(body):
        docstring = index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
            and isinstance(node.value.value, str)
        if docstring or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            after = node.end_lineno or after
        else:
            break
    if after == 0:
        while after < min(2, len(lines)) and (lines[after].startswith("#!") or _CODING.match(lines[after])):
            after += 1
    if lines and not lines[-1].endswith("\n") and after >= len(lines):
        lines[-1] += "\n"
    return "".join(lines[:after]) + line + "".join(lines[after:])


def _call(entry_point: str) -> str:
    module, _, function = entry_point.partition(":")
    if not module or not function:
        raise Failure(f"not a console script entry point (module:function): {entry_point!r}")
    return f"import sys\n\nfrom {module} import {function.split('.')[0]}\n\nsys.exit({function}())\n"
