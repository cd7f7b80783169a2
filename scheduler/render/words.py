"""The words of one alert about time: the one place that decides them.

A message says the same thing in several places: the header's icon, the status
line ("In 7 days"), the countdown (``T-7d``, ``Now``, ``T+2h``) that starts the
fallback line and names the reminder, and the fallback itself. They are all
decided here, from one number: how far the moment is from when the alert is
sent. The countdown is the reminder's name (``T-7d``, from its offset) as long
as the moment is still on the side the offset points to: a "7 days before"
reminder sent on time, 5 hours late or as a ``notify-test`` sample is ``T-7d``.
Otherwise the real span names it: a moment reminder that ``notify-test`` sends
150 days early is ``T-150d``, not ``Now``; one sent 40 minutes late is
``T+40m``; a "10 seconds before" reminder is ``Now``, as its status says.

Pure: ``sent_at`` is the only "now".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.model import AlertKind, Reminder
from scheduler.render import notices
from scheduler.timekeeping import (
    NOW_WITHIN_SECONDS,
    countdown,
    format_span,
    format_when,
    short_span,
    until,
)

NOW = "Now"


class Kind(enum.StrEnum):
    """Where the moment stands when the alert is sent."""

    BEFORE = "before"  # still ahead
    REACHED = "reached"  # now (within 30 s), or passed and this is not a follow-up
    AFTER = "after"  # passed, and the reminder is a follow-up (negative offset)


ICONS = {Kind.BEFORE: "⏳", Kind.REACHED: "🏁", Kind.AFTER: "⌛"}


class Side(enum.StrEnum):
    """Which side of the moment a span or an offset points to."""

    AHEAD = "ahead"
    NOW = "now"
    PASSED = "passed"


@dataclass(frozen=True, slots=True)
class Wording:
    """What an alert says about time, as plain (unescaped) text."""

    kind: Kind
    icon: str
    countdown: str  # "T-7d", "Now", "T+2h": the fallback's prefix
    status: str  # "In 7 days", "Reached now", "Reached 40 minutes ago", "2 hours ago"
    fallback: str  # "T-7d: TITLE — Fri 2 Aug 2019 00:00 CEST (late by 2 hours)"


def one_line(text: str) -> str:
    """Collapse runs of whitespace (newlines included) into single spaces."""
    return " ".join(text.split())


def late_note(late_by: timedelta) -> str:
    """``late by 2 hours 5 minutes``."""
    return f"late by {format_span(late_by)}"


def held_note(due_at: datetime) -> str:
    """``held: due Sat 00:00``: a delivery kept for its channel's quiet hours says when it
    was due (``due_at`` in the zone it is shown in)."""
    return f"held: due {due_at:%a %H:%M}"


def _side(span: timedelta) -> Side:
    if abs(span.total_seconds()) < NOW_WITHIN_SECONDS:
        return Side.NOW
    return Side.AHEAD if span > timedelta(0) else Side.PASSED


def _offset_side(reminder: Reminder) -> Side:
    offset = reminder.offset
    if offset.is_zero:
        return Side.NOW
    return Side.PASSED if offset.is_negative else Side.AHEAD


def _countdown(reminder: Reminder, left: timedelta, side: Side) -> str:
    if side is Side.NOW:
        return NOW
    if side is _offset_side(reminder):  # the offset names this span in the user's words
        offset = reminder.offset
        return f"T+{(-offset).short()}" if offset.is_negative else f"T-{offset.short()}"
    return f"T-{short_span(left)}" if side is Side.AHEAD else f"T+{short_span(left)}"


def wording(
    reminder: Reminder,
    sent_at: datetime,
    *,
    late_by: timedelta | None = None,
    held: bool = False,
) -> Wording:
    """The words for ``reminder`` sent at ``sent_at``; ``late_by`` adds the lateness note,
    ``held`` the note that quiet hours kept it (``held: due Sat 00:00``)."""
    occurrence = reminder.occurrence.astimezone(reminder.milestone.zone)
    left = until(occurrence, sent_at)
    side = _side(left)
    words = countdown(occurrence, sent_at)  # "in 7 days", "now", "2 hours ago"
    if side is Side.AHEAD:
        kind, status = Kind.BEFORE, words[:1].upper() + words[1:]
    elif side is Side.NOW:
        kind, status = Kind.REACHED, "Reached now"
    elif reminder.offset.is_negative:
        kind, status = Kind.AFTER, words[:1].upper() + words[1:]
    else:
        kind, status = Kind.REACHED, f"Reached {words}"
    label = _countdown(reminder, left, side)
    title, icon = one_line(reminder.milestone.title), ICONS[kind]
    line = f"{label}: {title} — {format_when(occurrence)}"
    if reminder.kind is AlertKind.ESCALATION:
        line, icon = (
            notices.escalation_line(title, format_when(occurrence), label),
            notices.ESCALATION_ICON,
        )
    elif reminder.kind is AlertKind.MOVED and (move := notices.Move.of(reminder)) is not None:
        line, icon = notices.moved_line(title, move), notices.MOVED_ICON
        label, status = notices.MOVED, notices.moved_status(move)
    if held:
        line += f" ({held_note(reminder.due_at.astimezone(reminder.milestone.zone))})"
    elif late_by is not None and late_by > timedelta(0):
        line += f" ({late_note(late_by)})"
    return Wording(kind=kind, icon=icon, countdown=label, status=status, fallback=line)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 channel``, ``2 channels``, ``0 deliveries`` (``plural`` when not noun + "s")."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
