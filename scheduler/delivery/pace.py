"""Stage ``pace``: the cluster's send slot for the channel (PostgreSQL replicas share one
pace, :mod:`scheduler.db.pacing`), the channel's token bucket, and any pause a 429
asked for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from scheduler.delivery.finish import Finisher
from scheduler.delivery.values import Batch, DeliveryReason
from scheduler.notify.pacing import acquire

SlotReserver = Callable[[str, timedelta], Awaitable[float]]
"""Reserves a channel's next send slot among replicas (channel, interval) -> seconds to wait."""


class Pace:
    def __init__(
        self,
        finisher: Finisher,
        *,
        sleep: Callable[[float], Awaitable[None]],
        reserve: SlotReserver | None = None,
    ) -> None:
        self._finish = finisher
        self._sleep = sleep
        self._reserve = reserve

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        runtime = batch.runtime
        assert runtime is not None  # routed
        rate = runtime.channel.effective_rate_limit
        if self._reserve is not None and rate is not None:
            wait = await self._reserve(runtime.channel.name, timedelta(seconds=1 / rate))
            if wait > 0:
                await self._sleep(wait)
        if runtime.bucket is not None:
            await acquire(runtime.bucket, self._sleep)
        if runtime.disabled:  # disabled while this request waited for its turn
            for row in batch.rows:
                await self._finish.dead(row, DeliveryReason.CHANNEL_DISABLED)
            return []
        return [batch]
