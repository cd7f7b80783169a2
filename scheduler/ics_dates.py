"""When an exported event happens: all-day or timed, its start, and how it recurs.

The calendar must show the dates the planner plans, as a standard expander
(``recurring-ical-events``) reads them; RFC 5545 and dateutil differ in ways
that matter here:

* A rule runs from the milestone's *nominal* start (its wall time before DST
  resolution and rolling, as the planner walks it), written with its zone.
* RFC 5545 counts ``DTSTART`` as an occurrence even when the rule does not
  match it (weekly on Mondays from a Tuesday); dateutil, and so the planner,
  does not. Such a start is excluded with an ``EXDATE``.
* ``UNTIL`` must have ``DTSTART``'s type: a date for an all-day event, else UTC.
  The planner reads a ``UTC`` UNTIL as that instant and any other as wall time
  in the milestone's zone; the written value says the same.
* Rolling to business days has no rule form: a rolled recurring milestone lists
  the planner's occurrences as ``RDATE``s, from :data:`PAST` before ``now`` to
  :data:`AHEAD` after it, at most :data:`MAX_DATES` of them (a re-export, or a
  subscribed feed's refresh, moves the horizon on). Dates beyond it are left
  out rather than shown wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import vRecur

from scheduler.model import Milestone, Roll
from scheduler.planning import Resolved, next_occurrences, occurrences

PAST = timedelta(days=366)
AHEAD = timedelta(days=3653)  # ten years
MAX_DATES = 1000
_RRULE_PREFIX = re.compile(r"^\s*RRULE\s*:\s*", re.IGNORECASE)
_TIMED_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")

When = date | datetime


@dataclass(frozen=True, slots=True)
class EventDates:
    """What the VEVENT says about time: start, rule, extra and excluded dates."""

    start: When
    all_day: bool
    rrule: vRecur | None = None
    rdates: list[When] = field(default_factory=list)
    exdates: list[When] = field(default_factory=list)
    comment: str | None = None


def is_all_day(m: Milestone, by_id: dict[str, Milestone]) -> bool:
    """True for a milestone that names a day, not a time of day.

    An ``at`` date; or ``after`` such a milestone with an offset in whole days or
    months; and neither a rule that sets times nor a datetime ``until``.
    """
    seen: set[str] = set()
    node: Milestone | None = m
    while node is not None and node.at is None:
        if node.offset.seconds or node.id in seen or node.after is None:
            return False
        seen.add(node.id)
        node = by_id.get(node.after)
    if node is None or isinstance(node.at, datetime):
        return False
    if isinstance(m.until, datetime):
        return False
    recur = parse_recur(m.rrule) if m.rrule else None
    if recur is None:
        return True
    hourly = str(recur.get("FREQ", [""])[0]).upper() == "HOURLY"
    return not hourly and not any(part in recur for part in _TIMED_PARTS)


def parse_recur(text: str) -> vRecur | None:
    """The rule as an iCalendar RECUR value, or ``None`` when it cannot be one."""
    rule = _RRULE_PREFIX.sub("", text.strip())
    if not rule or any(c in rule for c in "\r\n:"):
        return None
    try:
        recur: vRecur = vRecur.from_ical(rule)
    except (ValueError, TypeError):
        return None
    return recur


def event_dates(r: Resolved, *, now: datetime, all_day: bool) -> EventDates:
    """The event's dates for a resolved milestone (``now`` sets the RDATE horizon)."""
    m = r.milestone
    if not m.rrule:
        return EventDates(_shown(r.at, all_day), all_day)
    recur = parse_recur(m.rrule)
    if recur is None:
        return EventDates(
            _shown(r.at, all_day),
            all_day,
            comment="recurrence not exported: the rrule is not valid RFC 5545",
        )
    if m.roll is not Roll.NONE:
        return _listed(r, now=now, all_day=all_day)
    nominal = (r.wall if r.wall is not None else r.at.replace(tzinfo=None)).replace(tzinfo=m.zone)
    start = _shown(nominal, all_day)
    first = next_occurrences(r, r.at - timedelta(days=1), 1)
    exdates = [start] if not first or first[0] != _placed(nominal) else []
    return EventDates(start, all_day, rrule=_typed_until(recur, m.zone, all_day), exdates=exdates)


def _listed(r: Resolved, *, now: datetime, all_day: bool) -> EventDates:
    """A rolled rule as the planner's own occurrences around ``now``."""
    dates: list[datetime] = []
    for moment in occurrences(r, now - PAST, now + AHEAD):
        dates.append(moment)
        if len(dates) >= MAX_DATES:
            break
    if not dates:  # a rule that ended before the horizon: its first occurrences
        dates = next_occurrences(r, r.at - timedelta(days=1), MAX_DATES)
    if not dates:
        return EventDates(
            _shown(r.at, all_day), all_day, exdates=[_shown(r.at, all_day)],
            comment="the rrule has no occurrence",
        )  # fmt: skip
    shown = [_shown(moment, all_day) for moment in dates]
    return EventDates(shown[0], all_day, rdates=shown[1:])


def _placed(nominal: datetime) -> datetime:
    """The instant a nominal wall time stands for, as a comparable aware value."""
    return nominal.astimezone(UTC)


def _shown(moment: datetime, all_day: bool) -> When:
    return moment.date() if all_day else moment


def _typed_until(recur: vRecur, zone: ZoneInfo, all_day: bool) -> vRecur:
    """``recur`` with UNTIL of DTSTART's type, meaning what the planner reads."""
    if "UNTIL" not in recur:
        return recur
    until = recur["UNTIL"][0]
    if isinstance(until, datetime) and until.tzinfo is not None:
        wall = until.astimezone(zone).replace(tzinfo=None)  # the planner's reading
    elif isinstance(until, datetime):
        wall = until
    else:
        wall = datetime.combine(until, time(0))
    out = vRecur(recur)
    if all_day:
        out["UNTIL"] = [wall.date()]
    else:
        out["UNTIL"] = [wall.replace(tzinfo=zone).astimezone(UTC)]
    return out
