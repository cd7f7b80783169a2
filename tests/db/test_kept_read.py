"""The acknowledgement version, read before every due batch, on a connection its thread
keeps (PostgreSQL): one connection across reads, replaced once when it was lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from scheduler.acknowledge import Acknowledgement, AckSource
from scheduler.store import Store
from tests.support.deliveries import T0

pytestmark = pytest.mark.postgres


def _backend(store: Store) -> int:
    pid: int = store._read_kept(lambda conn: conn.execute(text("SELECT pg_backend_pid()")).scalar())
    return pid


def test_reads_share_one_connection_and_see_each_change(pg_url: str) -> None:
    store = Store.open(pg_url)
    try:
        first = _backend(store)
        before = store.ack_version()
        ack = Acknowledgement("m1", T0, "Ann", "seen it", AckSource.API, T0 - timedelta(days=1))
        store.acknowledge(ack, webhook_channels=[])
        # Autocommit: no snapshot held from the first read hides the commit.
        assert store.ack_version() != before
        assert _backend(store) == first
    finally:
        store.close()


def test_a_connection_lost_is_replaced_and_the_read_answers(pg_url: str) -> None:
    store = Store.open(pg_url)
    other = Store.open(pg_url)
    try:
        lost = _backend(store)
        version = store.ack_version()
        with other.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": lost})
            conn.commit()
        assert store.ack_version() == version
        assert _backend(store) != lost
    finally:
        other.close()
        store.close()
