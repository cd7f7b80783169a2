"""The daemon's periodic jobs: all that wakes it on a timer besides the ``wake`` job.

APScheduler runs them on the daemon's loop (:meth:`Periodic.install`):

* ``refill`` — materialises the next :data:`~scheduler.reconcile.HORIZON` of reminders
  every :data:`REFILL_EVERY`, so 100,000 milestones cost a planning pass, not 400,000 jobs;
* ``sweep`` — every :data:`SWEEP_EVERY`, a cheap claim that picks up work other
  replicas scheduled and claims whose lease expired after a crash; also the fallback
  of what notifications, the probe and the takeover's own timer do at once;
* ``leases`` — renews the lease of deliveries in flight (a third of the lease);
* ``heartbeat`` — every :data:`HEARTBEAT_EVERY`, proves to ``/healthz`` that the loop
  and the scheduler run, and starts the store probe (:mod:`scheduler.health`) that
  ``/readyz`` and claims heed; on SQLite the probe also tells when another connection
  committed, and only then are acknowledgements made by other processes read
  (PostgreSQL announces each one to every replica).

Nothing else wakes an idle daemon: the takeover checks every second only while claims
are about (:mod:`scheduler.takeover`), the HTTP server does not tick
(:mod:`scheduler.http.server`) and the config watcher waits on the file system.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.acknowledgements import Acknowledgements
from scheduler.dispatcher import Dispatcher
from scheduler.health import StoreHealth
from scheduler.service import Service
from scheduler.takeover import Takeover

REFILL_EVERY = timedelta(hours=1)
SWEEP_EVERY = timedelta(seconds=15)
# /healthz calls the loop stuck after 10 s without a beat (service.HEARTBEAT_STALE): a beat
# every 2 s leaves it four missed beats of margin, and halves what an idle SQLite daemon
# spends on the beat and its store probe.
HEARTBEAT_EVERY = 2.0


class Periodic:
    """The periodic jobs of one daemon and what each one does."""

    def __init__(
        self,
        *,
        service: Service,
        dispatcher: Dispatcher,
        health: StoreHealth,
        acks: Acknowledgements,
        takeover: Takeover | None,
        lease: timedelta,
    ) -> None:
        """``takeover`` is None on SQLite, where no notification announces anything."""
        self._service = service
        self._dispatcher = dispatcher
        self._health = health
        self._acks = acks
        self._takeover = takeover
        self._lease = lease
        self._tasks: set[asyncio.Task[Any]] = set()

    def install(self, scheduler: AsyncIOScheduler) -> None:
        if self._takeover is None:  # SQLite: a commit elsewhere may be an acknowledgement
            self._health.on_changed = self._poll_acks
        scheduler.add_job(self._service.refill, "interval", seconds=REFILL_EVERY.total_seconds())
        scheduler.add_job(self.sweep, "interval", seconds=SWEEP_EVERY.total_seconds())
        lease_every = self._lease.total_seconds() / 3
        scheduler.add_job(self._dispatcher.renew_leases, "interval", seconds=lease_every)
        scheduler.add_job(self.beat, "interval", seconds=HEARTBEAT_EVERY)

    async def beat(self) -> None:
        self._service.beat()
        self._health.poke()

    async def sweep(self) -> None:
        await self._dispatcher.kick()
        # The fallbacks of changes not heard of (a listener reconnecting, a probe that
        # failed) and of claims taken while this replica saw no sign of work.
        self._poll_acks()
        if self._takeover is not None:
            await self._takeover.poke()

    def _poll_acks(self) -> None:
        if self._health.healthy:
            task = asyncio.ensure_future(self._acks.memory_fresh())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
