"""The time module: the DST rule, dates alone, formats across zones, countdowns. Pure tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scheduler.timekeeping import (
    coarse_countdown,
    compact_span,
    countdown,
    dst_note,
    elapsed,
    format_instant,
    format_point,
    format_utc,
    format_utc_minute,
    format_wall,
    format_when,
    localize,
    midnight,
    to_zone,
    until,
    utc_iso_micro,
    utc_iso_millis,
)

BRU = ZoneInfo("Europe/Brussels")
NYC = ZoneInfo("America/New_York")
HAVANA = ZoneInfo("America/Havana")  # clocks change at midnight: dates alone meet DST
KOLKATA = ZoneInfo("Asia/Kolkata")


# -- the DST rule -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("wall", "zone", "utc", "abbreviation"),
    [
        # ordinary times: the wall clock is kept
        (datetime(2019, 8, 2, 0, 0), BRU, datetime(2019, 8, 1, 22, 0), "CEST"),
        (datetime(2019, 1, 15, 9, 0), NYC, datetime(2019, 1, 15, 14, 0), "EST"),
        # gap (clocks go forward): moved forward by the length of the gap
        (datetime(2019, 3, 31, 2, 30), BRU, datetime(2019, 3, 31, 1, 30), "CEST"),
        (datetime(2019, 3, 31, 2, 0), BRU, datetime(2019, 3, 31, 1, 0), "CEST"),
        (datetime(2019, 3, 10, 2, 30), NYC, datetime(2019, 3, 10, 7, 30), "EDT"),
        (
            datetime(2019, 3, 10, 2, 59, 59, 999999),
            NYC,
            datetime(2019, 3, 10, 7, 59, 59, 999999),
            "EDT",
        ),
        # fold (clocks go back): the first occurrence, the earlier instant
        (datetime(2019, 10, 27, 2, 30), BRU, datetime(2019, 10, 27, 0, 30), "CEST"),
        (datetime(2019, 10, 27, 2, 0), BRU, datetime(2019, 10, 27, 0, 0), "CEST"),
        (datetime(2019, 11, 3, 1, 30), NYC, datetime(2019, 11, 3, 5, 30), "EDT"),
        # just after a fold: one meaning only
        (datetime(2019, 10, 27, 3, 0), BRU, datetime(2019, 10, 27, 2, 0), "CET"),
        (datetime(2019, 11, 3, 2, 0), NYC, datetime(2019, 11, 3, 7, 0), "EST"),
    ],
)
def test_localize(wall: datetime, zone: ZoneInfo, utc: datetime, abbreviation: str) -> None:
    got = localize(wall, zone)
    assert got.astimezone(UTC) == utc.replace(tzinfo=UTC)
    assert got.tzinfo is zone
    assert got.tzname() == abbreviation
    assert got.fold == 0


def test_localize_ignores_the_fold_the_wall_time_carries() -> None:
    second = datetime(2019, 10, 27, 2, 30, fold=1)
    assert localize(second, BRU) == localize(second.replace(fold=0), BRU)
    assert localize(second, BRU).tzname() == "CEST"


def test_localize_refuses_an_aware_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        localize(datetime(2019, 8, 2, tzinfo=UTC), BRU)


@pytest.mark.parametrize(
    ("wall", "zone", "note"),
    [
        (datetime(2019, 8, 2, 0, 0), BRU, None),
        (datetime(2019, 3, 31, 1, 59), BRU, None),  # the day of a change, before it
        (
            datetime(2019, 3, 31, 2, 30),
            BRU,
            "2019-03-31 02:30 does not exist in Europe/Brussels (clocks go forward): "
            "moved to 2019-03-31 03:30 CEST",
        ),
        (
            datetime(2019, 10, 27, 2, 30),
            BRU,
            "2019-10-27 02:30 happens twice in Europe/Brussels (clocks go back): "
            "the first, CEST, is used",
        ),
        (
            datetime(2019, 3, 10, 2, 30),
            NYC,
            "2019-03-10 02:30 does not exist in America/New_York (clocks go forward): "
            "moved to 2019-03-10 03:30 EDT",
        ),
        (
            datetime(2019, 11, 3, 1, 30),
            NYC,
            "2019-11-03 01:30 happens twice in America/New_York (clocks go back): "
            "the first, EDT, is used",
        ),
        (datetime(2019, 11, 3, 2, 30), NYC, None),
    ],
)
def test_dst_note(wall: datetime, zone: ZoneInfo, note: str | None) -> None:
    assert dst_note(wall, zone, localize(wall, zone)) == note


# -- dates alone --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "zone", "expected", "abbreviation"),
    [
        (date(2019, 8, 2), BRU, datetime(2019, 8, 2, 0, 0), "CEST"),
        (date(2019, 3, 31), BRU, datetime(2019, 3, 31, 0, 0), "CET"),  # the change comes later
        (date(2019, 11, 3), NYC, datetime(2019, 11, 3, 0, 0), "EDT"),
        (date(2019, 3, 10), HAVANA, datetime(2019, 3, 10, 1, 0), "CDT"),  # midnight skipped
        (date(2019, 11, 3), HAVANA, datetime(2019, 11, 3, 0, 0), "CDT"),  # midnight twice: first
    ],
)
def test_midnight(day: date, zone: ZoneInfo, expected: datetime, abbreviation: str) -> None:
    got = midnight(day, zone)
    assert got.replace(tzinfo=None) == expected
    assert got.tzname() == abbreviation


def test_a_midnight_moved_by_a_gap_is_explained() -> None:
    wall = datetime(2019, 3, 10)
    assert dst_note(wall, HAVANA, midnight(wall.date(), HAVANA)) == (
        "2019-03-10 does not exist in America/Havana (clocks go forward): "
        "moved to 2019-03-10 01:00 CDT"
    )


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        # naive: wall time in the zone, DST resolved
        (datetime(2019, 3, 31, 2, 30), BRU, "2019-03-31 03:30 CEST"),
        (datetime(2019, 11, 3, 1, 30), NYC, "2019-11-03 01:30 EDT"),
        # aware: the same instant, converted
        (datetime(2019, 8, 1, 22, 0, tzinfo=UTC), BRU, "2019-08-02 00:00 CEST"),
        (
            datetime(2019, 8, 2, 0, 0, tzinfo=timezone(timedelta(hours=2))),
            NYC,
            "2019-08-01 18:00 EDT",
        ),
        (datetime(2019, 11, 3, 6, 30, tzinfo=UTC), NYC, "2019-11-03 01:30 EST"),  # the second 01:30
    ],
)
def test_to_zone(moment: datetime, zone: ZoneInfo, expected: str) -> None:
    assert format_instant(to_zone(moment, zone)) == expected


# -- formats ------------------------------------------------------------------------
INF = datetime(2019, 8, 2, 0, 0, tzinfo=BRU)  # the INF treaty's end: 22:00 UTC the day before


@pytest.mark.parametrize(
    ("moment", "wall", "point", "instant", "when"),
    [
        (
            INF,
            "2019-08-02 00:00",
            "2019-08-02",
            "2019-08-02 00:00 CEST",
            "Fri 2 Aug 2019 00:00 CEST",
        ),
        (
            INF.astimezone(NYC),
            "2019-08-01 18:00",
            "2019-08-01 18:00",
            "2019-08-01 18:00 EDT",
            "Thu 1 Aug 2019 18:00 EDT",
        ),
        (
            INF.astimezone(KOLKATA),
            "2019-08-02 03:30",
            "2019-08-02 03:30",
            "2019-08-02 03:30 IST",
            "Fri 2 Aug 2019 03:30 IST",
        ),
        (
            INF.astimezone(UTC),
            "2019-08-01 22:00",
            "2019-08-01 22:00",
            "2019-08-01 22:00 UTC",
            "Thu 1 Aug 2019 22:00 UTC",
        ),
        # seconds shown in the wall forms only when there are some
        (
            datetime(2019, 1, 5, 9, 7, 3, tzinfo=NYC),
            "2019-01-05 09:07:03",
            "2019-01-05 09:07:03",
            "2019-01-05 09:07:03 EST",
            "Sat 5 Jan 2019 09:07 EST",
        ),
        # a fraction of a second alone is no longer "a date alone"
        (
            datetime(2019, 1, 5, 0, 0, 0, 500, tzinfo=BRU),
            "2019-01-05 00:00",
            "2019-01-05 00:00",
            "2019-01-05 00:00 CET",
            "Sat 5 Jan 2019 00:00 CET",
        ),
    ],
)
def test_formats(moment: datetime, wall: str, point: str, instant: str, when: str) -> None:
    assert format_wall(moment) == wall
    assert format_point(moment) == point
    assert format_instant(moment) == instant
    assert format_when(moment) == when


def test_format_when_of_a_naive_time_names_no_zone() -> None:
    assert format_when(datetime(2019, 8, 2, 0, 0)) == "Fri 2 Aug 2019 00:00"


@pytest.mark.parametrize(
    ("moment", "table", "minute", "micro", "millis"),
    [
        (
            INF,
            "2019-08-01 22:00:00Z",
            "2019-08-01 22:00 UTC",
            "2019-08-01T22:00:00.000000Z",
            "2019-08-01T22:00:00.000Z",
        ),
        (
            datetime(2019, 11, 3, 1, 30, 15, 123456, tzinfo=NYC),  # the first 01:30, EDT
            "2019-11-03 05:30:15Z",
            "2019-11-03 05:30 UTC",
            "2019-11-03T05:30:15.123456Z",
            "2019-11-03T05:30:15.123Z",
        ),
        (
            datetime(2019, 11, 3, 1, 30, 15, 123456, tzinfo=NYC, fold=1),  # the second, EST
            "2019-11-03 06:30:15Z",
            "2019-11-03 06:30 UTC",
            "2019-11-03T06:30:15.123456Z",
            "2019-11-03T06:30:15.123Z",
        ),
        (
            datetime(2019, 8, 2, 3, 30, 0, 1, tzinfo=KOLKATA),
            "2019-08-01 22:00:00Z",
            "2019-08-01 22:00 UTC",
            "2019-08-01T22:00:00.000001Z",
            "2019-08-01T22:00:00.000Z",
        ),
    ],
)
def test_utc_formats(moment: datetime, table: str, minute: str, micro: str, millis: str) -> None:
    assert format_utc(moment) == table
    assert format_utc_minute(moment) == minute
    assert utc_iso_micro(moment) == micro
    assert utc_iso_millis(moment) == millis


def test_equal_instants_in_different_zones_write_the_same_exact_text() -> None:
    texts = {utc_iso_micro(INF.astimezone(z)) for z in (BRU, NYC, KOLKATA, UTC, HAVANA)}
    assert texts == {"2019-08-01T22:00:00.000000Z"}


# -- spans and countdowns -----------------------------------------------------------
def test_elapsed_is_real_time_even_in_one_zone() -> None:
    # Across the Brussels fold the wall clock moves 1 h but 2 h pass.
    start, end = datetime(2019, 10, 27, 2, 0, tzinfo=BRU), datetime(2019, 10, 27, 3, 0, tzinfo=BRU)
    assert end - start == timedelta(hours=1)  # what naive arithmetic would say
    assert elapsed(start, end) == timedelta(hours=2)


def _at(zone: ZoneInfo, year: int, month: int, day: int, hour: int) -> datetime:
    return localize(datetime(year, month, day, hour), zone)


@pytest.mark.parametrize(
    ("occurrence", "now", "span", "words"),
    [
        # whole days on the occurrence's wall clock, across a change of offset
        (_at(BRU, 2019, 3, 31, 12), _at(BRU, 2019, 3, 24, 12), timedelta(days=7), "in 7 days"),
        (_at(BRU, 2019, 11, 1, 0), _at(BRU, 2019, 10, 25, 0), timedelta(days=7), "in 7 days"),
        (_at(NYC, 2019, 3, 12, 9), _at(NYC, 2019, 3, 5, 9), timedelta(days=7), "in 7 days"),
        (_at(NYC, 2019, 11, 4, 9), _at(NYC, 2019, 11, 3, 9), timedelta(days=1), "in 1 day"),
        # "now" written in another zone: the occurrence's calendar still counts (6 d 23 h exact)
        (
            _at(BRU, 2019, 3, 31, 12),
            _at(BRU, 2019, 3, 24, 12).astimezone(NYC),
            timedelta(days=7),
            "in 7 days",
        ),
        # a retry a little after the due time still reads the round figure
        (
            _at(NYC, 2019, 11, 10, 9),
            _at(NYC, 2019, 11, 3, 9) + timedelta(seconds=40),
            timedelta(days=7),
            "in 7 days",
        ),
        # under a day: exact, across the fold too
        (_at(BRU, 2019, 10, 27, 3), _at(BRU, 2019, 10, 27, 1), timedelta(hours=3), "in 3 hours"),
        (_at(NYC, 2019, 3, 10, 4), _at(NYC, 2019, 3, 10, 1), timedelta(hours=2), "in 2 hours"),
        # the moment and after it
        (INF, INF + timedelta(seconds=20), timedelta(seconds=-20), "now"),
        (INF, INF + timedelta(hours=2), timedelta(hours=-2), "2 hours ago"),
        (
            INF,
            INF.astimezone(KOLKATA) - timedelta(minutes=90),
            timedelta(minutes=90),
            "in 1 hour 30 minutes",
        ),
    ],
)
def test_until_and_countdown(
    occurrence: datetime, now: datetime, span: timedelta, words: str
) -> None:
    assert until(occurrence, now) == span
    assert countdown(occurrence, now) == words


@pytest.mark.parametrize(
    ("span", "coarse", "compact"),
    [
        (timedelta(0), "in less than a minute", "<1m"),
        (timedelta(seconds=59), "in less than a minute", "<1m"),
        (timedelta(minutes=1), "in 1 minute", "1m"),
        (timedelta(hours=5, minutes=2), "in 5 hours", "5h 2m"),
        (timedelta(days=3, hours=4, minutes=2), "in 3 days", "3d 4h"),
        (timedelta(days=400), "in 1 year", "400d"),
        (timedelta(days=-2, hours=-3), "2 days ago", "2d 3h"),
        (timedelta(seconds=-30), "less than a minute ago", "<1m"),
    ],
)
def test_short_spans(span: timedelta, coarse: str, compact: str) -> None:
    assert coarse_countdown(span) == coarse
    assert compact_span(span) == compact
