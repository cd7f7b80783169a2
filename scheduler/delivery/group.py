"""Stage ``group``: rows of one channel become the groups that travel together.

Slack and Discord combine reminders due within the channel's group window into one
message, sent when the last of them is due (never early), one group after another.
Webhooks send each delivery on its own, at its own due time, concurrently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from scheduler.db.rows import DeliveryRow
from scheduler.delivery.policy import is_grouped
from scheduler.delivery.values import Batch


class Group:
    async def __call__(self, batch: Batch) -> Sequence[Batch]:
        assert batch.runtime is not None  # routed
        ordered = sorted(batch.rows, key=lambda r: r.due_at)
        channel = batch.runtime.channel
        if is_grouped(channel):
            clusters = clusters_within(ordered, channel.group_window)
        else:
            clusters = [[row] for row in ordered]
        return [replace(batch, rows=tuple(cluster)) for cluster in clusters]


def clusters_within(rows: Sequence[DeliveryRow], window: timedelta) -> list[list[DeliveryRow]]:
    """Split rows (in due order) into runs whose due times lie within ``window`` of the first."""
    out: list[list[DeliveryRow]] = []
    for row in rows:
        if out and row.due_at - out[-1][0].due_at <= window:
            out[-1].append(row)
        else:
            out.append([row])
    return out
