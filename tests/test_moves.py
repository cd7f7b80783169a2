"""Moved deadlines, pure: what channels were told against the plan → notices, and why."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from scheduler.durations import Duration
from scheduler.model import AlertKind, Config, DeliveryStatus, Milestone, MilestoneStatus, Roll
from scheduler.moves import (
    Told,
    cancelled_by_move,
    changed_instants,
    detect_moves,
    known_occurrences,
    moved_reminder_id,
    notice_deliveries,
    why_moved,
)
from scheduler.planning import Resolved, resolve
from scheduler.reconcile import ReconcileReason, plan_deliveries, reconcile

D = Duration.parse
A = datetime(2026, 8, 2, tzinfo=UTC)
B = datetime(2026, 8, 5, tzinfo=UTC)
NOW = datetime(2026, 7, 1, tzinfo=UTC)
CHANNELS = ("a", "b")


def ms(mid: str = "m", **kw: object) -> Milestone:
    kw.setdefault("title", mid.title())
    if "after" not in kw:
        kw.setdefault("at", B)
    kw.setdefault("notify", CHANNELS)
    return Milestone(id=mid, **kw)  # type: ignore[arg-type]


def resolved(*milestones: Milestone) -> dict[str, Resolved]:
    return resolve(Config(milestones=milestones, channels={}))


def sent(occ: datetime, channel: str = "a", mid: str = "m", **kw: object) -> Told:
    kw.setdefault("kind", AlertKind.REMINDER)
    kw.setdefault("at", occ - timedelta(days=7))
    return Told(milestone_id=mid, channel=channel, occurrence=occ, **kw)  # type: ignore[arg-type]


def notice(was: datetime, now: datetime, at: datetime, channel: str = "a") -> Told:
    return Told("m", channel, now, AlertKind.MOVED, at=at, was=was)


def moves(told: list[Told], *milestones: Milestone, since: datetime = NOW) -> list[tuple[str, ...]]:
    found = detect_moves(told, resolved(*milestones), channels=CHANNELS, since=since)
    return [
        (m.milestone.id, m.channel, m.was.date().isoformat(), m.now.date().isoformat())
        for m in found
    ]


@pytest.mark.parametrize(
    ("told", "milestone", "expected"),
    [
        # a reminder of A was sent on a; the milestone is at B now: a is told, b is not
        ([sent(A)], ms(), [("m", "a", "2026-08-02", "2026-08-05")]),
        # escalations count as telling the channel too
        ([sent(A, "b", kind=AlertKind.ESCALATION)], ms(), [("m", "b", "2026-08-02", "2026-08-05")]),
        # several reminders of one occurrence on one channel: one notice
        (
            [sent(A), sent(A, at=A - timedelta(days=1))],
            ms(),
            [("m", "a", "2026-08-02", "2026-08-05")],
        ),
        # nothing moved
        ([sent(B)], ms(), []),
        # already told (a notice from A to B exists, sent or not yet): nothing more
        ([sent(A), notice(A, B, NOW)], ms(), []),
        # moved back to A after a notice A → B: a knows B, so it is told B → A
        ([sent(A), notice(A, B, NOW)], ms(at=A), [("m", "a", "2026-08-05", "2026-08-02")]),
        # moved and moved back before any notice: nothing to tell
        ([sent(A), notice(A, B, NOW), notice(B, A, NOW + timedelta(hours=1))], ms(at=A), []),
        # cancelled or done milestones did not move; nobody is told
        ([sent(A)], ms(status=MilestoneStatus.CANCELLED), []),
        ([sent(A)], ms(status=MilestoneStatus.DONE), []),
        # a channel no longer in the config is not told
        ([sent(A, "gone")], ms(), []),
        # both instants long past (before since): history, not news
        ([sent(A - timedelta(days=400))], ms(at=A - timedelta(days=399)), []),
        # a deadline that had passed and was extended: news
        (
            [sent(datetime(2026, 6, 1, tzinfo=UTC))],
            ms(),
            [("m", "a", "2026-06-01", "2026-08-05")],
        ),
    ],
)
def test_detect_moves(
    told: list[Told], milestone: Milestone, expected: list[tuple[str, ...]]
) -> None:
    assert moves(told, milestone) == expected


def test_a_milestone_gone_from_the_config_did_not_move() -> None:
    assert moves([sent(A, mid="gone")], ms()) == []


def test_recurring_occurrences_pair_with_the_nearest() -> None:
    # Weekly on Mondays, moved to Tuesdays: each known Monday pairs with the next day.
    mondays = [datetime(2026, 7, 6, 9, tzinfo=UTC), datetime(2026, 7, 13, 9, tzinfo=UTC)]
    weekly = ms(at=datetime(2026, 6, 2, 9, tzinfo=UTC), rrule="FREQ=WEEKLY")  # a Tuesday
    assert moves([sent(mondays[0]), sent(mondays[1])], weekly) == [
        ("m", "a", "2026-07-06", "2026-07-07"),
        ("m", "a", "2026-07-13", "2026-07-14"),
    ]
    # an occurrence still in the rule did not move
    assert moves([sent(datetime(2026, 7, 7, 9, tzinfo=UTC))], weekly) == []


def test_recurring_pairing_skips_occurrences_the_channel_already_knows() -> None:
    daily = ms(at=datetime(2026, 7, 1, 10, tzinfo=UTC), rrule="FREQ=DAILY")
    # 09:00 on the 6th vanished (now at 10:00); 10:00 on the 6th is nearest
    told = [sent(datetime(2026, 7, 6, 9, tzinfo=UTC))]
    assert moves(told, daily) == [("m", "a", "2026-07-06", "2026-07-06")]
    # if a already knows 10:00 on the 6th, the 09:00 pairs with the nearest other one
    told.append(sent(datetime(2026, 7, 6, 10, tzinfo=UTC)))
    assert moves(told, daily) == [("m", "a", "2026-07-06", "2026-07-05")]


def test_known_occurrences_apply_notices_in_order() -> None:
    told = [notice(B, A, NOW + timedelta(hours=1)), sent(A), notice(A, B, NOW)]
    assert known_occurrences(told) == {("m", "a"): {A}}


def test_notice_ids_are_deterministic_per_move_and_channel() -> None:
    (move,) = detect_moves([sent(A)], resolved(ms()), channels=CHANNELS, since=NOW)
    first = notice_deliveries([move], noticed_at=NOW, why={"m": "at changed"})
    later = notice_deliveries([move], noticed_at=NOW + timedelta(minutes=5), why={})
    assert [p.id for p in first] == [p.id for p in later]  # a second replica: the same row
    (p,) = first
    assert p.reminder_id == moved_reminder_id("m", A, B)
    assert p.reminder_id != moved_reminder_id("m", B, A)
    assert p.snapshot.kind is AlertKind.MOVED
    assert p.due_at == NOW
    assert p.snapshot.occurrence == B.isoformat()  # the new occurrence: acknowledging it finds it
    assert dict(p.snapshot.extra) == {
        "moved": {"was": A.isoformat(), "now": B.isoformat(), "why": "at changed"}
    }
    other = replace(move, channel="b")
    assert notice_deliveries([other], noticed_at=NOW, why={})[0].id != p.id


# -- why -----------------------------------------------------------------------------
US = ms("us-notice", at=date(2019, 2, 2))
WE = ms("withdrawal-effective", after="us-notice", offset=D("6 months"))
LATE = ms("late-follow-up", after="withdrawal-effective", offset=D("1d"))


@pytest.mark.parametrize(
    ("before", "after", "mid", "expected"),
    [
        (
            (US, WE, LATE),
            (replace(US, at=date(2019, 2, 5)), WE, LATE),
            "withdrawal-effective",
            "us-notice moved; withdrawal-effective follows it",
        ),
        # deep chain: the root that changed is named
        (
            (US, WE, LATE),
            (replace(US, at=date(2019, 2, 5)), WE, LATE),
            "late-follow-up",
            "us-notice moved; late-follow-up follows it",
        ),
        ((US,), (replace(US, at=date(2019, 2, 5)),), "us-notice", "at changed"),
        (
            (US, WE),
            (US, replace(WE, offset=D("7 months"))),
            "withdrawal-effective",
            "offset changed",
        ),
        ((US,), (replace(US, roll=Roll.FORWARD),), "us-notice", "roll"),
        ((US,), (replace(US, timezone="Europe/Brussels"),), "us-notice", "timezone changed"),
    ],
)
def test_why_moved_with_the_previous_config(
    before: tuple[Milestone, ...], after: tuple[Milestone, ...], mid: str, expected: str
) -> None:
    old, new = resolved(*before), resolved(*after)
    assert why_moved(mid, new, old) == expected


def test_why_moved_after_a_restart_names_a_moved_base_only() -> None:
    new = resolved(US, WE, LATE)
    assert why_moved("late-follow-up", new, None, moved={"us-notice", "withdrawal-effective"}) == (
        "us-notice moved; late-follow-up follows it"
    )
    assert why_moved("withdrawal-effective", new, None, moved={"withdrawal-effective"}) == ""


def test_changed_instants_is_only_the_milestones_that_may_have_moved() -> None:
    old = resolved(US, WE, ms("other", at=A))
    new = resolved(replace(US, at=date(2019, 2, 5)), WE, ms("other", at=A, title="Renamed"))
    assert changed_instants(old, new) == {"us-notice", "withdrawal-effective"}


# -- the cancel reason ----------------------------------------------------------------
class Row:
    def __init__(self, p: object) -> None:
        self.id = p.id  # type: ignore[attr-defined]
        self.channel = p.channel  # type: ignore[attr-defined]
        self.due_at = p.due_at  # type: ignore[attr-defined]
        self.status = DeliveryStatus.SCHEDULED.value
        self.late = False
        self.snapshot = p.snapshot  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("now_config", "reason"),
    [
        (ms(at=B), ReconcileReason.MOVED),  # same milestone, another instant
        (ms(at=A, remind=(D("1d"),)), ReconcileReason.REMOVED),  # same instant, offset dropped
        (ms("other", at=A), ReconcileReason.REMOVED),  # the milestone left the config
        (ms(at=B, status=MilestoneStatus.CANCELLED), ReconcileReason.REMOVED),
    ],
)
def test_cancels_of_a_moved_occurrence_say_moved(
    now_config: Milestone, reason: ReconcileReason
) -> None:
    from scheduler.planning import plan

    before = Config(milestones=(ms(at=A, remind=(D("0"),)),), channels={})
    (p, _) = plan_deliveries(plan(before, A - timedelta(hours=1), A + timedelta(hours=1)))
    actions = reconcile(
        [],
        {p.id: Row(p)},
        now=A - timedelta(days=1),
        window_start=A - timedelta(days=2),
        window_end=A + timedelta(days=2),
        planned_through=None,
        moved=cancelled_by_move(resolved(now_config)),
    )
    assert actions.cancel == [p.id]
    assert actions.reasons[p.id] is reason


@pytest.mark.parametrize(
    ("remind", "escalate", "expected"),
    [
        (("0",), (), timedelta(days=3)),  # room for calendar days and DST
        (("30d", "7d"), (), timedelta(days=33)),
        (("1d",), ("60d",), timedelta(days=63)),  # an escalation can come first
        (("-2h",), (), timedelta(days=3)),  # follow-ups come after the occurrence
        (("2 years",), (), timedelta(days=366)),  # capped at the reconcile's lookback
    ],
)
def test_told_lookback(
    remind: tuple[str, ...], escalate: tuple[str, ...], expected: timedelta
) -> None:
    from scheduler.model import Escalation
    from scheduler.moves import told_lookback

    m = ms(
        remind=tuple(D(r) for r in remind),
        escalate=tuple(Escalation(D(e), ("b",)) for e in escalate),
    )
    assert told_lookback(Config(milestones=(m, ms("other")), channels={})) == expected
