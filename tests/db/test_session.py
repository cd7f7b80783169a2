"""The worker's own PostgreSQL session: it holds the liveness lock, hears wake-ups, and
comes back under a new epoch (after giving its claims back) when the server ends it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from scheduler.db.liveness import live_keys
from scheduler.db.notify import Wakeup
from scheduler.db.session import PING_EVERY, TRUST_FOR, WorkerSession, application_name
from scheduler.fencing import Session, lock_key
from scheduler.store import Store
from tests.support.waiting import wait_until

pytestmark = pytest.mark.postgres

WORKER = "test-host:1:session"


class Heard:
    def __init__(self) -> None:
        self.wakeups: list[str] = []
        self.states: list[Session] = []
        self.acquired: list[int] = []
        self.lock = threading.Lock()

    def wakeup(self, payload: str) -> None:
        with self.lock:
            self.wakeups.append(payload)

    def change(self, state: Session) -> None:
        with self.lock:
            self.states.append(state)


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    s = Store.open(pg_url)
    yield s
    s.close()


def _live_keys(store: Store) -> set[int]:
    with store.engine.connect() as conn:
        return live_keys(conn)


def test_the_session_holds_the_lock_hears_wakeups_and_comes_back(pg_store: Store) -> None:
    heard = Heard()
    session = WorkerSession(
        pg_store.engine.url,
        worker=WORKER,
        on_wakeup=heard.wakeup,
        on_change=heard.change,
        on_acquired=heard.acquired.append,
    )
    session.start()
    try:
        assert session.wait_held(10)
        assert session.state.epoch == 1 and heard.acquired == [1]
        assert lock_key(WORKER) in _live_keys(pg_store)

        pg_store.notify(Wakeup.WORK)
        wait_until(lambda: heard.wakeups == ["work"], timeout=5, message=lambda: f"{heard.wakeups}")

        with pg_store.engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :name"
                ),
                {"name": application_name(WORKER)},
            )
        # Lost at once (the socket closed), then held again under a new epoch, after
        # the claims of the lost session were given back (``on_acquired``).
        wait_until(lambda: session.state.epoch == 2, timeout=10, message="not back")
        assert [s.epoch for s in heard.states] == [1, None, 2]
        assert heard.acquired == [1, 2]
        assert lock_key(WORKER) in _live_keys(pg_store)
    finally:
        session.stop()
    wait_until(
        lambda: lock_key(WORKER) not in _live_keys(pg_store),
        timeout=5,
        message="the lock outlived the session",
    )


def test_a_stop_ends_the_idle_session_at_once(pg_store: Store) -> None:
    """The thread sleeps on the socket between pings, seconds apart; a stop wakes it
    instead of waiting for the next ping."""
    heard = Heard()
    session = WorkerSession(
        pg_store.engine.url, worker=WORKER, on_wakeup=heard.wakeup, on_change=heard.change
    )
    session.start()
    try:
        assert session.wait_held(10)
        # Into the wait: the ping that follows the notification's hand-over is not due.
        pg_store.notify(Wakeup.ACK)
        wait_until(lambda: heard.wakeups == ["ack"], timeout=5, message=lambda: f"{heard.wakeups}")
    finally:
        started = time.monotonic()
        session.stop()
        took = time.monotonic() - started
    assert took < PING_EVERY / 3, f"the stop took {took:.2f} s"
    assert not session.is_alive()
    session.stop()  # again: nothing left to end


def test_an_idle_session_pings_to_stay_trusted_and_wakes_for_little_else(
    pg_store: Store,
) -> None:
    session = WorkerSession(
        pg_store.engine.url, worker=WORKER, on_wakeup=lambda _p: None, on_change=lambda _s: None
    )
    session.start()
    try:
        assert session.wait_held(10)
        first = session.state.confirmed_until
        wait_until(
            lambda: session.state.confirmed_until > first,
            timeout=PING_EVERY * 3,
            message="no ping renewed the session",
        )
        renewed = session.state.confirmed_until
        assert renewed - first >= PING_EVERY * 0.9  # one ping per PING_EVERY, no more
        assert renewed - time.monotonic() > TRUST_FOR - PING_EVERY
    finally:
        session.stop()
