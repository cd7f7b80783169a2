"""The generic webhook body, exactly as SPEC shows it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from scheduler.render import alert_type, webhook_body
from tests.support.alerts import make_alert


def test_spec_example() -> None:
    alert = make_alert()
    assert webhook_body(alert) == {
        "type": "reminder.due",
        "delivery_id": alert.delivery_id,
        "milestone": {
            "id": "withdrawal-effective",
            "title": "INF Treaty withdrawal takes effect",
            "at": "2019-08-02T00:00:00+02:00",
            "timezone": "Europe/Brussels",
            "description": "Article XV — six months after notice.",
            "tags": ["inf", "usa"],
            "links": ["https://example.org/inf"],
        },
        "reminder": {
            "offset": "P7D",
            "label": "7 days before",
            "due_at": "2019-07-26T00:00:00+02:00",
        },
        "sent_at": "2019-07-26T00:00:00.012+02:00",
        "late": False,
        "attempt": 1,
    }
    assert alert.delivery_id.startswith("msg_")


def test_milestone_reached_at_offset_zero() -> None:
    body = webhook_body(make_alert(offset="0", zone="Asia/Kolkata", at=(2019, 8, 2, 9, 30)))
    assert body["type"] == "milestone.reached"
    assert body["milestone"]["at"] == "2019-08-02T09:30:00+05:30"
    assert body["reminder"] == {
        "offset": "PT0S",
        "label": "at the moment",
        "due_at": "2019-08-02T09:30:00+05:30",
    }


def test_late_hours_offset_in_new_york() -> None:
    alert = make_alert(
        offset="36h", zone="America/New_York", late_by=timedelta(minutes=30), attempt=3
    )
    body = webhook_body(alert)
    assert body["type"] == "reminder.due" == alert_type(alert)
    assert body["reminder"]["offset"] == "PT36H"
    assert body["reminder"]["due_at"] == "2019-07-31T12:00:00-04:00"
    assert body["sent_at"] == "2019-07-31T12:30:00.000-04:00"
    assert body["late"] is True
    assert body["attempt"] == 3


def test_after_the_moment_is_still_a_reminder() -> None:
    body = webhook_body(make_alert(offset="-2h"))
    assert body["type"] == "reminder.due"
    assert body["reminder"]["offset"] == "-PT2H"
    assert body["reminder"]["label"] == "2 hours after"


def test_hostile_title_is_carried_verbatim_and_serializes() -> None:
    title = '<!channel> & "quotes" \u202e💥' + "x" * 10_000
    body = webhook_body(make_alert(title=title))
    assert body["milestone"]["title"] == title
    assert json.loads(json.dumps(body))["milestone"]["title"] == title


@pytest.mark.parametrize(
    ("at", "offset", "milestone_at", "due_at"),
    [
        # Issue 13: due 20:15:11.96, the body said 20:15:11.
        ((2019, 8, 2, 20, 15, 21, 960000), "10s", "2019-08-02T20:15:21.960+02:00",
         "2019-08-02T20:15:11.960+02:00"),
        ((2019, 8, 2, 20, 15, 21, 123456), "0", "2019-08-02T20:15:21.123456+02:00",
         "2019-08-02T20:15:21.123456+02:00"),
        ((2019, 8, 2, 20, 15, 21), "1h", "2019-08-02T20:15:21+02:00",
         "2019-08-02T19:15:21+02:00"),
    ],
)  # fmt: skip
def test_instants_are_exact(
    at: tuple[int, ...], offset: str, milestone_at: str, due_at: str
) -> None:
    body = webhook_body(make_alert(at=at, offset=offset))
    assert body["milestone"]["at"] == milestone_at
    assert body["reminder"]["due_at"] == due_at
    assert (
        datetime.fromisoformat(body["reminder"]["due_at"])
        == make_alert(at=at, offset=offset).reminder.due_at
    )
