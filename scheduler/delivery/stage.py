"""The ``Stage`` protocol and the runner that chains stages (Alertmanager's
``notify.Stage`` / ``MultiStage``).

A stage takes one :class:`~scheduler.delivery.values.Batch` and returns the batches
that go on: the same one, fewer rows, several (a group split into requests), or none
(everything was recorded already). The runner hands each result to the next stage:
one after another on a channel that keeps order (chat), concurrently otherwise.

A wide fan-out (a burst's claim of hundreds of webhook deliveries) starts its branches
:data:`~scheduler.delivery.waves.STEP` at a time (the step by which the outcome writer
and the acknowledgement read answer their waiters), letting the event loop run what
else is ready between steps: started all at once, their first steps would run back to
back in one pass of the loop, and another channel's send that became ready meanwhile
would wait behind all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from scheduler.delivery.policy import is_grouped
from scheduler.delivery.values import Batch
from scheduler.delivery.waves import STEP


class Stage(Protocol):
    """One step of the delivery path."""

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        """Handle ``batch``; return what continues to the next stage."""
        ...


class MultiStage:
    """Runs a batch through ``stages`` in order."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = tuple(stages)

    async def run(self, batch: Batch, start: int = 0) -> list[Batch]:
        """Run ``batch`` from stage ``start`` on; return what came out of the last stage."""
        if start >= len(self.stages):
            return [batch]
        results = await self.stages[start](batch)
        ordered = batch.runtime is not None and is_grouped(batch.runtime.channel)
        out: list[Batch] = []
        if len(results) <= 1 or ordered:
            for result in results:
                out.extend(await self.run(result, start + 1))
            return out
        # Every sibling runs to its end even if one fails, so none is left sending
        # without the lease renewal that ends with the dispatch task.
        branches: list[asyncio.Task[list[Batch]]] = []
        try:
            for n, result in enumerate(results):
                if n and n % STEP == 0:
                    await asyncio.sleep(0)  # what else is ready runs before the next step
                branches.append(asyncio.create_task(self.run(result, start + 1)))
        except asyncio.CancelledError:
            for branch in branches:
                branch.cancel()
            await asyncio.gather(*branches, return_exceptions=True)
            raise
        outcomes = await asyncio.gather(*branches, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            out.extend(outcome)
        return out
