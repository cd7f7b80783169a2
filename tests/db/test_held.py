"""Held deliveries in the store: the ``held`` mark, claims at the opening, reconciliation."""

from __future__ import annotations

from datetime import timedelta

from scheduler.model import DeliveryStatus as S
from scheduler.reconcile import reconcile, reconcile_window
from scheduler.store import Mark, Store
from tests.support.deliveries import T0, planned
from tests.support.store import LEASE, insert

OPENING = T0 + timedelta(hours=9)
AHEAD = timedelta(seconds=1)


def _hold(store: Store, delivery_id: str, worker: str = "w1") -> bool:
    (kept,) = store.record(
        [
            Mark(
                "held",
                delivery_id,
                worker,
                T0,
                next_attempt_at=OPENING,
                reason="quiet_hours",
                generation=1,  # the first claim's
            )
        ]
    )
    return kept


def test_a_held_delivery_waits_for_its_opening(store: Store) -> None:
    (p,) = insert(store, [planned()])
    (row,) = store.claim_due(now=T0, worker="w1", lease=LEASE, limit=5, ahead=AHEAD)
    assert row.attempts == 1
    assert _hold(store, p.id)
    held = store.get_delivery(p.id)
    assert held is not None
    assert (held.status, held.attempts, held.next_attempt_at, held.claimed_by, held.reason) == (
        S.HELD,
        0,  # the claim's attempt is undone: nothing was sent
        OPENING,
        None,
        "quiet_hours",
    )
    assert store.next_wakeup(ahead=AHEAD) == OPENING - AHEAD
    before = OPENING - timedelta(seconds=2)
    assert store.claim_due(now=before, worker="w2", lease=LEASE, limit=5, ahead=AHEAD) == []
    (again,) = store.claim_due(now=OPENING - AHEAD, worker="w2", lease=LEASE, limit=5, ahead=AHEAD)
    assert again.id == p.id and again.attempts == 1 and again.reason == "quiet_hours"


def test_only_the_claimer_can_hold(store: Store) -> None:
    (p,) = insert(store, [planned()])
    store.claim_due(now=T0, worker="w1", lease=LEASE, limit=5)
    assert not _hold(store, p.id, worker="w2")
    row = store.get_delivery(p.id)
    assert row is not None and row.status is S.SENDING


def test_reconcile_keeps_an_overdue_held_row_and_cancels_a_removed_one(store: Store) -> None:
    p, q = insert(store, [planned("m1"), planned("m2")])
    store.claim_due(now=T0, worker="w1", lease=LEASE, limit=5)
    assert _hold(store, p.id) and _hold(store, q.id)
    now = T0 + timedelta(hours=3)  # overdue beyond the 1 h catch-up, still held
    actions = reconcile(
        [p],
        store.open_deliveries(),
        now=now,
        window_start=T0 - timedelta(hours=1),
        window_end=now + timedelta(days=2),
        planned_through=None,
    )
    assert actions.skip == [] and actions.cancel == [q.id]
    store.apply(actions, now=now)
    kept, removed = store.get_delivery(p.id), store.get_delivery(q.id)
    assert kept is not None and kept.status is S.HELD
    assert removed is not None and removed.status is S.CANCELLED


def test_a_held_claim_given_back_unsent_stays_held(store: Store) -> None:
    # Claimed again at its opening, then given back (a shutdown, or a crash and the next
    # start's release): it must stay held, not become a scheduled row long overdue that
    # a reconcile would expire.
    p, q = insert(store, [planned("m1"), planned("m2")])
    store.claim_due(now=T0, worker="w1", lease=LEASE, limit=5)
    assert _hold(store, p.id) and _hold(store, q.id)
    store.claim_due(now=OPENING, worker="w2", lease=LEASE, limit=5)
    assert store.record([Mark("released", p.id, "w2", OPENING, generation=1)]) == [True]
    assert store.release_claims(worker="w2") == 1
    # A clean give-back undoes the attempt; a crash's release counts it, as for any row.
    for delivery_id, attempts in ((p.id, 0), (q.id, 1)):
        row = store.get_delivery(delivery_id)
        assert row is not None and (row.status, row.attempts) == (S.HELD, attempts)
    later = OPENING + timedelta(hours=2)
    actions = reconcile(
        [p, q],
        store.open_deliveries(),
        now=later,
        window_start=later - timedelta(hours=1),
        window_end=later + timedelta(days=2),
        planned_through=None,
    )
    assert actions.skip == [] and actions.cancel == []
    assert len(store.claim_due(now=later, worker="w3", lease=LEASE, limit=5)) == 2


def test_a_held_delivery_whose_milestone_went_away_is_cancelled(store: Store) -> None:
    (p,) = insert(store, [planned()])
    store.claim_due(now=T0, worker="w1", lease=LEASE, limit=5)
    assert _hold(store, p.id)
    now = T0 + timedelta(hours=8)  # the next morning, before the opening: a reload
    stored = store.open_deliveries()
    held = [r.due_at for r in stored.values() if r.status is S.HELD]
    window = reconcile_window(
        now=now,
        planned_through=now,
        catch_ups=[timedelta(hours=1)],
        default_catch_up=timedelta(hours=1),
        held_since=min(held),
    )
    actions = reconcile(
        [],  # the milestone is gone from the config
        stored,
        now=now,
        window_start=window.start,
        window_end=window.end,
        planned_through=now,
    )
    assert actions.cancel == [p.id]
    store.apply(actions, now=now)
    row = store.get_delivery(p.id)
    assert row is not None and row.status is S.CANCELLED
