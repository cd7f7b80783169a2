"""Plain-text pieces shared by every channel: the one-line fallback and its prefix.

Dates, spans and countdowns come from :mod:`scheduler.timekeeping`.

Everything here is pure: the only "now" is the one passed in (an alert's
``sent_at``), so the same reminder always renders the same way and
``tminus simulate`` shows exactly what the daemon would send.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.model import Reminder
from scheduler.timekeeping import format_span, format_when

# Label prefixes of the fallback line: "T-7d: …" before, "Now: …" at the moment, "T+2h: …" after.
REACHED_PREFIX = "Now"


def in_zone(moment: datetime, reminder: Reminder) -> datetime:
    """``moment`` in the milestone's zone."""
    return moment.astimezone(reminder.milestone.zone)


def one_line(text: str) -> str:
    """Collapse runs of whitespace (newlines included) into single spaces."""
    return " ".join(text.split())


def prefix(reminder: Reminder) -> str:
    """``T-7d``, ``Now`` or ``T+2h`` for the reminder's offset."""
    offset = reminder.offset
    if offset.is_zero:
        return REACHED_PREFIX
    if offset.is_negative:
        return f"T+{(-offset).short()}"
    return f"T-{offset.short()}"


def late_note(late_by: timedelta) -> str:
    """``late by 2 hours 5 minutes``."""
    return f"late by {format_span(late_by)}"


def fallback_text(reminder: Reminder, *, late_by: timedelta | None = None) -> str:
    """One line for notifications, screen readers and logs.

    ``T-7d: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST``;
    at the moment itself ``Now: …``; after it ``T+2h: …``; a late delivery
    ends with ``(late by 2 hours)``. Plain text: channels escape it themselves.
    """
    when = format_when(in_zone(reminder.occurrence, reminder))
    line = f"{prefix(reminder)}: {one_line(reminder.milestone.title)} — {when}"
    if late_by is not None and late_by > timedelta(0):
        line += f" ({late_note(late_by)})"
    return line
