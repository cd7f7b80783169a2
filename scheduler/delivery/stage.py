"""The ``Stage`` protocol and the runner that chains stages (Alertmanager's
``notify.Stage`` / ``MultiStage``).

A stage takes one :class:`~scheduler.delivery.values.Batch` and returns the batches
that go on: the same one, fewer rows, several (a group split into requests), or none
(everything was recorded already). The runner hands each result to the next stage:
one after another on a channel that keeps order (chat), concurrently otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from scheduler.delivery.policy import is_grouped
from scheduler.delivery.values import Batch


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
        outcomes = await asyncio.gather(
            *(self.run(result, start + 1) for result in results), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            out.extend(outcome)
        return out
