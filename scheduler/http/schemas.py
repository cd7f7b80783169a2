"""Response models of the JSON API (they make the OpenAPI document) and the
conversions from tminus values to them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from scheduler.acknowledge import CANCELLED_KINDS, Acknowledgement
from scheduler.acknowledge import REASON as ACKNOWLEDGED
from scheduler.db.acks import AckChange
from scheduler.http.state import DeliveryRecord, StoredStatus
from scheduler.model import DeliveryStatus, Milestone, Reminder


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Unavailable(BaseModel):
    status: str = Field(examples=["unavailable"])
    reason: str = Field(examples=["no config loaded yet"])


class ErrorBody(BaseModel):
    detail: str


class AckOut(BaseModel):
    by: str
    at: datetime = Field(description="when it was acknowledged")
    note: str
    occurrence: datetime = Field(description="the occurrence acknowledged")
    source: str = Field(examples=["api"], description="cli, api or link")


class AckIn(BaseModel):
    occurrence: datetime | None = Field(
        default=None,
        description="the occurrence to acknowledge (default: the next one not yet past, "
        "else the latest); without an offset, wall time in the milestone's zone",
    )
    by: str | None = Field(default=None, max_length=200, examples=["duty officer"])
    note: str | None = Field(default=None, max_length=2000)


class UnackIn(BaseModel):
    occurrence: datetime | None = None
    by: str | None = Field(default=None, max_length=200)


class AckResult(BaseModel):
    acknowledged: AckOut | None = Field(description="the acknowledgement (null once taken back)")
    changed: bool = Field(description="false when it was already so")
    cancelled: list[str] = Field(description="deliveries cancelled (reason acknowledged)")
    restored: list[str] = Field(description="deliveries scheduled again by the unack")
    notices: list[str] = Field(description="milestone.acknowledged deliveries queued")


class MilestoneOut(BaseModel):
    id: str
    title: str
    at: datetime | None = Field(description="resolved instant (next occurrence if recurring)")
    timezone: str
    status: str
    description: str
    tags: list[str]
    links: list[str]
    rrule: str | None
    after: str | None
    remind: list[str] = Field(description="offsets before the milestone, ISO 8601")
    notify: list[str]
    acknowledged: AckOut | None = Field(
        default=None, description="the acknowledgement of the occurrence shown in ``at``"
    )


class MilestonePage(BaseModel):
    items: list[MilestoneOut]
    total: int
    limit: int
    offset: int


class ReminderDelivery(BaseModel):
    channel: str
    delivery_id: str
    status: str = Field(
        description="the stored delivery's status; when it is not stored yet (deliveries are "
        "stored a short horizon ahead of their due time) 'cancelled' if its occurrence is "
        "acknowledged (it will never be sent), else 'planned'",
        examples=["scheduled", "planned", "cancelled"],
    )
    reason: str | None = Field(
        default=None,
        description="why it ended as it did: the stored delivery's reason, 'acknowledged' "
        "for a reminder or escalation of an acknowledged occurrence",
        examples=["acknowledged"],
    )


class ReminderOut(BaseModel):
    id: str
    milestone_id: str
    milestone_title: str
    occurrence: datetime
    due_at: datetime
    offset: str = Field(description="ISO 8601 duration before the milestone")
    label: str
    deliveries: list[ReminderDelivery]
    acknowledged: AckOut | None = Field(
        default=None,
        description="the acknowledgement of this occurrence; its reminders and escalations "
        "not yet sent will not be sent",
    )


class ReminderPage(BaseModel):
    items: list[ReminderOut]
    total: int
    limit: int
    offset: int
    start: datetime
    end: datetime


class DeliveryOut(BaseModel):
    id: str = Field(description="the webhook-id")
    milestone_id: str
    reminder_id: str
    channel: str
    status: DeliveryStatus
    attempts: int
    due_at: datetime
    late: bool
    reason: str | None = Field(description="why it ended as it did (metric label)")
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    updated_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int
    limit: int
    offset: int


class Redelivered(BaseModel):
    status: str = Field(examples=["queued"])
    delivery: DeliveryOut


PLANNED = "planned"


def delivery_out(row: DeliveryRecord) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        milestone_id=row.milestone_id,
        reminder_id=row.reminder_id,
        channel=row.channel,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        due_at=row.due_at,
        late=row.late,
        reason=row.reason,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        updated_at=row.updated_at,
    )


def ack_out(ack: Acknowledgement | None) -> AckOut | None:
    if ack is None:
        return None
    return AckOut(
        by=ack.by, at=ack.at, note=ack.note, occurrence=ack.occurrence, source=ack.source.value
    )


def ack_result(change: AckChange, *, taken_back: bool = False) -> AckResult:
    return AckResult(
        acknowledged=None if taken_back else ack_out(change.acknowledgement),
        changed=change.changed,
        cancelled=[i for i, _channel in change.cancelled],
        restored=[i for i, _channel in change.restored],
        notices=[i for i, _channel in change.notices],
    )


def milestone_out(
    m: Milestone, instant: datetime | None, ack: Acknowledgement | None = None
) -> MilestoneOut:
    return MilestoneOut(
        id=m.id,
        title=m.title,
        at=instant,
        timezone=m.timezone,
        status=m.status.value,
        description=m.description,
        tags=list(m.tags),
        links=list(m.links),
        rrule=m.rrule,
        after=m.after,
        remind=[d.iso() for d in m.remind],
        notify=list(m.notify),
        acknowledged=ack_out(ack),
    )


def reminder_out(
    r: Reminder, stored: Mapping[str, StoredStatus], ack: Acknowledgement | None = None
) -> ReminderOut:
    """``r`` with each channel's delivery as stored; one not stored yet is ``planned``,
    or ``cancelled`` (reason ``acknowledged``) when ``ack`` means it will never be sent."""
    withheld = ack is not None and r.kind in CANCELLED_KINDS

    def delivery(channel: str) -> ReminderDelivery:
        delivery_id = r.delivery_id(channel)
        row = stored.get(delivery_id)
        if row is not None:
            return ReminderDelivery(
                channel=channel, delivery_id=delivery_id, status=str(row.status), reason=row.reason
            )
        if withheld:
            return ReminderDelivery(
                channel=channel,
                delivery_id=delivery_id,
                status=DeliveryStatus.CANCELLED.value,
                reason=ACKNOWLEDGED,
            )
        return ReminderDelivery(channel=channel, delivery_id=delivery_id, status=PLANNED)

    return ReminderOut(
        id=r.id,
        milestone_id=r.milestone.id,
        milestone_title=r.milestone.title,
        occurrence=r.occurrence,
        due_at=r.due_at,
        offset=r.offset.iso(),
        label=r.label,
        deliveries=[delivery(c) for c in r.channels],
        acknowledged=ack_out(ack),
    )


def delivery_ids(reminders: Sequence[Reminder]) -> list[str]:
    return [r.delivery_id(c) for r in reminders for c in r.channels]
