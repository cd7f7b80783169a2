"""RFC 5545 calendar of the milestones, for ``export-ics`` and ``GET /calendar.ics``.

One VEVENT per milestone (cancelled ones too, marked ``STATUS:CANCELLED``, so
that a subscribed calendar drops them), one VALARM per reminder offset. Pure:
the only "now" is the injected ``DTSTAMP``.

Choices worth knowing:

* ``UID`` is ``<milestone id>@tminus``: stable across exports, so calendar apps
  update an event in place when its date moves.
* ``DTSTART`` is the resolved instant in the milestone's zone, with the
  VTIMEZONE it needs (UTC milestones are written with ``Z``). A date-only
  milestone (an ``at`` date, or ``after`` one with an offset in whole days or
  months, and no time in its rule) is an all-day ``VALUE=DATE`` event: calendar
  apps show a 00:00 event as a one-minute meeting.
* ``until`` as a date means the whole of that day: ``DTEND`` is the next day's
  00:00 (for an all-day event, that date). A datetime ``until`` is used as it is.
* A reminder offset in days, hours, minutes or seconds becomes a relative
  ``TRIGGER`` (``-P7D``: seven nominal days before the start, as tminus counts
  them). Months and years cannot be an iCalendar DURATION, so such a reminder
  becomes an absolute ``TRIGGER;VALUE=DATE-TIME`` in UTC, computed for the
  first occurrence only.
* A recurring milestone without ``roll`` exports its ``RRULE`` from its nominal
  start (see :mod:`scheduler.recurrence_ics`), so that a standard expander
  yields exactly the planner's occurrences. Business-day rolling cannot be
  expressed in a rule, so a rolled recurring milestone exports the planner's
  own occurrences as ``RDATE``s within a horizon around ``now``. The config
  loader only accepts rules icalendar can read; a rule that still cannot be
  written (a hand-built Config) is left out with a ``COMMENT`` saying so,
  rather than failing the whole calendar.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Alarm, Calendar, Event, Timezone

from scheduler import __version__
from scheduler.durations import Duration
from scheduler.ics_dates import EventDates, event_dates, is_all_day
from scheduler.model import Config, Milestone, MilestoneStatus, Reminder
from scheduler.planning import Resolved, resolve
from scheduler.timekeeping import midnight, to_zone

PRODID = f"-//tminus//tminus {__version__}//EN"
UID_DOMAIN = "tminus"
# VTIMEZONE components cover this span (icalendar's default stops at 2038).
TZ_FIRST = date(1970, 1, 1)
TZ_LAST = date(2100, 1, 1)


def to_ics(config: Config, *, now: datetime, resolved: dict[str, Resolved] | None = None) -> bytes:
    """The whole calendar as bytes (CRLF lines, folded, UTF-8)."""
    if now.tzinfo is None:
        raise ValueError("to_ics() needs an aware now")
    if resolved is None:
        resolved = resolve(config)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "tminus")
    stamp = now.astimezone(UTC)
    by_id = {m.id: m for m in config.milestones}
    for m in config.milestones:
        dates = event_dates(resolved[m.id], now=now, all_day=is_all_day(m, by_id))
        cal.add_component(_event(resolved[m.id], dates, stamp))
    cal.add_missing_timezones(first_date=TZ_FIRST, last_date=TZ_LAST)
    data: bytes = cal.to_ical()
    return data


def _event(r: Resolved, dates: EventDates, stamp: datetime) -> Event:
    m = r.milestone
    event = Event()
    event.add("uid", f"{m.id}@{UID_DOMAIN}")
    event.add("dtstamp", stamp)
    event.add("dtstart", dates.start)
    end = _end(m, r.at)
    if end is not None:
        event.add("dtend", end.date() if dates.all_day else end)
    event.add("summary", m.title)
    if m.description:
        event.add("description", m.description)
    if m.tags:
        event.add("categories", list(m.tags))
    if m.links:
        event.add("url", m.links[0])
    if dates.rrule is not None:
        event.add("rrule", dates.rrule)
    if dates.rdates:
        event.add("rdate", dates.rdates)
    if dates.exdates:
        event.add("exdate", dates.exdates)
    if dates.comment:
        event.add("comment", dates.comment)
    if m.status is MilestoneStatus.CANCELLED:
        event.add("status", "CANCELLED")
    elif m.status is MilestoneStatus.DONE:
        event.add("status", "CONFIRMED")
    else:
        for offset in m.remind:
            event.add_component(_alarm(offset, r.at, m))
    return event


def _end(m: Milestone, start: datetime) -> datetime | None:
    """``DTEND`` from ``until``, or ``None`` when there is none (or it is not after the start)."""
    if m.until is None:
        return None
    if isinstance(m.until, datetime):
        end = to_zone(m.until, m.zone)
    else:
        end = midnight(m.until + timedelta(days=1), m.zone)
    return end if end > start else None


def _alarm(offset: Duration, start: datetime, m: Milestone) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", offset.label())
    if offset.months:
        alarm.add("trigger", offset.subtract_from(start).astimezone(UTC))
        alarm["TRIGGER"].params["VALUE"] = "DATE-TIME"
    else:
        # RELATED=START is the default; negative means before the start.
        alarm.add("trigger", -timedelta(days=offset.days, seconds=offset.seconds))
    return alarm


def occurrence_ics(reminder: Reminder, *, stamp: datetime) -> bytes:
    """One occurrence of a milestone as a calendar to import (an email's attachment).

    ``METHOD:PUBLISH`` (an event to add, not an invitation to answer) and one VEVENT
    whose ``UID`` names the milestone and the occurrence, so that every reminder of
    one deadline carries the same event and importing it again updates it in place.
    A reminder knows only its occurrence, not how the milestone's date was written:
    a moment at 00:00 in the milestone's zone is shown as that whole day, as the
    calendar export shows a date-only milestone; any other moment as a timed event.
    """
    m = reminder.milestone
    start = reminder.occurrence.astimezone(m.zone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    event = Event()
    instant = start.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    event.add("uid", f"{m.id}-{instant}@{UID_DOMAIN}")
    event.add("dtstamp", stamp.astimezone(UTC))
    if start.time() == time(0):
        event.add("dtstart", start.date())
        event.add("dtend", start.date() + timedelta(days=1))
    else:
        event.add("dtstart", start)
    event.add("summary", m.title)
    if m.description:
        event.add("description", m.description)
    if m.tags:
        event.add("categories", list(m.tags))
    if m.links:
        event.add("url", m.links[0])
    if isinstance(event.decoded("dtstart"), datetime) and m.timezone != "UTC":
        cal.add_component(_zone_around(m.timezone, start.year))
    cal.add_component(event)
    data: bytes = cal.to_ical()
    return data


@functools.lru_cache(maxsize=64)
def _zone_around(tzid: str, year: int) -> Timezone:
    """The VTIMEZONE of ``tzid`` for the years around ``year`` only: a calendar to import
    need not carry 130 years of rules. Cached: a burst of reminders shares a few zones."""
    first, last = date(max(1, year - 1), 1, 1), date(min(9999, year + 2), 1, 1)
    return Timezone.from_tzid(tzid, first_date=first, last_date=last)
