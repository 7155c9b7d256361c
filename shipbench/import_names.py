"""Which distribution provides a module whose import name is not its distribution's name, so that a failure
`No module named 'pkg_resources'` can name what to declare (setuptools), not only what was missing.

An app that imports a module no dependency it declares brings works on its author's machine (the module came with
something else there) and fails in a clean environment: datasette 0.65 imports pkg_resources and does not declare
setuptools, which uv's venvs and Python 3.12's `venv` no longer carry. Where the import name is the distribution's
own (`requests`), the line already says what to declare; where it is not, nobody guesses `PyYAML` from `yaml`.
The table holds the well-known differing names (as PyInstaller's hooks hold what each package needs), not a lookup
in some environment: the one the app failed in lacks the module by definition.
"""

from __future__ import annotations

import re

# import name (top level) -> the requirement on PyPI that provides it (bounded where newer releases dropped it:
# setuptools 82.0.0 removed pkg_resources; datasette 0.65.1 starts with `setuptools<82`, not with `setuptools`,
# measured here 2026-12-07)
PROVIDED_BY: dict[str, str] = {
    "pkg_resources": "setuptools<82",
    "_distutils_hack": "setuptools",
    "yaml": "PyYAML",
    "PIL": "Pillow",
    "cv2": "opencv-python",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "multipart": "python-multipart",
    "jwt": "PyJWT",
    "jose": "python-jose",
    "Crypto": "pycryptodome",
    "OpenSSL": "pyOpenSSL",
    "serial": "pyserial",
    "usb": "pyusb",
    "zmq": "pyzmq",
    "gi": "PyGObject",
    "wx": "wxPython",
    "fitz": "PyMuPDF",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "magic": "python-magic",
    "slugify": "python-slugify",
    "MySQLdb": "mysqlclient",
    "psycopg2": "psycopg2-binary",
    "_cffi_backend": "cffi",
    "google.protobuf": "protobuf",
    "attr": "attrs",
    "win32api": "pywin32",
    "win32con": "pywin32",
}

_NO_MODULE = re.compile(r"No module named '([\w.]+)'")


def provider(module: str) -> str | None:
    """The requirement that provides `module` (a dotted name), where its import name differs from its
    distribution's."""
    parts = module.split(".")
    return next((PROVIDED_BY[".".join(parts[:n])] for n in range(len(parts), 0, -1)
                 if ".".join(parts[:n]) in PROVIDED_BY), None)


def hint(line: str) -> str | None:
    """What to declare for a `No module named 'x'` line whose module comes with a differently named distribution;
    None for any other line."""
    found = _NO_MODULE.search(line)
    wanted = provider(found.group(1)) if found else None
    if found is None or wanted is None:
        return None
    name = re.split(r"[<>=!~ ;\[]", wanted, maxsplit=1)[0]
    return (f"{found.group(1)} comes with {name}: declare {wanted} among the app's dependencies (a clean environment "
            "has only what is declared)")
