"""Plain-text pieces shared by every channel: the one-line fallback, dates, countdowns.

Everything here is pure: the only "now" is the one passed in (an alert's
``sent_at``), so the same reminder always renders the same way and
``tminus simulate`` shows exactly what the daemon would send.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.model import Reminder

# Label prefixes of the fallback line: "T-7d: …" before, "Now: …" at the moment, "T+2h: …" after.
REACHED_PREFIX = "Now"
_DAY = timedelta(days=1)


def format_when(moment: datetime) -> str:
    """``Fri 2 Aug 2019 00:00 CEST``: the wall clock, with the zone's abbreviation.

    ``moment`` must be aware; it is shown in its own zone (callers pass it in
    the milestone's zone).
    """
    zone = moment.tzname() or ""
    text = f"{moment:%a} {moment.day} {moment:%b %Y %H:%M}"
    return f"{text} {zone}" if zone else text


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


def format_span(span: timedelta) -> str:
    """A human length, to the minute (seconds only below a minute).

    ``2 hours 5 minutes``, ``3 days 4 hours``, ``45 seconds``. At most two units,
    because "3 days 4 hours 2 minutes" is noise in a notification.
    """
    total = abs(span.total_seconds())
    if total < 59.5:
        secs = round(total)
        return f"{secs} second{'s' if secs != 1 else ''}"
    minutes = round(total / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    units = [(days, "day"), (hours, "hour"), (mins, "minute")]
    parts: list[str] = []
    for n, unit in units:
        if n and len(parts) < 2:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
        elif parts:
            break  # two adjacent units at most: "3 days 4 hours", never "3 days 2 minutes"
    return " ".join(parts)


def until(occurrence: datetime, now: datetime) -> timedelta:
    """How long from ``now`` to ``occurrence``, as people count it.

    Beyond a day the span is rounded to the hour (a retry 40 s after the due
    time still reads "in 7 days", not "in 6 days 23 hours"), and whole calendar
    days are counted on the wall clock of the occurrence's zone, so "7 days
    before" across a DST change reads "in 7 days", not "in 6 days 23 hours".
    Shorter spans are exact.
    """
    # Aware datetimes sharing one tzinfo subtract as wall clocks: compare in UTC.
    exact = occurrence.astimezone(UTC) - now.astimezone(UTC)
    if abs(exact) < _DAY:
        return exact
    local_now = now.astimezone(occurrence.tzinfo)
    wall = occurrence.replace(tzinfo=None) - local_now.replace(tzinfo=None)
    wall_hours = round(wall.total_seconds() / 3600)
    if wall_hours % 24 == 0:
        return timedelta(hours=wall_hours)
    return timedelta(hours=round(exact.total_seconds() / 3600))


def countdown(occurrence: datetime, now: datetime) -> str:
    """``in 7 days``, ``now``, ``2 hours ago`` (within 30 s counts as "now")."""
    span = until(occurrence, now)
    seconds = span.total_seconds()
    if abs(seconds) < 30:
        return "now"
    return f"in {format_span(span)}" if seconds > 0 else f"{format_span(span)} ago"


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time from ``start`` to ``end`` (never wall-clock arithmetic)."""
    return end.astimezone(UTC) - start.astimezone(UTC)


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
