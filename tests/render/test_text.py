"""Fallback lines, dates, spans and countdowns: pure tables."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.render.text import fallback_text
from scheduler.timekeeping import countdown, format_span, format_when
from tests.support.alerts import make_reminder

BRU = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize(
    ("args", "late_by", "expected"),
    [
        ({}, None, "T-7d: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST"),
        (
            {"offset": "0"},
            None,
            "Now: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST",
        ),
        (
            {"offset": "-2h"},
            None,
            "T+2h: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST",
        ),
        (
            {"offset": "30d"},
            None,
            "T-30d: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST",
        ),
        (
            {"offset": "2w"},
            None,
            "T-2w: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST",
        ),
        (
            {"offset": "6 months"},
            None,
            "T-6mo: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 CEST",
        ),
        (
            {"offset": "36h", "zone": "Asia/Kolkata", "at": (2019, 8, 2, 9, 30)},
            None,
            "T-36h: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 09:30 IST",
        ),
        (
            {"offset": "1d", "zone": "America/New_York"},
            timedelta(hours=2, minutes=5),
            "T-1d: INF Treaty withdrawal takes effect — Fri 2 Aug 2019 00:00 EDT "
            "(late by 2 hours 5 minutes)",
        ),
        (
            {"zone": "America/New_York", "at": (2019, 1, 15, 17)},
            None,
            "T-7d: INF Treaty withdrawal takes effect — Tue 15 Jan 2019 17:00 EST",
        ),
        (
            {"title": "  Two\nlines\tand  spaces "},
            None,
            "T-7d: Two lines and spaces — Fri 2 Aug 2019 00:00 CEST",
        ),
    ],
)
def test_fallback_text(args: dict[str, object], late_by: timedelta | None, expected: str) -> None:
    assert fallback_text(make_reminder(**args), late_by=late_by) == expected  # type: ignore[arg-type]


def test_fallback_ignores_zero_lateness() -> None:
    reminder = make_reminder()
    assert fallback_text(reminder, late_by=timedelta(0)) == fallback_text(reminder)


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(seconds=1), "1 second"),
        (timedelta(seconds=45), "45 seconds"),
        (timedelta(seconds=59.4), "59 seconds"),
        (timedelta(seconds=59.6), "1 minute"),
        (timedelta(minutes=90), "1 hour 30 minutes"),
        (timedelta(hours=2, minutes=5, seconds=20), "2 hours 5 minutes"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=3, hours=4, minutes=2), "3 days 4 hours"),
        (timedelta(days=3, minutes=2), "3 days"),
        (timedelta(days=-2), "2 days"),
    ],
)
def test_format_span(span: timedelta, expected: str) -> None:
    assert format_span(span) == expected


@pytest.mark.parametrize(
    ("occurrence", "now", "expected"),
    [
        (
            datetime(2019, 8, 2, tzinfo=BRU),
            datetime(2019, 7, 26, 0, 0, 0, 12000, tzinfo=BRU),
            "in 7 days",
        ),
        (datetime(2019, 8, 2, tzinfo=BRU), datetime(2019, 8, 2, 0, 0, 10, tzinfo=BRU), "now"),
        (datetime(2019, 8, 2, tzinfo=BRU), datetime(2019, 8, 2, 2, 0, tzinfo=BRU), "2 hours ago"),
        (
            datetime(2019, 8, 2, tzinfo=BRU),
            datetime(2019, 8, 1, 21, 30, tzinfo=BRU),
            "in 2 hours 30 minutes",
        ),
        # Across the spring-forward night: a week on the wall clock is 167 real hours.
        (datetime(2025, 4, 2, tzinfo=BRU), datetime(2025, 3, 26, tzinfo=BRU), "in 7 days"),
        # Exact spans across it stay exact: 36 real hours.
        (
            datetime(2025, 3, 31, 12, tzinfo=BRU),
            datetime(2025, 3, 30, 0, tzinfo=BRU),
            "in 1 day 11 hours",
        ),
        # Beyond a day, to the hour: a retry 40 s late still reads "in 7 days".
        (
            datetime(2019, 8, 2, tzinfo=BRU),
            datetime(2019, 7, 26, 0, 0, 40, tzinfo=BRU),
            "in 7 days",
        ),
        (
            datetime(2019, 8, 2, tzinfo=BRU),
            datetime(2019, 7, 26, 0, 40, tzinfo=BRU),
            "in 6 days 23 hours",
        ),
        (
            datetime(2019, 8, 2, tzinfo=BRU),
            datetime(2019, 8, 1, 0, 40, tzinfo=BRU),
            "in 23 hours 20 minutes",
        ),
        # "now" given in another zone counts the same.
        (
            datetime(2019, 8, 2, tzinfo=BRU),
            datetime(2019, 7, 25, 18, tzinfo=ZoneInfo("America/New_York")),
            "in 7 days",
        ),
    ],
)
def test_countdown(occurrence: datetime, now: datetime, expected: str) -> None:
    assert countdown(occurrence, now) == expected


def test_format_when_uses_the_zone_of_the_moment() -> None:
    moment = datetime(2019, 8, 2, tzinfo=BRU)
    assert format_when(moment) == "Fri 2 Aug 2019 00:00 CEST"
    assert format_when(moment.astimezone(ZoneInfo("Asia/Kolkata"))) == "Fri 2 Aug 2019 03:30 IST"
