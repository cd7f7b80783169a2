"""Plain values read from and written to the store (never ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scheduler.model import DeliveryStatus
from scheduler.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One delivery (one reminder to one channel) with its reminder's snapshot."""

    id: str
    reminder_id: str
    milestone_id: str
    channel: str
    due_at: datetime
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    late: bool
    claimed_by: str | None
    lease_until: datetime | None
    last_error: str | None
    last_status_code: int | None
    last_body: str | None
    reason: str | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime
    snapshot: Snapshot

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (instants as ISO 8601 UTC)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Snapshot):
                value = value.to_json()
            elif name == "status":
                value = str(value)
            out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One HTTP attempt of a delivery, as the pipeline observed it."""

    attempt: int
    started_at: datetime
    finished_at: datetime | None = None
    status_code: int | None = None
    reason: str | None = None
    error: str | None = None
    body: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """A recorded attempt, read back from ``delivery_attempts``."""

    id: int
    delivery_id: str
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    status_code: int | None
    reason: str | None
    error: str | None
    body: str | None
    worker: str | None


@dataclass(frozen=True, slots=True)
class ChannelState:
    """Durable per-channel state: disabled after a 410 (until the config changes)."""

    name: str
    disabled_fingerprint: str | None = None
    disabled_reason: str | None = None
    disabled_at: datetime | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_fingerprint is not None
