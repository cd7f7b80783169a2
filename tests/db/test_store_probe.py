"""The store's health probe: it reads and writes, and it notices a lost SQLite file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from scheduler.db import health
from scheduler.db.health import StoreProblem
from scheduler.errors import StoreError
from scheduler.store import Store
from tests.support.deliveries import T0


def test_a_healthy_store_passes_and_writes_its_heartbeat(store: Store) -> None:
    assert store.probe(now=T0) is None
    assert store.get_meta(health.HEARTBEAT_KEY) == T0.isoformat()


def test_a_committed_write_is_remembered_and_a_read_or_failed_one_is_not(store: Store) -> None:
    assert store.last_write is None
    store.get_meta("anything")
    assert store.last_write is None
    before = time.monotonic()
    store.set_meta("k", "v")
    written = store.last_write
    assert written is not None and before <= written <= time.monotonic()
    with pytest.raises(StoreError):
        store.set_meta("k", None)  # type: ignore[arg-type]  # refused: no commit
    assert store.last_write == written
    assert store.probe(now=T0) is None  # the probe's own write counts as well
    assert store.last_write is not None and store.last_write >= written


def test_a_file_only_probe_writes_nothing_but_still_sees_a_lost_file(store: Store) -> None:
    store.set_meta(health.HEARTBEAT_KEY, "before")
    written = store.last_write
    assert store.probe(now=T0, write=False) is None
    assert store.get_meta(health.HEARTBEAT_KEY) == "before"
    assert store.last_write == written
    if not store.is_sqlite:
        return
    path = _sqlite_file(store)
    path.unlink()
    found = store.probe(now=T0, write=False)
    assert found is not None and found.problem is StoreProblem.FILE_GONE


def _sqlite_file(store: Store) -> Path:
    if not store.is_sqlite:
        pytest.skip("a SQLite file")
    return Path(str(store.engine.url.database))


def test_a_lock_held_elsewhere_is_reported_within_the_short_wait(store: Store) -> None:
    if store.is_sqlite:
        other = sqlite3.connect(_sqlite_file(store), isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            found = store.probe(now=T0)
            between = store.probe(now=T0, write=False)  # the lock taken and let go
            assert between is not None and between.problem is StoreProblem.LOCKED
        finally:
            other.execute("ROLLBACK")
            other.close()
    else:
        store.set_meta(health.HEARTBEAT_KEY, "x")
        with store.engine.connect() as other, other.begin():
            other.execute(text("SELECT * FROM meta WHERE key = 'heartbeat' FOR UPDATE"))
            found = store.probe(now=T0)
    assert found is not None and found.problem is StoreProblem.LOCKED and not found.fatal
    assert store.probe(now=T0) is None  # released: healthy again


def test_a_deleted_or_replaced_file_is_fatal(store: Store) -> None:
    path = _sqlite_file(store)
    assert store.probe(now=T0) is None  # pins the file
    copy = path.with_name("copy.db")
    shutil.copyfile(path, copy)
    copy.replace(path)
    found = store.probe(now=T0)
    assert found is not None and found.fatal and "replaced" in found.detail
    path.unlink()
    found = store.probe(now=T0)
    assert found is not None and found.problem is StoreProblem.FILE_GONE
    assert "deleted" in found.detail


def test_no_room_left_is_a_full_disk(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _sqlite_file(store)
    real = os.statvfs

    class Full:
        def __init__(self, path: str) -> None:
            self.f_frsize = real(path).f_frsize
            self.f_bavail = 0

    monkeypatch.setattr(health.os, "statvfs", Full)
    found = store.probe(now=T0)
    assert found is not None and found.problem is StoreProblem.DISK_FULL


def test_a_write_the_driver_refuses_is_classified() -> None:
    assert health.classify(Exception("database or disk is full")).problem is StoreProblem.DISK_FULL
    assert health.classify(Exception("database is locked")).problem is StoreProblem.LOCKED
    locked = health.classify(Exception("canceling statement due to lock timeout"))
    assert locked.problem is StoreProblem.LOCKED
    other = health.classify(Exception("attempt to write a readonly database"))
    assert other.problem is StoreProblem.WRITE_FAILED
    assert str(other) == "database_write_failed: attempt to write a readonly database"


def test_commits_by_other_connections_are_seen_and_the_probes_own_are_not(store: Store) -> None:
    if not store.is_sqlite:
        assert store.changed_elsewhere() is None  # PostgreSQL: notifications tell
        return
    assert store.changed_elsewhere() is True  # the first look
    assert store.changed_elsewhere() is False
    assert store.probe(now=T0) is None  # the probe's own heartbeat write
    assert store.changed_elsewhere() is False
    store.set_meta("k", "v")  # a write of this process's pool
    assert store.changed_elsewhere() is True
    other = sqlite3.connect(_sqlite_file(store), isolation_level=None)  # `tminus ack`
    try:
        other.execute("INSERT INTO meta (key, value) VALUES ('other', 'x')")
    finally:
        other.close()
    assert store.changed_elsewhere() is True
    assert store.changed_elsewhere() is False
