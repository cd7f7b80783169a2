"""What a message says about one alert, before any channel's markup is applied.

Slack and Discord show the same facts in different syntax; computing them once
here keeps the two channels (and the fallback text) telling the same story.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.model import Alert
from scheduler.render.text import fallback_text, in_zone, one_line
from scheduler.timekeeping import countdown, elapsed, format_span, format_when


class Kind(enum.StrEnum):
    BEFORE = "before"  # a reminder ahead of the moment
    REACHED = "reached"  # offset 0: the moment itself
    AFTER = "after"  # a follow-up after the moment (negative offset)


ICONS = {Kind.BEFORE: "⏳", Kind.REACHED: "🏁", Kind.AFTER: "⌛"}


@dataclass(frozen=True, slots=True)
class AlertView:
    """The facts of one alert as plain (unescaped) text."""

    alert: Alert
    kind: Kind
    icon: str
    title: str
    when: str  # "Fri 2 Aug 2019 00:00 CEST"
    status: str  # "In 7 days", "Reached now", "Reached 2 hours ago", "2 hours ago"
    late_by: timedelta | None
    late_line: str  # "Late by 2 hours: this reminder was due Thu 1 Aug 2019 22:00 CEST", or ""
    label: str  # "7 days before"
    description: str
    tags: tuple[str, ...]
    links: tuple[str, ...]
    fallback: str  # the one-line text
    timestamp: datetime  # the occurrence, aware

    @property
    def tag_line(self) -> str:
        return " ".join(f"#{one_line(t)}" for t in self.tags)


def late_by(alert: Alert) -> timedelta | None:
    """How late a catch-up delivery is (``sent_at - due_at``); None when on time."""
    if not alert.late:
        return None
    span = elapsed(alert.reminder.due_at, alert.sent_at)
    return span if span > timedelta(0) else None


def view(alert: Alert) -> AlertView:
    """Compute the facts shown for ``alert``; ``alert.sent_at`` is the only "now"."""
    reminder = alert.reminder
    milestone = reminder.milestone
    occurrence = in_zone(reminder.occurrence, reminder)
    if reminder.offset.is_zero:
        kind = Kind.REACHED
    elif reminder.offset.is_negative:
        kind = Kind.AFTER
    else:
        kind = Kind.BEFORE
    left = countdown(occurrence, alert.sent_at)
    if kind is Kind.REACHED:
        status = "Reached now" if left == "now" else f"Reached {left}"
    else:
        status = left[:1].upper() + left[1:]
    lateness = late_by(alert)
    late_line = ""
    if lateness is not None:
        due = format_when(in_zone(reminder.due_at, reminder))
        late_line = f"Late by {format_span(lateness)}: this reminder was due {due}"
    return AlertView(
        alert=alert,
        kind=kind,
        icon=ICONS[kind],
        title=one_line(milestone.title),
        when=format_when(occurrence),
        status=status,
        late_by=lateness,
        late_line=late_line,
        label=reminder.label,
        description=milestone.description.strip(),
        tags=milestone.tags,
        links=milestone.links,
        fallback=fallback_text(reminder, late_by=lateness),
        timestamp=occurrence,
    )


def soonest_first(alerts: Sequence[Alert]) -> list[Alert]:
    """Alerts ordered by the moment they announce, then by due time and identity."""
    return sorted(
        alerts,
        key=lambda a: (
            a.reminder.occurrence,
            a.reminder.due_at,
            a.reminder.milestone.id,
            a.delivery_id,
        ),
    )
