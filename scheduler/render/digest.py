"""What a digest message says, and its webhook body: pure, from the stored fire alone.

A digest fire's reminder carries, in ``extra``, the digest (``id``, ``fired_at``,
``within``) and the milestones it lists (see :mod:`scheduler.digests`). Here they
become plain facts (:class:`DigestView`): a headline, one entry per milestone with
its countdown from the moment the message is sent, its date in its own zone and its
acknowledgement. Each chat channel lays those facts out within its own limits
(:mod:`scheduler.render.digest_chat`); the webhook gets SPEC's body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.durations import Duration
from scheduler.model import Alert, AlertKind, Reminder
from scheduler.render.words import NOW, counted, held_note, late_note, one_line
from scheduler.timekeeping import (
    NOW_WITHIN_SECONDS,
    countdown,
    elapsed,
    format_when,
    iso_exact,
    short_span,
    until,
)

ICON = "📋"
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One listed milestone occurrence, as plain (unescaped) text."""

    id: str
    title: str
    when: str  # "Thu 10 Dec 2026 00:00 CET", in the milestone's zone
    countdown: str  # "T-2d", "Now", "T+3h"
    status: str  # "in 2 days"
    acknowledged: str  # "acknowledged by alice", or ""
    tags: tuple[str, ...]
    links: tuple[str, ...]

    @property
    def line(self) -> str:
        """``T-2d: Contract renewal — Thu 10 Dec 2026 00:00 CET (acknowledged by alice)``."""
        text = f"{self.countdown}: {self.title} — {self.when}"
        return f"{text} ({self.acknowledged})" if self.acknowledged else text


@dataclass(frozen=True, slots=True)
class DigestView:
    """The facts of one digest message."""

    digest_id: str
    fired_at: datetime
    headline: str  # "Digest weekly: 3 milestones in the next 14 days"
    entries: tuple[DigestEntry, ...]
    more: int  # listed milestones beyond the stored list (see scheduler.digests.MAX_LISTED)
    note: str  # "Held for quiet hours: …", "Late by …", or ""
    fallback: str  # the one-line text

    @property
    def title(self) -> str:
        return f"{ICON} {self.headline}"


def is_digest(alert: Alert) -> bool:
    return alert.reminder.kind is AlertKind.DIGEST


def split_digests(alerts: Sequence[Alert]) -> tuple[list[Alert], list[Alert]]:
    """(digest alerts, the others): a digest is always a message of its own."""
    digests = [a for a in alerts if is_digest(a)]
    return digests, [a for a in alerts if not is_digest(a)]


def _countdown(at: datetime, now: datetime) -> str:
    """``T-8d`` (whole days from a day on: a list reads better so, and each entry shows
    its date), ``T-5h30m`` within a day, ``Now``."""
    left = until(at, now)
    if abs(left.total_seconds()) < NOW_WITHIN_SECONDS:
        return NOW
    span = short_span(left) if abs(left) < _DAY else f"{abs(left) // _DAY}d"
    return f"T-{span}" if left > timedelta(0) else f"T+{span}"


def _acknowledged(value: Any) -> str:
    if not isinstance(value, Mapping):
        return ""
    by = value.get("by")
    return f"acknowledged by {one_line(str(by))}" if by else "acknowledged"


def _entry(item: Mapping[str, Any], now: datetime) -> DigestEntry:
    zone = ZoneInfo(str(item.get("timezone") or "UTC"))
    at = datetime.fromisoformat(str(item["at"])).astimezone(zone)
    return DigestEntry(
        id=str(item["id"]),
        title=one_line(str(item.get("title", ""))),
        when=format_when(at),
        countdown=_countdown(at, now),
        status=countdown(at, now),
        acknowledged=_acknowledged(item.get("acknowledged")),
        tags=tuple(str(t) for t in item.get("tags", ())),
        links=tuple(str(u) for u in item.get("links", ())),
    )


def digest_view(
    reminder: Reminder, sent_at: datetime, *, held: bool = False, late: bool = False
) -> DigestView:
    """The facts of a digest fire sent at ``sent_at`` (the only "now")."""
    extra = reminder.extra
    digest = extra.get("digest", {})
    items = list(extra.get("milestones", ()))
    total = int(extra.get("total", len(items)))
    fired = reminder.due_at.astimezone(reminder.milestone.zone)
    within = Duration.parse(str(digest.get("within", "P0D"))).words()
    name = str(digest.get("id", reminder.milestone.id))
    if total:
        headline = f"Digest {name}: {counted(total, 'milestone')} in the next {within}"
    else:
        headline = f"Digest {name}: nothing due in the next {within}"
    entries = tuple(_entry(item, sent_at) for item in items)
    note, suffix = "", ""
    if held:
        note = f"Held for quiet hours: this digest was due {format_when(fired)}"
        suffix = f" ({held_note(fired)})"
    elif late and elapsed(fired, sent_at) > timedelta(0):
        note = f"Late: this digest was due {format_when(fired)}"
        suffix = f" ({late_note(elapsed(fired, sent_at))})"
    listed = "; ".join(e.line for e in entries)
    fallback = f"{headline}{suffix}" + (f" — {listed}" if listed else "")
    if total > len(entries):
        fallback += f"; …and {total - len(entries)} more"
    return DigestView(
        digest_id=name,
        fired_at=fired,
        headline=headline,
        entries=entries,
        more=total - len(entries),
        note=note,
        fallback=fallback,
    )


def digest_text(reminder: Reminder, sent_at: datetime, *, held: bool = False) -> str:
    """The one-line text of a digest fire sent at ``sent_at``."""
    return digest_view(reminder, sent_at, held=held).fallback


def alert_view(alert: Alert) -> DigestView:
    return digest_view(alert.reminder, alert.sent_at, held=alert.held, late=alert.late)


def digest_body(alert: Alert) -> dict[str, Any]:
    """SPEC "Digests": ``{"type": "digest", "digest": {"id", "fired_at", "within"},
    "milestones": [...]}``, with the delivery's own fields as every webhook body has
    them, each listed milestone's ``countdown`` at the moment of sending, and ``total``
    (more than listed when the list was cut). A held one adds ``held`` and ``due_at``."""
    reminder = alert.reminder
    zone = reminder.milestone.zone
    view = alert_view(alert)
    listed = []
    for item, entry in zip(reminder.extra.get("milestones", ()), view.entries, strict=True):
        listed.append({**item, "countdown": entry.countdown})
    body: dict[str, Any] = {
        "type": "digest",
        "delivery_id": alert.delivery_id,
        "digest": dict(reminder.extra.get("digest", {})),
        "milestones": listed,
        "total": int(reminder.extra.get("total", len(listed))),
        "text": view.fallback,
        "sent_at": alert.sent_at.astimezone(zone).isoformat(timespec="milliseconds"),
        "late": alert.late,
        "attempt": alert.attempt,
    }
    if alert.held:
        body["held"] = True
        body["due_at"] = iso_exact(reminder.due_at.astimezone(zone))
    return body
