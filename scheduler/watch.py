"""Watching the config for changes (a file, a directory of files, or a symlink to one)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from scheduler.logs import fields

log = logging.getLogger("tminus.daemon")
RESTART_AFTER = 5.0  # seconds before a failed watcher tries again


def watch_targets(path: Path) -> tuple[list[Path], set[str] | None]:
    """Directories to watch and the file names in them that matter (None: any).

    A config file may be a symlink (a Kubernetes ConfigMap mounts ``x.yaml ->
    ..data/x.yaml`` and swaps ``..data``): watch the link's directory and the target's.
    """
    if path.is_dir():
        return [path], None
    link = path.absolute()
    target = path.resolve()
    dirs = list(dict.fromkeys([link.parent, target.parent]))
    return dirs, {link.name, target.name, "..data"}


async def watch_config(
    path: Path, on_change: Callable[[str], Awaitable[object]], stopping: Callable[[], bool]
) -> None:
    """Call ``on_change`` whenever the config changes, until ``stopping()`` or cancelled."""
    from watchfiles import awatch

    targets, names = watch_targets(path)
    while not stopping():
        try:
            async for changes in awatch(*targets, debounce=300, step=100, recursive=False):
                if names is None or any(Path(p).name in names for _, p in changes):
                    await on_change("file changed")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # watching is best effort; SIGHUP always works
            log.warning("config watcher restarting", extra=fields(error=type(exc).__name__))
            await asyncio.sleep(RESTART_AFTER)
