"""Fencing and takeover in the store: the guard is the pure rule in SQL, lease renewal
reports lost claims, and a worker whose session lock is gone has its claims taken over
(the last on the real PostgreSQL, with real session locks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import update

from scheduler.db.liveness import SESSION_LOCK, TakeoverCheck
from scheduler.db.tables import DELIVERIES
from scheduler.fencing import WORKER_LOCK_SPACE, Fence, lock_key
from scheduler.model import DeliveryStatus as S
from scheduler.store import Mark, Store
from tests.support.deliveries import T0, many
from tests.support.store import LEASE, insert
from tests.support.waiting import wait_until
from tests.test_fencing import FENCE_TABLE


@pytest.mark.parametrize(
    ("status", "claimed_by", "attempts", "worker", "generation", "expected"), FENCE_TABLE
)
def test_the_store_guard_is_the_fencing_rule(
    store: Store,
    status: str,
    claimed_by: str | None,
    attempts: int,
    worker: str,
    generation: int,
    expected: Fence,
) -> None:
    (p,) = insert(store, many(1))
    with store.engine.begin() as conn:
        conn.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.id == p.id)
            .values(status=status, claimed_by=claimed_by, attempts=attempts)
        )
    mark = Mark("dead", p.id, worker, T0, reason="client_error", generation=generation)
    assert store.record([mark]) == [expected is Fence.HELD]
    row = store.get_delivery(p.id)
    assert row is not None
    if expected is Fence.HELD:
        assert (row.status, row.reason) == (S.DEAD, "client_error")
    else:  # untouched
        assert (row.status.value, row.claimed_by, row.attempts) == (status, claimed_by, attempts)


def test_lease_renewal_reports_claims_taken_over(store: Store) -> None:
    a, b, c = insert(store, many(3))
    assert (
        len(store.claim_due(now=T0 + timedelta(seconds=5), worker="w", lease=LEASE, limit=3)) == 3
    )
    # All three taken over; a claimed again by another worker, b by this same worker
    # (after a reconnect), c back in the queue: every copy of generation 1 is stale.
    later = T0 + LEASE + timedelta(seconds=10)
    store.release_claims(worker="w")
    store.claim_due(now=later, worker="other", lease=LEASE, limit=1)  # a (soonest) again
    (again,) = store.claim_due(now=later, worker="w", lease=LEASE, limit=1)
    assert again.id == b.id and again.attempts == 2
    held = store.extend_leases(
        [(a.id, 1), (b.id, 1), (c.id, 1)], worker="w", lease_until=later + LEASE
    )
    assert held == set()
    assert store.extend_leases([(b.id, 2)], worker="w", lease_until=later + LEASE) == {(b.id, 2)}


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    s = Store.open(pg_url)
    with s.engine.begin() as conn:
        conn.execute(DELIVERIES.delete())
    yield s
    s.close()


def _session(url: str, worker: str) -> psycopg.Connection[object]:
    """A worker's liveness session: its own connection holding its advisory lock."""
    conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
    conn.execute(SESSION_LOCK, (WORKER_LOCK_SPACE, lock_key(worker)))
    return conn


@pytest.mark.postgres
def test_claims_of_a_worker_whose_session_ended_are_taken_over(
    pg_store: Store, pg_url: str
) -> None:
    rows = insert(pg_store, many(4))
    alive, dead = _session(pg_url, "alive"), _session(pg_url, "dead")
    try:
        pg_store.claim_due(now=T0 + timedelta(seconds=1), worker="alive", lease=LEASE, limit=2)
        pg_store.claim_due(now=T0 + timedelta(seconds=3), worker="dead", lease=LEASE, limit=2)
        assert pg_store.take_over_dead(me="me") == TakeoverCheck({}, claims_elsewhere=True)
        dead.close()  # the session ends: the lock frees at once
        assert pg_store.take_over_dead(me="me") == TakeoverCheck({"dead": 2}, True)
        assert pg_store.take_over_dead(me="me") == TakeoverCheck({}, True)  # alive's
        by_id = {r.id: pg_store.get_delivery(r.id) for r in rows}
        assert [(r.status, r.claimed_by, r.attempts) for r in by_id.values() if r] == [
            (S.SENDING, "alive", 1),
            (S.SENDING, "alive", 1),
            (S.SCHEDULED, None, 1),  # an attempt kept: the next claim is generation 2
            (S.SCHEDULED, None, 1),
        ]
        # Never my own claims, even while my session is away (it is reconnecting).
        assert pg_store.take_over_dead(me="alive") == TakeoverCheck()  # only its own
        again = pg_store.claim_due(now=T0 + timedelta(seconds=5), worker="b", lease=LEASE, limit=9)
        assert [(r.id, r.attempts) for r in again] == [(rows[2].id, 2), (rows[3].id, 2)]
    finally:
        alive.close()
        dead.close()


@pytest.mark.postgres
def test_a_takeover_waits_for_nobody_and_a_returning_owner_waits_for_it(
    pg_store: Store, pg_url: str, pg_databases: Callable[[], str]
) -> None:
    """The takeover takes the owner's lock as a transaction lock: an owner taking its
    session lock again cannot slip in between the check and the release."""
    insert(pg_store, many(2))
    pg_store.claim_due(now=T0 + timedelta(seconds=2), worker="w", lease=LEASE, limit=2)
    owner = _session(pg_url, "w")
    try:
        assert pg_store.take_over_dead(me="me").taken == {}  # held: nothing happens
    finally:
        owner.close()
    # The server frees the lock when the owner's backend has ended, a moment after the
    # client closed it: the first check that sees it free takes both claims over.
    taken = wait_until(
        lambda: pg_store.take_over_dead(me="me").taken,
        timeout=10,
        message="the owner's lock never freed",
    )
    assert taken == {"w": 2}
