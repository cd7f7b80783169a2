"""Writes delivery outcomes in batches: one transaction for whatever piled up while
the previous one ran.

Under a burst this turns hundreds of small write transactions into a few, so the
database thread stays free for the claims that keep the next reminders on time.
Each caller still learns whether its own mark held (the claim was not lost), a few
callers per pass of the event loop (:mod:`scheduler.delivery.waves`): each goes on at
once to its log line, metric and event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from scheduler.db.marks import Mark
from scheduler.delivery import waves
from scheduler.delivery.values import DbCall

BATCH = 500


class Recorder:
    """Queues :class:`~scheduler.db.marks.Mark` values for ``record`` (the store's one
    guarded batch call) and answers each with whether it held."""

    def __init__(self, record: Callable[[Sequence[Mark]], list[bool]], db: DbCall) -> None:
        self._record = record
        self._db = db
        self._pending: list[tuple[Mark, asyncio.Future[bool]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def record(self, mark: Mark) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((mark, future))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:BATCH]
                del self._pending[:BATCH]
                try:
                    results = await self._db(self._record, [m for m, _ in batch])
                except Exception as exc:  # the callers' tasks fail; their leases expire
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                await waves.answer([f for _, f in batch], results)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
