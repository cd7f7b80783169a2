"""The ``webhook-id`` each planned delivery must arrive under, computed from the config.

For one-shot milestones (``at``) reminded at ``0``: the id is the digest of (milestone
id, instant, offset, channel), the same as the daemon computes, so a test can tell a
repeat of a planned delivery from a request that was never planned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from scheduler.durations import Duration
from scheduler.model import delivery_id, reminder_id


def planned_webhook_ids(milestones: Iterable[Mapping[str, Any]], channel: str) -> dict[str, str]:
    """``webhook-id`` -> milestone id, for milestones with an aware ISO ``at`` and offset 0."""
    offset = Duration.parse("0")
    ids: dict[str, str] = {}
    for m in milestones:
        instant = datetime.fromisoformat(str(m["at"]))
        ids[delivery_id(reminder_id(str(m["id"]), instant, offset), channel)] = str(m["id"])
    return ids
