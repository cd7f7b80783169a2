"""Validation of a milestone's ``rrule``: one RFC 5545 RRULE that planning can walk.

dateutil accepts rules it then cannot iterate (``BYDAY=99MO`` raises
``IndexError`` mid-walk, ``INTERVAL=0`` never advances, ``INTERVAL=-1`` runs
backwards into an impossible date) and rules that never occur
(``BYMONTH=2;BYMONTHDAY=30``), which it searches for up to the year 9999: many
seconds each time the daemon plans. So the parts are checked against RFC 5545's
ranges, and the rule is walked once over a bounded span to prove it occurs.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from dateutil.rrule import HOURLY, rrule, rrulestr

from scheduler.config.values import MAX_YEAR, MIN_YEAR, year_range_hint

_UNTIL_UTC = re.compile(r"(UNTIL=\d{8}T\d{6})Z", re.IGNORECASE)
_RRULE_PREFIX = re.compile(r"^\s*RRULE\s*:\s*", re.IGNORECASE)
_WEEKDAY = re.compile(r"^([+-]?\d+)?(MO|TU|WE|TH|FR|SA|SU)$")
# RFC 5545 section 3.3.10; BYSECOND stops at 59, as dateutil's does (no leap seconds).
_RANGES = {
    "BYSECOND": (0, 59, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),  # True: the negative range is allowed too
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}
_PROBE_START = datetime(2000, 1, 1)
# dateutil checks UNTIL only on a match, so a rule that never matches is searched up to
# the year 9999 whatever its UNTIL. To prove a rule occurs in bounded time, walk its
# pattern over the calendar's last whole cycle before that end: 400 years (leap years
# and weekdays repeat every 400 Gregorian years) or, for an hourly rule, 28 (they repeat
# every 28 years within a century), so the walk stops at year 9999 soon after.
_PROBE_YEAR = 9600
_PROBE_YEAR_HOURLY = 9972


@lru_cache(maxsize=4096)
def check_rrule(text: str) -> str:
    """An RFC 5545 recurrence rule (``FREQ=YEARLY``, ``RRULE:FREQ=MONTHLY;BYDAY=1MO``).

    Returns the rule without an ``RRULE:`` prefix, as planning and the iCalendar
    export both take it. One rule only: a second line (another RRULE, an EXDATE)
    would be dropped or mangled downstream, so it is refused here. Raises
    ``ValueError`` with a message fit for a user.
    """
    if "\n" in text.strip() or "\r" in text.strip():
        raise ValueError(
            "rrule must be one line with one RRULE (such as FREQ=WEEKLY;BYDAY=MO); "
            "EXDATE, RDATE and several rules are not supported"
        )
    rule = _RRULE_PREFIX.sub("", text.strip())
    if "DTSTART" in rule.upper():
        raise ValueError("rrule must not contain DTSTART: the milestone's date is the start")
    if ":" in rule:
        raise ValueError(
            f"invalid rrule {text!r}: only one RRULE's parts are allowed "
            "(such as FREQ=WEEKLY;BYDAY=MO); EXDATE and RDATE are not supported"
        )
    if re.search(r"FREQ=(SECONDLY|MINUTELY)", rule, re.IGNORECASE):
        # Every reminder of every occurrence is a row and a message: a rule that fires
        # every second or minute would flood both. Deadlines recur hourly at the most.
        raise ValueError(
            f"invalid rrule {text!r}: FREQ=SECONDLY and FREQ=MINUTELY are not supported "
            "(use HOURLY or slower)"
        )
    if "BYEASTER" in rule.upper():
        raise ValueError(f"invalid rrule {text!r}: BYEASTER is not part of RFC 5545")
    try:
        # RFC 5545 writes UNTIL in UTC (…Z); the planner turns it into the milestone's
        # wall time, since dateutil refuses UTC next to a naive start. Check it the same way.
        parsed = rrulestr(_UNTIL_UTC.sub(r"\1", rule), dtstart=_PROBE_START)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"invalid rrule {text!r}: {exc}") from None
    # The calendar export parses the rule with icalendar, stricter than dateutil on
    # some values (UNTIL=2023-01-01): refuse here what it would refuse there.
    from icalendar import vRecur  # imported only for configs that use rrule

    try:
        parts = vRecur.from_ical(rule)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"invalid rrule {text!r}: {exc}") from None
    problem = _parts_problem(parts)
    if problem is not None:
        raise ValueError(f"invalid rrule {text!r}: {problem}")
    if not isinstance(parsed, rrule) or not _occurs(parsed):
        raise ValueError(
            f"invalid rrule {text!r}: it never occurs (check that its BYMONTH, BYMONTHDAY, "
            "BYYEARDAY, BYWEEKNO and BYDAY parts can all hold at once)"
        )
    return rule


def _parts_problem(parts: Any) -> str | None:
    """The first part outside RFC 5545's ranges, described, or ``None``."""
    freq = str(parts.get("FREQ", [""])[0]).upper()
    for interval in parts.get("INTERVAL", []):
        if not isinstance(interval, int) or interval < 1:
            return f"INTERVAL must be a whole number of at least 1, got {interval}"
    for count in parts.get("COUNT", []):
        if not isinstance(count, int) or count < 1:
            return f"COUNT must be at least 1, got {count}"
    for until in parts.get("UNTIL", []):
        if isinstance(until, date) and not MIN_YEAR <= until.year <= MAX_YEAR:
            return f"UNTIL: {year_range_hint(until.year)}"
    for name, (low, high, signed) in _RANGES.items():
        for value in parts.get(name, []):
            fits = isinstance(value, int) and (
                low <= value <= high or (signed and -high <= value <= -low)
            )
            if not fits:
                allowed = f"{low} to {high}" + (f" or -{high} to -{low}" if signed else "")
                return f"{name} must be {allowed}, got {value}"
    limit = {"YEARLY": 53, "MONTHLY": 5}.get(freq)
    for day in parts.get("BYDAY", []):
        match = _WEEKDAY.match(str(day).upper())
        if match is None:
            return f"BYDAY must list weekdays such as MO or 1MO, got {day}"
        if match.group(1) is None:
            continue
        ordinal = int(match.group(1))
        if limit is None:
            return f"a numbered BYDAY ({day}) needs FREQ=MONTHLY or FREQ=YEARLY"
        if not 1 <= abs(ordinal) <= limit:
            return f"with FREQ={freq}, a BYDAY number must be 1 to {limit} or -{limit} to -1"
    return None


def _occurs(parsed: rrule) -> bool:
    """True when the rule's pattern, its COUNT and UNTIL set aside, occurs at all.

    The pattern repeats with the calendar, so a start in the probe cycle stands for
    any start; UNTIL and COUNT only end the rule.
    """
    year = _PROBE_YEAR_HOURLY if parsed._freq == HOURLY else _PROBE_YEAR
    start = datetime(year, 1, 1)
    probe = parsed.replace(dtstart=start, until=None, count=None)
    try:
        return probe.after(start, inc=True) is not None
    except (ValueError, IndexError, OverflowError):  # dateutil failed mid-walk
        return False
