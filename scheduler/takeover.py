"""Taking over the claims of dead replicas, within a second or two of their death.

Every :data:`TAKEOVER_EVERY` the daemon asks the store whether a worker holding claims
has lost its liveness lock (its session ended: the process was killed, the machine is
gone, its connection was terminated); if so, those claims go back in the queue
(``Store.take_over_dead``), the other replicas are told (a ``takeover`` wake-up), and
this one claims at once. The pure decision is :func:`scheduler.fencing.dead_workers`;
the lease running out stays the fallback (a worker whose lock key collides with a live
one, or a lock the server has not freed yet).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from scheduler.db.notify import Wakeup
from scheduler.delivery.values import DbCall
from scheduler.logs import fields
from scheduler.metrics import Metrics
from scheduler.store import Store

log = logging.getLogger("tminus.takeover")

TAKEOVER_EVERY = 1.0  # seconds between checks (two cheap reads when nobody died)


class Takeover:
    """Runs one takeover check at a time; ``poke`` starts one unless one is running."""

    def __init__(
        self,
        *,
        store: Store,
        db: DbCall,
        worker: str,
        metrics: Metrics,
        on_taken: Callable[[], Awaitable[None]],
    ) -> None:
        self._store = store
        self._db = db
        self._worker = worker
        self._metrics = metrics
        self._on_taken = on_taken
        self._check: asyncio.Task[None] | None = None

    async def poke(self) -> None:
        """The timer's callback (a coroutine, so APScheduler runs it on the loop)."""
        if self._check is None or self._check.done():
            self._check = asyncio.create_task(self.check())

    async def check(self) -> None:
        try:
            taken = await self._db(self._store.take_over_dead, me=self._worker)
        except Exception as exc:  # the store is out of reach: the next check tries again
            log.debug("takeover check failed", extra=fields(error=type(exc).__name__))
            return
        if not taken:
            return
        for worker, count in taken.items():
            self._metrics.takeovers_total.inc(count)
            log.warning(
                "took over the claims of a dead worker", extra=fields(dead=worker, count=count)
            )
        await self._on_taken()
        try:
            await self._db(self._store.notify, Wakeup.TAKEOVER)
        except Exception as exc:
            log.debug("takeover notice not sent", extra=fields(error=type(exc).__name__))
