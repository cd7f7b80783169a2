"""Watching the config for changes (a file, a directory of files, or a symlink to one).

On Linux the watch is inotify on the event loop (asyncinotify): the kernel wakes the
loop when a watched directory changes, and nothing wakes while nothing changes. Elsewhere
watchfiles watches, whose Rust side sleeps and looks again every :data:`POLL_STEP_MS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from scheduler.logs import fields

if TYPE_CHECKING:
    from asyncinotify import Event, Inotify, Watch

log = logging.getLogger("tminus.daemon")
RESTART_AFTER = 5.0  # seconds before a failed watcher tries again
# A change is reported once its events have paused for QUIET seconds, at the latest
# DEBOUNCE seconds after the first (watchfiles' rule: one step quiet, debounce at most),
# so an editor's truncate-write-close or a ConfigMap's swap is one reload, not three.
QUIET = 0.1
DEBOUNCE = 0.3
POLL_STEP_MS = 100  # watchfiles' look-again period, where inotify is not used

OnChange = Callable[[str], Awaitable[object]]


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


async def watch_config(path: Path, on_change: OnChange, stopping: Callable[[], bool]) -> None:
    """Call ``on_change`` whenever the config changes, until ``stopping()`` or cancelled."""
    watch = _inotify_watch if sys.platform.startswith("linux") else _polling_watch
    while not stopping():
        try:
            await watch(path, on_change)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # watching is best effort; SIGHUP always works
            log.warning("config watcher restarting", extra=fields(error=type(exc).__name__))
            await asyncio.sleep(RESTART_AFTER)


def _mask() -> int:
    from asyncinotify import Mask

    # What watchfiles' inotify backend asks for, less reads.
    return int(
        Mask.MODIFY
        | Mask.ATTRIB
        | Mask.CLOSE_WRITE
        | Mask.MOVED_FROM
        | Mask.MOVED_TO
        | Mask.CREATE
        | Mask.DELETE
    )


class _Watches:
    """The directories watched now; re-aimed after each change, since a swap can move
    the symlink's target to a new directory."""

    def __init__(self, inotify: Inotify, path: Path) -> None:
        self._inotify = inotify
        self._path = path
        self._by_dir: dict[Path, Watch] = {}
        self.names: set[str] | None = None
        self.aim()

    def aim(self) -> None:
        from asyncinotify import Mask

        targets, self.names = watch_targets(self._path)
        for gone in set(self._by_dir) - set(targets):
            watch = self._by_dir.pop(gone)
            with contextlib.suppress(OSError):  # the directory went, its watch with it
                self._inotify.rm_watch(watch)
        for target in targets:
            if target not in self._by_dir:
                self._by_dir[target] = self._inotify.add_watch(target, Mask(_mask()))

    def matters(self, event: Event) -> bool:
        """Whether ``event`` may have changed the config (events about a watched
        directory itself, such as a ConfigMap's old data directory deleted after the
        swap, do not: the swap itself was seen in the link's directory)."""
        from asyncinotify import Mask

        if event.mask & Mask.Q_OVERFLOW:
            return True  # events were dropped: any may have mattered
        if event.name is None:
            return False
        return self.names is None or str(event.name) in self.names


async def _inotify_watch(path: Path, on_change: OnChange) -> None:
    from asyncinotify import Inotify

    with Inotify() as inotify:
        watches = _Watches(inotify, path)
        while True:
            if not watches.matters(await inotify.get()):
                continue
            await _settled(inotify)
            await on_change("file changed")
            watches.aim()


async def _settled(inotify: Inotify) -> None:
    """Return once events pause for :data:`QUIET` (or :data:`DEBOUNCE` has passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEBOUNCE
    while (left := deadline - loop.time()) > 0:
        try:
            await asyncio.wait_for(inotify.get(), min(QUIET, left))
        except TimeoutError:
            return


async def _polling_watch(path: Path, on_change: OnChange) -> None:
    from watchfiles import awatch

    targets, names = watch_targets(path)
    async for changes in awatch(
        *targets, debounce=int(DEBOUNCE * 1000), step=POLL_STEP_MS, recursive=False
    ):
        if names is None or any(Path(p).name in names for _, p in changes):
            await on_change("file changed")
