"""The daemon's view of whether its store can work: probed by the heartbeat, cached
for ``/readyz`` and the dispatcher.

The heartbeat starts one probe at a time (:meth:`StoreHealth.poke`) on the database
executor, so a probe waiting behind a long write never stacks up and an HTTP request
never waits for one. While the store is unhealthy the dispatcher claims nothing,
``/readyz`` answers 503 with the reason, and the log says so once (one error line
when it starts or its reason changes, one line when it ends). A deleted or replaced
SQLite file is fatal: the daemon is told to stop (``on_fatal``) rather than keep
writing into a file nobody can see.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from scheduler.db.health import StoreFinding
from scheduler.delivery.values import Clock, DbCall
from scheduler.logs import fields
from scheduler.store import Store

log = logging.getLogger("tminus.health")


class StoreHealth:
    """The last probe's finding (None: healthy) and what changes when it changes."""

    def __init__(
        self,
        *,
        store: Store,
        db: DbCall,
        clock: Clock,
        on_recovered: Callable[[], Awaitable[None]],
        on_fatal: Callable[[StoreFinding], None],
    ) -> None:
        self._store = store
        self._db = db
        self._clock = clock
        self._on_recovered = on_recovered
        self._on_fatal = on_fatal
        self.finding: StoreFinding | None = None
        self._probe: asyncio.Task[None] | None = None

    @property
    def healthy(self) -> bool:
        return self.finding is None

    def reason(self) -> str | None:
        """Why the store cannot work, for ``/readyz``; None when it can."""
        return None if self.finding is None else f"the store cannot work ({self.finding})"

    def poke(self) -> None:
        """Start a probe unless one is still running (the heartbeat calls this)."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self.check())

    async def check(self) -> None:
        """Probe the store once and act on a change of its finding."""
        try:
            found = await self._db(self._store.probe, now=self._clock())
        except Exception:  # the probe itself broke: report it, do not die
            log.exception("store probe failed")
            return
        previous, self.finding = self.finding, found
        if found == previous:
            return
        if found is None:
            log.warning("store healthy again: claiming resumes")
            await self._on_recovered()
            return
        if found.fatal:
            log.error(
                "database file lost: stopping, nothing more is claimed or written "
                "(restore the file or start again on a new one)",
                extra=fields(reason=found.problem.value, detail=found.detail),
            )
            self._on_fatal(found)
            return
        if previous is None or previous.problem is not found.problem:
            log.error(
                "store cannot work: no claims until it can (readiness is 503)",
                extra=fields(reason=found.problem.value, detail=found.detail),
            )
