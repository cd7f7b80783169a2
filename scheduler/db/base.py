"""The store's foundation: the engine, transactions (a deadlocked or unserialisable one
is run again), the mapping of driver errors to tminus's, migrations and the health probe.

:class:`scheduler.store.Store` builds its named operations on :class:`StoreBase`; nothing
else uses this module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Self, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, StatementError

from scheduler.db import engine as engines
from scheduler.db import health
from scheduler.errors import StoreError

T = TypeVar("T")
# SQLSTATEs of a transaction the server rolled back so that another could go on: a
# deadlock (40P01) or a serialisation failure (40001). Running it again is correct.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
WRITE_ATTEMPTS = 4
RETRY_PAUSE = 0.05  # seconds, doubled after each failed attempt


def _retryable(exc: BaseException) -> bool:
    orig = getattr(exc.__cause__, "orig", None)
    return getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES


class StoreBase:
    """The engine, its transactions and the mapping of driver errors: what every named
    operation of :class:`scheduler.store.Store` runs in."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Lease renewal and outcome batches of this process take turns rather than
        # waiting on each other's row locks (they are ordered by id either way).
        self._queue_writes = threading.Lock()
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        memory = database in (None, "", ":memory:") or "mode=memory" in str(database)
        self._sqlite_file = None if memory else Path(str(database)).expanduser()
        self._file_identity: health.FileIdentity | None = None
        self._look = None if self._sqlite_file is None else health.SqliteLook(self._sqlite_file)
        # When (``time.monotonic()``) a write transaction last committed: a store that
        # writes proves itself writable, and the health probe need not write too.
        self.last_write: float | None = None
        # PostgreSQL: connections a thread keeps for its frequent small reads (see
        # :meth:`_read_kept`), closed with the store.
        self._kept = threading.local()
        self._kept_all: dict[Connection, threading.Thread] = {}  # each with its thread
        self._kept_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, application_name: str | None = None) -> Self:
        """Connect to ``url`` (SQLite file, created with its directory, or PostgreSQL,
        its connections named ``application_name``)."""
        return cls(engines.create_store_engine(url, application_name=application_name))

    def close(self) -> None:
        with self._kept_lock:
            for conn in self._kept_all:
                conn.close()
            self._kept_all.clear()
        if self._look is not None:
            self._look.close()
        self._engine.dispose()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def is_sqlite(self) -> bool:
        return self._engine.dialect.name == "sqlite"

    def upgrade(self) -> None:
        """Migrate the schema to the newest revision (Alembic, in one transaction)."""
        with self._errors():
            engines.upgrade(self._engine)

    def current_revision(self) -> str | None:
        with self._errors():
            return engines.current_revision(self._engine)

    @staticmethod
    def head_revision() -> str | None:
        return engines.head_revision()

    def ensure_schema(self) -> None:
        """Upgrade unless the schema is already at the newest revision."""
        if self.current_revision() != self.head_revision():
            self.upgrade()

    def ping(self) -> None:
        """Raise :class:`StoreError` unless the database answers."""
        with self._read() as conn:
            conn.exec_driver_sql("SELECT 1").scalar_one()

    def probe(self, *, now: datetime, write: bool = True) -> health.StoreFinding | None:
        """Can the store read and write? None if so, else why not (see
        :mod:`scheduler.db.health`). The first probe pins the SQLite file's identity:
        later ones report it deleted or replaced. ``write=False`` checks only the SQLite
        file (its identity and room) and that its write lock can be taken, writing
        nothing."""
        if self._sqlite_file is not None:
            if self._file_identity is None:
                self._file_identity = health.file_identity(self._sqlite_file)
            found = health.check_file(self._sqlite_file, self._file_identity)
            if found is not None:
                return found
        if not write:
            return None if self._look is None else self._look.try_lock()
        if self._look is not None:
            found = self._look.write_heartbeat(now)
            if found is None:
                self.last_write = time.monotonic()
            return found
        try:
            with (
                self._errors(),
                self._engine.connect().execution_options(**{engines.WRITE_OPTION: True}) as conn,
                health.short_lock_wait(conn),
                conn.begin(),
            ):
                health.write_heartbeat(conn, now)
        except StoreError as exc:
            return health.classify(exc)
        self.last_write = time.monotonic()
        return None

    def changed_elsewhere(self) -> bool | None:
        """SQLite file: did another connection (this process's pool, another process)
        commit since the last call? True the first time. None where the store cannot
        tell (PostgreSQL announces changes with notifications instead)."""
        return None if self._look is None else self._look.changed()

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as exc:
            # The driver's own first line: no URL, no parameters.
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise StoreError(f"database error: {detail}") from exc
        except StatementError as exc:
            # A value the column type refused (a naive datetime): the caller's mistake.
            if isinstance(exc.orig, ValueError):
                raise exc.orig from None
            raise

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors(), self._engine.connect() as conn:
            yield conn

    def _read_kept(self, read: Callable[[Connection], T]) -> T:
        """Run a small read on a connection the calling thread keeps, in autocommit: one
        round trip to the server, where :meth:`_read` adds a pool checkout with its ping
        and a rollback at the end (three, on a reader that runs before every due batch).
        A connection found lost is replaced once. SQLite: :meth:`_read`."""
        if self.is_sqlite:
            with self._read() as conn:
                return read(conn)
        with self._errors():
            conn = self._kept_connection()
            try:
                return read(conn)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
            self._drop_kept(conn)
            return read(self._kept_connection())

    def _kept_connection(self) -> Connection:
        conn: Connection | None = getattr(self._kept, "conn", None)
        if conn is not None and not conn.closed and not conn.invalidated:
            return conn
        if conn is not None:
            self._drop_kept(conn)
        with self._kept_lock:
            # A thread that ended (a short-lived one: tests, ``asyncio.to_thread``) gives
            # its connection back here, so they never pile up past the pool's limit.
            for ended in [c for c, t in self._kept_all.items() if not t.is_alive()]:
                del self._kept_all[ended]
                ended.close()
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._kept.conn = conn
        with self._kept_lock:
            self._kept_all[conn] = threading.current_thread()
        return conn

    def _drop_kept(self, conn: Connection) -> None:
        self._kept.conn = None
        with self._kept_lock:
            self._kept_all.pop(conn, None)
        conn.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with (
            self._errors(),
            self._engine.connect().execution_options(**{engines.WRITE_OPTION: True}) as conn,
            conn.begin(),
        ):
            yield conn
        self.last_write = time.monotonic()  # committed

    def _write_kept(self, work: Callable[[Connection], T]) -> T:
        """Run ``work``, which must be ONE statement, on the connection the calling thread
        keeps (:meth:`_read_kept`), in autocommit: the statement is its own transaction,
        one round trip, where :meth:`_transact` adds a pool checkout with its ping, a
        BEGIN and a COMMIT (the claims and outcome batches of a burst, on PostgreSQL).
        Run again, as :meth:`_transact` does, when the server rolled it back as
        deadlocked. A connection found lost is replaced once and the statement sent
        again: if the first had committed before the answer was lost, the second finds
        its rows already changed (a claim: other rows, the first ones waiting for their
        lease; outcomes: reported as claims lost, the rows recorded). SQLite:
        :meth:`_transact`."""
        if self.is_sqlite:
            return self._transact(work)
        pause = RETRY_PAUSE
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                result = self._read_kept(work)
            except StoreError as exc:
                if attempt == WRITE_ATTEMPTS or not _retryable(exc):
                    raise
            else:
                self.last_write = time.monotonic()  # committed
                return result
            time.sleep(pause)
            pause *= 2
        raise AssertionError("unreachable")

    def _transact(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction; run it again (a few times, after a
        short pause) when the server rolled it back as deadlocked or not serialisable."""
        pause = RETRY_PAUSE
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self._write() as conn:
                    return work(conn)
            except StoreError as exc:
                if attempt == WRITE_ATTEMPTS or not _retryable(exc):
                    raise
            time.sleep(pause)
            pause *= 2
        raise AssertionError("unreachable")

    def _upsert(self, table: Any, key: str, values: dict[str, Any]) -> None:
        dialect = sqlite if self.is_sqlite else postgresql
        stmt = dialect.insert(table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[key], set_={k: v for k, v in values.items() if k != key}
        )
        self._transact(lambda conn: conn.execute(stmt))
