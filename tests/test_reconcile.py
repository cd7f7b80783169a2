"""Reconciliation decisions, as tables: planned vs stored → insert, cancel, skip, refresh."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scheduler.model import DeliveryStatus as S
from scheduler.reconcile import (
    PlannedDelivery,
    ReconcileActions,
    plan_deliveries,
    reconcile,
)
from scheduler.reconcile import (
    ReconcileReason as R,
)
from scheduler.snapshot import Snapshot
from tests.support.deliveries import planned, reminder

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
WINDOW = (NOW - 2 * H, NOW + 24 * H)


@dataclass(frozen=True)
class Stored:
    id: str
    channel: str
    due_at: datetime
    status: str
    snapshot: Snapshot
    late: bool = False


def stored_from(p: PlannedDelivery, status: S = S.SCHEDULED, **kw: Any) -> Stored:
    base: dict[str, Any] = {
        "id": p.id,
        "channel": p.channel,
        "due_at": p.due_at,
        "status": status.value,
        "snapshot": p.snapshot,
    }
    return Stored(**(base | kw))


def run(
    planned_list: list[PlannedDelivery],
    stored: list[Stored] = (),  # type: ignore[assignment]
    *,
    planned_through: datetime | None = NOW - 3 * H,
    channels: list[str] | None = None,
) -> ReconcileActions:
    return reconcile(
        planned_list,
        {s.id: s for s in stored},
        now=NOW,
        window_start=WINDOW[0],
        window_end=WINDOW[1],
        planned_through=planned_through,
        channels=channels,
    )


# -- planned, not stored ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("due_offset", "planned_through", "expected"),
    [
        # due in the future: scheduled, on time
        (timedelta(minutes=5), NOW - 3 * H, (S.SCHEDULED, False, R.NEW)),
        (timedelta(0), NOW - 3 * H, (S.SCHEDULED, False, R.NEW)),
        # already due, younger than catch_up (1 h): scheduled late
        (-timedelta(minutes=59), NOW - 3 * H, (S.SCHEDULED, True, R.LATE)),
        (-timedelta(minutes=59), None, (S.SCHEDULED, True, R.LATE)),
        # older than catch_up, fell due after the watermark: missed while down → skipped
        (-2 * H, NOW - 3 * H, (S.SKIPPED, True, R.MISSED)),
        (-H, NOW - 3 * H, (S.SKIPPED, True, R.MISSED)),
        # older than catch_up and before the watermark: already materialised once → nothing
        (-2 * H, NOW - H, None),
        # fresh database: nothing older than catch_up is recorded at all
        (-2 * H, None, None),
        (-timedelta(days=2500), None, None),
    ],
)
def test_planned_not_stored(
    due_offset: timedelta,
    planned_through: datetime | None,
    expected: tuple[S, bool, R] | None,
) -> None:
    p = planned(at=NOW + due_offset)
    actions = run([p], planned_through=planned_through)
    if expected is None:
        assert actions.insert == []
        assert actions.reasons[p.id] is R.TOO_OLD
    else:
        status, late, reason = expected
        assert actions.insert == [(p, status, late)]
        assert actions.reasons[p.id] is reason
    assert actions.cancel == actions.skip == actions.refresh == actions.late == []


def test_catch_up_is_per_milestone() -> None:
    p = planned(at=NOW - 5 * H, catch_up=timedelta(hours=6))
    assert run([p]).insert == [(p, S.SCHEDULED, True)]


@pytest.mark.parametrize(
    ("due_offset", "expected"),
    [
        # catch_up 0 means nothing is ever sent late: missed while down → skipped
        (-timedelta(minutes=2), (S.SKIPPED, True, R.MISSED)),
        (-timedelta(seconds=1), (S.SKIPPED, True, R.MISSED)),
        # due right now or later is still on time
        (timedelta(0), (S.SCHEDULED, False, R.NEW)),
    ],
)
def test_catch_up_zero_is_kept_not_defaulted(
    due_offset: timedelta, expected: tuple[S, bool, R]
) -> None:
    p = planned(at=NOW + due_offset, catch_up=timedelta(0))
    assert p.catch_up == timedelta(0)
    actions = run([p], planned_through=NOW - 3 * H)
    assert actions.insert == [(p, *expected[:2])]
    assert actions.reasons[p.id] is expected[2]


# -- stored, not planned ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "due_offset", "expected"),
    [
        (S.SCHEDULED, H, "cancel"),
        (S.RETRYING, H, "cancel"),
        (S.SENDING, H, None),  # in flight: its claimer finishes it
        (S.SCHEDULED, 48 * H, None),  # outside the window: not this reconciliation's business
        (S.RETRYING, -5 * H, None),  # before the window, still retrying: left alone
        (S.SCHEDULED, -5 * H, "skip"),  # before the window, never sent: overdue beyond catch-up
        (S.SENT, H, None),
        (S.DEAD, H, None),
    ],
)
def test_stored_not_planned(status: S, due_offset: timedelta, expected: str | None) -> None:
    s = stored_from(planned(at=NOW + due_offset), status)
    actions = run([], [s])
    assert actions.cancel == ([s.id] if expected == "cancel" else [])
    assert actions.skip == ([s.id] if expected == "skip" else [])
    assert actions.insert == actions.refresh == []
    if expected == "cancel":
        assert actions.reasons[s.id] is R.REMOVED
    if expected == "skip":
        assert actions.reasons[s.id] is R.EXPIRED


def test_moved_milestone_cancels_old_and_inserts_new() -> None:
    old = planned(at=NOW + 2 * H)
    new = planned(at=NOW + 3 * H)
    actions = run([new], [stored_from(old)])
    assert actions.cancel == [old.id]
    assert actions.insert == [(new, S.SCHEDULED, False)]
    assert old.id != new.id


def test_unlisted_channel_is_cancelled_with_its_reason() -> None:
    kept = planned(at=NOW + H, channel="hook")
    gone = planned(at=NOW + H, channel="chat")
    actions = run([kept], [stored_from(kept), stored_from(gone)], channels=["hook"])
    assert actions.cancel == [gone.id]
    assert actions.reasons[gone.id] is R.CHANNEL_REMOVED
    assert actions.reasons[kept.id] is R.UNCHANGED


# -- stored and planned ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "due_offset", "late", "expected"),
    [
        (S.SCHEDULED, H, False, R.UNCHANGED),
        (S.SCHEDULED, -timedelta(seconds=0.5), False, R.UNCHANGED),  # within the timer's grace
        (S.SCHEDULED, -timedelta(minutes=10), False, R.LATE),  # was due while down: late
        (S.SCHEDULED, -timedelta(minutes=10), True, R.UNCHANGED),  # already marked
        (S.SCHEDULED, -90 * timedelta(minutes=1), False, R.EXPIRED),  # beyond catch_up: skipped
        (S.RETRYING, -90 * timedelta(minutes=1), False, R.UNCHANGED),  # retries go on
        (S.SENDING, -90 * timedelta(minutes=1), False, R.UNCHANGED),
    ],
)
def test_stored_and_planned(status: S, due_offset: timedelta, late: bool, expected: R) -> None:
    p = planned(at=NOW + due_offset)
    actions = run([p], [stored_from(p, status, late=late)])
    assert actions.reasons[p.id] is expected
    assert actions.insert == actions.cancel == actions.refresh == []
    assert actions.skip == ([p.id] if expected is R.EXPIRED else [])
    assert actions.late == ([p.id] if expected is R.LATE else [])


def test_changed_snapshot_is_refreshed_only_when_changed() -> None:
    p = planned(at=NOW + H, title="Old title")
    renamed = planned(at=NOW + H, title="New title")
    assert renamed.id == p.id
    actions = run([renamed], [stored_from(p)])
    assert actions.refresh == [renamed]
    assert actions.reasons[p.id] is R.REFRESHED
    assert run([p], [stored_from(p)]).refresh == []


def test_moved_due_time_with_same_identity_is_refreshed() -> None:
    p = planned(at=NOW + H)
    shifted = replace(p, due_at=p.due_at + H)
    assert run([shifted], [stored_from(p)]).refresh == [shifted]


def test_duplicates_in_plan_are_decided_once() -> None:
    p = planned(at=NOW + H)
    assert run([p, p]).insert == [(p, S.SCHEDULED, False)]


def test_empty_everything() -> None:
    actions = run([], [])
    assert actions.empty and actions.reasons == {}


# -- planning deliveries ---------------------------------------------------------------
def test_plan_deliveries_one_per_channel_with_stable_ids() -> None:
    r = reminder("treaty", at=NOW, offset="7d", channels=("newsroom", "audit", "newsroom"))
    out = plan_deliveries([r])
    assert [p.channel for p in out] == ["newsroom", "audit"]
    assert [p.id for p in out] == [r.delivery_id("newsroom"), r.delivery_id("audit")]
    assert {p.reminder_id for p in out} == {r.id}
    first = out[0]
    assert first.due_at == NOW - timedelta(days=7) and first.due_at.tzinfo is UTC
    assert first.offset_iso == "P7D" and first.label == "7 days before"
    assert first.snapshot == Snapshot.of(r)
    assert first.snapshot.milestone_id == "treaty"
    assert first.snapshot.to_json()["due_at"] == r.due_at.isoformat()
    assert plan_deliveries([r]) == out


def test_snapshot_keeps_zone_and_tags() -> None:
    r = reminder("x", at=datetime(2019, 8, 2, tzinfo=UTC), timezone="Europe/Brussels")
    snap = Snapshot.of(r).to_json()
    assert snap["timezone"] == "Europe/Brussels"
    assert snap["tags"] == ["inf"] and snap["links"] == []
    assert snap["offset"] == "PT0S" and snap["label"] == "at the moment"
