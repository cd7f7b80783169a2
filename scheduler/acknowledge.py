"""Acknowledging a milestone occurrence: the rules, as values in and values out.

Pure (no clock, no database): which occurrence a command means, which deliveries an
acknowledgement cancels and which an ``unack`` puts back, and the notice a webhook
channel gets. The store (:mod:`scheduler.db.acks`) applies them in one transaction;
the delivery pipeline (:mod:`scheduler.delivery.acked`) applies the same rule to a
delivery it holds in memory; the CLI, the API and the ``/ack`` page all call here.

An acknowledgement is keyed by (milestone id, occurrence instant): moving the
milestone makes a new occurrence, which is not acknowledged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from scheduler.errors import NotFoundError, TminusError
from scheduler.model import ZERO, AlertKind, DeliveryStatus, Reminder
from scheduler.planning import Resolved, next_occurrences, occurrences
from scheduler.timekeeping import localize

MAX_BY_CHARS = 200
MAX_NOTE_CHARS = 2000
# How far back "the latest occurrence" of a recurring milestone is looked for.
LATEST_LOOKBACK = timedelta(days=400)
REASON = "acknowledged"  # the reason of every delivery an acknowledgement cancels
UNACK_REASON = "unacknowledged"  # an acknowledgement notice not sent before an unack

# What an acknowledgement stops: the occurrence's reminders and escalations. Digests are
# not about one occurrence; notices (acknowledged, moved) report what happened.
CANCELLED_KINDS = frozenset({AlertKind.REMINDER, AlertKind.ESCALATION})
# Unsent and not in anyone's hands: the store may change these rows. A ``sending`` row
# is claimed; its claimer's pipeline cancels it at its moment (``delivery/acked.py``).
CANCELLABLE_STATUSES = frozenset(
    {DeliveryStatus.SCHEDULED, DeliveryStatus.HELD, DeliveryStatus.RETRYING}
)


class AckSource(enum.StrEnum):
    """Where an acknowledgement came from: a metric label and a stored column."""

    CLI = "cli"
    API = "api"
    LINK = "link"


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """One acknowledged occurrence (``revoked_at`` set once an ``unack`` took it back)."""

    milestone_id: str
    occurrence: datetime  # aware, UTC
    by: str
    note: str
    source: AckSource
    at: datetime  # aware, UTC
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def key(self) -> tuple[str, datetime]:
        return (self.milestone_id, self.occurrence)

    def to_json(self) -> dict[str, str | None]:
        """The ``acknowledged: {by, at, note}`` of the API (plus the occurrence)."""
        return {
            "by": self.by,
            "at": self.at.isoformat(),
            "note": self.note,
            "occurrence": self.occurrence.isoformat(),
            "source": self.source.value,
        }


def cancels(kind: AlertKind, status: DeliveryStatus) -> bool:
    """Whether acknowledging an occurrence cancels its delivery of this kind and status."""
    return kind in CANCELLED_KINDS and status in CANCELLABLE_STATUSES


def restores(
    kind: AlertKind, status: DeliveryStatus, reason: str | None, due_at: datetime, now: datetime
) -> bool:
    """Whether an ``unack`` puts this delivery back: one the acknowledgement cancelled,
    not yet due (what fell due while it was acknowledged stays cancelled)."""
    return (
        kind in CANCELLED_KINDS
        and status is DeliveryStatus.CANCELLED
        and reason == REASON
        and due_at > now
    )


def withdraws_notice(kind: AlertKind, status: DeliveryStatus) -> bool:
    """Whether an ``unack`` cancels this delivery: an acknowledgement notice not sent yet."""
    return kind is AlertKind.ACKNOWLEDGED and status in CANCELLABLE_STATUSES


def clean_text(value: str | None, *, field: str, limit: int) -> str:
    """A name or note as given, trimmed; too long or with control characters refused."""
    text = (value or "").strip()
    if len(text) > limit:
        raise TminusError(f"{field} is too long: at most {limit} characters")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise TminusError(f"{field} contains control characters")
    return text


def choose_occurrence(r: Resolved, now: datetime, wanted: datetime | None = None) -> datetime:
    """The occurrence of ``r`` an acknowledgement names, in UTC.

    ``wanted`` (an instant; naive: wall time in the milestone's zone) must be one of
    the milestone's occurrences. Without it: the next occurrence not yet past, else
    the latest one.
    """
    m = r.milestone
    if wanted is not None:
        if wanted.tzinfo is None:  # wall time in the milestone's zone, as in the config
            wanted = localize(wanted, m.zone)
        found = list(occurrences(r, wanted - timedelta(seconds=1), wanted + timedelta(seconds=1)))
        if wanted not in found:
            raise NotFoundError(
                f"{m.id} has no occurrence at {wanted.astimezone(m.zone).isoformat()}"
                f" (its {'next occurrence' if m.rrule else 'date'} is "
                f"{_describe_next(r, now)})"
            )
        return wanted.astimezone(UTC)
    upcoming = next_occurrences(r, now, 1)
    if upcoming:
        return upcoming[0].astimezone(UTC)
    past = list(occurrences(r, now - LATEST_LOOKBACK, now))
    return (past[-1] if past else r.at).astimezone(UTC)


def _describe_next(r: Resolved, now: datetime) -> str:
    upcoming = next_occurrences(r, now, 1)
    moment = upcoming[0] if upcoming else r.at
    return moment.isoformat()


def notice_of(reminder: Reminder, ack: Acknowledgement, channel: str) -> Reminder:
    """The ``milestone.acknowledged`` notice for ``channel``: the occurrence's own
    milestone and instant, due when the acknowledgement was made, carrying who, when
    and the note. Its id comes from (milestone, occurrence, kind): one per channel."""
    extra = {"acknowledged": {"by": ack.by, "at": ack.at.isoformat(), "note": ack.note}}
    return Reminder(
        milestone=reminder.milestone,
        occurrence=reminder.occurrence,
        offset=ZERO,
        due_at=ack.at.astimezone(reminder.milestone.zone),
        channels=(channel,),
        kind=AlertKind.ACKNOWLEDGED,
        extra=MappingProxyType(extra),
    )
