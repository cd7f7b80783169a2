"""The daemon's view of whether its store can work: probed on the heartbeat, cached
for ``/readyz`` and the dispatcher.

The heartbeat (every 2 s) asks :func:`probe_kind` what to check, and starts at most
one probe at a time (:meth:`StoreHealth.poke`) on the database executor, so a probe
waiting behind a long write never stacks up and an HTTP request never waits for one:

* the SQLite file (still the one opened, with room to write, its write lock free) is
  checked on every beat, a few system calls, so a lost file stops the daemon and a lock
  held elsewhere shows within two or three seconds;
* the heartbeat row is written only when nothing proved the store writable lately
  (:data:`WRITE_PROOF_FOR`): any committed write of this process is such a proof, so a
  busy daemon's own claims and outcomes stand in for it, and an idle one writes once
  every few seconds instead of every beat;
* while the store is unhealthy, every beat writes, so its recovery shows at once.

On SQLite each probe also asks whether another connection committed since the last
one (:meth:`~scheduler.store.Store.changed_elsewhere`) and, if so, calls
``on_changed`` (the daemon reads acknowledgements made by other processes then, instead
of on every beat).

While the store is unhealthy the dispatcher claims nothing, ``/readyz`` answers 503
with the reason, and the log says so once (one error line when it starts or its reason
changes, one line when it ends). A deleted or replaced SQLite file is fatal: the daemon
is told to stop (``on_fatal``) rather than keep writing into a file nobody can see.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum

from scheduler.db.health import StoreFinding
from scheduler.delivery.values import Clock, DbCall
from scheduler.logs import fields
from scheduler.store import Store

log = logging.getLogger("tminus.health")

# Seconds a committed write vouches for the store. Between writes, a SQLite file is
# still checked every beat: its identity, its room, and its write lock taken and let go
# (a lock held by another process shows within two or three seconds, and no file changes).
# A PostgreSQL server has no file to lose, and its failures (a standby promoted, a full
# disk) are not a matter of seconds: longer than the sweep's period (15 s,
# scheduler.timers), so an idle daemon's sweep claim (a write transaction, even when it
# claims nothing) stands in for the heartbeat row, and an idle daemon writes none.
WRITE_PROOF_FOR = {"sqlite": 5.0, "postgresql": 20.0}


class ProbeKind(StrEnum):
    """What a heartbeat checks."""

    WRITE = "write"  # the file (SQLite) and a heartbeat row written
    FILE = "file"  # the SQLite file and its lock: a recent write proved it writable
    NONE = "none"  # nothing: a recent write proved it, and there is no file to lose


def probe_kind(
    *,
    now: float,
    healthy: bool,
    last_write: float | None,
    proof_for: float,
    has_file: bool,
) -> ProbeKind:
    """What to check at monotonic time ``now``, given whether the last probe found the
    store healthy and when a write last committed (None: never)."""
    if not healthy or last_write is None or now - last_write >= proof_for:
        return ProbeKind.WRITE
    return ProbeKind.FILE if has_file else ProbeKind.NONE


class StoreHealth:
    """The last probe's finding (None: healthy) and what changes when it changes."""

    def __init__(
        self,
        *,
        store: Store,
        db: DbCall,
        clock: Clock,
        on_recovered: Callable[[], Awaitable[None]],
        on_fatal: Callable[[StoreFinding], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._db = db
        self._clock = clock
        self._monotonic = monotonic
        self._on_recovered = on_recovered
        self._on_fatal = on_fatal
        self._proof_for = WRITE_PROOF_FOR["sqlite" if store.is_sqlite else "postgresql"]
        self._has_file = store.is_sqlite
        self.finding: StoreFinding | None = None
        self._probe: asyncio.Task[None] | None = None
        self.on_changed: Callable[[], None] = lambda: None

    @property
    def healthy(self) -> bool:
        return self.finding is None

    def reason(self) -> str | None:
        """Why the store cannot work, for ``/readyz``; None when it can."""
        return None if self.finding is None else f"the store cannot work ({self.finding})"

    def poke(self) -> None:
        """Start the probe this beat needs, unless one is still running (the heartbeat
        calls this)."""
        if self._probe is not None and not self._probe.done():
            return
        kind = probe_kind(
            now=self._monotonic(),
            healthy=self.healthy,
            last_write=self._store.last_write,
            proof_for=self._proof_for,
            has_file=self._has_file,
        )
        if kind is not ProbeKind.NONE:
            self._probe = asyncio.create_task(self.check(write=kind is ProbeKind.WRITE))

    def _look(self, now: datetime, write: bool) -> tuple[StoreFinding | None, bool]:
        """On the database thread: the probe's finding, and whether another connection
        committed since the last look (never when the store cannot work)."""
        found = self._store.probe(now=now, write=write)
        return found, found is None and bool(self._store.changed_elsewhere())

    async def check(self, *, write: bool = True) -> None:
        """Probe the store once (the file only, unless ``write``) and act on a change of
        its finding."""
        try:
            found, changed = await self._db(self._look, self._clock(), write)
        except Exception:  # the probe itself broke: report it, do not die
            log.exception("store probe failed")
            return
        if changed:
            self.on_changed()
        previous, self.finding = self.finding, found
        if found == previous:
            return
        if found is None:
            log.warning("store healthy again: claiming resumes")
            await self._on_recovered()
            return
        if found.fatal:
            log.error(
                "database file lost: stopping, nothing more is claimed or written "
                "(restore the file or start again on a new one)",
                extra=fields(reason=found.problem.value, detail=found.detail),
            )
            self._on_fatal(found)
            return
        if previous is None or previous.problem is not found.problem:
            log.error(
                "store cannot work: no claims until it can (readiness is 503)",
                extra=fields(reason=found.problem.value, detail=found.detail),
            )
