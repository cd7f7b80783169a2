"""Stage ``group``: rows of one channel become the groups that travel together.

Slack and Discord combine reminders due within the channel's group window into one
message, sent when the last of them is due (never early), one group after another.
Webhooks send each delivery on its own, at its own due time, concurrently.

A row that quiet hours held (reason ``quiet_hours``) is due at its opening, not at its
original due time: everything a chat channel held overnight goes out as one morning
post, not one post per original due time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from scheduler.db.rows import DeliveryRow
from scheduler.delivery.policy import is_grouped
from scheduler.delivery.values import Batch, Clock, DeliveryReason


class Group:
    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock

    def _moment(self, now: datetime | None) -> Callable[[DeliveryRow], datetime]:
        def moment(row: DeliveryRow) -> datetime:
            if now is not None and row.reason == DeliveryReason.QUIET_HOURS:
                return max(row.due_at, now)
            return row.due_at

        return moment

    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        assert batch.runtime is not None  # routed
        moment = self._moment(self._clock() if self._clock is not None else None)
        ordered = sorted(batch.rows, key=moment)
        channel = batch.runtime.channel
        if is_grouped(channel):
            clusters = clusters_within(ordered, channel.group_window, key=moment)
        else:
            clusters = [[row] for row in ordered]
        return [replace(batch, rows=tuple(cluster)) for cluster in clusters]


def clusters_within(
    rows: Sequence[DeliveryRow],
    window: timedelta,
    *,
    key: Callable[[DeliveryRow], datetime] = lambda row: row.due_at,
) -> list[list[DeliveryRow]]:
    """Split rows (in ``key`` order, their due times by default) into runs whose moments
    lie within ``window`` of the first."""
    out: list[list[DeliveryRow]] = []
    for row in rows:
        if out and key(row) - key(out[-1][0]) <= window:
            out[-1].append(row)
        else:
            out.append([row])
    return out
