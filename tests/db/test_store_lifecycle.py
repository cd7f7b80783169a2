"""The store on a SQLite file and on PostgreSQL: opening, revisions, meta, channel state."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.errors import StoreError
from scheduler.store import Store
from tests.support.deliveries import T0


# -- opening -------------------------------------------------------------------------
def test_sqlite_open_creates_directory_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "t.db"
    store = Store.open(f"sqlite:///{path}")
    try:
        store.upgrade()
        assert path.exists()
        assert store.is_sqlite
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()


def test_ping_raises_store_error_when_unreachable() -> None:
    store = Store.open("postgresql://nobody:hunter2@127.0.0.1:1/none?connect_timeout=2")
    try:
        with pytest.raises(StoreError) as info:
            store.ping()
        assert "hunter2" not in str(info.value)
        assert not store.is_sqlite
    finally:
        store.close()


def test_invalid_url_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        Store.open("nonsense://")


def test_ping_and_revision(store: Store) -> None:
    store.ping()
    assert store.current_revision() == Store.head_revision() is not None


# -- meta ------------------------------------------------------------------------------
def test_meta_roundtrip(store: Store) -> None:
    assert store.get_meta("planned_through") is None
    store.set_meta("planned_through", "2026-03-01T12:00:00+00:00")
    store.set_meta("planned_through", "2026-03-02T12:00:00+00:00")
    assert store.get_meta("planned_through") == "2026-03-02T12:00:00+00:00"


# -- channel state ---------------------------------------------------------------------
def test_channel_state(store: Store) -> None:
    assert store.channel_states() == {}
    store.disable_channel("hook", fingerprint="abc", reason="410 Gone", now=T0)
    states = store.channel_states()
    assert states["hook"].disabled and states["hook"].disabled_reason == "410 Gone"
    assert states["hook"].disabled_at == T0
    store.enable_channel("hook")
    states = store.channel_states()
    assert not states["hook"].disabled
