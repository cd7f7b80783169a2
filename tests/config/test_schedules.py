"""Config of quiet hours and digests: the values they become, and each mistake located."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from scheduler.durations import Duration
from scheduler.model import Digest
from tests.config.helpers import errors, load, write

BASE = """\
version: 1
timezone: Europe/Brussels
defaults: {catch_up: 2h}
channels:
  team:
    type: webhook
    url: https://hooks.example.org/team
"""


def test_hours_and_digests_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        BASE
        + """\
    hours: {days: [mon, wed], between: "22:00-06:00", timezone: America/New_York}
  office:
    type: webhook
    url: https://hooks.example.org/office
    hours: {days: mon-fri, between: "09:00-24:00"}
digests:
  - id: weekly
    schedule: "0  9 * * 1"
    within: 14d
    notify: [team, office]
    tags: [contracts]
  - id: daily
    schedule: "* * * * *"
    timezone: UTC
    within: 36h
    notify: [team]
    skip_empty: false
    catch_up: 5m
milestones: []
""",
    )
    config = load(path)
    team, office = config.channels["team"].hours, config.channels["office"].hours
    assert team is not None and office is not None
    assert (team.days, team.start, team.end, team.timezone) == (
        frozenset({0, 2}),
        time(22),
        time(6),
        "America/New_York",
    )
    assert (office.days, office.end, office.timezone) == (
        frozenset(range(5)),
        None,
        "Europe/Brussels",
    )
    assert config.digests == (
        Digest(
            id="weekly",
            schedule="0 9 * * 1",
            within=Duration.parse("14d"),
            timezone="Europe/Brussels",
            notify=("team", "office"),
            tags=("contracts",),
            catch_up=timedelta(hours=2),
        ),
        Digest(
            id="daily",
            schedule="* * * * *",
            within=Duration.parse("36h"),
            timezone="UTC",
            notify=("team",),
            skip_empty=False,
            catch_up=timedelta(minutes=5),
        ),
    )


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("daily", set(range(7))),
        ("weekdays", set(range(5))),
        ("weekends", {5, 6}),
        ("sat", {5}),
        ("fri-mon", {4, 5, 6, 0}),
        ("[tue, thu]", {1, 3}),
    ],
)
def test_days(tmp_path: Path, days: str, expected: set[int]) -> None:
    text = BASE + f'    hours: {{days: {days}, between: "09:00-17:00"}}\nmilestones: []\n'
    hours = load(write(tmp_path, "c.yaml", text)).channels["team"].hours
    assert hours is not None and hours.days == expected


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (
            '    hours: {days: mon-fry, between: "09:00-18:00"}\n',
            "{path}:8:19: invalid days 'mon-fry': use daily, weekdays, weekends, a day (mon), "
            "a range (mon-fri) or a list ([mon, wed]) (at channels.team.hours.days)",
        ),
        (
            '    hours: {days: [mon, funday], between: "09:00-18:00"}\n',
            "{path}:8:25: days: expected a weekday (mon, tue, wed, thu, fri, sat, sun), "
            "got 'funday' (at channels.team.hours.days[1])",
        ),
        (
            '    hours: {between: "9-5"}\n',
            '{path}:8:22: between must be two times such as "09:00-18:00" (or "22:00-06:00" '
            "across midnight), got '9-5' (at channels.team.hours.between)",
        ),
        (
            '    hours: {between: "09:00-09:00"}\n',
            "{path}:8:22: between: start and end are the same time (00:00-24:00 is all day) "
            "(at channels.team.hours.between)",
        ),
        (
            '    hours: {between: "09:00-18:00", timezone: Mars/Olympus}\n',
            "{path}:8:47: unknown time zone 'Mars/Olympus': use an IANA name such as "
            "Europe/Brussels or UTC (at channels.team.hours.timezone)",
        ),
        (
            '    hours: {between: "09:00-18:00", dayz: daily}\n',
            "{path}:8:37: unknown key 'dayz' in hours; did you mean 'days'? "
            "(at channels.team.hours.dayz)",
        ),
        (
            "digests:\n  - {id: w, schedule: '0 9 * *', within: 7d, notify: [team]}\n",
            "{path}:9:23: a schedule needs 5 fields (minute hour day month weekday), got 4 "
            "(at digests[0].schedule)",
        ),
        (
            "digests:\n  - {id: w, schedule: '0 9 * * 9', within: 7d, notify: [team]}\n",
            "{path}:9:23: invalid cron schedule '0 9 * * 9': invalid day of week '9': use 0-7 "
            "(0 and 7 are Sunday) or sun..sat (at digests[0].schedule)",
        ),
        (
            "digests:\n  - {id: w, schedule: '0 9 * * *', within: 7d, notify: [teem]}\n",
            "{path}:9:57: unknown channel 'teem'; did you mean 'team'? (at digests[0].notify[0])",
        ),
        (
            "digests:\n  - {id: w, schedule: '0 9 * * *', within: 7d, notify: [team],"
            " timezone: Nowhere/Land}\n",
            "{path}:9:74: unknown time zone 'Nowhere/Land': use an IANA name such as "
            "Europe/Brussels or UTC (at digests[0].timezone)",
        ),
        (
            "digests:\n  - {id: w, schedule: '0 9 * * *', within: 0, notify: [team]}\n",
            "{path}:9:44: within must be greater than 0 (at digests[0].within)",
        ),
        (
            "digests:\n  - {id: W!, schedule: '0 9 * * *', within: 1d, notify: [team]}\n",
            "{path}:9:10: invalid digest id 'W!': use lowercase letters, digits, '-', '_' and "
            "'.', starting with a letter or digit (at digests[0].id)",
        ),
        (
            "digests:\n  - {id: w, schedule: '0 9 * * *', within: 1d, notify: [team]}\n"
            "  - {id: w, schedule: '0 9 * * *', within: 2d, notify: [team]}\n",
            "{path}:10:10: duplicate digest id 'w' (first defined at {path}:9:10) "
            "(at digests[1].id)",
        ),
        (
            "digests:\n  - {id: w, schedule: '0 9 * * *', notify: [team]}\n",
            "{path}:9:5: digest is missing the required key 'within' (at digests[0])",
        ),
    ],
)
def test_mistakes_are_located(tmp_path: Path, tail: str, expected: str) -> None:
    path = write(tmp_path, "c.yaml", BASE + tail)
    assert errors(path) == [expected.replace("{path}", str(path))]
