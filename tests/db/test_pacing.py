"""One pace per channel across replicas: send slots reserved in PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from scheduler.store import Store


@pytest.mark.postgres
def test_replicas_reserving_at_once_get_slots_one_interval_apart(pg_url: str) -> None:
    stores = [Store.open(pg_url), Store.open(pg_url)]
    waits: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def reserve(store: Store) -> None:
        barrier.wait()
        wait = store.reserve_send_slot("team", interval=timedelta(seconds=10))
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=reserve, args=(stores[i % 2],)) for i in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        # Ten-second slots dwarf the time the six reservations took.
        assert [round(w / 10) for w in sorted(waits)] == [0, 1, 2, 3, 4, 5]
        assert all(abs(w - 10 * round(w / 10)) < 1 for w in waits)
        # Another channel has a pace of its own.
        assert stores[0].reserve_send_slot("other", interval=timedelta(seconds=10)) == 0
    finally:
        for s in stores:
            s.close()


def test_sqlite_has_one_daemon_and_no_shared_pace(tmp_path: object) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/tminus.db")
    try:
        assert store.reserve_send_slot("team", interval=timedelta(seconds=10)) == 0
        assert store.reserve_send_slot("team", interval=timedelta(seconds=10)) == 0
    finally:
        store.close()
