"""Stage ``prepare``: the pending rows of a group are rendered by the channel's notifier
(``Notifier.prepare``), stamped with this moment, and the first request goes on.

It runs after the request's pace turn, so what a message shows (its countdown, the
webhook body's ``sent_at`` and the signed ``webhook-timestamp``) is the moment it is
sent, however long the bucket made it wait. The rows the first request did not take
wait for their own turn (:mod:`scheduler.delivery.turns`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from scheduler.acknowledge import CANCELLED_KINDS
from scheduler.db.rows import DeliveryRow
from scheduler.delivery.values import Batch, Clock, DeliveryReason
from scheduler.model import Alert, Reminder

AckUrl = Callable[[Reminder], str]
"""The acknowledge link of a reminder's occurrence (built in the composition root)."""


class Prepare:
    def __init__(self, *, clock: Clock, ack_url: AckUrl | None = None) -> None:
        self._clock = clock
        self._ack_url = ack_url

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        assert batch.runtime is not None  # routed
        now = self._clock()
        alerts = [alert_for(row, now, self._ack_url) for row in batch.rows]
        first = batch.runtime.notifier.prepare(alerts)[0]
        ids = {a.delivery_id for a in first.alerts}
        rows = tuple(r for r in batch.rows if r.id in ids)
        return [replace(batch, rows=rows, request=first)]


def alert_for(row: DeliveryRow, now: datetime, ack_url: AckUrl | None = None) -> Alert:
    """The alert a claimed delivery sends now, from its stored snapshot; reminders and
    escalations carry the acknowledge link of their occurrence when links are on; ``held``
    when the ``hold`` stage kept it for its channel's quiet hours."""
    reminder = row.snapshot.reminder(row.channel)
    link = ack_url(reminder) if ack_url is not None and reminder.kind in CANCELLED_KINDS else ""
    return Alert(
        delivery_id=row.id,
        reminder=reminder,
        channel=row.channel,
        attempt=row.attempts,
        late=row.late,
        sent_at=now,
        ack_url=link,
        held=row.reason == DeliveryReason.QUIET_HOURS,
    )
