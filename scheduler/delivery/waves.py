"""Answering many waiting futures a few per pass of the event loop.

A future answered wakes its waiter, which goes on at once to its next steps. Answered
all together (the callers of a burst's outcome batch, the branches of a burst waiting for
one acknowledgement read), hundreds of waiters run back to back in one pass of the loop,
and another channel's send that became ready meanwhile waits behind all of them.
Answered :data:`STEP` at a time, what else is ready runs between steps, as the runner
starts a wide fan-out (:mod:`scheduler.delivery.stage`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

STEP = 16  # waiters answered per pass of the event loop


async def answer(futures: Sequence[asyncio.Future[T]], results: Sequence[T]) -> None:
    """Answer each future with its result, :data:`STEP` at a time (one already done, a
    waiter that gave up, is passed over); cancelled midway, answers the rest at once, so
    no waiter is left waiting."""
    pairs = list(zip(futures, results, strict=True))
    try:
        for n, (future, result) in enumerate(pairs):
            if n and n % STEP == 0:
                await asyncio.sleep(0)  # the waiters answered so far run before the next step
            if not future.done():
                future.set_result(result)
    finally:
        for future, result in pairs:
            if not future.done():
                future.set_result(result)
