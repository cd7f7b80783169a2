"""The image's built-in config (config/image/) sends nothing, and ``tminus run`` says so."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from scheduler.commands.run import BUILTIN_EXAMPLE_MARKER, say_if_builtin_example
from scheduler.config import load_config

IMAGE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "image"


def test_builtin_config_has_milestones_and_no_channel() -> None:
    config = load_config(IMAGE_CONFIG, env={})
    assert config.milestones
    assert not config.channels
    assert (IMAGE_CONFIG / BUILTIN_EXAMPLE_MARKER).is_file()


def test_run_says_so_on_the_builtin_config(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copytree(IMAGE_CONFIG, tmp_path / "config")
    with caplog.at_level(logging.WARNING, logger="tminus.daemon"):
        say_if_builtin_example(tmp_path / "config")
    assert "built-in example config" in caplog.text
    assert "sends nothing" in caplog.text


def test_run_is_quiet_on_a_mounted_config(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "tminus.yaml").write_text("version: 1\nmilestones: []\n")
    with caplog.at_level(logging.WARNING, logger="tminus.daemon"):
        say_if_builtin_example(tmp_path)
        say_if_builtin_example(tmp_path / "tminus.yaml")
    assert not caplog.records
