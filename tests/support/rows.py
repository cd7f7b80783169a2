"""Claimed delivery rows for pipeline-stage tests, without a store."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from scheduler.db.rows import DeliveryRow
from scheduler.model import DeliveryStatus
from tests.support.deliveries import T0, planned


def claimed(
    milestone: str = "m1",
    *,
    at: datetime = T0,
    channel: str = "hook",
    attempts: int = 1,
    offset: str = "0",
) -> DeliveryRow:
    """A row as ``claim_due`` returns it: ``sending``, ``attempts`` taken."""
    p = planned(milestone, at=at, channel=channel, offset=offset)
    return DeliveryRow(
        id=p.id,
        reminder_id=p.reminder_id,
        milestone_id=p.milestone_id,
        channel=p.channel,
        due_at=p.due_at,
        status=DeliveryStatus.SENDING,
        attempts=attempts,
        next_attempt_at=None,
        late=False,
        claimed_by="w",
        lease_until=None,
        last_error=None,
        last_status_code=None,
        last_body=None,
        reason=None,
        sent_at=None,
        created_at=at,
        updated_at=at,
        snapshot=p.snapshot,
    )


def retried(row: DeliveryRow, attempts: int = 2) -> DeliveryRow:
    return replace(row, attempts=attempts)
