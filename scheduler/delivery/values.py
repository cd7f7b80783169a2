"""The values every delivery stage shares: the batch that flows through them, a
channel's runtime, verdicts and reasons.

It sits beneath the runner and the stages, so a stage never imports the runner,
the pipeline or the dispatcher.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scheduler.db.marks import HELD_REASON
from scheduler.db.rows import DeliveryRow
from scheduler.delivery.policy import DEFAULT_CONCURRENCY
from scheduler.delivery.slots import Permit, SendSlots
from scheduler.model import Channel, Outcome
from scheduler.notify.base import Notifier, Request
from scheduler.notify.pacing import TokenBucket

DbCall = Callable[..., Awaitable[Any]]
"""Runs a synchronous store call on the daemon's database executor: ``await db(fn, *a)``."""
Clock = Callable[[], datetime]


class DeliveryReason(enum.StrEnum):
    """Why the pipeline ended or gave back a delivery without sending it."""

    CHANNEL_REMOVED = "channel_removed"  # the config no longer has its channel
    CHANNEL_DISABLED = "channel_disabled"  # the receiver said it is gone (410, archived)
    MILESTONE_CHANGED = "milestone_changed"  # a reload dropped it while it was claimed ahead
    SUPERSEDED = "superseded"  # a later reminder of the milestone fell due on the channel
    ACKNOWLEDGED = "acknowledged"  # its occurrence was acknowledged while it was claimed

    QUIET_HOURS = HELD_REASON  # held: due outside its channel's hours, sent at the opening


class Verdict(enum.StrEnum):
    """What to do with a claimed first attempt when its moment comes."""

    SEND = "send"
    CANCEL = "cancel"  # a reload removed it
    RELEASE = "release"  # a reload moved it: give the claim back, it is claimed again later
    ACKNOWLEDGED = "acknowledged"  # its occurrence was acknowledged: cancel it


@dataclass
class ChannelRuntime:
    """What the pipeline keeps per channel between sends.

    ``disabled`` changes in two places only: the record stage sets it when a receiver
    says the channel is gone, and a config install carries it over (or lifts it when
    the channel's definition changed). ``slots`` bounds the channel's requests in
    flight (its connection pool has as many connections), so channels never wait for
    each other's sends, and adapts the bound to how fast its receiver answers.
    """

    channel: Channel
    notifier: Notifier
    bucket: TokenBucket | None
    disabled: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    slots: SendSlots = field(default_factory=lambda: SendSlots(DEFAULT_CONCURRENCY))


@dataclass(frozen=True, slots=True)
class Sent:
    """What the send stage observed of one request."""

    outcome: Outcome
    started: datetime
    finished: datetime
    elapsed: float  # seconds on the wire (monotonic)


@dataclass(frozen=True, slots=True)
class Batch:
    """Deliveries of one channel on their way through the stages.

    Upstream of ``prepare`` a batch is a group of rows; from there on it is exactly
    one request (``request`` set), and after ``send`` it carries what happened.
    """

    channel: str
    runtime: ChannelRuntime | None
    rows: tuple[DeliveryRow, ...]
    request: Request | None = None
    sent: Sent | None = None
    permit: Permit | None = None  # its place in flight, from ``turns`` until ``send`` ends

    def row(self, delivery_id: str) -> DeliveryRow:
        for row in self.rows:
            if row.id == delivery_id:
                return row
        raise KeyError(delivery_id)
