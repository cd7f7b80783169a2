"""Sample milestones, reminders and alerts for rendering and delivery tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.durations import Duration
from scheduler.model import Alert, Milestone, Reminder

INF_TITLE = "INF Treaty withdrawal takes effect"
INF_DESCRIPTION = "Article XV — six months after notice."


def make_reminder(
    *,
    offset: str = "7d",
    zone: str = "Europe/Brussels",
    at: tuple[int, ...] = (2019, 8, 2),
    title: str = INF_TITLE,
    milestone_id: str = "withdrawal-effective",
    description: str = INF_DESCRIPTION,
    tags: tuple[str, ...] = ("inf", "usa"),
    links: tuple[str, ...] = ("https://example.org/inf",),
    channel: str = "newsroom",
) -> Reminder:
    milestone = Milestone(
        id=milestone_id,
        title=title,
        timezone=zone,
        description=description,
        tags=tags,
        links=links,
    )
    occurrence = datetime(*at, tzinfo=ZoneInfo(zone))  # type: ignore[misc]
    duration = Duration.parse(offset)
    return Reminder(
        milestone=milestone,
        occurrence=occurrence,
        offset=duration,
        due_at=duration.subtract_from(occurrence),
        channels=(channel,),
    )


def make_alert(
    *,
    late_by: timedelta | None = None,
    jitter: timedelta = timedelta(milliseconds=12),
    attempt: int = 1,
    channel: str = "newsroom",
    **reminder_args: object,
) -> Alert:
    """An alert sent at its due time plus ``jitter`` (or ``late_by`` after it, late)."""
    reminder = make_reminder(channel=channel, **reminder_args)  # type: ignore[arg-type]
    sent_at = reminder.due_at + (late_by if late_by is not None else jitter)
    return Alert(
        delivery_id=reminder.delivery_id(channel),
        reminder=reminder,
        channel=channel,
        attempt=attempt,
        late=late_by is not None,
        sent_at=sent_at,
    )


def burst(n: int, *, channel: str = "newsroom", title: str = "Deadline") -> list[Alert]:
    """``n`` different milestones whose reminders fall due at the same instant."""
    alerts = []
    for i in range(n):
        alerts.append(
            make_alert(
                channel=channel,
                milestone_id=f"deadline-{i:03d}",
                title=f"{title} {i:03d}",
                at=(2019, 8, 2, 0, i % 60),
                offset="7d",
            )
        )
    return alerts
