"""A worker's own PostgreSQL session: its liveness lock and its ear for wake-ups.

One thread keeps one connection of its own, outside the engine's pool (a pooled
connection handed back would keep a session lock in limbo). On it the worker holds
its advisory lock (:mod:`scheduler.db.liveness`) for as long as the connection lives,
and LISTENs on :data:`scheduler.db.notify.CHANNEL`. Between notifications the thread
sleeps on the connection's socket (and a pipe that :meth:`WorkerSession.stop` writes
to, so a stop never waits for the next ping), and pings every :data:`PING_EVERY`; each
answer vouches for the session for :data:`TRUST_FOR`. An idle session so wakes only
for its ping.

When the connection fails (terminated by the server, reset, silent), the session is
reported lost at once and claims stop; the thread reconnects with a short backoff,
takes the lock again (waiting while another replica's takeover holds it), runs
``on_acquired`` (the daemon gives back every claim the worker still has in the
database: its copies in memory belong to the old session and will not be sent), and
only then reports the new epoch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy.engine import URL

from scheduler.db.liveness import SESSION_LOCK
from scheduler.db.notify import CHANNEL
from scheduler.fencing import WORKER_LOCK_SPACE, Session, lock_key
from scheduler.logs import fields

log = logging.getLogger("tminus.session")

PING_EVERY = 3.0  # seconds between pings while no notification comes
# An answer vouches for the session this long. PostgreSQL notices a silent client only
# after TCP keepalives (two hours by default, minutes where tuned), so a partitioned
# worker stops trusting its claims long before the server could free its lock for
# another replica to take over; a server that ends the session (terminate, restart)
# is noticed at once (the socket closes, which wakes the wait). Several seconds more
# than PING_EVERY, so a busy machine whose thread missed a ping or two does not drop
# good claims (measured: a 2 s trust pinged every 0.5 s did, under load).
TRUST_FOR = 10.0
CONNECT_TIMEOUT = 3  # seconds (libpq's connect_timeout)
LOCK_TIMEOUT_MS = 2000  # a wait for the lock held by a takeover; then try again
RECONNECT_MAX = 2.0  # seconds, the backoff's cap
STOP_WAIT = CONNECT_TIMEOUT + 1.0  # seconds a stop waits for the thread (a connect in progress)


class Wake:
    """A pipe that wakes the session's thread from its wait on the socket: psycopg's own
    waits watch only the connection, so the thread selects on both itself."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._closed = False

    def fileno(self) -> int:
        return self._read

    def set(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(BlockingIOError):  # full: plenty to wake it already
            os.write(self._write, b"x")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._read)
            os.close(self._write)


def wait_readable(conn: psycopg.Connection[Any], wake: Wake, timeout: float) -> bool:
    """Block until the connection has something to read (True), or ``wake`` was set or
    ``timeout`` passed (False). Without the GIL, without a wake-up before then."""
    with selectors.DefaultSelector() as sel:
        sel.register(conn.fileno(), selectors.EVENT_READ, True)
        sel.register(wake, selectors.EVENT_READ, False)
        return any(key.data for key, _ in sel.select(timeout))


def application_name(worker: str) -> str:
    """What ``pg_stat_activity`` shows for this worker's connections (63 bytes at most)."""
    return f"tminus {worker}"[:63]


class WorkerSession:
    """Holds the worker's liveness lock on a dedicated connection, in a thread."""

    def __init__(
        self,
        url: URL,
        *,
        worker: str,
        on_wakeup: Callable[[str], None],
        on_change: Callable[[Session], None],
        on_acquired: Callable[[int], None] = lambda _epoch: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``on_wakeup`` gets each notification's payload; ``on_change`` each new
        :class:`~scheduler.fencing.Session` (lost, or held under a new epoch);
        ``on_acquired`` runs in the thread after the lock is taken, before the epoch is
        published. All three are called from the session's thread."""
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._worker = worker
        self._key = lock_key(worker)
        self._on_wakeup = on_wakeup
        self._on_change = on_change
        self._on_acquired = on_acquired
        self._monotonic = monotonic
        self._epochs = 0
        self.state = Session(epoch=None, confirmed_until=0.0)
        self._stopping = threading.Event()
        self._wake = Wake()
        self._thread = threading.Thread(target=self._run, name="tminus-session", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait_held(self, timeout: float) -> bool:
        """Block until the lock is held (or ``timeout`` passed); True if held."""
        deadline = time.monotonic() + timeout
        while self.state.epoch is None and time.monotonic() < deadline:
            if not self._thread.is_alive():
                return False
            time.sleep(0.02)
        return self.state.epoch is not None

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """End the session (the lock frees with the connection) and join the thread: at
        once while it waits (the pipe wakes it), within :data:`STOP_WAIT` while it
        connects."""
        self._stopping.set()
        self._wake.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=STOP_WAIT)
        if not self._thread.is_alive():
            self._wake.close()

    def _run(self) -> None:
        pause = 0.1
        while not self._stopping.is_set():
            try:
                self._hold()
                pause = 0.1
            except Exception as exc:  # any failure: the session is lost; connect again
                if self.state.epoch is not None:
                    self._publish(Session(epoch=None, confirmed_until=0.0))
                    log.error(
                        "liveness session lost: no claims until it is back",
                        extra=fields(error=type(exc).__name__),
                    )
            self._stopping.wait(pause)
            pause = min(pause * 2, RECONNECT_MAX)

    def _hold(self) -> None:
        with psycopg.Connection.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name=application_name(self._worker),
        ) as conn:
            conn.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
            conn.execute(SESSION_LOCK, (WORKER_LOCK_SPACE, self._key))
            conn.execute(f"LISTEN {CHANNEL}")
            started = self._monotonic()
            self._epochs += 1
            self._on_acquired(self._epochs)
            self._publish(Session(epoch=self._epochs, confirmed_until=started + TRUST_FOR))
            if self._epochs > 1:
                log.warning("liveness session back", extra=fields(epoch=self._epochs))
            self._listen(conn, ping_at=started + PING_EVERY)

    def _listen(self, conn: psycopg.Connection[Any], *, ping_at: float) -> None:
        """Hand on notifications and ping when due, until a stop (or the connection
        fails: raises)."""
        while not self._stopping.is_set():
            # What is already in (heard during the ping, or read with the last batch)
            # first: the socket will not signal it again.
            for note in conn.notifies(timeout=0):
                self._on_wakeup(note.payload)
            wait = ping_at - self._monotonic()
            if wait > 0 and wait_readable(conn, self._wake, wait):
                continue  # something came in: a notification, or the connection's end
            if self._stopping.is_set() or self._monotonic() < ping_at:
                continue
            started = self._monotonic()
            conn.execute("SELECT 1")
            self._publish(Session(epoch=self._epochs, confirmed_until=started + TRUST_FOR))
            ping_at = started + PING_EVERY

    def _publish(self, state: Session) -> None:
        changed = state.epoch != self.state.epoch
        self.state = state
        if changed:
            self._on_change(state)
