"""Planned deliveries for store and reconciliation tests, without a config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.durations import Duration
from scheduler.model import DEFAULT_CATCH_UP, Milestone, Reminder
from scheduler.reconcile import PlannedDelivery, plan_deliveries

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def reminder(
    milestone: str = "m1",
    *,
    at: datetime = T0,
    offset: str = "0",
    channels: tuple[str, ...] = ("hook",),
    title: str | None = None,
    catch_up: timedelta = DEFAULT_CATCH_UP,
    timezone: str = "UTC",
) -> Reminder:
    m = Milestone(
        id=milestone,
        title=title or f"Milestone {milestone}",
        timezone=timezone,
        notify=channels,
        catch_up=catch_up,
        description="desc",
        tags=("inf",),
    )
    off = Duration.parse(offset)
    return Reminder(m, at, off, off.subtract_from(at), channels)


def planned(
    milestone: str = "m1",
    *,
    at: datetime = T0,
    offset: str = "0",
    channel: str = "hook",
    title: str | None = None,
    catch_up: timedelta = DEFAULT_CATCH_UP,
) -> PlannedDelivery:
    """The one planned delivery of ``milestone`` at ``at - offset`` to ``channel``."""
    (p,) = plan_deliveries(
        [
            reminder(
                milestone, at=at, offset=offset, channels=(channel,), title=title, catch_up=catch_up
            )
        ]
    )
    return p


def many(
    n: int, *, start: datetime = T0, step: timedelta = timedelta(seconds=1)
) -> list[PlannedDelivery]:
    """``n`` planned deliveries of distinct milestones, ``step`` apart from ``start``."""
    return [planned(f"m{i:06d}", at=start + i * step) for i in range(n)]
