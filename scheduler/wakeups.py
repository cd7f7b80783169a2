"""Wake-ups from other replicas, handed to whoever subscribed, on the event loop.

The API (PostgreSQL; on SQLite nothing is ever heard and publishing is a no-op):

* publish: ``await db(store.notify, Wakeup.ACK)`` — every replica's listener hears it
  once the publishing transaction commits (``scheduler.db.notify``);
* subscribe: ``wakeups.on(Wakeup.ACK, coroutine_function)`` — called on the daemon's
  loop for each notification of that kind (the publisher hears its own too).

Bursts coalesce: while a subscriber's call for a kind is still running, further
notifications of that kind make it run once more afterwards, not once each.
A notification is only a hint; what it announces is read from the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

from scheduler.db.notify import Wakeup
from scheduler.logs import fields

log = logging.getLogger("tminus.wakeups")

Subscriber = Callable[[], Awaitable[None]]


class Wakeups:
    """Routes notification payloads (from the session thread) to subscribers."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._subscribers: dict[str, list[Subscriber]] = defaultdict(list)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()

    def on(self, kind: Wakeup | str, subscriber: Subscriber) -> None:
        self._subscribers[str(kind)].append(subscriber)

    def heard(self, payload: str) -> None:
        """Thread-safe: a notification arrived (called from the session's thread)."""
        self._loop.call_soon_threadsafe(self._dispatch, payload)

    def _dispatch(self, kind: str) -> None:
        if kind not in self._subscribers:
            return
        running = self._running.get(kind)
        if running is not None and not running.done():
            self._again.add(kind)
            return
        self._running[kind] = task = self._loop.create_task(self._call(kind))
        task.add_done_callback(lambda _t: self._finished(kind))

    async def _call(self, kind: str) -> None:
        for subscriber in self._subscribers[kind]:
            try:
                await subscriber()
            except Exception:
                log.exception("wake-up subscriber failed", extra=fields(kind=kind))

    def _finished(self, kind: str) -> None:
        if kind in self._again:
            self._again.discard(kind)
            self._dispatch(kind)
