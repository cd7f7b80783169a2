"""Applying reconciliations on SQLite and PostgreSQL, and reading the rows back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from scheduler.errors import StoreError
from scheduler.model import DeliveryStatus as S
from scheduler.reconcile import PlannedDelivery, ReconcileActions, ReconcileReason
from scheduler.store import Store
from tests.support.deliveries import T0, many, planned
from tests.support.store import LEASE, attempt, insert, record_sent


# -- apply and reading ---------------------------------------------------------------
def test_apply_inserts_with_snapshot_and_utc_instants(store: Store) -> None:
    paris = timezone(timedelta(hours=1))
    p = planned("treaty", at=T0.astimezone(paris), offset="1d", title="INF")
    insert(store, [p], now=T0.astimezone(paris) - timedelta(days=2))
    row = store.get_delivery(p.id)
    assert row is not None
    assert row.status is S.SCHEDULED
    assert row.due_at == T0 - timedelta(days=1)
    assert row.due_at.tzinfo is UTC
    assert row.next_attempt_at == row.due_at
    assert row.created_at == T0 - timedelta(days=2)
    assert row.created_at.tzinfo is UTC
    assert row.snapshot.title == "INF"
    assert row.snapshot.offset == "P1D"
    assert row.reminder_id == p.reminder_id
    assert row.attempts == 0 and not row.late
    assert store.get_delivery("msg_missing") is None


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises((ValueError, StoreError)):
        store.disable_channel("hook", fingerprint="abc", reason="410", now=datetime(2026, 1, 1))


def test_open_deliveries_filters_status_and_range(store: Store) -> None:
    rows = insert(store, many(5))
    claimed = store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    assert [r.id for r in claimed] == [rows[0].id]
    assert record_sent(store, rows[0].id, worker="w", now=T0, attempt=attempt())
    everything = store.open_deliveries()
    assert set(everything) == {p.id for p in rows[1:]}
    ranged = store.open_deliveries(
        due_from=T0 + timedelta(seconds=2), due_until=T0 + timedelta(seconds=4)
    )
    assert set(ranged) == {rows[2].id, rows[3].id}
    assert ranged[rows[2].id].snapshot.milestone_id == "m000002"


def test_deliveries_due_reads_every_status_in_the_range(store: Store) -> None:
    rows = insert(store, many(5))
    store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    assert record_sent(store, rows[0].id, worker="w", now=T0, attempt=attempt())
    found = store.deliveries_due(due_from=T0, due_until=T0 + timedelta(seconds=2))
    assert {i: r.status for i, r in found.items()} == {rows[0].id: S.SENT, rows[1].id: S.SCHEDULED}
    assert (
        store.deliveries_due(due_from=T0 + timedelta(seconds=5), due_until=T0 + timedelta(days=1))
        == {}
    )


def test_apply_cancel_skip_late_refresh(store: Store) -> None:
    a, b, c, d = insert(store, many(4))
    moved = PlannedDelivery(
        **{
            **{f: getattr(d, f) for f in d.__dataclass_fields__},
            "due_at": d.due_at + timedelta(hours=1),
        }
    )
    renamed = planned("m000000", at=a.due_at, title="Renamed")
    actions = ReconcileActions(
        cancel=[b.id],
        skip=[c.id],
        late=[a.id],
        refresh=[renamed, moved],
        reasons={b.id: ReconcileReason.CHANNEL_REMOVED},
    )
    store.apply(actions, now=T0)
    rows = {p.id: store.get_delivery(p.id) for p in (a, b, c, d)}
    assert rows[a.id].late and rows[a.id].snapshot.title == "Renamed"
    assert rows[b.id].status is S.CANCELLED and rows[b.id].reason == "channel_removed"
    assert rows[b.id].next_attempt_at is None
    assert rows[c.id].status is S.SKIPPED and rows[c.id].reason == "expired"
    assert rows[d.id].due_at == d.due_at + timedelta(hours=1)
    assert rows[d.id].next_attempt_at == d.due_at + timedelta(hours=1)


def test_insert_keeps_finished_rows_and_revives_cancelled(store: Store) -> None:
    sent, cancelled = insert(store, many(2))
    store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    assert record_sent(store, sent.id, worker="w", now=T0, attempt=attempt())
    store.apply(ReconcileActions(cancel=[cancelled.id]), now=T0)
    insert(store, [sent, cancelled], late=True, now=T0 + timedelta(minutes=1))
    assert store.get_delivery(sent.id).status is S.SENT
    revived = store.get_delivery(cancelled.id)
    assert revived.status is S.SCHEDULED and revived.late
    assert store.counts_by_status()[S.SCHEDULED] == 1


def test_apply_skipped_insert_has_no_next_attempt(store: Store) -> None:
    (p,) = insert(store, [planned()], status=S.SKIPPED, late=True)
    row = store.get_delivery(p.id)
    assert row.status is S.SKIPPED and row.next_attempt_at is None
    assert store.next_wakeup() is None
    assert store.claim_due(now=T0 + timedelta(days=1), worker="w", lease=LEASE, limit=10) == []


# -- listings --------------------------------------------------------------------------
def test_history_and_counts(store: Store) -> None:
    rows = insert(store, many(4))
    (other,) = insert(store, [planned("other", at=T0 + timedelta(seconds=10), channel="chat")])
    store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    record_sent(store, rows[0].id, worker="w", now=T0, attempt=attempt())
    hist = store.history(limit=10)
    assert [r.due_at for r in hist] == sorted((r.due_at for r in hist), reverse=True)
    assert len(hist) == 5
    assert [r.id for r in store.history(status="sent", limit=10)] == [rows[0].id]
    assert [r.id for r in store.history(milestone="m000002", limit=10)] == [rows[2].id]
    assert [r.id for r in store.history(limit=2, offset=3)] == [rows[1].id, rows[0].id]
    assert [r.id for r in store.deliveries(status="scheduled", limit=1)] == [other.id]
    counts = store.counts_by_status()
    assert counts["sent"] == 1 and counts["scheduled"] == 4 and counts["dead"] == 0
    assert store.counts_by_channel_status() == {
        "hook": {"sent": 1, "scheduled": 3},
        "chat": {"scheduled": 1},
    }
    assert hist[0].to_json()["status"] in {s.value for s in S}


def test_history_rejects_unknown_status(store: Store) -> None:
    with pytest.raises(ValueError):
        store.history(status="bogus", limit=1)
