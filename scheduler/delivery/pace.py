"""Stage ``pace``: the channel's token bucket, and any pause a 429 asked for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from scheduler.delivery.finish import Finisher
from scheduler.delivery.values import Batch, DeliveryReason
from scheduler.notify.pacing import acquire


class Pace:
    def __init__(self, finisher: Finisher, *, sleep: Callable[[float], Awaitable[None]]) -> None:
        self._finish = finisher
        self._sleep = sleep

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        runtime = batch.runtime
        assert runtime is not None  # routed
        if runtime.bucket is not None:
            await acquire(runtime.bucket, self._sleep)
        if runtime.disabled:  # disabled while this request waited for its turn
            for row in batch.rows:
                await self._finish.dead(row, DeliveryReason.CHANNEL_DISABLED)
            return []
        return [batch]
