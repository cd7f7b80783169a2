"""``tminus run``: start the daemon."""

from __future__ import annotations

import argparse
import asyncio

from scheduler.logs import configure
from scheduler.settings import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    configure(fmt=settings.log_format, level=settings.log_level)
    from scheduler.daemon import Daemon

    return asyncio.run(Daemon(settings).run())
