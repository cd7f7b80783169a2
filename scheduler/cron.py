"""Fire times of a 5-field cron schedule, computed purely with APScheduler's ``CronTrigger``.

``CronTrigger`` does the calendar work; this module fixes the three places where it
reads a crontab differently from cron itself, so that ``0 9 * * 1`` means what a
cron user means by it:

* **day-of-week numbers**: APScheduler counts ``0`` as Monday, cron as Sunday (``7``
  is Sunday too). The day-of-week field is rewritten into day names, which both
  read alike, so ``1-5`` is ``mon,tue,wed,thu,fri`` and ``sun-tue`` works as cron's
  ``0-2`` does (APScheduler refuses a name range that wraps);
* **the repeated hour** of an autumn DST change: APScheduler fires a ``30 2 * * *``
  schedule twice that night; here it fires once, at the first of the two instants,
  the rule every other wall time in tminus follows (``scheduler.timekeeping``);
* **the skipped hour** of a spring change: a fire time in the gap is moved forward by
  the gap (02:30 becomes 03:30), as APScheduler gives for a single time; instants are
  returned normalised to the zone's real wall clock.

Still as APScheduler does it (and unlike Vixie cron): when both day-of-month and
day-of-week are restricted, a day must match both.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_STEP = timedelta(seconds=1)


def _day_number(text: str) -> int:
    word = text.strip().lower()
    if word.isdigit() and 0 <= int(word) <= 7:
        return int(word) % 7
    if word[:3] in _CRON_DAYS and word in (word[:3], _full_name(word[:3])):
        return _CRON_DAYS.index(word[:3])
    raise ValueError(f"invalid day of week {text!r}: use 0-7 (0 and 7 are Sunday) or sun..sat")


def _full_name(short: str) -> str:
    return {
        "sun": "sunday",
        "mon": "monday",
        "tue": "tuesday",
        "wed": "wednesday",
        "thu": "thursday",
        "fri": "friday",
        "sat": "saturday",
    }[short]


def cron_weekdays(field: str) -> str:
    """The day-of-week field in day names, with cron's numbering (0 and 7 are Sunday)."""
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"invalid step {step_text!r} in day of week")
            step = int(step_text)
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            low, high = base.split("-", 1)
            first, last = _day_number(low), _day_number(high)
            if high.strip() == "7":
                last = 7
            if last < first:  # sat-mon wraps the week, as cron's 6-1 cannot: allow it
                last += 7
        else:
            first = last = _day_number(base)
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_CRON_DAYS[d] for d in sorted(days))


@lru_cache(maxsize=256)
def cron_trigger(schedule: str, zone: str) -> CronTrigger:
    """The trigger for a 5-field cron ``schedule`` in ``zone``; ``ValueError`` with a
    message fit for a user when the expression is not one."""
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError(
            f"a schedule needs 5 fields (minute hour day month weekday), got {len(fields)}"
        )
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=cron_weekdays(weekday),
            timezone=ZoneInfo(zone),
        )
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid cron schedule {schedule!r}: {exc}") from None


def fire_times(schedule: str, zone: str, start: datetime, end: datetime) -> Iterator[datetime]:
    """Fire times ``start <= t < end`` (aware bounds), in order, aware in ``zone``."""
    trigger = cron_trigger(schedule, zone)
    tz = ZoneInfo(zone)
    cursor = start.astimezone(UTC)
    while True:
        found = trigger.get_next_fire_time(None, cursor)
        if found is None:
            return
        instant = found.astimezone(UTC)
        if instant >= end:
            return
        cursor = instant + _STEP
        local = instant.astimezone(tz)
        if found.fold and found.replace(fold=0).utcoffset() != found.utcoffset():
            continue  # the repeated hour: its wall time fired already, at the first instant
        if local >= start:
            yield local
