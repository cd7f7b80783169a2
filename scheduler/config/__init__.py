"""The config loader: YAML file(s) → a validated :class:`scheduler.model.Config`.

``load_config(path)`` reads one file, or every ``*.yaml``/``*.yml`` file of a
directory (merged, sorted by name), and either returns the config or raises
:class:`scheduler.errors.ConfigError` listing every problem in every file as
``FILE:LINE:COL: message (at milestones[3].remind[1])``.
"""

from __future__ import annotations

from scheduler.config.interpolate import InterpolationError, interpolate
from scheduler.config.loader import load_config

__all__ = ["InterpolationError", "interpolate", "load_config"]
