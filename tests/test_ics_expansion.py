"""A standard expander reading the calendar export gives the planner's dates, exactly.

``recurring-ical-events`` expands each exported VEVENT over eight years; the
planner's :func:`occurrences` over the same span must give the same dates (all-day
events) or instants (timed ones). Before, a yearly milestone with ``roll: forward``
exported a plain RRULE from a rolled DTSTART: calendars showed 15 April where
tminus said 17 April 2028, and every later year shifted with the first roll.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import recurring_ical_events
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from scheduler.durations import Duration
from scheduler.ics import to_ics
from scheduler.model import Config, Milestone, MilestoneStatus, Roll
from scheduler.planning import occurrences, resolve

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
FROM = date(2026, 1, 1)
TO = date(2034, 1, 1)
BRU = "Europe/Brussels"
D = Duration.parse
EASTER_MONDAYS = frozenset({date(2027, 3, 29), date(2028, 4, 17), date(2029, 4, 2)})


def _m(mid: str, **fields: Any) -> Milestone:
    fields.setdefault("title", mid)
    fields.setdefault("remind", (D("1d"),))
    return Milestone(id=mid, **fields)


CASES = [
    # the issue's case: 15 April 2028 is a Saturday, rolled to Monday the 17th
    _m("tax", at=date(2027, 4, 15), rrule="FREQ=YEARLY", roll=Roll.FORWARD, timezone=BRU),
    _m("tax-holidays", at=date(2027, 4, 15), rrule="FREQ=YEARLY", roll=Roll.FORWARD,
       timezone=BRU, holidays=EASTER_MONDAYS),
    _m("tax-back", at=date(2027, 4, 15), rrule="FREQ=YEARLY", roll=Roll.BACKWARD),
    _m("review", at=datetime(2027, 4, 15, 9), rrule="FREQ=YEARLY", timezone=BRU),
    _m("rolled-timed", at=datetime(2027, 1, 31, 17, 30), rrule="FREQ=MONTHLY;BYMONTHDAY=-1",
       roll=Roll.FORWARD, timezone="America/New_York"),
    _m("monthly", at=date(2026, 1, 31), rrule="FREQ=MONTHLY"),  # dateutil skips short months
    _m("weekly-from-tuesday", at=date(2026, 12, 1), rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=20"),
    _m("until-utc", at=datetime(2027, 3, 1, 9), rrule="FREQ=WEEKLY;UNTIL=20270601T070000Z",
       timezone=BRU),
    _m("until-date", at=date(2027, 3, 1), rrule="FREQ=DAILY;INTERVAL=10;UNTIL=20280101"),
    _m("dst-night", at=datetime(2027, 3, 1, 2, 30), rrule="FREQ=WEEKLY", timezone=BRU),
    _m("hourly", at=date(2027, 6, 1), rrule="FREQ=HOURLY;INTERVAL=7;COUNT=50", timezone=BRU),
    _m("rolled-weekends", at=date(2026, 1, 3), rrule="FREQ=MONTHLY", roll=Roll.FORWARD,
       weekend=frozenset({4, 5, 6})),
    _m("gone", at=date(2027, 5, 1), rrule="FREQ=YEARLY", roll=Roll.FORWARD,
       status=MilestoneStatus.CANCELLED),
    _m("base", at=date(2027, 2, 28)),
    _m("after-yearly", after="base", offset=D("1 month"), rrule="FREQ=YEARLY", roll=Roll.FORWARD),
]  # fmt: skip


def _expanded(config: Config) -> dict[str, set[Any]]:
    """What the expander yields per milestone: dates (all-day) or UTC instants."""
    cal = Calendar.from_ical(to_ics(config, now=NOW))
    out: dict[str, set[Any]] = {m.id: set() for m in config.milestones}
    for event in recurring_ical_events.of(cal).between(FROM, TO):
        start = event.decoded("DTSTART")
        uid = str(event["UID"]).removesuffix("@tminus")
        out[uid].add(start.astimezone(UTC) if isinstance(start, datetime) else start)
    return out


def _planned(config: Config, mid: str, all_day: bool) -> set[Any]:
    r = resolve(config)[mid]
    zone = r.milestone.zone
    lo = datetime.combine(FROM, datetime.min.time(), zone) - timedelta(days=2)
    hi = datetime.combine(TO, datetime.min.time(), zone) + timedelta(days=2)
    found = {
        o.date() if all_day else o.astimezone(UTC)
        for o in occurrences(r, lo, hi)
        if FROM <= o.date() < TO
    }
    return found


def _assert_agree(config: Config) -> None:
    expanded = _expanded(config)
    cal = Calendar.from_ical(to_ics(config, now=NOW))
    for event in cal.walk("VEVENT"):
        mid = str(event["UID"]).removesuffix("@tminus")
        all_day = not isinstance(event.decoded("DTSTART"), datetime)
        assert expanded[mid] == _planned(config, mid, all_day), mid


@pytest.mark.parametrize("milestone", CASES, ids=[m.id for m in CASES])
def test_expander_yields_the_planners_occurrences(milestone: Milestone) -> None:
    config = Config(milestones=tuple(m for m in CASES if m.id in {milestone.id, "base"}),
                    channels={})  # fmt: skip
    _assert_agree(config)


def test_the_issue_case_shows_17_april_2028_and_15_april_2029() -> None:
    config = Config(milestones=(CASES[0],), channels={})
    days = sorted(_expanded(config)["tax"])
    assert date(2028, 4, 17) in days and date(2028, 4, 15) not in days
    assert date(2029, 4, 16) in days  # the 15th is a Sunday; the 2028 roll did not stick
    assert date(2030, 4, 15) in days


def test_all_day_events_and_cancelled_status() -> None:
    config = Config(milestones=tuple(CASES), channels={})
    cal = Calendar.from_ical(to_ics(config, now=NOW))
    events = {str(e["UID"]).removesuffix("@tminus"): e for e in cal.walk("VEVENT")}
    for mid in ("tax", "monthly", "after-yearly", "gone", "base"):
        assert events[mid]["DTSTART"].params["VALUE"] == "DATE", mid
    for mid in ("review", "rolled-timed", "hourly"):
        assert isinstance(events[mid].decoded("DTSTART"), datetime), mid
    assert str(events["gone"]["STATUS"]) == "CANCELLED"
    assert "RRULE" not in events["tax"] and "RDATE" in events["tax"]
    assert events["review"]["RRULE"].to_ical() == b"FREQ=YEARLY"


@settings(max_examples=40, deadline=None)
@given(
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
    rule=st.sampled_from(["FREQ=YEARLY", "FREQ=MONTHLY", "FREQ=WEEKLY;INTERVAL=3",
                          "FREQ=MONTHLY;BYDAY=1FR", "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25"]),
    roll=st.sampled_from(list(Roll)),
    hour=st.one_of(st.none(), st.integers(min_value=0, max_value=23)),
    holidays=st.frozensets(st.dates(min_value=date(2026, 1, 1), max_value=date(2033, 12, 31)),
                           max_size=20),
)  # fmt: skip
def test_any_yearly_monthly_or_weekly_rule_agrees(
    start: date, rule: str, roll: Roll, hour: int | None, holidays: frozenset[date]
) -> None:
    at = start if hour is None else datetime(start.year, start.month, start.day, hour)
    m = _m("p", at=at, rrule=rule, roll=roll, holidays=holidays, timezone=BRU)
    _assert_agree(Config(milestones=(m,), channels={}))
