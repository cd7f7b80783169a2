"""An RFC 5545 UNTIL in UTC (``…Z``) is accepted and bounds the occurrences."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scheduler.config import load_config
from scheduler.planning import plan


def test_until_in_utc_bounds_a_yearly_rule(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "version: 1\n"
        "timezone: Europe/Brussels\n"
        "milestones:\n"
        "  - id: anniv\n"
        "    title: Anniversary\n"
        "    at: 2020-08-02T09:00\n"
        "    rrule: FREQ=YEARLY;UNTIL=20230101T000000Z\n"
    )
    config = load_config(path)
    reminders = plan(config, datetime(2019, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    assert [r.occurrence.year for r in reminders] == [2020, 2021, 2022]
