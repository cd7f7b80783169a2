"""Digest schedules: 5-field cron in a zone, as cron users read it (pure tables)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler.cron import cron_trigger, cron_weekdays, fire_times


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("1", "mon"),  # APScheduler alone would read 1 as Tuesday
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("5-7", "sun,fri,sat"),
        ("sat-mon", "sun,mon,sat"),  # wraps the week
        ("*/2", "sun,tue,thu,sat"),
        ("1,3,5", "mon,wed,fri"),
        ("Monday", "mon"),
    ],
)
def test_weekday_field_uses_cron_numbering(field: str, names: str) -> None:
    assert cron_weekdays(field) == names


@pytest.mark.parametrize("field", ["8", "x", "mon-", "*/0", "funday"])
def test_bad_weekday_fields_are_refused(field: str) -> None:
    with pytest.raises(ValueError):
        cron_trigger(f"0 9 * * {field}", "UTC")


@pytest.mark.parametrize(
    "schedule", ["* * * *", "* * * * * *", "61 * * * *", "0 25 * * *", "0 9 32 * *", ""]
)
def test_bad_schedules_are_refused(schedule: str) -> None:
    with pytest.raises(ValueError):
        cron_trigger(schedule, "UTC")


@pytest.mark.parametrize(
    ("schedule", "zone", "start", "end", "fires"),
    [
        # Mondays 09:00 in Brussels (UTC+1 in December; 2026-12-07 is a Monday).
        (
            "0 9 * * mon",
            "Europe/Brussels",
            "2026-12-01T00:00",
            "2026-12-15T00:00",
            ["2026-12-07T08:00", "2026-12-14T08:00"],
        ),
        (
            "0 9 * * 1",
            "Europe/Brussels",
            "2026-12-01T00:00",
            "2026-12-08T00:00",
            ["2026-12-07T08:00"],
        ),
        (
            "0 9 * * 0",
            "Europe/Brussels",
            "2026-12-01T00:00",
            "2026-12-08T00:00",
            ["2026-12-06T08:00"],
        ),
        (
            "0 9 * * 7",
            "Europe/Brussels",
            "2026-12-01T00:00",
            "2026-12-08T00:00",
            ["2026-12-06T08:00"],
        ),
        # Every minute: the start is inclusive, the end exclusive.
        (
            "* * * * *",
            "UTC",
            "2026-12-07T10:00",
            "2026-12-07T10:03",
            ["2026-12-07T10:00", "2026-12-07T10:01", "2026-12-07T10:02"],
        ),
        ("* * * * *", "UTC", "2026-12-07T10:00:01", "2026-12-07T10:01:30", ["2026-12-07T10:01"]),
        # Daily 09:00 across the spring change in Brussels: 08:00 UTC, then 07:00 UTC.
        (
            "0 9 * * *",
            "Europe/Brussels",
            "2026-03-28T00:00",
            "2026-03-31T00:00",
            ["2026-03-28T08:00", "2026-03-29T07:00", "2026-03-30T07:00"],
        ),
        # 02:30 in the skipped hour moves forward by the gap: 03:30 CEST, 01:30 UTC.
        (
            "30 2 * * *",
            "Europe/Brussels",
            "2026-03-29T00:00",
            "2026-03-30T00:00",
            ["2026-03-29T01:30"],
        ),
        # 02:30 in the repeated hour fires once, at the first instant (CEST).
        (
            "30 2 * * *",
            "Europe/Brussels",
            "2026-10-25T00:00",
            "2026-10-26T00:00",
            ["2026-10-25T00:30"],
        ),
        (
            "*/20 2 * * *",
            "Europe/Brussels",
            "2026-10-24T23:00",
            "2026-10-25T03:00",
            ["2026-10-25T00:00", "2026-10-25T00:20", "2026-10-25T00:40"],
        ),
        # New York, first of the month at 08:30, across the autumn change.
        (
            "30 8 1 * *",
            "America/New_York",
            "2026-10-01T00:00",
            "2026-12-01T00:00",
            ["2026-10-01T12:30", "2026-11-01T13:30"],
        ),
    ],
)
def test_fire_times(schedule: str, zone: str, start: str, end: str, fires: list[str]) -> None:
    found = list(fire_times(schedule, zone, utc(start), utc(end)))
    assert [f.astimezone(UTC) for f in found] == [utc(f) for f in fires]
    assert all(str(f.tzinfo) == zone for f in found)
