"""Stage ``hold``: a channel with quiet hours sends only inside them.

A claimed delivery (first attempt or retry alike) whose moment falls outside its
channel's ``hours`` is not sent: it is recorded ``held`` with its next attempt at the
next opening, the attempt the claim counted undone, and the dispatcher's timer is
re-armed (a :class:`~scheduler.delivery.events.Held` event). At the opening the row is
claimed like any other and goes out. The hold happens at claim time, in this stage,
rather than in the plan: so retries wait too, a reload that changes a channel's hours
applies to what is already queued, and the store's rows say ``held`` in ``history``.

The row keeps the reason ``quiet_hours`` until it is sent, which is how the message
knows to say it was held (``held: true``, "due Sat 00:00").

An opening at most :data:`IN_MEMORY` away is waited out here instead, as first
attempts claimed a second ahead wait for their moment: a held row is claimed that
far ahead of its opening again, and must not go out before it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from scheduler.db.marks import Mark
from scheduler.delivery.events import Events, Held
from scheduler.delivery.recorder import Recorder
from scheduler.delivery.values import Batch, Clock, DeliveryReason
from scheduler.logs import fields
from scheduler.metrics import DeliveryOutcome, Metrics
from scheduler.quiet_hours import next_opening

log = logging.getLogger("tminus.delivery")

IN_MEMORY = timedelta(seconds=5)


class Hold:
    def __init__(
        self,
        *,
        recorder: Recorder,
        events: Events,
        metrics: Metrics,
        worker: str,
        clock: Clock,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._metrics = metrics
        self._recorder = recorder
        self._events = events
        self._worker = worker
        self._clock = clock
        self._sleep = sleep

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        runtime = batch.runtime
        assert runtime is not None  # routed
        hours = runtime.channel.hours
        if hours is None:
            return [batch]
        now = self._clock()
        opening = next_opening(hours, now)
        if opening is None:
            return [batch]
        if opening - now <= IN_MEMORY:
            await self._sleep((opening - now).total_seconds())
            return [batch]
        for row in batch.rows:
            mark = Mark(
                "held",
                row.id,
                self._worker,
                now,
                next_attempt_at=opening,
                reason=DeliveryReason.QUIET_HOURS,
                generation=row.attempts,
            )
            if await self._recorder.record(mark):
                self._metrics.record_delivery(
                    row.channel, DeliveryOutcome.HELD, DeliveryReason.QUIET_HOURS
                )
                log.info(
                    "delivery held for quiet hours",
                    extra=fields(
                        milestone=row.milestone_id,
                        delivery=row.id,
                        channel=row.channel,
                        until=opening.isoformat(),
                    ),
                )
                await self._events.publish(Held(row.id, opening))
        return []
