"""Planning escalations: offsets before and after the moment, recurrences, defaults vs a
milestone's own list, inactive milestones, identity and what an escalation carries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from scheduler.durations import Duration
from scheduler.model import (
    AlertKind,
    Config,
    DeliveryStatus,
    Escalation,
    Milestone,
    MilestoneStatus,
    reminder_id,
)
from scheduler.planning import explain, plan
from scheduler.reconcile import plan_deliveries, reconcile

D = Duration.parse
AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PHONES = Escalation(at=D("1d"), notify=("phones",))
LEGAL = Escalation(at=D("-2h"), notify=("legal", "phones"))


def ms(mid: str = "m", **kw: object) -> Milestone:
    kw.setdefault("title", mid.title())
    kw.setdefault("at", AT)
    kw.setdefault("remind", (D("7d"), D("0")))
    kw.setdefault("notify", ("team",))
    return Milestone(id=mid, **kw)  # type: ignore[arg-type]


def escalations(*milestones: Milestone, start: datetime, end: datetime) -> list[tuple[str, ...]]:
    """(milestone, due UTC, channels, level) of every escalation planned in the window."""
    config = Config(milestones=milestones, channels={})
    return [
        (
            r.milestone.id,
            r.due_at.astimezone(UTC).isoformat(),
            ",".join(r.channels),
            str(r.extra["escalation"]["level"]),
        )
        for r in plan(config, start, end)
        if r.kind is AlertKind.ESCALATION
    ]


WHOLE = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("escalate", "expected"),
    [
        # one day before the moment
        ((PHONES,), [("m", "2026-03-09T12:00:00+00:00", "phones", "1")]),
        # after the moment (negative offset): two hours after, both channels
        ((LEGAL,), [("m", "2026-03-10T14:00:00+00:00", "legal,phones", "1")]),
        # at the moment itself
        (
            (Escalation(at=D("0"), notify=("phones",)),),
            [("m", "2026-03-10T12:00:00+00:00", "phones", "1")],
        ),
        # levels count the entries in the order written, whatever their times
        (
            (LEGAL, PHONES),
            [
                ("m", "2026-03-09T12:00:00+00:00", "phones", "2"),
                ("m", "2026-03-10T14:00:00+00:00", "legal,phones", "1"),
            ],
        ),
        ((), []),
    ],
)
def test_offsets_before_and_after_the_moment(
    escalate: tuple[Escalation, ...], expected: list[tuple[str, ...]]
) -> None:
    assert escalations(ms(escalate=escalate), start=WHOLE[0], end=WHOLE[1]) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # the window's start is inclusive, its end exclusive, as for reminders
        (datetime(2026, 3, 9, 12, tzinfo=UTC), datetime(2026, 3, 9, 13, tzinfo=UTC), 1),
        (datetime(2026, 3, 9, 11, tzinfo=UTC), datetime(2026, 3, 9, 12, tzinfo=UTC), 0),
        (datetime(2026, 3, 10, 14, tzinfo=UTC), datetime(2026, 3, 10, 15, tzinfo=UTC), 1),
        (datetime(2026, 3, 10, 14, 0, 1, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC), 0),
    ],
)
def test_window_edges(start: datetime, end: datetime, expected: int) -> None:
    assert len(escalations(ms(escalate=(PHONES, LEGAL)), start=start, end=end)) == expected


def test_recurring_occurrences_each_get_their_escalations() -> None:
    weekly = ms(at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), rrule="FREQ=WEEKLY", escalate=(PHONES,))
    found = escalations(
        weekly, start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 3, 22, tzinfo=UTC)
    )
    assert [due for _, due, _, _ in found] == [
        "2026-03-01T09:00:00+00:00",
        "2026-03-08T09:00:00+00:00",
        "2026-03-15T09:00:00+00:00",
    ]


def test_milestone_list_overrides_file_defaults_in_the_config() -> None:
    # The loader applies defaults; a milestone's own list (here []) replaces them.
    from tests.config.test_escalate_config import load_text

    config = load_text(
        """
version: 1
defaults:
  remind: [0]
  notify: [team]
  escalate: [{at: 1d, notify: [phones]}]
channels:
  team: {type: webhook, url: "https://example.org/team"}
  phones: {type: webhook, url: "https://example.org/phones"}
  legal: {type: webhook, url: "https://example.org/legal"}
milestones:
  - {id: inherits, title: Inherits, at: 2026-03-10}
  - {id: own, title: Own, at: 2026-03-10, escalate: [{at: -2h, notify: [legal]}]}
  - {id: none, title: None, at: 2026-03-10, escalate: []}
"""
    )
    found = escalations(*config.milestones, start=WHOLE[0], end=WHOLE[1])
    assert found == [
        ("inherits", "2026-03-09T00:00:00+00:00", "phones", "1"),
        ("own", "2026-03-10T02:00:00+00:00", "legal", "1"),
    ]


@pytest.mark.parametrize("status", [MilestoneStatus.DONE, MilestoneStatus.CANCELLED])
def test_inactive_milestones_plan_no_escalations(status: MilestoneStatus) -> None:
    assert escalations(ms(escalate=(PHONES,), status=status), start=WHOLE[0], end=WHOLE[1]) == []


def test_escalation_identity_and_carried_values() -> None:
    config = Config(milestones=(ms(escalate=(PHONES,), remind=(D("1d"),)),), channels={})
    reminder, escalation = plan(config, *WHOLE)  # same due time: the reminder's rung first
    assert reminder.kind is AlertKind.REMINDER
    assert escalation.kind is AlertKind.ESCALATION
    # the 1d escalation is not the 1d reminder: ids from (milestone, occurrence, offset, kind)
    assert escalation.id == reminder_id("m", AT, D("1d"), AlertKind.ESCALATION)
    assert escalation.id != reminder.id
    assert escalation.occurrence == reminder.occurrence  # an acknowledgement finds both
    assert dict(escalation.extra) == {"escalation": {"at": "P1D", "level": 1}}
    assert escalation.channels == ("phones",)
    assert escalation.label == "escalation 1 · 1 day before"
    assert reminder.label == "1 day before"


def test_explain_lists_escalations_with_the_reminders() -> None:
    config = Config(milestones=(ms(at=date(2026, 3, 10), escalate=(LEGAL, PHONES)),), channels={})
    e = explain(config, "m")
    assert [(r.kind.value, r.due_at - e.at) for r in e.reminders] == [
        ("reminder", -timedelta(days=7)),
        ("escalation", -timedelta(days=1)),
        ("reminder", timedelta(0)),
        ("escalation", timedelta(hours=2)),
    ]


@pytest.mark.parametrize(
    ("late_by", "expected"),
    [
        (timedelta(minutes=30), (DeliveryStatus.SCHEDULED, True)),  # within catch_up: sent late
        (timedelta(hours=2), None),  # older than catch_up on a fresh database: nothing
    ],
)
def test_escalations_are_subject_to_catch_up(
    late_by: timedelta, expected: tuple[DeliveryStatus, bool] | None
) -> None:
    config = Config(milestones=(ms(escalate=(PHONES,), remind=()),), channels={})
    due = AT - timedelta(days=1)
    planned = plan_deliveries(plan(config, due - timedelta(hours=3), due + timedelta(hours=1)))
    (p,) = planned
    assert p.snapshot.kind is AlertKind.ESCALATION
    actions = reconcile(
        planned,
        {},
        now=due + late_by,
        window_start=due - timedelta(hours=3),
        window_end=due + timedelta(days=2),
        planned_through=None,
    )
    found = [(status, late) for q, status, late in actions.insert if q.id == p.id]
    assert found == ([expected] if expected else [])
