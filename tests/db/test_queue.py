"""The delivery queue on SQLite and PostgreSQL: claims, leases, guarded marks, contention."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from scheduler.errors import NotFoundError, TminusError
from scheduler.model import DeliveryStatus as S
from scheduler.store import Mark, Store
from tests.support.deliveries import T0, many, planned
from tests.support.store import LEASE, attempt, insert, record_dead, record_retry, record_sent


# -- claims ---------------------------------------------------------------------------
def test_claim_due_takes_due_rows_soonest_first(store: Store) -> None:
    rows = insert(store, many(5))
    assert store.claim_due(now=T0 - timedelta(seconds=1), worker="w", lease=LEASE, limit=10) == []
    claimed = store.claim_due(now=T0 + timedelta(seconds=2), worker="w1", lease=LEASE, limit=2)
    assert [r.id for r in claimed] == [rows[0].id, rows[1].id]
    for r in claimed:
        assert r.status is S.SENDING and r.claimed_by == "w1" and r.attempts == 1
        assert r.lease_until == T0 + timedelta(seconds=2) + LEASE
        assert r.snapshot.milestone_id == r.milestone_id
    again = store.claim_due(now=T0 + timedelta(seconds=2), worker="w2", lease=LEASE, limit=10)
    assert [r.id for r in again] == [rows[2].id]


def test_expired_lease_is_taken_over_and_old_claimer_loses(store: Store) -> None:
    (p,) = insert(store, [planned()])
    (first,) = store.claim_due(now=T0, worker="w1", lease=LEASE, limit=5)
    assert first.claimed_by == "w1"
    almost = T0 + LEASE - timedelta(milliseconds=1)
    assert store.claim_due(now=almost, worker="w2", lease=LEASE, limit=5) == []
    later = T0 + LEASE + timedelta(seconds=1)
    (second,) = store.claim_due(now=later, worker="w2", lease=LEASE, limit=5)
    assert second.id == p.id and second.claimed_by == "w2" and second.attempts == 2
    assert not record_sent(store, p.id, worker="w1", now=later, attempt=attempt())
    assert not record_retry(
        store, p.id, worker="w1", now=later, next_attempt_at=later, attempt=attempt(code=500)
    )
    assert not record_dead(store, p.id, worker="w1", now=later, reason="client_error")
    assert store.get_delivery(p.id).status is S.SENDING
    assert record_sent(store, p.id, worker="w2", now=later, attempt=attempt(2))
    assert not record_sent(store, p.id, worker="w2", now=later, attempt=attempt(2))
    assert [a.worker for a in store.attempts(p.id)] == ["w2"]


def _claim_all(url: str, worker: str, out: list[str], barrier: threading.Barrier) -> None:
    store = Store.open(url)
    try:
        barrier.wait()
        while batch := store.claim_due(
            now=T0 + timedelta(days=1), worker=worker, lease=LEASE, limit=7
        ):
            out.extend(r.id for r in batch)
    finally:
        store.close()


def test_concurrent_claims_take_every_row_exactly_once(store: Store, store_url: str) -> None:
    rows = insert(store, many(300))
    results: dict[str, list[str]] = {f"w{i}": [] for i in range(3)}
    barrier = threading.Barrier(len(results))
    threads = [
        threading.Thread(target=_claim_all, args=(store_url, w, out, barrier))
        for w, out in results.items()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    claimed = [i for out in results.values() for i in out]
    assert len(claimed) == len(set(claimed)) == len(rows)
    assert set(claimed) == {p.id for p in rows}
    per_worker = store.counts_by_status()
    assert per_worker[S.SENDING] == 300
    for worker, ids in results.items():
        assert all(store.get_delivery(i).claimed_by == worker for i in ids[:5])


# -- marks ----------------------------------------------------------------------------
def test_sent_mark_records_attempt(store: Store) -> None:
    (p,) = insert(store, [planned()])
    store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    assert record_sent(store, p.id, worker="w", now=T0 + timedelta(seconds=1), attempt=attempt())
    row = store.get_delivery(p.id)
    assert row.status is S.SENT and row.sent_at == T0 + timedelta(seconds=1)
    assert row.last_status_code == 200 and row.last_error is None and row.lease_until is None
    (a,) = store.attempts(p.id)
    assert (a.attempt, a.status_code, a.worker, a.body) == (1, 200, "w", "ok")
    assert a.finished_at == T0 + timedelta(milliseconds=5)


def test_retry_mark_then_dead_mark_with_bounded_body(store: Store) -> None:
    (p,) = insert(store, [planned()])
    store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    retry_at = T0 + timedelta(seconds=5)
    big = "x" * 10_000
    assert record_retry(
        store,
        p.id,
        worker="w",
        now=T0,
        next_attempt_at=retry_at,
        attempt=attempt(code=503, body=big),
    )
    row = store.get_delivery(p.id)
    assert row.status is S.RETRYING and row.next_attempt_at == retry_at
    assert row.claimed_by is None and row.last_status_code == 503
    assert row.last_error == "server_error" and len(row.last_body) <= 2000
    assert store.next_wakeup() == retry_at
    assert (
        store.claim_due(now=retry_at - timedelta(seconds=1), worker="w", lease=LEASE, limit=1) == []
    )
    (again,) = store.claim_due(now=retry_at, worker="w", lease=LEASE, limit=1)
    assert again.attempts == 2
    assert record_dead(
        store,
        p.id,
        worker="w",
        now=retry_at,
        reason="client_error",
        attempt=attempt(2, 404, error="not found"),
    )
    row = store.get_delivery(p.id)
    assert row.status is S.DEAD and row.reason == "client_error" and row.last_error == "not found"
    assert [a.status_code for a in store.attempts(p.id)] == [503, 404]
    assert store.next_wakeup() is None


def test_dead_mark_without_attempt(store: Store) -> None:
    (p,) = insert(store, [planned()])
    store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    assert record_dead(store, p.id, worker="w", now=T0, reason="channel_removed", attempt=None)
    assert store.attempts(p.id) == []
    assert store.get_delivery(p.id).reason == "channel_removed"


def test_next_wakeup_covers_leases(store: Store) -> None:
    assert store.next_wakeup() is None
    a, b = insert(store, many(2, step=timedelta(hours=1)))
    assert store.next_wakeup() == a.due_at
    store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    assert store.next_wakeup() == T0 + LEASE
    assert store.extend_leases([(a.id, 1)], worker="w", lease_until=T0 + timedelta(hours=2)) == {
        (a.id, 1)
    }
    assert (
        store.extend_leases([(a.id, 1)], worker="other", lease_until=T0 + timedelta(hours=9))
        == set()
    )
    assert store.next_wakeup() == b.due_at
    assert store.get_delivery(a.id).lease_until == T0 + timedelta(hours=2)


def test_supersede_kills_older_retrying_of_same_milestone_and_channel(store: Store) -> None:
    old = planned("m", at=T0, offset="1d")
    older_other_channel = planned("m", at=T0, offset="1d", channel="chat")
    new = planned("m", at=T0, offset="0")
    insert(store, [old, older_other_channel, new])
    claimed = store.claim_due(now=T0 - timedelta(hours=1), worker="w", lease=LEASE, limit=5)
    for r in claimed:
        record_retry(
            store,
            r.id,
            worker="w",
            now=T0,
            next_attempt_at=T0 + timedelta(hours=1),
            attempt=attempt(code=500),
        )
    dead = store.supersede_all([("m", "hook", new.due_at)], now=T0)
    assert [delivery_id for delivery_id, _channel in dead] == [old.id]
    assert store.get_delivery(old.id).reason == "superseded"
    assert store.get_delivery(older_other_channel.id).status is S.RETRYING
    assert store.get_delivery(new.id).status is S.SCHEDULED


def test_release_claims(store: Store) -> None:
    a, b, c = insert(store, many(3))
    store.claim_due(now=T0, worker="w1", lease=LEASE, limit=1)
    store.claim_due(now=T0 + timedelta(seconds=2), worker="w2", lease=LEASE, limit=2)
    assert store.release_claims(worker="w1") == 1
    assert store.get_delivery(a.id).status is S.SCHEDULED
    assert store.get_delivery(b.id).status is S.SENDING
    assert store.release_claims() == 2
    rows = [store.get_delivery(p.id) for p in (a, b, c)]
    assert all(r.status is S.SCHEDULED and r.claimed_by is None for r in rows)
    # A row released after a failed attempt goes back as retrying.
    store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    record_retry(store, a.id, worker="w", now=T0, next_attempt_at=T0, attempt=attempt(code=500))
    store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    assert store.release_claims(worker="w") == 1
    assert store.get_delivery(a.id).status is S.RETRYING


@pytest.mark.parametrize("forgive", [False, True])
def test_claims_released_after_crashes_keep_one_unrecorded_attempt(
    store: Store, forgive: bool
) -> None:
    # A SQLite daemon killed three times with the row claimed: a start that forgives
    # unrecorded attempts leaves it one more than it recorded, else every crash counts.
    (p,) = insert(store, many(1))
    for _ in range(3):
        store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
        store.release_claims(forgive_unrecorded=forgive)
    row = store.get_delivery(p.id)
    assert row is not None
    assert (row.status, row.attempts) == (S.SCHEDULED, 1) if forgive else (S.RETRYING, 3)
    # One recorded failure, then two more crashes: recorded (1) plus one.
    (claimed,) = store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    failed = attempt(claimed.attempts, code=500)
    assert record_retry(store, p.id, worker="w", now=T0, next_attempt_at=T0, attempt=failed)
    for _ in range(2):
        store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
        store.release_claims(forgive_unrecorded=forgive)
    row = store.get_delivery(p.id)
    assert row is not None
    assert (row.status, row.attempts) == (S.RETRYING, 2 if forgive else 6)


def test_redeliver(store: Store) -> None:
    a, b = insert(store, many(2))
    store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    record_dead(store, a.id, worker="w", now=T0, reason="client_error")
    later = T0 + timedelta(days=3)
    row = store.redeliver(a.id, now=later)
    assert row.id == a.id and row.status is S.SCHEDULED and row.attempts == 0
    assert row.next_attempt_at == later
    with pytest.raises(TminusError, match="scheduled"):
        store.redeliver(b.id, now=later)
    with pytest.raises(NotFoundError):
        store.redeliver("msg_nope", now=later)
    (again,) = store.claim_due(now=later, worker="w", lease=LEASE, limit=5)[:1]
    assert again.id in {a.id, b.id}


# -- the daemon's batched and look-ahead paths ---------------------------------------
def test_claim_ahead_takes_first_attempts_early_but_not_retries(store: Store) -> None:
    first, retry = insert(
        store, many(2, start=T0 + timedelta(milliseconds=500), step=timedelta(milliseconds=100))
    )
    (claimed,) = store.claim_due(now=T0 + timedelta(seconds=1), worker="w", lease=LEASE, limit=1)
    record_retry(
        store,
        claimed.id,
        worker="w",
        now=T0,
        next_attempt_at=T0 + timedelta(milliseconds=500),
        attempt=attempt(code=500),
    )
    ahead = timedelta(seconds=1)
    taken = store.claim_due(now=T0, worker="w", lease=LEASE, limit=10, ahead=ahead)
    # The untouched first attempt due in 0.5 s is taken ahead; the retry due then is not.
    assert [r.id for r in taken] == [r.id for r in (first, retry) if r.id != claimed.id]
    assert store.claim_due(now=T0, worker="w", lease=LEASE, limit=10, ahead=ahead) == []
    later = store.claim_due(
        now=T0 + timedelta(milliseconds=500), worker="w", lease=LEASE, limit=10, ahead=ahead
    )
    assert [r.id for r in later] == [claimed.id]


def test_record_applies_many_marks_in_one_call(store: Store) -> None:
    a, b, c = insert(store, many(3))
    claimed = store.claim_due(now=T0 + timedelta(seconds=5), worker="w", lease=LEASE, limit=3)
    assert len(claimed) == 3
    results = store.record(
        [
            Mark("sent", a.id, "w", T0, attempt=attempt(), generation=1),
            Mark(
                "retry",
                b.id,
                "w",
                T0,
                attempt=attempt(code=500),
                next_attempt_at=T0 + timedelta(minutes=1),
                generation=1,
            ),
            Mark("dead", c.id, "someone-else", T0, reason="client_error", generation=1),
        ]
    )
    assert results == [True, True, False]  # the third claim is not "someone-else"'s
    assert store.get_delivery(a.id).status is S.SENT
    assert store.get_delivery(b.id).status is S.RETRYING
    assert store.get_delivery(b.id).next_attempt_at == T0 + timedelta(minutes=1)
    assert store.get_delivery(c.id).status is S.SENDING
    assert [x.attempt for x in store.attempts(b.id)] == [1]


def test_supersede_all_reports_channels(store: Store) -> None:
    old = planned("m", at=T0, offset="1d")
    old_chat = planned("m", at=T0, offset="1d", channel="chat")
    insert(store, [old, old_chat])
    for r in store.claim_due(now=T0, worker="w", lease=LEASE, limit=5):
        record_retry(
            store,
            r.id,
            worker="w",
            now=T0,
            next_attempt_at=T0 + timedelta(hours=1),
            attempt=attempt(),
        )
    dead = store.supersede_all([("m", "hook", T0), ("m", "chat", T0)], now=T0)
    assert dead == sorted([(old.id, "hook"), (old_chat.id, "chat")])


def test_next_wakeup_counts_first_attempts_ahead(store: Store) -> None:
    first, second = insert(store, many(2, start=T0, step=timedelta(seconds=10)))
    ahead = timedelta(seconds=1)
    assert store.next_wakeup(ahead=ahead) == first.due_at - ahead
    (claimed,) = store.claim_due(now=T0, worker="w", lease=LEASE, limit=1)
    retry_at = T0 + timedelta(seconds=5)
    record_retry(
        store, claimed.id, worker="w", now=T0, next_attempt_at=retry_at, attempt=attempt(code=500)
    )
    # The retry is not taken ahead, so the wake-up is at its own time, not a second before.
    assert store.next_wakeup(ahead=ahead) == retry_at
    assert store.next_wakeup(ahead=timedelta(seconds=6)) == second.due_at - timedelta(seconds=6)
