"""The tables: milestones, reminders, deliveries, delivery attempts, channel state, meta,
acknowledgements.

One durable row per delivery (one reminder to one channel) is the source of
truth for "was this sent?"; timers only wake the daemon up. Reminder rows carry
a snapshot of everything an alert needs, so a delivery can be rendered (and
redelivered) even after its milestone left the config.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Index, Integer, String, Table, Text
from sqlmodel import Field, SQLModel

from scheduler.db.types import UTCDateTime

# Receivers' answers are kept as a bounded excerpt: enough to diagnose, never a flood.
BODY_EXCERPT_CHARS = 2000
ERROR_CHARS = 2000


class MilestoneRow(SQLModel, table=True):
    __tablename__: ClassVar[str] = "milestones"

    id: str = Field(primary_key=True, sa_type=String)
    title: str = Field(sa_type=Text)
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ReminderRow(SQLModel, table=True):
    __tablename__: ClassVar[str] = "reminders"

    id: str = Field(primary_key=True, sa_type=String)
    milestone_id: str = Field(foreign_key="milestones.id", index=True, sa_type=String)
    occurrence_at: datetime = Field(sa_type=UTCDateTime)
    offset_iso: str = Field(sa_type=String)
    due_at: datetime = Field(sa_type=UTCDateTime)
    label: str = Field(sa_type=String)
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class DeliveryTableRow(SQLModel, table=True):
    __tablename__: ClassVar[str] = "deliveries"
    __table_args__ = (
        # Claims and wake-ups: one ordered range scan (next_attempt_at is the lease
        # expiry while sending, NULL once final).
        Index("ix_deliveries_next_attempt_at", "next_attempt_at"),
        # Supersede, history by milestone.
        Index("ix_deliveries_milestone_channel_due", "milestone_id", "channel", "due_at"),
        # Reconciliation windows, history newest first.
        Index("ix_deliveries_due_at", "due_at"),
        # Counts and listings by status.
        Index("ix_deliveries_status_due_at", "status", "due_at"),
    )

    id: str = Field(primary_key=True, sa_type=String)
    reminder_id: str = Field(foreign_key="reminders.id", sa_type=String)
    milestone_id: str = Field(sa_type=String)
    channel: str = Field(sa_type=String)
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(sa_type=String(16))
    attempts: int = Field(default=0, sa_type=Integer)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late: bool = False
    claimed_by: str | None = Field(default=None, sa_type=String)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    last_status_code: int | None = Field(default=None, sa_type=Integer)
    last_body: str | None = Field(default=None, sa_type=Text)
    reason: str | None = Field(default=None, sa_type=String)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class DeliveryAttemptRow(SQLModel, table=True):
    __tablename__: ClassVar[str] = "delivery_attempts"

    id: int | None = Field(default=None, primary_key=True, sa_type=Integer)
    delivery_id: str = Field(foreign_key="deliveries.id", index=True, sa_type=String)
    attempt: int = Field(sa_type=Integer)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status_code: int | None = Field(default=None, sa_type=Integer)
    reason: str | None = Field(default=None, sa_type=String)
    error: str | None = Field(default=None, sa_type=Text)
    body: str | None = Field(default=None, sa_type=Text)
    worker: str | None = Field(default=None, sa_type=String)


class ChannelStateRow(SQLModel, table=True):
    __tablename__: ClassVar[str] = "channel_state"

    name: str = Field(primary_key=True, sa_type=String)
    disabled_fingerprint: str | None = Field(default=None, sa_type=String)
    disabled_reason: str | None = Field(default=None, sa_type=Text)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AcknowledgementRow(SQLModel, table=True):
    """One acknowledged occurrence of a milestone (kept, with ``revoked_at``, after an
    ``unack``, so a used link cannot silently acknowledge it again)."""

    __tablename__: ClassVar[str] = "acknowledgements"

    milestone_id: str = Field(primary_key=True, sa_type=String)
    occurrence_at: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    acked_by: str = Field(sa_type=Text)
    note: str = Field(sa_type=Text)
    source: str = Field(sa_type=String(16))  # cli, api, link
    acked_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, sa_type=Text)


class MetaRow(SQLModel, table=True):
    __tablename__: ClassVar[str] = "meta"

    key: str = Field(primary_key=True, sa_type=String)
    value: str = Field(sa_type=Text)


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


metadata = SQLModel.metadata
MILESTONES = _table(MilestoneRow)
REMINDERS = _table(ReminderRow)
DELIVERIES = _table(DeliveryTableRow)
ATTEMPTS = _table(DeliveryAttemptRow)
CHANNEL_STATE = _table(ChannelStateRow)
META = _table(MetaRow)
ACKNOWLEDGEMENTS = _table(AcknowledgementRow)
ALL_TABLES = (ATTEMPTS, DELIVERIES, REMINDERS, MILESTONES, CHANNEL_STATE, META, ACKNOWLEDGEMENTS)
