"""Writes that change many rows at once never deadlock each other on PostgreSQL.

Under a burst the dispatcher renews the leases of hundreds of rows in flight while the
recorder marks a batch of them done in completion order. Both lock rows; unless every
multi-row statement locks them in one global order (by id), the two transactions can
each hold a row the other wants (``DeadlockDetected``), and a batch of outcomes the
receivers had answered is lost.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from scheduler.db import queue
from scheduler.errors import StoreError
from scheduler.store import Mark, Store
from tests.support.deliveries import T0, many
from tests.support.store import LEASE, attempt, insert

ROWS = 400
ROUNDS = 25
NOW = T0 + timedelta(days=1)


def _both(first: Callable[[], object], second: Callable[[], object]) -> list[BaseException]:
    """Run two calls at the same moment on two threads; return what they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as exc:  # collected, asserted by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@pytest.mark.postgres
def test_recording_and_lease_renewal_on_overlapping_rows_never_deadlock(
    pg_databases: Callable[[], str],
) -> None:
    url = pg_databases()
    store = Store.open(url)
    store.upgrade()
    ids = [p.id for p in insert(store, many(ROWS))]
    other = Store.open(url)
    rng = random.Random(13)
    try:
        for _ in range(ROUNDS):
            claimed = store.claim_due(now=NOW, worker="w", lease=LEASE, limit=ROWS)
            assert len(claimed) == ROWS
            done = rng.sample(ids, ROWS // 2)  # in completion order, not by id
            marks = [
                Mark(
                    "retry",
                    i,
                    "w",
                    NOW,
                    attempt=attempt(code=500),
                    next_attempt_at=NOW,
                    generation=claimed[0].attempts,
                )
                for i in done
            ]
            renewed = [(i, claimed[0].attempts) for i in rng.sample(ids, len(ids))]
            errors = _both(
                partial(store.record, marks),
                partial(other.extend_leases, renewed, worker="w", lease_until=NOW + LEASE),
            )
            assert errors == []
            store.record(
                [
                    Mark(
                        "retry",
                        i,
                        "w",
                        NOW,
                        attempt=attempt(code=500),
                        next_attempt_at=NOW,
                        generation=claimed[0].attempts,
                    )
                    for i in ids
                ]
            )
    finally:
        other.close()
        store.close()


def _failing(error: type[Exception], times: int) -> Callable[..., int]:
    calls: list[int] = []

    def release(conn: object, *, worker: str | None, forgive_unrecorded: bool = False) -> int:
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("UPDATE deliveries …", {}, error("rolled back"))
        return len(calls)

    return release


@pytest.mark.parametrize(
    "error", [psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure]
)
def test_a_transaction_the_server_rolled_back_is_run_again(
    store: Store, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    monkeypatch.setattr(queue, "release_claims", _failing(error, times=2))
    assert store.release_claims() == 3  # the third run went through


def test_retries_are_bounded_and_other_errors_are_not_retried(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "release_claims", _failing(psycopg.errors.DeadlockDetected, 99))
    with pytest.raises(StoreError, match="rolled back"):
        store.release_claims()
    once = _failing(psycopg.errors.UniqueViolation, times=1)
    monkeypatch.setattr(queue, "release_claims", once)
    with pytest.raises(StoreError, match="rolled back"):
        store.release_claims()
