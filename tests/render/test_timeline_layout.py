"""What the timeline shows: tick states, windows, rows and groups, the axis, cut titles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.durations import Duration
from scheduler.model import Config, Milestone, MilestoneStatus
from scheduler.planning import resolve
from scheduler.render import timeline_layout as tl
from scheduler.render.timeline_states import Stored, TickState, tick_state

NOW = datetime(2019, 7, 4, 12, 0, tzinfo=UTC)
AHEAD = NOW + timedelta(days=1)
BEHIND = NOW - timedelta(days=1)
BRUSSELS = ZoneInfo("Europe/Brussels")
S = Stored


@pytest.mark.parametrize(
    ("stored", "due_at", "expected"),
    [
        ([S("sent")], BEHIND, TickState.SENT),
        ([S("scheduled")], AHEAD, TickState.DUE),
        ([S("sending")], NOW, TickState.DUE),
        ([S("held")], AHEAD, TickState.HELD),
        ([S("cancelled", "moved")], AHEAD, TickState.CANCELLED),
        ([S("cancelled", "acknowledged")], AHEAD, TickState.ACKNOWLEDGED),
        ([S("retrying")], BEHIND, TickState.RETRYING),
        ([S("dead", "client_error")], BEHIND, TickState.DEAD),
        ([S("skipped")], BEHIND, TickState.SKIPPED),
        # No stored row: planned beyond the stored horizon, or passed unrecorded.
        ([None], AHEAD, TickState.DUE),
        ([None], BEHIND, TickState.NOT_RECORDED),
        ([], AHEAD, TickState.DUE),
        ([], BEHIND, TickState.NOT_RECORDED),
        # Channels that disagree: the one that needs a person wins.
        ([S("sent"), S("dead")], BEHIND, TickState.DEAD),
        ([S("sent"), S("retrying")], BEHIND, TickState.RETRYING),
        ([S("sent"), S("held")], BEHIND, TickState.HELD),
        ([S("sent"), None], BEHIND, TickState.SENT),
        ([S("sent"), None], AHEAD, TickState.DUE),
        ([S("cancelled", "acknowledged"), S("sent")], BEHIND, TickState.SENT),
        ([S("cancelled", "acknowledged"), S("cancelled", "moved")], AHEAD, TickState.ACKNOWLEDGED),
        ([S("skipped"), S("cancelled", "removed")], BEHIND, TickState.CANCELLED),
        # A status this version does not know yet is drawn as due, never an error.
        ([S("paused")], AHEAD, TickState.DUE),
    ],
)
def test_tick_state(stored: list[Stored | None], due_at: datetime, expected: TickState) -> None:
    assert tick_state(stored, due_at=due_at, now=NOW) is expected


@pytest.mark.parametrize(
    ("now", "months", "start", "end"),
    [
        (
            datetime(2019, 7, 1, tzinfo=UTC),
            6,
            datetime(2019, 7, 1, tzinfo=UTC) - timedelta(days=184) / 6,
            datetime(2020, 1, 1, tzinfo=UTC),
        ),
        (
            datetime(2019, 8, 31, tzinfo=UTC),
            6,
            datetime(2019, 8, 31, tzinfo=UTC) - timedelta(days=182) / 6,
            datetime(2020, 2, 29, tzinfo=UTC),  # calendar months clamp to the month's end
        ),
        (
            datetime(2019, 1, 1, tzinfo=UTC),
            1,
            datetime(2019, 1, 1, tzinfo=UTC) - timedelta(days=31) / 6,
            datetime(2019, 2, 1, tzinfo=UTC),
        ),
    ],
)
def test_window_ahead(now: datetime, months: int, start: datetime, end: datetime) -> None:
    assert tl.window_ahead(now, months) == (start, end)


@pytest.mark.parametrize(
    ("start", "end", "labels"),
    [
        # Half a year: one mark per month, the year on the first and on January.
        (
            datetime(2019, 6, 4, tzinfo=UTC),
            datetime(2020, 1, 4, tzinfo=UTC),
            ["Jul 2019", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan 2020"],
        ),
        # Under two years: quarters.
        (
            datetime(2019, 2, 10, tzinfo=UTC),
            datetime(2020, 12, 10, tzinfo=UTC),
            ["Apr 2019", "Jul", "Oct", "Jan 2020", "Apr", "Jul", "Oct"],
        ),
        # Two years: half years.
        (
            datetime(2019, 2, 10, tzinfo=UTC),
            datetime(2021, 2, 10, tzinfo=UTC),
            ["Jul 2019", "Jan 2020", "Jul", "Jan 2021"],
        ),
        # A week: one mark per local midnight.
        (
            datetime(2019, 7, 1, 12, tzinfo=UTC),
            datetime(2019, 7, 6, 12, tzinfo=UTC),
            ["2 Jul", "3 Jul", "4 Jul", "5 Jul", "6 Jul"],
        ),
        # A month: Mondays.
        (
            datetime(2019, 7, 1, 12, tzinfo=UTC),
            datetime(2019, 8, 1, tzinfo=UTC),
            ["8 Jul", "15 Jul", "22 Jul", "29 Jul"],
        ),
        # Decades: years.
        (
            datetime(2001, 6, 1, tzinfo=UTC),
            datetime(2008, 6, 1, tzinfo=UTC),
            ["2002", "2003", "2004", "2005", "2006", "2007", "2008"],
        ),
        (
            datetime(2001, 6, 1, tzinfo=UTC),
            datetime(2009, 6, 1, tzinfo=UTC),
            ["2002", "2004", "2006", "2008"],
        ),
    ],
)
def test_axis_marks(start: datetime, end: datetime, labels: list[str]) -> None:
    marks = tl.axis_marks(start, end, BRUSSELS)
    assert [label for _, label in marks] == labels
    assert len(marks) <= tl.MAX_AXIS_MARKS
    for moment, _ in marks:
        assert start <= moment <= end
        local = moment.astimezone(BRUSSELS)
        assert (local.hour, local.minute) == (0, 0)  # local midnight, DST or not


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("eleven char", 10, "eleven ch…"),
        ("cut at a space", 8, "cut at…"),
        ("a  lot\nof   space", 20, "a lot of space"),
        ("word ", 3, "wo…"),
        ("anything", 0, ""),
        ("anything", 1, "…"),
        # Wide characters count twice, so a Japanese title is cut as early as it must be.
        ("条約の撤退が発効する", 10, "条約の撤…"),
        ("条約の撤退が発効する", 20, "条約の撤退が発効する"),
        ("INF 条約", 6, "INF…"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert tl.truncate(text, limit) == expected
    assert tl.text_width(tl.truncate(text, limit)) <= max(limit, 0)


def _m(mid: str, at: datetime | None = None, **kw: object) -> Milestone:
    return Milestone(id=mid, title=mid.title(), at=at, **kw)  # type: ignore[arg-type]


def _config(*milestones: Milestone) -> Config:
    return Config(milestones=milestones, channels={})


def test_occurrences_in_the_window_soonest_first_with_their_chain() -> None:
    config = _config(
        _m("late", NOW + timedelta(days=20)),
        _m("base", NOW - timedelta(days=5), remind=(Duration.parse("7d"), Duration())),
        _m("dep", after="base", offset=Duration.parse("10d")),
        _m("outside", NOW + timedelta(days=400)),
        _m("weekly", NOW + timedelta(hours=1), rrule="FREQ=WEEKLY"),
    )
    resolved = resolve(config)
    occs = tl.occurrences_in(resolved, NOW - timedelta(days=10), NOW + timedelta(days=30))
    assert [o.milestone.id for o in occs] == [
        "base",
        "weekly",
        "dep",
        "weekly",
        "weekly",
        "late",
        "weekly",
        "weekly",
    ]
    dep = next(o for o in occs if o.milestone.id == "dep")
    assert dep.base == ("base", resolved["base"].at)
    assert all(o.base is None for o in occs if o.milestone.id != "dep")
    base = occs[0]
    assert [r.label for r in base.ladder()] == ["7 days before", "at the moment"]


def test_a_daily_milestone_is_capped() -> None:
    config = _config(_m("daily", NOW, rrule="FREQ=DAILY"))
    occs = tl.occurrences_in(resolve(config), NOW, NOW + timedelta(days=365))
    assert len(occs) == tl.MAX_OCCURRENCES


def test_inactive_milestones_have_no_ladder() -> None:
    done = tl.Occurrence(_m("done", NOW, status=MilestoneStatus.DONE), NOW)
    assert done.ladder() == ()


def test_one_row_per_milestone_up_to_the_cap() -> None:
    occs = [
        tl.Occurrence(_m(f"m{i}", NOW + timedelta(days=i)), NOW + timedelta(days=i))
        for i in range(tl.MAX_ROWS)
    ]
    layout = tl.lay_out(occs, start=NOW, end=NOW + timedelta(days=30), now=NOW, zone=UTC)
    assert [r.key for r in layout.rows] == [f"m{i}" for i in range(tl.MAX_ROWS)]
    assert not any(r.grouped for r in layout.rows)
    assert layout.hidden == 0


def test_many_milestones_are_grouped_by_tag_and_the_rest_counted() -> None:
    occs = []
    for i in range(tl.MAX_ROWS + 3):  # 3 share a tag, 12 have one each: 13 groups, and "bare"
        tags = ("inf",) if i < 3 else (f"t{i}",)
        at = NOW + timedelta(days=i)
        occs.append(tl.Occurrence(_m(f"m{i}", tags=tags), at))
    occs.append(tl.Occurrence(_m("bare"), NOW + timedelta(days=40)))
    layout = tl.lay_out(occs, start=NOW, end=NOW + timedelta(days=60), now=NOW, zone=UTC)
    assert all(r.grouped for r in layout.rows)
    assert len(layout.rows) == tl.MAX_ROWS
    assert layout.rows[0].key == "tag:inf"
    assert layout.rows[0].label == "#inf · 3 milestones"
    assert [o.milestone.id for o in layout.rows[0].occurrences] == ["m0", "m1", "m2"]
    # The soonest 12 groups are inf and t3..t13: t14 and the untagged "bare" are counted.
    shown = {o.milestone.id for r in layout.rows for o in r.occurrences}
    assert shown == {f"m{i}" for i in range(tl.MAX_ROWS + 2)}
    assert layout.hidden == 2


def test_a_big_group_draws_its_soonest_milestones() -> None:
    occs = [
        tl.Occurrence(_m(f"m{i:03}", tags=("ops",)), NOW + timedelta(hours=i))
        for i in range(tl.MAX_PER_GROUP + tl.MAX_ROWS + 5)
    ]
    layout = tl.lay_out(occs, start=NOW, end=NOW + timedelta(days=30), now=NOW, zone=UTC)
    (row,) = layout.rows
    assert len(row.occurrences) == tl.MAX_PER_GROUP
    assert row.hidden == tl.MAX_ROWS + 5
    assert row.occurrences[0].milestone.id == "m000"


def test_delivery_ids_cover_the_drawn_reminders_on_every_channel() -> None:
    m = _m("m", NOW, remind=(Duration.parse("1d"), Duration()), notify=("a", "b"))
    layout = tl.lay_out(
        [tl.Occurrence(m, NOW)], start=BEHIND - timedelta(days=1), end=AHEAD, now=NOW, zone=UTC
    )
    ladder = tl.Occurrence(m, NOW).ladder()
    assert layout.delivery_ids() == [r.delivery_id(c) for r in ladder for c in ("a", "b")]
    assert len(set(layout.delivery_ids())) == 4


def test_chain_is_ancestors_then_dependents() -> None:
    config = _config(
        _m("root", NOW),
        _m("mid", after="root", offset=Duration.parse("1d")),
        _m("leaf", after="mid", offset=Duration.parse("1d")),
        _m("side", after="root", offset=Duration.parse("2d")),
        _m("other", NOW),
    )
    resolved = resolve(config)
    assert tl.chain(resolved, "mid") == ["root", "mid", "leaf"]
    assert tl.chain(resolved, "root") == ["root", "mid", "side", "leaf"]
    assert tl.chain(resolved, "other") == ["other"]
    occs = tl.chain_occurrences(resolved, "leaf", NOW)
    assert [o.milestone.id for o in occs] == ["root", "mid", "leaf"]
    start, end = tl.window_around(occs, NOW)
    assert start < NOW and end > NOW + timedelta(days=2)


def test_a_window_must_have_a_length() -> None:
    with pytest.raises(ValueError, match="must end after"):
        tl.lay_out([], start=NOW, end=NOW, now=NOW, zone=UTC)


@pytest.mark.parametrize(
    ("stored", "due_at", "expected"),
    [
        ([None], AHEAD, TickState.ACKNOWLEDGED),  # not stored yet: it will not be sent
        ([], AHEAD, TickState.ACKNOWLEDGED),
        ([None], BEHIND, TickState.NOT_RECORDED),  # the past is what the store says
        ([S("sent"), None], AHEAD, TickState.SENT),
        ([S("held"), None], AHEAD, TickState.HELD),
        ([S("cancelled", "acknowledged")], AHEAD, TickState.ACKNOWLEDGED),
    ],
)
def test_tick_state_of_an_acknowledged_occurrence(
    stored: list[Stored | None], due_at: datetime, expected: TickState
) -> None:
    assert tick_state(stored, due_at=due_at, now=NOW, acknowledged=True) is expected
