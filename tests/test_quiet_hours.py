"""Quiet hours: whether a moment is inside a channel's hours, and the next opening
(weekends, windows across midnight, DST change days in two zones)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from scheduler.model import QuietHours
from scheduler.quiet_hours import describe, held_until, is_open, next_opening

WEEKDAYS = frozenset(range(5))
DAILY = frozenset(range(7))


def hours(days: frozenset[int], between: str, zone: str) -> QuietHours:
    start, end = between.split("-")
    h2, m2 = (int(x) for x in end.split(":"))
    h1, m1 = (int(x) for x in start.split(":"))
    return QuietHours(days, time(h1, m1), None if h2 == 24 else time(h2, m2), zone)


OFFICE = hours(WEEKDAYS, "09:00-18:00", "Europe/Brussels")
NIGHTS = hours(frozenset({0, 2}), "22:00-06:00", "America/New_York")  # Mon and Wed nights
DAYTIME_BXL = hours(DAILY, "09:00-18:00", "Europe/Brussels")
DAYTIME_NYC = hours(DAILY, "09:00-17:00", "America/New_York")
GAPPY = hours(DAILY, "02:30-04:00", "Europe/Brussels")
LATE = hours(frozenset({4}), "20:00-24:00", "UTC")  # Friday evenings, to midnight


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("rules", "moment", "expected"),
    [
        # 2026-12-07 is a Monday. Brussels is UTC+1 in December.
        (OFFICE, "2026-12-07T09:00", True),  # 10:00 local
        (OFFICE, "2026-12-07T07:59", False),  # 08:59 local
        (OFFICE, "2026-12-07T08:00", True),  # 09:00 local: the opening itself is open
        (OFFICE, "2026-12-07T17:00", False),  # 18:00 local: the end is not
        (OFFICE, "2026-12-05T10:00", False),  # Saturday
        # New York is UTC-5 in December; Monday and Wednesday nights, 22:00-06:00.
        (NIGHTS, "2026-12-08T03:30", True),  # Mon 22:30
        (NIGHTS, "2026-12-08T10:59", True),  # Tue 05:59: Monday's window
        (NIGHTS, "2026-12-08T11:00", False),  # Tue 06:00
        (NIGHTS, "2026-12-09T03:30", False),  # Tue 22:30: Tuesday is not listed
        (NIGHTS, "2026-12-07T10:00", False),  # Mon 05:00: Sunday's window does not exist
        (LATE, "2026-12-11T23:59", True),  # Friday 23:59, window to 24:00
        (LATE, "2026-12-12T00:00", False),  # Saturday 00:00
    ],
)
def test_is_open(rules: QuietHours, moment: str, expected: bool) -> None:
    assert is_open(rules, utc(moment)) is expected
    assert (next_opening(rules, utc(moment)) is None) is expected


@pytest.mark.parametrize(
    ("rules", "moment", "opening"),
    [
        # Weekend: Saturday morning and Friday evening wait for Monday 09:00 local.
        (OFFICE, "2026-12-05T10:00", "2026-12-07T08:00"),
        (OFFICE, "2026-12-04T17:30", "2026-12-07T08:00"),
        (OFFICE, "2026-12-07T06:00", "2026-12-07T08:00"),  # Monday before opening
        # Across midnight: Tuesday noon waits for Wednesday 22:00 New York.
        (NIGHTS, "2026-12-08T17:00", "2026-12-10T03:00"),
        (NIGHTS, "2026-12-10T11:00", "2026-12-15T03:00"),  # Thu 06:00 -> next Monday 22:00
        # Europe/Brussels spring change (Sun 29 Mar 2026, 02:00 CET -> 03:00 CEST):
        # Saturday evening before it waits for Monday 09:00 CEST (07:00 UTC).
        (OFFICE, "2026-03-28T19:00", "2026-03-30T07:00"),
        # Sunday evening after it, a daily window opens Monday 09:00 CEST.
        (DAYTIME_BXL, "2026-03-29T18:00", "2026-03-30T07:00"),
        # The change day itself opens at 09:00 CEST (07:00 UTC), not 08:00 UTC.
        (DAYTIME_BXL, "2026-03-28T22:00", "2026-03-29T07:00"),
        # Autumn change (Sun 25 Oct 2026, 03:00 CEST -> 02:00 CET): 09:00 CET is 08:00 UTC.
        (OFFICE, "2026-10-24T12:00", "2026-10-26T08:00"),
        (DAYTIME_BXL, "2026-10-24T20:00", "2026-10-25T08:00"),
        # America/New_York spring change (Sun 8 Mar 2026): 09:00 EDT is 13:00 UTC.
        (DAYTIME_NYC, "2026-03-08T01:00", "2026-03-08T13:00"),
        (DAYTIME_NYC, "2026-03-07T23:00", "2026-03-08T13:00"),  # Sat 18:00 EST
        # Autumn change (Sun 1 Nov 2026): 09:00 EST is 14:00 UTC.
        (DAYTIME_NYC, "2026-10-31T23:00", "2026-11-01T14:00"),
        # An opening in the spring gap moves forward by the gap (02:30 -> 03:30 CEST).
        (GAPPY, "2026-03-28T23:30", "2026-03-29T01:30"),
        # An opening in the autumn fold takes the first instant (02:30 CEST).
        (GAPPY, "2026-10-24T22:00", "2026-10-25T00:30"),
    ],
)
def test_next_opening(rules: QuietHours, moment: str, opening: str) -> None:
    assert not is_open(rules, utc(moment))
    found = next_opening(rules, utc(moment))
    assert found is not None
    assert found.astimezone(UTC) == utc(opening)
    assert is_open(rules, found)
    assert str(found.tzinfo) == rules.timezone


def test_a_channel_without_hours_holds_nothing() -> None:
    assert held_until(None, utc("2026-12-05T10:00")) is None
    assert held_until(OFFICE, utc("2026-12-05T10:00")) == next_opening(
        OFFICE, utc("2026-12-05T10:00")
    )


@pytest.mark.parametrize(
    ("rules", "text"),
    [
        (OFFICE, "mon-fri 09:00-18:00 Europe/Brussels"),
        (DAYTIME_NYC, "daily 09:00-17:00 America/New_York"),
        (LATE, "fri 20:00-24:00 UTC"),
    ],
)
def test_describe(rules: QuietHours, text: str) -> None:
    assert describe(rules) == text
