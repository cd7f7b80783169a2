"""The delivery snapshot: of -> to_json -> from_json -> reminder keeps what an alert shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scheduler.durations import Duration
from scheduler.model import Milestone, Reminder
from scheduler.snapshot import MILESTONE_KEYS, Snapshot


def _reminder(zone: str, at: datetime, offset: str) -> Reminder:
    m = Milestone(
        id="treaty",
        title="INF Treaty",
        timezone=zone,
        description="Notice of withdrawal",
        tags=("inf", "arms"),
        links=("https://example.org/inf",),
        notify=("hook",),
    )
    off = Duration.parse(offset)
    occurrence = at.replace(tzinfo=ZoneInfo(zone))
    return Reminder(m, occurrence, off, off.subtract_from(occurrence), ("hook",))


CASES = [
    ("UTC", datetime(2019, 8, 2, 0, 0), "0"),
    ("Europe/Brussels", datetime(2019, 8, 2, 9, 30), "1d"),
    # Due across a DST change: the offset of the due time differs from the occurrence's.
    ("Europe/Brussels", datetime(2026, 3, 30, 9, 0), "2d"),
    ("America/New_York", datetime(2026, 11, 2, 8, 0), "1w"),
    ("Asia/Kolkata", datetime(2026, 1, 15, 23, 45), "90m"),
    ("Pacific/Chatham", datetime(2026, 4, 5, 4, 0), "P1DT6H"),
]


@pytest.mark.parametrize(("zone", "at", "offset"), CASES)
def test_round_trip_keeps_the_shown_fields(zone: str, at: datetime, offset: str) -> None:
    original = _reminder(zone, at, offset)
    stored = json.loads(json.dumps(Snapshot.of(original).to_json()))
    decoded = Snapshot.from_json(stored)
    assert decoded == Snapshot.of(original)
    back = decoded.reminder("audit")
    assert back.channels == ("audit",)
    assert back.milestone.id == original.milestone.id
    assert back.milestone.title == original.milestone.title
    assert back.milestone.timezone == original.milestone.timezone
    assert back.milestone.description == original.milestone.description
    assert back.milestone.tags == original.milestone.tags
    assert back.milestone.links == original.milestone.links
    assert back.occurrence == original.occurrence
    assert back.occurrence.utcoffset() == original.occurrence.utcoffset()
    assert back.occurrence.tzinfo == ZoneInfo(zone)
    assert back.due_at == original.due_at
    assert back.due_at.utcoffset() == original.due_at.utcoffset()
    assert back.offset == original.offset
    assert back.label == original.label
    assert back.id == original.id


def test_json_keys_are_those_stored_rows_have() -> None:
    snap = Snapshot.of(_reminder("Europe/Brussels", datetime(2019, 8, 2, 9, 30), "1d"))
    data = snap.to_json()
    assert list(data) == [
        "milestone_id",
        "title",
        "timezone",
        "description",
        "tags",
        "links",
        "at",
        "occurrence",
        "offset",
        "label",
        "due_at",
    ]
    assert data["at"] == data["occurrence"] == "2019-08-02T09:30:00+02:00"
    assert data["due_at"] == "2019-08-01T09:30:00+02:00"
    assert (data["offset"], data["label"]) == ("P1D", "1 day before")
    assert data["tags"] == ["inf", "arms"]
    assert snap.milestone_json() == {k: data[k] for k in MILESTONE_KEYS}


def test_a_row_with_only_the_required_keys_decodes_with_model_defaults() -> None:
    snap = Snapshot.from_json(
        {
            "milestone_id": "m",
            "title": "M",
            "at": "2026-03-01T12:00:00+00:00",
            "offset": "PT0S",
            "due_at": "2026-03-01T12:00:00+00:00",
        }
    )
    reminder = snap.reminder("hook")
    assert reminder.milestone.timezone == "UTC" and reminder.milestone.tags == ()
    assert reminder.occurrence == datetime(2026, 3, 1, 12, tzinfo=UTC)
