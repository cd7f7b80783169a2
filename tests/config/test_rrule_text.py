"""What an ``rrule`` may be: one RRULE, with or without its ``RRULE:`` name.

A second line (an EXDATE, another RRULE) used to load and then break the
calendar export; ``RRULE:FREQ=…`` used to be exported as ``RRULE:RRULE:…``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from scheduler.config.rrules import check_rrule
from scheduler.ics import to_ics
from scheduler.planning import plan
from tests.config.helpers import errors, load, write

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def config_with(tmp_path: Path, rrule_yaml: str) -> Path:
    return write(
        tmp_path,
        "m.yaml",
        f"""
        version: 1
        milestones:
          - id: review
            title: Review
            at: 2027-04-15T09:00
            rrule: {rrule_yaml}
        """,
    )


@pytest.mark.parametrize(
    "rrule_yaml",
    ["RRULE:FREQ=YEARLY", "rrule:FREQ=YEARLY", '" RRULE: FREQ=YEARLY "', "FREQ=YEARLY"],
)
def test_rrule_prefix_is_normalised_away(tmp_path: Path, rrule_yaml: str) -> None:
    config = load(config_with(tmp_path, rrule_yaml))
    (m,) = config.milestones
    assert m.rrule == "FREQ=YEARLY"
    reminders = plan(config, NOW, datetime(2030, 1, 1, tzinfo=UTC))
    assert [r.occurrence.year for r in reminders] == [2027, 2028, 2029]
    data = to_ics(config, now=NOW)
    assert b"RRULE:FREQ=YEARLY\r\n" in data and b"RRULE:RRULE" not in data
    (event,) = Calendar.from_ical(data).walk("VEVENT")
    assert event["RRULE"].to_ical() == b"FREQ=YEARLY"


@pytest.mark.parametrize(
    "rrule_yaml",
    [
        '"FREQ=DAILY\\nEXDATE:20270416T090000"',
        '"RRULE:FREQ=DAILY\\nRRULE:FREQ=WEEKLY"',
        '"FREQ=DAILY\\r\\nCOUNT=3"',
        "|\n              FREQ=DAILY\n              EXDATE:20270416T090000",
    ],
)
def test_multi_line_rrule_is_a_located_error(tmp_path: Path, rrule_yaml: str) -> None:
    path = config_with(tmp_path, rrule_yaml)
    (problem,) = errors(path)
    assert problem.startswith(f"{path}:6:")
    assert "one RRULE" in problem and "EXDATE" in problem and "not supported" in problem
    assert problem.endswith("(at milestones[0].rrule)")


@pytest.mark.parametrize(
    ("rrule_yaml", "needle"),
    [
        ('"EXDATE:20270416T090000"', "EXDATE and RDATE are not supported"),
        ("FREQ=DAILY;UNTIL=2027-05-01", "Expected datetime"),
        ("FREQ=YEARLY;BYEASTER=0", "BYEASTER is not part of RFC 5545"),
    ],
)
def test_rules_the_calendar_cannot_write_are_refused(
    tmp_path: Path, rrule_yaml: str, needle: str
) -> None:
    path = config_with(tmp_path, rrule_yaml)
    (problem,) = errors(path)
    assert problem.startswith(f"{path}:6:") and needle in problem


@pytest.mark.parametrize("rule", ["FREQ=SECONDLY", "FREQ=MINUTELY;INTERVAL=5", "freq=secondly"])
def test_sub_hourly_rules_are_refused(rule: str) -> None:
    with pytest.raises(ValueError, match="SECONDLY and FREQ=MINUTELY are not supported"):
        check_rrule(rule)
