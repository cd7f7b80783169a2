"""Moved notices in the store, on SQLite and PostgreSQL: inserted once whoever writes them
first, never cancelled by a reconcile, and what was sent is read back for the detection."""

from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.model import AlertKind, Config, DeliveryStatus, Milestone
from scheduler.moves import Told, detect_moves, notice_deliveries, told_by
from scheduler.planning import resolve
from scheduler.reconcile import PlannedDelivery, ReconcileActions, reconcile
from scheduler.store import Store
from tests.support.deliveries import T0, planned
from tests.support.store import LEASE, attempt, insert, record_sent

NOW = T0 - timedelta(days=2)
LATER = T0 + timedelta(days=3)


def _notices(noticed_at: datetime, why: str) -> list[PlannedDelivery]:
    milestone = Milestone(id="m1", title="Milestone m1", at=LATER, notify=("hook",))
    resolved = resolve(Config(milestones=(milestone,), channels={}))
    told = [Told("m1", "hook", T0, AlertKind.REMINDER, at=T0 - timedelta(days=7))]
    moves = detect_moves(told, resolved, channels=("hook",), since=NOW)
    return notice_deliveries(moves, noticed_at=noticed_at, why={"m1": why})


def test_a_notice_is_inserted_once_and_keeps_its_first_snapshot(store: Store) -> None:
    (first,) = _notices(NOW, "at changed")
    (again,) = _notices(NOW + timedelta(seconds=3), "something else")  # another replica
    assert first.id == again.id
    store.apply(ReconcileActions(notices=[first]), now=NOW)
    store.apply(ReconcileActions(notices=[again]), now=NOW + timedelta(seconds=3))
    row = store.get_delivery(first.id)
    assert row is not None
    assert row.status is DeliveryStatus.SCHEDULED
    assert row.due_at == NOW
    assert row.snapshot.kind is AlertKind.MOVED
    assert row.snapshot.extra["moved"]["why"] == "at changed"
    assert len(store.history()) == 1
    # a reconcile of planned rows never cancels an event notice
    actions = reconcile(
        [],
        store.open_deliveries(),
        now=NOW,
        window_start=NOW - timedelta(hours=1),
        window_end=NOW + timedelta(days=2),
        planned_through=None,
    )
    assert actions.cancel == []


def test_sent_since_reads_what_channels_were_told(store: Store) -> None:
    told, unsent = planned("m1", offset="1d"), planned("m1", offset="0")
    old = planned("m2", offset="2d")
    insert(store, [told, unsent, old], now=NOW - timedelta(days=1))
    for p, when in ((old, T0 - timedelta(days=2)), (told, T0 - timedelta(days=1))):
        (claimed,) = store.claim_due(
            now=when, worker="w", lease=LEASE, limit=10, ahead=timedelta(0)
        )
        assert claimed.id == p.id
        assert record_sent(store, p.id, worker="w", now=when, attempt=attempt())
    found = store.sent_since(due_from=T0 - timedelta(days=3), milestone_ids={"m1"})
    assert [row.id for row in found] == [told.id]
    (t,) = [told_by(row) for row in found]
    assert (t.milestone_id, t.channel, t.occurrence, t.kind) == (
        "m1",
        "hook",
        T0,
        AlertKind.REMINDER,
    )
    everyone = store.sent_since(due_from=T0 - timedelta(days=3))
    assert {row.id for row in everyone} == {told.id, old.id}
    assert [row.id for row in store.sent_since(due_from=T0 - timedelta(days=1))] == [told.id]
