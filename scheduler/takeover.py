"""Taking over the claims of dead replicas, within a second or two of their death.

A check asks the store whether a worker holding claims has lost its liveness lock (its
session ended: the process was killed, the machine is gone, its connection was
terminated); if so, those claims go back in the queue (``Store.take_over_dead``), the
other replicas are told (a ``takeover`` wake-up), and this one claims at once. The pure
decision is :func:`scheduler.fencing.dead_workers`; the lease running out stays the
fallback (a worker whose lock key collides with a live one, or a lock the server has not
freed yet).

Only a worker holding claims can leave claims behind, and claims exist only while work
is due. So checks run every :data:`TAKEOVER_EVERY` while there are signs of work
(:meth:`Takeover.stir`: the wake timer fired, rows were claimed, another replica
announced work) and for :data:`WATCH_FOR` after the last one, and on as long as the
last check saw other workers' claims; an idle cluster is checked only by the sweep
(:meth:`Takeover.poke`), so it costs no wake-up a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from scheduler.db.liveness import TakeoverCheck
from scheduler.db.notify import Wakeup
from scheduler.delivery.values import DbCall
from scheduler.logs import fields
from scheduler.metrics import Metrics
from scheduler.store import Store

log = logging.getLogger("tminus.takeover")

TAKEOVER_EVERY = 1.0  # seconds between checks while claims are about
# Seconds checks go on after the last sign of work, though no other worker's claim was
# seen: another replica may claim what fell due a moment after this one looked.
WATCH_FOR = 10.0

Timer = Callable[[float, Callable[[], None]], Any]  # (delay, callback) -> handle


def keep_watching(*, now: float, watch_until: float, claims_elsewhere: bool) -> bool:
    """After a check at monotonic ``now``: is another due in :data:`TAKEOVER_EVERY`?"""
    return claims_elsewhere or now < watch_until


class Takeover:
    """Runs one takeover check at a time, and the timer of the next while it is needed."""

    def __init__(
        self,
        *,
        store: Store,
        db: DbCall,
        worker: str,
        metrics: Metrics,
        on_taken: Callable[[], Awaitable[None]],
        call_later: Timer | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._db = db
        self._worker = worker
        self._metrics = metrics
        self._on_taken = on_taken
        self._call_later = call_later or (lambda d, f: asyncio.get_running_loop().call_later(d, f))
        self._monotonic = monotonic
        self._check: asyncio.Task[None] | None = None
        self._timer: Any = None
        self._watch_until = 0.0
        self.stopped = False

    def stir(self) -> None:
        """A sign of work (something fell due, was claimed, was announced): check every
        :data:`TAKEOVER_EVERY` for at least :data:`WATCH_FOR` from now."""
        self._watch_until = max(self._watch_until, self._monotonic() + WATCH_FOR)
        self._arm()

    async def heard(self) -> None:
        """A wake-up from another replica (the subscriber form of :meth:`stir`)."""
        self.stir()

    async def poke(self) -> None:
        """Start a check now unless one is running (the sweep's fallback; a coroutine,
        so APScheduler runs it on the loop)."""
        self._start()

    def stop(self) -> None:
        self.stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        busy = self._check is not None and not self._check.done()
        if self._timer is None and not busy and not self.stopped:
            self._timer = self._call_later(TAKEOVER_EVERY, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._start()

    def _start(self) -> None:
        if (self._check is None or self._check.done()) and not self.stopped:
            self._check = asyncio.create_task(self._checked())

    async def _checked(self) -> None:
        elsewhere = await self.check()
        if keep_watching(
            now=self._monotonic(), watch_until=self._watch_until, claims_elsewhere=elsewhere
        ):
            self._check = None  # done: the next may be armed
            self._arm()

    async def check(self) -> bool:
        """One check; True if other workers held claims (so the next one is due soon)."""
        try:
            found: TakeoverCheck = await self._db(self._store.take_over_dead, me=self._worker)
        except Exception as exc:  # the store is out of reach: the next check tries again
            log.debug("takeover check failed", extra=fields(error=type(exc).__name__))
            return True  # and soon: claims elsewhere cannot be ruled out
        if not found.taken:
            return found.claims_elsewhere
        for worker, count in found.taken.items():
            self._metrics.takeovers_total.inc(count)
            log.warning(
                "took over the claims of a dead worker", extra=fields(dead=worker, count=count)
            )
        await self._on_taken()
        try:
            await self._db(self._store.notify, Wakeup.TAKEOVER)
        except Exception as exc:
            log.debug("takeover notice not sent", extra=fields(error=type(exc).__name__))
        return True
