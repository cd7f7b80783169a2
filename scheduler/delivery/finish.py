"""Ending a delivery without a request: dead, cancelled or given back.

Shared by the stages that decide before anything is sent (route, verdict, pace).
Each end is one guarded mark through the recorder, one metric and one log line.
"""

from __future__ import annotations

import logging

from scheduler.db.marks import Mark
from scheduler.db.rows import DeliveryRow
from scheduler.delivery.recorder import Recorder
from scheduler.delivery.values import Clock, DeliveryReason
from scheduler.logs import fields
from scheduler.metrics import DeliveryOutcome, Metrics

log = logging.getLogger("tminus.delivery")


class Finisher:
    """Records the end of deliveries the pipeline will not send."""

    def __init__(self, *, recorder: Recorder, metrics: Metrics, worker: str, clock: Clock) -> None:
        self._recorder = recorder
        self._metrics = metrics
        self._worker = worker
        self._clock = clock

    async def dead(self, row: DeliveryRow, reason: DeliveryReason) -> None:
        await self._recorder.record(
            Mark(
                "dead",
                row.id,
                self._worker,
                self._clock(),
                reason=reason,
                generation=row.attempts,
            )
        )
        self._metrics.record_delivery(
            row.channel, DeliveryOutcome.DEAD, reason, kind=row.snapshot.kind
        )
        log.error(
            "delivery dead",
            extra=fields(
                milestone=row.milestone_id, delivery=row.id, channel=row.channel, dead_reason=reason
            ),
        )

    async def cancel(self, row: DeliveryRow, reason: DeliveryReason) -> None:
        await self._recorder.record(
            Mark(
                "cancelled",
                row.id,
                self._worker,
                self._clock(),
                reason=reason,
                generation=row.attempts,
            )
        )
        self._metrics.record_delivery(
            row.channel, DeliveryOutcome.CANCELLED, reason, kind=row.snapshot.kind
        )
        log.info(
            "delivery cancelled",
            extra=fields(milestone=row.milestone_id, delivery=row.id, channel=row.channel),
        )

    async def release(self, row: DeliveryRow) -> None:
        """Give the claim back untouched (attempt undone); it is claimed again later."""
        mark = Mark("released", row.id, self._worker, self._clock(), generation=row.attempts)
        await self._recorder.record(mark)
