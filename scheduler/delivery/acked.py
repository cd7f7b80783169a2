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

from scheduler.acknowledge import CANCELLED_KINDS, Acknowledgement
from scheduler.db.rows import DeliveryRow
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
        self._task_started = 0.0
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
                self._task_started = time.monotonic()
                self._task = asyncio.ensure_future(poll())
            task, started = self._task, self._task_started
            try:
                await asyncio.shield(task)
            except Exception as exc:
                log.warning(
                    "could not read acknowledgements", extra=fields(error=type(exc).__name__)
                )
                return
            self._fresh_since = max(self._fresh_since, started)
