"""Rolling a date off a milestone's weekend days and holidays: a table."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.business_days import is_business_day, roll_date, roll_note
from scheduler.model import Milestone, Roll

SAT, SUN = 5, 6
FRI_HOLIDAY = frozenset({date(2019, 8, 2)})


def milestone(
    roll: Roll,
    *,
    holidays: frozenset[date] = frozenset(),
    weekend: frozenset[int] = frozenset({SAT, SUN}),
) -> Milestone:
    return Milestone(
        id="m", title="M", at=date(2019, 8, 1), roll=roll, holidays=holidays, weekend=weekend
    )


@pytest.mark.parametrize(
    ("day", "m", "expected", "note"),
    [
        (date(2019, 8, 1), milestone(Roll.FORWARD), date(2019, 8, 1), None),  # a Thursday
        (
            date(2019, 8, 3),
            milestone(Roll.FORWARD),
            date(2019, 8, 5),
            "2019-08-03 is a Saturday: rolled forward to 2019-08-05",
        ),
        (
            date(2019, 8, 4),
            milestone(Roll.BACKWARD),
            date(2019, 8, 2),
            "2019-08-04 is a Sunday: rolled backward to 2019-08-02",
        ),
        (date(2019, 8, 3), milestone(Roll.NONE), date(2019, 8, 3), None),  # not rolled at all
        (
            date(2019, 8, 2),
            milestone(Roll.FORWARD, holidays=FRI_HOLIDAY),
            date(2019, 8, 5),
            "2019-08-02 is a holiday: rolled forward to 2019-08-05",
        ),
        (
            date(2019, 8, 3),
            milestone(Roll.BACKWARD, holidays=FRI_HOLIDAY),
            date(2019, 8, 1),
            "2019-08-03 is a Saturday: rolled backward to 2019-08-01",
        ),
        (
            date(2019, 8, 2),  # a Friday as the weekend, Saturday a working day
            milestone(Roll.FORWARD, weekend=frozenset({4})),
            date(2019, 8, 3),
            "2019-08-02 is a Friday: rolled forward to 2019-08-03",
        ),
    ],
)
def test_roll_date(day: date, m: Milestone, expected: date, note: str | None) -> None:
    moved = roll_date(day, m)
    assert moved == expected
    assert is_business_day(moved, m) or m.roll is Roll.NONE
    if note is not None:
        assert roll_note(day, moved, m) == note


def test_a_week_of_weekend_days_cannot_roll() -> None:
    with pytest.raises(ValueError, match="every day is a weekend day"):
        roll_date(date(2019, 8, 1), milestone(Roll.FORWARD, weekend=frozenset(range(7))))
