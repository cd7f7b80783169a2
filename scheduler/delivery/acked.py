"""The ``acknowledged`` check of stage ``verdict``: is the delivery's occurrence
acknowledged, by this process or any other, by the moment it is due?

The store cancels an acknowledged occurrence's rows that nobody holds. A row claimed
ahead (or a retry claimed again) sits in a pipeline's memory, ``sending`` under that
process's claim, where no other process can touch it: this check stops it. It keeps the
acknowledged occurrences in memory and, before it decides a batch, makes sure they were
read after the batch's moment came (:meth:`AckMemory.ensure_fresh`: one primary-key read
of the acknowledgement version, shared by every batch waiting at once), so a delivery
never goes out after an acknowledgement of its occurrence committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from functools import partial

from scheduler.acknowledge import CANCELLED_KINDS, Acknowledgement
from scheduler.db.rows import DeliveryRow
from scheduler.delivery import waves
from scheduler.delivery.values import Verdict
from scheduler.logs import fields

log = logging.getLogger("tminus.delivery")

Poll = Callable[[], Awaitable[None]]


class AckMemory:
    """Acknowledged occurrences, (milestone id, occurrence instant), as last read."""

    def __init__(self) -> None:
        self._keys: frozenset[tuple[str, datetime]] = frozenset()
        # Reads the acknowledgement version and, when it changed, installs the new set
        # (the daemon's wake-up hook); None: nothing to read (unit tests of the stages).
        self.poll: Poll | None = None
        self._task: asyncio.Future[None] | None = None
        self._waiting: list[asyncio.Future[None]] = []  # for the poll in progress
        self._waking: set[asyncio.Future[None]] = set()
        self._fresh_since = float("-inf")

    def install(self, acknowledgements: Iterable[Acknowledgement]) -> None:
        self._keys = frozenset(a.key for a in acknowledgements if a.active)

    def __contains__(self, key: tuple[str, datetime]) -> bool:
        return key in self._keys

    def verdict(self, row: DeliveryRow) -> Verdict:
        snapshot = row.snapshot
        if snapshot.kind not in CANCELLED_KINDS or not self._keys:
            return Verdict.SEND
        occurrence = datetime.fromisoformat(snapshot.occurrence).astimezone(UTC)
        if (row.milestone_id, occurrence) in self._keys:
            return Verdict.ACKNOWLEDGED
        return Verdict.SEND

    async def ensure_fresh(self) -> None:
        """Return once a poll that started after this call has finished (joining one in
        progress if it started late enough). A failed poll is logged and not waited out:
        the database is unwell, and what it committed was cancelled there."""
        poll = self.poll
        if poll is None:
            return
        asked = time.monotonic()
        while self._fresh_since < asked:
            if self._task is None or self._task.done():
                self._task = asyncio.ensure_future(self._read(poll, time.monotonic()))
                self._waiting = []
                self._task.add_done_callback(partial(self._polled, self._waiting))
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            except Exception as exc:
                log.warning(
                    "could not read acknowledgements", extra=fields(error=type(exc).__name__)
                )
                return

    async def _read(self, poll: Poll, started: float) -> None:
        """One poll: what it read is fresh as of when it started, from the moment it
        ends (a waiter answered after a later poll ended needs no newer one)."""
        await poll()
        self._fresh_since = max(self._fresh_since, started)

    def _polled(self, waiting: list[asyncio.Future[None]], task: asyncio.Future[None]) -> None:
        """A poll ended: its waiters go on a few per pass of the loop (a burst's branches
        all wait for one read), or all fail at once with it."""
        failure = None if task.cancelled() else task.exception()
        if task.cancelled() or failure is not None:
            for waiter in waiting:
                if waiter.done():
                    continue
                if failure is None:
                    waiter.cancel()
                else:
                    waiter.set_exception(failure)
            return
        waking = asyncio.ensure_future(waves.answer(waiting, [None] * len(waiting)))
        self._waking.add(waking)
        waking.add_done_callback(self._waking.discard)
