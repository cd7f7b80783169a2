"""Response models of the JSON API (they make the OpenAPI document) and the
conversions from tminus values to them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from scheduler.http.state import DeliveryRecord
from scheduler.model import DeliveryStatus, Milestone, Reminder


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Unavailable(BaseModel):
    status: str = Field(examples=["unavailable"])
    reason: str = Field(examples=["no config loaded yet"])


class ErrorBody(BaseModel):
    detail: str


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


class MilestonePage(BaseModel):
    items: list[MilestoneOut]
    total: int
    limit: int
    offset: int


class ReminderDelivery(BaseModel):
    channel: str
    delivery_id: str
    status: str = Field(
        description="the stored delivery's status, or 'planned' when it is not stored yet "
        "(deliveries are stored a short horizon ahead of their due time)",
        examples=["scheduled", "planned"],
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


def milestone_out(m: Milestone, instant: datetime | None) -> MilestoneOut:
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
    )


def reminder_out(r: Reminder, statuses: Mapping[str, DeliveryStatus]) -> ReminderOut:
    return ReminderOut(
        id=r.id,
        milestone_id=r.milestone.id,
        milestone_title=r.milestone.title,
        occurrence=r.occurrence,
        due_at=r.due_at,
        offset=r.offset.iso(),
        label=r.label,
        deliveries=[
            ReminderDelivery(
                channel=c,
                delivery_id=r.delivery_id(c),
                status=str(statuses.get(r.delivery_id(c), PLANNED)),
            )
            for c in r.channels
        ],
    )


def delivery_ids(reminders: Sequence[Reminder]) -> list[str]:
    return [r.delivery_id(c) for r in reminders for c in r.channels]
