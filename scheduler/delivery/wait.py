"""Stage ``wait``: first attempts are claimed a little ahead; wait for their moment.

Retries are sent as soon as they are claimed: their time is a backoff, not a deadline.
A group waits for the latest first attempt in it, so a post is never early.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from scheduler.delivery.values import Batch, Clock


class WaitUntilDue:
    def __init__(self, *, clock: Clock, sleep: Callable[[float], Awaitable[None]]) -> None:
        self._clock = clock
        self._sleep = sleep

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        firsts = [r.due_at for r in batch.rows if r.attempts <= 1]
        if firsts:
            wait = (max(firsts) - self._clock()).total_seconds()
            if wait > 0:
                await self._sleep(wait)
        return [batch]
