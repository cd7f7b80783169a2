"""Digest fires as planned deliveries: what each lists, ids, skip_empty (pure tables)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from scheduler.digests import (
    MAX_LISTED,
    digest_fires,
    find_digest,
    plan_digests,
    with_digests,
)
from scheduler.durations import Duration
from scheduler.model import AlertKind, Config, Digest, Milestone, MilestoneStatus
from scheduler.planning import plan, resolve
from scheduler.reconcile import plan_deliveries

MON = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday
WEEKLY = Digest(id="weekly", schedule="0 9 * * mon", within=Duration.parse("14d"), notify=("team",))


def milestone(mid: str, at: date | datetime, **kw: Any) -> Milestone:
    return Milestone(**{"id": mid, "title": f"Title {mid}", "at": at, "notify": ("team",), **kw})


def config(*milestones: Milestone, digests: tuple[Digest, ...] = (WEEKLY,)) -> Config:
    return Config(milestones=milestones, channels={}, digests=digests)


def listed(c: Config, start: datetime = MON, end: datetime | None = None) -> list[list[str]]:
    fires = plan_digests(c, start, end or start + timedelta(minutes=1))
    return [[item["id"] for item in f.extra["milestones"]] for f in fires]


def test_a_fire_lists_the_window_soonest_first() -> None:
    c = config(
        milestone("later", MON + timedelta(days=10)),
        milestone("soon", MON + timedelta(hours=1)),
        milestone("beyond", MON + timedelta(days=14)),  # the window's end is not in it
        milestone("past", MON - timedelta(minutes=1)),
        milestone("edge", MON),  # the fire instant itself is
    )
    assert listed(c) == [["edge", "soon", "later"]]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [((), ["a", "b", "c"]), (("contracts",), ["a", "c"]), (("x", "inf"), ["b"])],
)
def test_tags_filter(tags: tuple[str, ...], expected: list[str]) -> None:
    c = config(
        milestone("a", MON + timedelta(days=1), tags=("contracts",)),
        milestone("b", MON + timedelta(days=2), tags=("inf",)),
        milestone("c", MON + timedelta(days=3), tags=("contracts", "legal")),
        digests=(replace(WEEKLY, tags=tags),),
    )
    assert listed(c) == [expected]


def test_inactive_milestones_are_not_listed_and_recurring_ones_once_per_occurrence() -> None:
    c = config(
        milestone("gone", MON + timedelta(days=1), status=MilestoneStatus.CANCELLED),
        milestone("daily", MON + timedelta(hours=2), rrule="FREQ=DAILY;COUNT=20"),
    )
    (fire,) = plan_digests(c, MON, MON + timedelta(minutes=1))
    assert [i["id"] for i in fire.extra["milestones"]] == ["daily"] * 14
    assert fire.extra["total"] == 14
    ats = [i["at"] for i in fire.extra["milestones"]]
    assert ats == sorted(ats) and len(set(ats)) == 14


@pytest.mark.parametrize(("skip_empty", "fires"), [(True, 0), (False, 1)])
def test_an_empty_fire_is_planned_only_without_skip_empty(skip_empty: bool, fires: int) -> None:
    c = config(
        milestone("far", MON + timedelta(days=60)),
        digests=(replace(WEEKLY, skip_empty=skip_empty),),
    )
    found = plan_digests(c, MON, MON + timedelta(minutes=1))
    assert len(found) == fires
    (every,) = digest_fires(c, c.digests[0], MON, MON + timedelta(minutes=1), resolved=resolve(c))
    assert every.extra["total"] == 0


def test_fire_identity_is_digest_fire_and_channel() -> None:
    c = config(milestone("a", MON + timedelta(days=1)), milestone("b", MON + timedelta(days=8)))
    fires = plan_digests(c, MON, MON + timedelta(days=8))
    assert [f.due_at for f in fires] == [MON, MON + timedelta(days=7)]
    again = plan_digests(c, MON, MON + timedelta(days=8))
    assert [f.id for f in fires] == [f.id for f in again]
    assert len({f.id for f in fires}) == 2
    first = fires[0]
    assert first.kind is AlertKind.DIGEST and first.milestone.id == "digest:weekly"
    assert first.occurrence == first.due_at == MON
    # A new title or another listed milestone changes what is sent, not which delivery it is.
    moved = config(milestone("a", MON + timedelta(days=2), title="Renamed"))
    assert plan_digests(moved, MON, MON + timedelta(minutes=1))[0].id == first.id
    (p,) = plan_deliveries([first])
    assert p.milestone_id == "digest:weekly" and p.channel == "team"
    assert p.snapshot.extra["digest"] == {
        "id": "weekly",
        "fired_at": "2026-12-07T09:00:00+00:00",
        "within": "P14D",
    }


def test_the_list_is_capped_with_a_total() -> None:
    many = [milestone(f"m{i:03d}", MON + timedelta(minutes=i + 1)) for i in range(MAX_LISTED + 7)]
    (fire,) = plan_digests(config(*many), MON, MON + timedelta(minutes=1))
    assert len(fire.extra["milestones"]) == MAX_LISTED
    assert fire.extra["total"] == MAX_LISTED + 7


def test_acknowledgements_come_from_the_lookup() -> None:
    at = MON + timedelta(days=1)
    c = config(milestone("a", at), milestone("b", at + timedelta(hours=1)))

    def acked(milestone_id: str, occurrence: datetime) -> dict[str, str] | None:
        return {"by": "alice"} if milestone_id == "a" and occurrence == at else None

    (fire,) = plan_digests(c, MON, MON + timedelta(minutes=1), acknowledged=acked)
    assert [i["acknowledged"] for i in fire.extra["milestones"]] == [{"by": "alice"}, None]
    (plain,) = plan_digests(c, MON, MON + timedelta(minutes=1))
    assert [i["acknowledged"] for i in plain.extra["milestones"]] == [None, None]


def test_digests_and_reminders_merge_by_due_time() -> None:
    c = config(
        milestone("a", MON + timedelta(minutes=30)), milestone("b", MON - timedelta(hours=1))
    )
    start, end = MON - timedelta(hours=2), MON + timedelta(hours=1)
    merged = with_digests(plan(c, start, end), plan_digests(c, start, end))
    assert [r.milestone.id for r in merged] == ["b", "digest:weekly", "a"]


@pytest.mark.parametrize(
    ("name", "found"), [("weekly", True), ("digest:weekly", True), ("x", False)]
)
def test_find_digest(name: str, found: bool) -> None:
    assert (find_digest(config(), name) is not None) is found
