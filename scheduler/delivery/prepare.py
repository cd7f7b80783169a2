"""Stage ``prepare``: the pending rows of a group are rendered by the channel's notifier
(``Notifier.prepare``), stamped with this moment, and the first request goes on.

It runs after the request's pace turn, so what a message shows (its countdown, the
webhook body's ``sent_at`` and the signed ``webhook-timestamp``) is the moment it is
sent, however long the bucket made it wait. The rows the first request did not take
wait for their own turn (:mod:`scheduler.delivery.turns`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from scheduler.db.rows import DeliveryRow
from scheduler.delivery.values import Batch, Clock, DeliveryReason
from scheduler.model import Alert


class Prepare:
    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        assert batch.runtime is not None  # routed
        now = self._clock()
        alerts = [alert_for(row, now) for row in batch.rows]
        first = batch.runtime.notifier.prepare(alerts)[0]
        ids = {a.delivery_id for a in first.alerts}
        rows = tuple(r for r in batch.rows if r.id in ids)
        return [replace(batch, rows=rows, request=first)]


def alert_for(row: DeliveryRow, now: datetime) -> Alert:
    """The alert a claimed delivery sends now, from its stored snapshot (``held`` when
    the ``hold`` stage kept it for its channel's quiet hours)."""
    return Alert(
        delivery_id=row.id,
        reminder=row.snapshot.reminder(row.channel),
        channel=row.channel,
        attempt=row.attempts,
        late=row.late,
        sent_at=now,
        held=row.reason == DeliveryReason.QUIET_HOURS,
    )
