"""Stage ``route``: the channel must still exist and not be disabled, else ``dead``."""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.delivery.finish import Finisher
from scheduler.delivery.values import Batch, DeliveryReason


class Route:
    def __init__(self, finisher: Finisher) -> None:
        self._finish = finisher

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        runtime = batch.runtime
        if runtime is not None and not runtime.disabled:
            return [batch]
        reason = (
            DeliveryReason.CHANNEL_REMOVED if runtime is None else DeliveryReason.CHANNEL_DISABLED
        )
        for row in batch.rows:
            await self._finish.dead(row, reason)
        return []
