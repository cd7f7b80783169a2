"""Claims, outcome batches and lease renewals on PostgreSQL: each one statement, sent on
the connection the database thread keeps, in autocommit (one round trip, committed when
it answers); a lost connection is replaced; a thread that ended gives its connection
back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from scheduler.model import DeliveryStatus as S
from scheduler.store import Mark, Store
from tests.support.deliveries import T0, many
from tests.support.store import LEASE, attempt, insert

pytestmark = pytest.mark.postgres

NOW = T0 + timedelta(days=1)


@pytest.fixture
def pg_fresh(pg_databases: Callable[[], str]) -> str:
    """A fresh, migrated PostgreSQL database of this test's own."""
    url = pg_databases()
    store = Store.open(url)
    store.upgrade()
    store.close()
    return url


def _backend(store: Store) -> int:
    pid: int = store._read_kept(lambda conn: conn.execute(text("SELECT pg_backend_pid()")).scalar())
    return pid


@contextmanager
def _statements(store: Store) -> Iterator[list[str]]:
    """The statements the store's connections send while the block runs."""
    sent: list[str] = []

    def note(*args: Any) -> None:
        sent.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


def test_claim_record_and_renewal_are_one_statement_each_on_the_kept_connection(
    pg_fresh: str,
) -> None:
    store = Store.open(pg_fresh)
    other = Store.open(pg_fresh)
    try:
        insert(store, many(40))
        kept = _backend(store)
        with _statements(store) as sent:
            claimed = store.claim_due(now=NOW, worker="w", lease=LEASE, limit=40)
            renewed = store.extend_leases(
                [(r.id, r.attempts) for r in claimed], worker="w", lease_until=NOW + LEASE
            )
            marks = [
                Mark("sent", r.id, "w", NOW, attempt=attempt(), generation=r.attempts)
                for r in claimed
            ]
            held = store.record(marks)
        assert len(claimed) == 40 and all(r.snapshot.title for r in claimed)
        assert renewed == {(r.id, r.attempts) for r in claimed}
        assert held == [True] * 40
        assert len(sent) == 3, sent
        assert _backend(store) == kept
        # Autocommit: every change is visible to another connection at once.
        counts = other.counts_by_status()
        assert counts[S.SENT.value] == 40
        assert all(len(other.attempts(r.id)) == 1 for r in claimed[:3])
    finally:
        other.close()
        store.close()


def test_a_lost_connection_is_replaced_and_claims_and_outcomes_go_on(pg_fresh: str) -> None:
    store = Store.open(pg_fresh)
    other = Store.open(pg_fresh)
    try:
        insert(store, many(4))
        (first,) = store.claim_due(now=NOW, worker="w", lease=LEASE, limit=1)
        lost = _backend(store)
        with other.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": lost})
            conn.commit()
        mark = Mark("sent", first.id, "w", NOW, attempt=attempt(), generation=first.attempts)
        assert store.record([mark]) == [True]
        assert _backend(store) != lost
        assert len(store.claim_due(now=NOW, worker="w", lease=LEASE, limit=10)) == 3
    finally:
        other.close()
        store.close()


def test_threads_that_ended_give_their_kept_connections_back(pg_fresh: str) -> None:
    store = Store.open(pg_fresh)
    try:
        insert(store, many(30))
        # More short-lived threads than the pool holds (10 + 10 overflow).
        for _ in range(30):
            worker = threading.Thread(
                target=store.claim_due,
                kwargs={"now": NOW, "worker": "w", "lease": LEASE, "limit": 1},
            )
            worker.start()
            worker.join(30)
        assert store.counts_by_status()[S.SENDING.value] == 30
        assert store.engine.pool.checkedout() <= 2  # type: ignore[attr-defined]
    finally:
        store.close()
