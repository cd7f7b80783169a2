"""What a message says about one alert, before any channel's markup is applied.

Slack and Discord show the same facts in different syntax; computing them once
here keeps the two channels (and the fallback text) telling the same story. The
words about time (icon, status, countdown, fallback) come from
:func:`scheduler.render.words.wording`, the one wording source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.model import Alert
from scheduler.render.text import in_zone, one_line
from scheduler.render.words import Kind, wording
from scheduler.timekeeping import elapsed, format_span, format_when

__all__ = ["AlertView", "Kind", "late_by", "soonest_first", "view"]


@dataclass(frozen=True, slots=True)
class AlertView:
    """The facts of one alert as plain (unescaped) text."""

    alert: Alert
    kind: Kind
    icon: str
    title: str
    when: str  # "Fri 2 Aug 2019 00:00 CEST"
    status: str  # "In 7 days", "Reached now", "Reached 2 hours ago", "2 hours ago"
    countdown: str  # "T-7d", "Now", "T+2h"
    late_by: timedelta | None
    # "Late by 2 hours: this reminder was due Thu 1 Aug 2019 22:00 CEST", or for a delivery
    # kept by quiet hours "Held for quiet hours: this reminder was due Sat 3 Aug 2019 00:00
    # CEST", or ""
    late_line: str
    label: str  # "7 days before"
    description: str
    tags: tuple[str, ...]
    links: tuple[str, ...]
    fallback: str  # the one-line text
    timestamp: datetime  # the occurrence, aware
    held: bool = False

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
    lateness = late_by(alert)
    words = wording(reminder, alert.sent_at, late_by=lateness, held=alert.held)
    late_line = ""
    if alert.held:
        due = format_when(in_zone(reminder.due_at, reminder))
        late_line = f"Held for quiet hours: this reminder was due {due}"
    elif lateness is not None:
        due = format_when(in_zone(reminder.due_at, reminder))
        late_line = f"Late by {format_span(lateness)}: this reminder was due {due}"
    return AlertView(
        alert=alert,
        kind=words.kind,
        icon=words.icon,
        title=one_line(milestone.title),
        when=format_when(occurrence),
        status=words.status,
        countdown=words.countdown,
        late_by=lateness,
        late_line=late_line,
        label=reminder.label,
        description=milestone.description.strip(),
        tags=milestone.tags,
        links=milestone.links,
        fallback=words.fallback,
        timestamp=occurrence,
        held=alert.held,
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
