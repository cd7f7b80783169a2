"""Whether the store can work: the checks behind the daemon's readiness probe.

Answering ``SELECT 1`` is not enough. A SQLite file locked by another process still
answers reads (WAL), a full disk still answers reads, and a database file deleted
under the daemon still answers everything: the daemon goes on writing into a file
nobody can see, and the next start begins from nothing and sends it all again. So
the probe (run by the daemon's heartbeat, never per HTTP request):

1. checks that the SQLite path still names the file opened at start (device and
   inode pinned at the first probe): deleted or replaced is fatal;
2. checks that the SQLite file's filesystem has room for a claim's write
   (:data:`MIN_FREE_BYTES`): a WAL reuses its pages, so a small write can succeed on
   a full disk while the claims and outcomes that need new pages fail;
3. writes a heartbeat row in ``meta`` with a short lock wait, so a lock held
   elsewhere shows within a second or two instead of after every caller's 5 s.

On SQLite the probe has a connection of its own (:class:`SqliteLook`, raw ``sqlite3``
outside the engine's pool): a beat then costs a few system calls, a write lock taken and
let go (a lock held elsewhere shows within the short wait, and no file changes), and
that connection's ``data_version`` tells whether any other connection (this process's
pool, or another process such as ``tminus ack``) committed since the last look, so the
daemon reads what changed only when something did.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from scheduler.db.engine import SQLITE_BUSY_TIMEOUT_MS
from scheduler.db.tables import META

PROBE_WAIT_MS = 1000  # how long the probe's write waits for a lock held elsewhere
MIN_FREE_BYTES = 1024 * 1024
HEARTBEAT_KEY = "heartbeat"

FileIdentity = tuple[int, int]  # (st_dev, st_ino)


class StoreProblem(StrEnum):
    """Why the store cannot work right now."""

    FILE_GONE = "database_file_gone"  # deleted or replaced under the daemon: fatal
    DISK_FULL = "disk_full"
    LOCKED = "database_locked"
    WRITE_FAILED = "database_write_failed"


@dataclass(frozen=True, slots=True)
class StoreFinding:
    """One failed probe: the reason and what the operator should read."""

    problem: StoreProblem
    detail: str

    @property
    def fatal(self) -> bool:
        """Nothing the daemon could write would be seen again: it must stop."""
        return self.problem is StoreProblem.FILE_GONE

    def __str__(self) -> str:
        return f"{self.problem.value}: {self.detail}"


def file_identity(path: Path) -> FileIdentity | None:
    """Device and inode of the file at ``path``; None when nothing is there."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def check_file(path: Path, pinned: FileIdentity | None) -> StoreFinding | None:
    """Is ``path`` still the file that was opened (``pinned``), with room to write?"""
    now = file_identity(path)
    if now is None:
        return StoreFinding(StoreProblem.FILE_GONE, f"{path} was deleted while tminus ran")
    if pinned is not None and now != pinned:
        return StoreFinding(
            StoreProblem.FILE_GONE, f"{path} was replaced by another file while tminus ran"
        )
    vfs = os.statvfs(path.parent)
    free = vfs.f_bavail * vfs.f_frsize
    if free < MIN_FREE_BYTES:
        return StoreFinding(
            StoreProblem.DISK_FULL, f"{free} bytes free on the filesystem of {path}"
        )
    return None


@contextmanager
def short_lock_wait(conn: Connection) -> Iterator[None]:
    """SQLite: the probe's ``BEGIN IMMEDIATE`` waits :data:`PROBE_WAIT_MS`, not 5 s.

    Set on the driver connection before the transaction begins, and restored after, so
    the pooled connection goes back with the store's usual busy timeout."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute(f"PRAGMA busy_timeout = {PROBE_WAIT_MS}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


def write_heartbeat(conn: Connection, now: datetime) -> None:
    """Upsert the heartbeat row (in the caller's write transaction)."""
    value = now.isoformat()
    if conn.dialect.name == "sqlite":
        lite = sqlite.insert(META).values(key=HEARTBEAT_KEY, value=value)
        conn.execute(lite.on_conflict_do_update(index_elements=["key"], set_={"value": value}))
        return
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{PROBE_WAIT_MS}ms'")
    pg = postgresql.insert(META).values(key=HEARTBEAT_KEY, value=value)
    conn.execute(pg.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def classify(error: Exception) -> StoreFinding:
    """The finding for a failed heartbeat write (the driver's first line as detail)."""
    detail = str(error)
    text = detail.lower()
    if "full" in text:
        return StoreFinding(StoreProblem.DISK_FULL, detail)
    if "locked" in text or "lock timeout" in text or "busy" in text:
        return StoreFinding(StoreProblem.LOCKED, detail)
    return StoreFinding(StoreProblem.WRITE_FAILED, detail)


class SqliteLook:
    """The probe's own connection to a SQLite file, opened at the first look.

    Only the database thread uses it, one probe at a time. Its own writes (the
    heartbeat row) leave its ``data_version`` alone; a commit by any other connection
    changes it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(
                self._path,
                timeout=PROBE_WAIT_MS / 1000,  # how long a write waits for a lock
                isolation_level=None,
                check_same_thread=False,
            )
        return self._conn

    def changed(self) -> bool:
        """Did another connection commit since the last call? (True the first time.)"""
        ((found,),) = self._connection().execute("PRAGMA data_version").fetchall()
        version = int(found)
        changed, self._version = version != self._version, version
        return changed

    def try_lock(self) -> StoreFinding | None:
        """Take the write lock and let it go, writing nothing (no file changes, so no
        file watcher and no other connection hears of it); the finding if it is held
        elsewhere beyond the probe's short wait."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            return classify(exc)
        return None

    def write_heartbeat(self, now: datetime) -> StoreFinding | None:
        """Upsert the heartbeat row; the finding if that failed."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (HEARTBEAT_KEY, now.isoformat()),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            return classify(exc)
        return None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
