"""Helpers for config tests: write YAML files, load them, collect the problems."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from scheduler.config import load_config
from scheduler.errors import ConfigError
from scheduler.model import Config

HEADER = "version: 1\n"


def write(directory: Path, name: str, text: str) -> Path:
    """Write dedented ``text`` to ``directory/name`` and return the path."""
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(path: Path, env: Mapping[str, str] | None = None) -> Config:
    return load_config(path, env={} if env is None else env)


def errors(path: Path, env: Mapping[str, str] | None = None) -> list[str]:
    """Every problem line of a config that must fail."""
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={} if env is None else env)
    return [str(p) for p in caught.value.problems]
