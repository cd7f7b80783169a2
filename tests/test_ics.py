"""The iCalendar export, parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from scheduler.durations import Duration
from scheduler.ics import to_ics
from scheduler.model import Config, Milestone, MilestoneStatus

D = Duration.parse
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BRU = "Europe/Brussels"


def config() -> Config:
    return Config(
        milestones=(
            Milestone(
                id="us-notice",
                title="U.S. gives notice of withdrawal",
                timezone=BRU,
                at=date(2019, 2, 2),
                remind=(D("30d"), D("7d"), D("1d"), D("0")),
                tags=("inf", "usa"),
                description="Six months' notice, Article XV.",
            ),
            Milestone(
                id="withdrawal-effective",
                title="INF Treaty withdrawal takes effect",
                timezone=BRU,
                after="us-notice",
                offset=D("6 months"),
                remind=(D("1 month"), D("36h"), D("-2h")),
                links=("https://example.org/inf", "https://example.org/other"),
            ),
            Milestone(
                id="talks",
                title="Talks",
                timezone=BRU,
                at=datetime(2019, 6, 26, 9),
                until=date(2019, 6, 27),
            ),
            Milestone(id="anniversary", title="Anniversary", at=date(2020, 8, 2),
                      rrule="FREQ=YEARLY", remind=(D("7d"), D("0"))),
            Milestone(id="gone", title="Cancelled one", at=date(2019, 5, 1),
                      status=MilestoneStatus.CANCELLED),
        ),
        channels={},
    )  # fmt: skip


def events() -> dict[str, Any]:
    cal = Calendar.from_ical(to_ics(config(), now=NOW))
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_one_event_per_milestone_with_stable_uids() -> None:
    evs = events()
    assert sorted(evs) == sorted(f"{m.id}@tminus" for m in config().milestones)
    assert to_ics(config(), now=NOW) == to_ics(config(), now=NOW)


def test_event_fields() -> None:
    ev = events()["us-notice@tminus"]
    assert ev["SUMMARY"] == "U.S. gives notice of withdrawal"
    assert ev["DESCRIPTION"] == "Six months' notice, Article XV."
    # a date-only milestone is an all-day event (this asserted a 00:00 DATE-TIME: the bug)
    assert ev.decoded("DTSTART") == date(2019, 2, 2)
    assert ev["DTSTART"].params["VALUE"] == "DATE"
    assert ev.decoded("DTSTAMP") == NOW
    assert ev["CATEGORIES"].cats == ["inf", "usa"]
    assert "DTEND" not in ev
    we = events()["withdrawal-effective@tminus"]
    assert we.decoded("DTSTART") == date(2019, 8, 2)  # a date + 6 months: a date too
    assert str(we["URL"]) == "https://example.org/inf"


def test_vtimezone_present() -> None:
    cal = Calendar.from_ical(to_ics(config(), now=NOW))
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == [BRU]


@pytest.mark.parametrize(
    ("uid", "triggers"),
    [
        ("us-notice", [timedelta(days=-30), timedelta(days=-7), timedelta(days=-1), timedelta(0)]),
        # 1 month cannot be a DURATION: absolute UTC time; 36h and -2h stay relative
        (
            "withdrawal-effective",
            [datetime(2019, 7, 1, 22, 0, tzinfo=UTC), timedelta(hours=-36), timedelta(hours=2)],
        ),
        ("anniversary", [timedelta(days=-7), timedelta(0)]),
        ("gone", []),
    ],
)
def test_one_alarm_per_reminder(uid: str, triggers: list[object]) -> None:
    ev = events()[f"{uid}@tminus"]
    alarms = ev.walk("VALARM")
    assert [a.decoded("TRIGGER") for a in alarms] == triggers
    assert all(str(a["ACTION"]) == "DISPLAY" for a in alarms)
    for a in alarms:
        if isinstance(a.decoded("TRIGGER"), datetime):
            assert a["TRIGGER"].params["VALUE"] == "DATE-TIME"
    labels = [str(a["DESCRIPTION"]) for a in alarms]
    assert all(label.endswith(("before", "after", "moment")) for label in labels)


def test_rrule_dtend_and_status() -> None:
    evs = events()
    assert evs["anniversary@tminus"]["RRULE"].to_ical() == b"FREQ=YEARLY"
    talks = evs["talks@tminus"]
    assert talks.decoded("DTEND") == datetime(2019, 6, 28, tzinfo=ZoneInfo(BRU))
    assert str(evs["gone@tminus"]["STATUS"]) == "CANCELLED"


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        to_ics(config(), now=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("rrule", "expected"),
    [
        ("RRULE:FREQ=YEARLY", b"FREQ=YEARLY"),
        ("FREQ=DAILY\nEXDATE:20200101T000000", None),
        ("FREQ=DAILY;UNTIL=2023-01-01", None),
        ("RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY", None),
    ],
)
def test_rrule_is_written_once_or_left_out_never_a_crash(
    rrule: str, expected: bytes | None
) -> None:
    m = Milestone(id="r", title="R", at=date(2020, 8, 2), rrule=rrule, remind=(D("0"),))
    data = to_ics(Config(milestones=(m,), channels={}), now=NOW)
    (ev,) = Calendar.from_ical(data).walk("VEVENT")
    assert b"RRULE:RRULE" not in data
    if expected is None:
        assert "RRULE" not in ev
        assert "not exported" in str(ev["COMMENT"])
    else:
        assert ev["RRULE"].to_ical() == expected
