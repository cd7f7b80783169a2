"""``tminus run``: start the daemon."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from scheduler.logs import configure
from scheduler.settings import Settings

# In a config directory, this file marks the image's built-in example (config/image/).
BUILTIN_EXAMPLE_MARKER = ".builtin-example"


def run(args: argparse.Namespace, settings: Settings) -> int:
    configure(fmt=settings.log_format, level=settings.log_level)
    say_if_builtin_example(Path(settings.config))
    from scheduler.daemon import Daemon

    return asyncio.run(Daemon(settings).run())


def say_if_builtin_example(config: Path) -> None:
    """The image's own config sends nothing: say so, so nobody waits for reminders."""
    if (config / BUILTIN_EXAMPLE_MARKER).is_file():
        logging.getLogger("tminus.daemon").warning(
            "running on the image's built-in example config, which has no channels and "
            "sends nothing: mount your own directory of *.yaml files at %s",
            config,
        )
