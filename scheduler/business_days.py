"""Business days: moving a milestone's date off its weekend days and holidays.

Pure helpers of :mod:`scheduler.planning`, kept apart from
:mod:`scheduler.timekeeping` because they read a milestone's ``weekend``,
``holidays`` and ``roll`` (the time module knows no milestone).
"""

from __future__ import annotations

from datetime import date, timedelta

from scheduler.model import Milestone, Roll

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def is_business_day(day: date, m: Milestone) -> bool:
    """Neither one of ``m``'s weekend days nor one of its holidays."""
    return day.weekday() not in m.weekend and day not in m.holidays


def roll_date(day: date, m: Milestone) -> date:
    """The business day ``m.roll`` moves ``day`` to (``day`` itself if it is one)."""
    if m.roll is Roll.NONE or is_business_day(day, m):
        return day
    if len(m.weekend) >= 7:
        raise ValueError(f"milestone {m.id!r}: every day is a weekend day, nowhere to roll")
    step = timedelta(days=1 if m.roll is Roll.FORWARD else -1)
    moved = day
    while not is_business_day(moved, m):  # ends: holidays are finite, a weekday is free
        moved += step
    return moved


def roll_note(day: date, moved: date, m: Milestone) -> str:
    """``2019-08-03 is a Saturday: rolled forward to 2019-08-05`` (for ``explain``)."""
    why = "a holiday" if day in m.holidays else f"a {_DAY_NAMES[day.weekday()]}"
    return f"{day.isoformat()} is {why}: rolled {m.roll.value} to {moved.isoformat()}"
