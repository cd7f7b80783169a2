"""Planning tables: dates, chains, DST, recurrence, business days, windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.durations import Duration
from scheduler.errors import NotFoundError
from scheduler.model import Config, Milestone, MilestoneStatus, Roll
from scheduler.planning import Resolved, explain, next_occurrences, plan, resolve

BRU = "Europe/Brussels"
NY = "America/New_York"
D = Duration.parse


def cfg(*milestones: Milestone) -> Config:
    return Config(milestones=milestones, channels={})


def ms(mid: str = "m", **kw: object) -> Milestone:
    kw.setdefault("title", mid.title())
    return Milestone(id=mid, **kw)  # type: ignore[arg-type]


def at_of(*milestones: Milestone, key: str | None = None) -> Resolved:
    resolved = resolve(cfg(*milestones))
    return resolved[key or milestones[-1].id]


def aware(zone: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


UTC0 = datetime(1970, 1, 1, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)


# -- resolving `at` ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("zone", "at", "expected", "offset"),
    [
        (BRU, date(2019, 2, 2), "2019-02-02T00:00:00", "+01:00"),
        (BRU, date(2019, 8, 2), "2019-08-02T00:00:00", "+02:00"),
        (NY, datetime(2019, 7, 4, 9, 30), "2019-07-04T09:30:00", "-04:00"),
        ("UTC", date(2020, 2, 29), "2020-02-29T00:00:00", "+00:00"),
        # aware datetimes are converted to the milestone's zone
        (BRU, datetime(2019, 2, 1, 23, 0, tzinfo=UTC), "2019-02-02T00:00:00", "+01:00"),
        (NY, datetime(2019, 2, 2, tzinfo=ZoneInfo(BRU)), "2019-02-01T18:00:00", "-05:00"),
    ],
)
def test_at_forms(zone: str, at: date | datetime, expected: str, offset: str) -> None:
    r = at_of(ms(timezone=zone, at=at))
    assert r.at.isoformat() == expected + offset
    assert r.at.tzinfo == ZoneInfo(zone)


@pytest.mark.parametrize(
    ("zone", "wall", "expected", "note"),
    [
        # gaps: moved forward by the gap's length
        (BRU, datetime(2019, 3, 31, 2, 30), "2019-03-31T03:30:00+02:00", "does not exist"),
        (NY, datetime(2019, 3, 10, 2, 15), "2019-03-10T03:15:00-04:00", "does not exist"),
        # folds: the first (earlier) instant
        (BRU, datetime(2019, 10, 27, 2, 30), "2019-10-27T02:30:00+02:00", "happens twice"),
        (NY, datetime(2019, 11, 3, 1, 30), "2019-11-03T01:30:00-04:00", "happens twice"),
        # an ordinary time near a change is left alone, without a note
        (BRU, datetime(2019, 3, 31, 1, 59), "2019-03-31T01:59:00+01:00", None),
        (NY, datetime(2019, 11, 3, 2, 0), "2019-11-03T02:00:00-05:00", None),
    ],
)
def test_dst_gap_and_fold(zone: str, wall: datetime, expected: str, note: str | None) -> None:
    r = at_of(ms(timezone=zone, at=wall))
    assert r.at.isoformat() == expected
    notes = [s for s in r.steps if "clocks go" in s]
    if note is None:
        assert notes == []
    else:
        assert len(notes) == 1 and note in notes[0]


# -- offsets and after chains ----------------------------------------------------------
@pytest.mark.parametrize(
    ("zone", "base", "offset", "expected"),
    [
        ("UTC", date(2019, 8, 31), "6 months", "2020-02-29T00:00:00+00:00"),  # clamped, leap
        ("UTC", date(2018, 8, 31), "6 months", "2019-02-28T00:00:00+00:00"),  # clamped
        ("UTC", date(2020, 2, 29), "1 year", "2021-02-28T00:00:00+00:00"),
        ("UTC", date(2020, 2, 29), "4 years", "2024-02-29T00:00:00+00:00"),
        ("UTC", date(2020, 1, 31), "1 month", "2020-02-29T00:00:00+00:00"),
        (BRU, date(2019, 2, 2), "6 months", "2019-08-02T00:00:00+02:00"),  # CET -> CEST
        (BRU, datetime(2019, 3, 30, 12), "1d", "2019-03-31T12:00:00+02:00"),  # wall-clock day
        (BRU, datetime(2019, 3, 30, 12), "24h", "2019-03-31T13:00:00+02:00"),  # exact hours
        (BRU, date(2027, 1, 1), "-90d", "2026-10-03T00:00:00+02:00"),  # negative
        (NY, datetime(2019, 3, 9, 2, 30), "1d", "2019-03-10T03:30:00-04:00"),  # lands in gap
        (NY, date(2019, 2, 2), "P6M", "2019-08-02T00:00:00-04:00"),
    ],
)
def test_after_offsets(zone: str, base: date, offset: str, expected: str) -> None:
    r = at_of(
        ms("base", timezone=zone, at=base),
        ms("dep", timezone=zone, after="base", offset=D(offset)),
    )
    assert r.at.isoformat() == expected


def test_after_step_reads_like_the_spec() -> None:
    r = at_of(
        ms("us-notice", timezone=BRU, at=date(2019, 2, 2)),
        ms("withdrawal-effective", timezone=BRU, after="us-notice", offset=D("6 months")),
    )
    assert "us-notice 2019-02-02 + 6 months = 2019-08-02" in r.steps
    assert r.steps[-1] == "withdrawal-effective 2019-08-02 00:00 CEST (Europe/Brussels)"


def test_after_in_another_zone_keeps_the_instant_then_uses_its_own_calendar() -> None:
    # 2019-02-02 00:00 Brussels is 2019-02-01 18:00 in New York; + 1 month there.
    r = at_of(
        ms("base", timezone=BRU, at=date(2019, 2, 2)),
        ms("dep", timezone=NY, after="base", offset=D("1 month")),
    )
    assert r.at.isoformat() == "2019-03-01T18:00:00-05:00"
    assert any("is 2019-02-01 18:00 EST (America/New_York)" in s for s in r.steps)


def test_chain_in_any_order_and_deep() -> None:
    depth = 5000
    chain = [ms(f"m{i}", after=f"m{i - 1}", offset=D("1h")) for i in range(depth, 0, -1)]
    chain.append(ms("m0", at=datetime(2030, 1, 1)))
    resolved = resolve(cfg(*chain))  # dependents listed before their bases
    assert len(resolved) == depth + 1
    assert resolved[f"m{depth}"].at == datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=depth)
    assert resolved["m1"].at.isoformat() == "2030-01-01T01:00:00+00:00"


@pytest.mark.parametrize(
    "milestones",
    [
        (ms("a", after="b"), ms("b", after="a")),
        (ms("a", after="a"),),
        (ms("a", after="nowhere"),),
        (ms("a"),),  # neither at nor after
    ],
)
def test_defensive_errors(milestones: tuple[Milestone, ...]) -> None:
    with pytest.raises(ValueError):
        resolve(cfg(*milestones))


# -- business days ---------------------------------------------------------------------
XMAS = frozenset({date(2019, 12, 25), date(2019, 12, 26)})


@pytest.mark.parametrize(
    ("at", "roll", "holidays", "weekend", "expected"),
    [
        (date(2019, 8, 3), Roll.FORWARD, frozenset(), frozenset({5, 6}), date(2019, 8, 5)),
        (date(2019, 8, 3), Roll.BACKWARD, frozenset(), frozenset({5, 6}), date(2019, 8, 2)),
        (date(2019, 8, 3), Roll.NONE, frozenset(), frozenset({5, 6}), date(2019, 8, 3)),
        (date(2019, 8, 5), Roll.FORWARD, frozenset(), frozenset({5, 6}), date(2019, 8, 5)),
        (date(2019, 12, 25), Roll.FORWARD, XMAS, frozenset({5, 6}), date(2019, 12, 27)),
        (date(2019, 12, 26), Roll.BACKWARD, XMAS, frozenset({5, 6}), date(2019, 12, 24)),
        # holiday Friday then the weekend
        (date(2019, 12, 27), Roll.FORWARD, frozenset({date(2019, 12, 27)}), frozenset({5, 6}),
         date(2019, 12, 30)),
        # Friday-Saturday weekend
        (date(2019, 8, 2), Roll.FORWARD, frozenset(), frozenset({4, 5}), date(2019, 8, 4)),
        (date(2019, 8, 3), Roll.BACKWARD, frozenset(), frozenset({4, 5}), date(2019, 8, 1)),
    ],
)  # fmt: skip
def test_roll(
    at: date, roll: Roll, holidays: frozenset[date], weekend: frozenset[int], expected: date
) -> None:
    r = at_of(ms(timezone=BRU, at=at, roll=roll, holidays=holidays, weekend=weekend))
    assert r.at.date() == expected
    assert r.at.time().hour == 0
    assert any("rolled" in s for s in r.steps) == (expected != at)


def test_roll_applies_after_the_offset_and_dependents_see_it() -> None:
    resolved = resolve(
        cfg(
            ms("base", at=date(2019, 2, 2)),  # a Saturday, not rolled itself
            ms("dep", after="base", offset=Duration(months=6, days=1),
               roll=Roll.FORWARD),
            ms("next", after="dep", offset=D("1d")),
        )
    )  # fmt: skip
    assert resolved["base"].at.date() == date(2019, 2, 2)
    assert resolved["dep"].at.date() == date(2019, 8, 5)
    assert "2019-08-03 is a Saturday: rolled forward to 2019-08-05" in resolved["dep"].steps
    assert resolved["next"].at.date() == date(2019, 8, 6)


# -- recurrence -------------------------------------------------------------------------
def _occ(m: Milestone, start: datetime, end: datetime) -> list[str]:
    reminders = plan(cfg(m), start, end)
    return [r.occurrence.isoformat() for r in reminders]


@pytest.mark.parametrize(
    ("milestone", "start", "end", "expected"),
    [
        (
            ms(timezone=BRU, at=datetime(2027, 4, 15, 9), rrule="FREQ=YEARLY"),
            aware(BRU, 2030, 1, 1),
            aware(BRU, 2032, 1, 1),
            ["2030-04-15T09:00:00+02:00", "2031-04-15T09:00:00+02:00"],
        ),
        (  # monthly from 31 Jan skips months without a 31st
            ms(at=date(2019, 1, 31), rrule="FREQ=MONTHLY"),
            aware("UTC", 2019, 1, 1),
            aware("UTC", 2019, 8, 1),
            [f"2019-{mo:02d}-31T00:00:00+00:00" for mo in (1, 3, 5, 7)],
        ),
        (  # COUNT ends it
            ms(at=date(2019, 1, 1), rrule="FREQ=DAILY;COUNT=3"),
            aware("UTC", 2018, 1, 1),
            aware("UTC", 2030, 1, 1),
            ["2019-01-01T00:00:00+00:00", "2019-01-02T00:00:00+00:00", "2019-01-03T00:00:00+00:00"],
        ),
        (  # UNTIL in UTC next to a local start
            ms(timezone=BRU, at=datetime(2019, 1, 1, 9), rrule="FREQ=DAILY;UNTIL=20190102T080000Z"),
            aware("UTC", 2018, 1, 1),
            aware("UTC", 2030, 1, 1),
            ["2019-01-01T09:00:00+01:00", "2019-01-02T09:00:00+01:00"],
        ),
        (  # weekly at 02:30 across the spring-forward night: only that one moves
            ms(timezone=BRU, at=datetime(2019, 3, 24, 2, 30), rrule="FREQ=WEEKLY;COUNT=3"),
            aware("UTC", 2019, 1, 1),
            aware("UTC", 2020, 1, 1),
            ["2019-03-24T02:30:00+01:00", "2019-03-31T03:30:00+02:00", "2019-04-07T02:30:00+02:00"],
        ),
        (  # yearly on 2 Aug, rolled forward off weekends (2020-08-02 is a Sunday)
            ms(at=date(2019, 8, 2), rrule="FREQ=YEARLY", roll=Roll.FORWARD),
            aware("UTC", 2020, 1, 1),
            aware("UTC", 2022, 1, 1),
            ["2020-08-03T00:00:00+00:00", "2021-08-02T00:00:00+00:00"],
        ),
    ],
)
def test_rrule_windows(
    milestone: Milestone, start: datetime, end: datetime, expected: list[str]
) -> None:
    assert _occ(milestone, start, end) == expected


def test_infinite_rrule_far_window_is_lazy_and_bounded() -> None:
    m = ms(at=datetime(2019, 1, 1, 9), rrule="FREQ=DAILY", remind=(D("1d"), D("0")))
    reminders = plan(cfg(m), aware("UTC", 2040, 1, 1), aware("UTC", 2040, 1, 8))
    assert len(reminders) == 14
    assert reminders[0].due_at.isoformat() == "2040-01-01T09:00:00+00:00"


def test_rrule_window_respects_offsets_on_both_sides() -> None:
    # Occurrence on 1 Feb; a 30-day reminder is due on 2 Jan, a -2d one on 3 Feb.
    m = ms(at=date(2019, 2, 1), rrule="FREQ=YEARLY", remind=(D("30d"), D("-2d")))
    jan = plan(cfg(m), aware("UTC", 2025, 1, 1), aware("UTC", 2025, 1, 31))
    assert [(r.label, r.occurrence.date()) for r in jan] == [("30 days before", date(2025, 2, 1))]
    feb = plan(cfg(m), aware("UTC", 2025, 2, 2), aware("UTC", 2025, 2, 28))
    assert [(r.label, r.due_at.date()) for r in feb] == [("2 days after", date(2025, 2, 3))]


def test_next_occurrences() -> None:
    r = at_of(ms(at=date(2020, 8, 2), rrule="FREQ=YEARLY"))
    got = next_occurrences(r, aware("UTC", 2026, 11, 27), 3)
    assert [o.year for o in got] == [2027, 2028, 2029]
    plain = at_of(ms(at=date(2020, 8, 2)))
    assert next_occurrences(plain, aware("UTC", 2026, 1, 1), 3) == []


# -- plan --------------------------------------------------------------------------------
def test_window_is_half_open_and_sorted() -> None:
    m1 = ms("b", at=datetime(2030, 1, 10), remind=(D("7d"), D("1d"), D("0")))
    m2 = ms("a", at=datetime(2030, 1, 10), remind=(D("0"), D("9d")))
    got = plan(cfg(m1, m2), aware("UTC", 2030, 1, 3), aware("UTC", 2030, 1, 10))
    assert [(r.milestone.id, r.label) for r in got] == [
        ("b", "7 days before"),
        ("b", "1 day before"),
    ]
    got = plan(cfg(m1, m2), aware("UTC", 2030, 1, 1), aware("UTC", 2030, 1, 10, 0, 0, 1))
    assert [(r.milestone.id, r.label) for r in got] == [
        ("a", "9 days before"),
        ("b", "7 days before"),
        ("b", "1 day before"),
        ("a", "at the moment"),  # same due_at: milestone id, then offset order
        ("b", "at the moment"),
    ]


def test_negative_offsets_come_after_the_moment() -> None:
    m = ms(timezone=BRU, at=datetime(2030, 5, 1, 12), remind=(D("-2h"), D("0"), D("-1d")))
    got = plan(cfg(m), UTC0, FAR)
    assert [r.due_at.isoformat() for r in got] == [
        "2030-05-01T12:00:00+02:00",
        "2030-05-01T14:00:00+02:00",
        "2030-05-02T12:00:00+02:00",
    ]


@pytest.mark.parametrize("status", [MilestoneStatus.CANCELLED, MilestoneStatus.DONE])
def test_inactive_milestones_plan_nothing(status: MilestoneStatus) -> None:
    m = ms(at=date(2030, 1, 1), status=status, rrule="FREQ=DAILY")
    dep = ms("dep", after="m", offset=D("1d"))
    got = plan(cfg(m, dep), UTC0, FAR)
    assert [r.milestone.id for r in got] == ["dep"]  # dependents still resolve


def test_reminder_fields_and_ids() -> None:
    m = ms(timezone=BRU, at=date(2019, 8, 2), remind=(D("7d"), D("0")), notify=("x", "y"))
    got = plan(cfg(m), UTC0, FAR)
    assert got[0].due_at.isoformat() == "2019-07-26T00:00:00+02:00"
    assert got[0].occurrence.isoformat() == "2019-08-02T00:00:00+02:00"
    assert got[0].channels == ("x", "y")
    again = plan(cfg(m), UTC0, FAR)
    assert [r.id for r in got] == [r.id for r in again]
    assert len({r.id for r in got}) == 2
    moved = plan(cfg(ms(timezone=BRU, at=date(2019, 8, 3), remind=m.remind)), UTC0, FAR)
    assert not {r.id for r in got} & {r.id for r in moved}


def test_months_offsets_in_reminders() -> None:
    m = ms(at=date(2020, 3, 31), remind=(D("1 month"), D("1 year")))
    got = plan(cfg(m), UTC0, FAR)
    assert [r.due_at.date() for r in got] == [date(2019, 3, 31), date(2020, 2, 29)]


def test_plan_rejects_naive_bounds() -> None:
    with pytest.raises(ValueError):
        plan(cfg(), datetime(2020, 1, 1), FAR)


# -- explain -----------------------------------------------------------------------------
def test_explain_chain_and_reminders() -> None:
    c = cfg(
        ms("us-notice", timezone=BRU, at=date(2019, 2, 2)),
        ms("withdrawal-effective", timezone=BRU, after="us-notice", offset=D("6 months"),
           remind=(D("30d"), D("0"))),
    )  # fmt: skip
    e = explain(c, "withdrawal-effective")
    assert e.steps[0] == "us-notice 2019-02-02 00:00 CET (Europe/Brussels)"
    assert "us-notice 2019-02-02 + 6 months = 2019-08-02" in e.steps
    assert e.at.isoformat() == "2019-08-02T00:00:00+02:00"
    assert [r.due_at.date() for r in e.reminders] == [date(2019, 7, 3), date(2019, 8, 2)]


def test_explain_unknown_suggests() -> None:
    c = cfg(ms("withdrawal-effective", at=date(2019, 8, 2)))
    with pytest.raises(NotFoundError, match="did you mean 'withdrawal-effective'"):
        explain(c, "withdrawl-effective")
    with pytest.raises(NotFoundError, match=r"no milestone 'zzz'$"):
        explain(c, "zzz")


def test_explain_recurring_lists_next_occurrences() -> None:
    c = cfg(ms(at=date(2020, 8, 2), rrule="FREQ=YEARLY"))
    e = explain(c, "m", now=aware("UTC", 2026, 11, 27), count=2)
    assert [o.year for o in e.occurrences] == [2027, 2028]
    assert e.reminders[0].occurrence.year == 2027
