"""What of an app's folder is copied into an image's context, a deb's source, a VM's folder, a lock's project
(app_files.py): never a secret it does not name, never what a link outside points at, never what its
.dockerignore lists (for an image), and the user's files unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipbench import app_files

PLANTED = "shipbench-planted-c0ffee"


def _app(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    (app / "pkg" / "conf").mkdir(parents=True)
    (app / "main.py").write_text("print('hi')\n")
    (app / "pkg" / "__init__.py").write_text("")
    (app / "pkg" / "conf" / "settings.toml").write_text("colour = 'blue'\n")
    for name in (".env", ".env.production", "prod.env", "pip.conf", ".netrc", ".pypirc", "server.key", "cert.pem",
                 "id_ed25519", ".git-credentials", "pkg/conf/secrets.toml", "pkg/.npmrc"):
        (app / name).write_text(f"TOKEN={PLANTED}\n")
    (app / ".aws").mkdir()
    (app / ".aws" / "credentials").write_text(PLANTED)
    (app / ".git").mkdir()
    (app / ".git" / "config").write_text(f"url = https://x:{PLANTED}@example.org/r.git\n")
    outside = tmp_path / "outside.txt"
    outside.write_text(PLANTED)
    os.symlink(outside, app / "linked-out.txt")
    os.symlink(app / "main.py", app / "linked-in.py")
    return app


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())


def test_a_copy_takes_no_secret_no_link_out_and_says_what_it_left_out(tmp_path: Path) -> None:
    app = _app(tmp_path)
    copied = app_files.copy_app(app, tmp_path / "copy")
    assert _tree(tmp_path / "copy") == ["linked-in.py", "main.py", "pkg/__init__.py", "pkg/conf/settings.toml"]
    for file in (tmp_path / "copy").rglob("*"):
        assert not file.is_file() or PLANTED not in file.read_text(), file
    assert (tmp_path / "copy" / "main.py").read_bytes() == (app / "main.py").read_bytes()  # unchanged
    note = copied.note() or ""
    assert ".env" in note and "pip.conf" in note and "pkg/conf/secrets.toml" in note and ".aws" in note
    assert "linked-out.txt" in note and PLANTED not in note  # names only, never contents


def test_a_secret_looking_file_named_in_data_is_shipped(tmp_path: Path) -> None:
    app = _app(tmp_path)
    copied = app_files.copy_app(app, tmp_path / "copy", data=("cert.pem", "./pkg/conf/secrets.toml"))
    assert {"cert.pem", "pkg/conf/secrets.toml"} <= set(_tree(tmp_path / "copy"))
    assert "cert.pem" not in (copied.note() or "")


@pytest.mark.parametrize(("ignore", "kept"), [
    ("pkg\n", ["main.py"]),
    ("**/*.toml\n", ["main.py", "pkg/__init__.py"]),
    ("/pkg/conf\n# a comment\n\n", ["main.py", "pkg/__init__.py"]),
    ("pkg\n!pkg/conf/settings.toml\n", ["main.py", "pkg/conf/settings.toml"]),
    ("*.py\n!main.py\n", ["main.py", "pkg/__init__.py", "pkg/conf/settings.toml"]),  # `*` is one folder deep
    ("m?in.[pq]y\n", ["pkg/__init__.py", "pkg/conf/settings.toml"]),
])
def test_an_images_copy_honours_the_apps_dockerignore(tmp_path: Path, ignore: str, kept: list[str]) -> None:
    app = tmp_path / "app"
    (app / "pkg" / "conf").mkdir(parents=True)
    for name in ("main.py", "pkg/__init__.py", "pkg/conf/settings.toml"):
        (app / name).write_text("x\n")
    (app / ".dockerignore").write_text(ignore)
    app_files.copy_app(app, tmp_path / "image", for_image=True)
    assert [p for p in _tree(tmp_path / "image") if p != ".dockerignore"] == kept
    # the other copies (a deb's, a VM's) are no Docker build: .dockerignore is not theirs to read
    app_files.copy_app(app, tmp_path / "deb")
    assert len(_tree(tmp_path / "deb")) == 4


@pytest.mark.parametrize("has_code", [True, False])
def test_the_timed_rebuilds_code_change_is_undone_so_the_image_is_built_from_the_users_files(
        tmp_path: Path, has_code: bool) -> None:
    """The image's copy of the app once kept a `# rebuilt <time>` line: the image differed from the user's source."""
    from shipbench import bake_context

    (tmp_path / "app").mkdir()
    original = b"print('hi')  # no newline at the end"
    if has_code:
        (tmp_path / "app" / "main.py").write_bytes(original)
    with pytest.raises(RuntimeError), bake_context.app_code_changed(tmp_path) as edited:  # undone on any end
        changed = tmp_path / "app" / edited
        assert changed.is_file() and (not has_code or changed.read_bytes() != original)
        raise RuntimeError("the build failed")
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == (["main.py"] if has_code else [])
    if has_code:
        assert (tmp_path / "app" / "main.py").read_bytes() == original
