"""Entries of a config directory that cannot be read are located errors, never skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.config.helpers import errors, load, write
from tests.support.daemon import tminus

GOOD = """
version: 1
milestones:
  - {id: kept, title: Kept, at: 2030-01-01}
"""


def _directory(tmp_path: Path) -> Path:
    folder = tmp_path / "conf"
    folder.mkdir()
    write(folder, "a.yaml", GOOD)
    return folder


def test_dangling_symlink_is_an_error_naming_the_file(tmp_path: Path) -> None:
    folder = _directory(tmp_path)
    (folder / "b.yaml").symlink_to(tmp_path / "gone.yaml")
    assert errors(folder) == [
        f"{folder / 'b.yaml'}: broken symbolic link: it points to {tmp_path / 'gone.yaml'}, "
        "which does not exist"
    ]


def test_symlink_loop_is_an_error_naming_the_file(tmp_path: Path) -> None:
    folder = _directory(tmp_path)
    (folder / "loop.yaml").symlink_to(folder / "loop.yaml")
    (folder / "x.yml").symlink_to(folder / "y.yml")
    (folder / "y.yml").symlink_to(folder / "x.yml")
    message = "symbolic link loop: the link never reaches a file"
    assert errors(folder) == [
        f"{folder / 'loop.yaml'}: {message}",
        f"{folder / 'x.yml'}: {message}",
        f"{folder / 'y.yml'}: {message}",
    ]


def test_fifo_is_an_error_not_a_blocked_read(tmp_path: Path) -> None:
    folder = _directory(tmp_path)
    os.mkfifo(folder / "pipe.yaml")
    (message,) = errors(folder)
    assert message.startswith(f"{folder / 'pipe.yaml'}: not a regular file")


@pytest.mark.parametrize("kind", ["dangling", "loop"])
def test_single_file_symlink(tmp_path: Path, kind: str) -> None:
    link = tmp_path / "tminus.yaml"
    link.symlink_to(tmp_path / "gone.yaml" if kind == "dangling" else link)
    (message,) = errors(link)
    assert message.startswith(f"{link}: ")
    assert ("broken symbolic link" if kind == "dangling" else "symbolic link loop") in message


def test_working_symlinks_and_subdirectories_still_load(tmp_path: Path) -> None:
    folder = _directory(tmp_path)
    target = write(tmp_path, "elsewhere.yaml", GOOD.replace("kept", "linked"))
    (folder / "b.yaml").symlink_to(target)
    (folder / "archive.yaml").mkdir()  # a directory is not a config file: passed over
    config = load(folder)
    assert [m.id for m in config.milestones] == ["kept", "linked"]


def test_check_cli_reports_the_dangling_link(tmp_path: Path) -> None:
    folder = _directory(tmp_path)
    (folder / "b.yaml").symlink_to(tmp_path / "gone.yaml")
    done = tminus("check", "-c", str(folder))
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stderr
    assert f"{folder / 'b.yaml'}: broken symbolic link" in done.stdout + done.stderr
    assert "OK:" not in done.stdout
