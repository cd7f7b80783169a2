"""Worker liveness on PostgreSQL: session advisory locks, and taking over the claims of
workers whose lock is gone.

Each ``tminus run`` holds a session-level advisory lock, keyed by its worker id
(:func:`scheduler.fencing.lock_key`), on a connection of its own for its whole life
(:mod:`scheduler.db.session`). PostgreSQL frees a session lock the moment the session
ends, whatever ended it (the process killed, the machine gone and its connection reset,
``pg_terminate_backend``), so a claim whose worker's lock is free belongs to nobody.

The check is two cheap reads (who holds claims; which worker locks are held) and, only
for a worker found dead, one write transaction that first takes that worker's lock as a
*transaction* lock (``pg_try_advisory_xact_lock``): if that succeeds, the owner is
really gone and cannot come back mid-release (its reconnect waits for the lock), and the
lock frees itself at commit, so the pooled connection keeps nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select, text

from scheduler.db.queue import release_claims
from scheduler.db.reads import D, S
from scheduler.fencing import WORKER_LOCK_SPACE, lock_key

# Workers' session locks alive in this database (the two-int form: objsubid = 2).
_LIVE_KEYS = text(
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND objsubid = 2 AND classid = :space"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
SESSION_LOCK = "SELECT pg_advisory_lock(%s, %s)"


@dataclass(frozen=True, slots=True)
class TakeoverCheck:
    """What one takeover check found: claims put back in the queue, per dead worker, and
    whether other workers (alive or dead) held claims at all when it looked."""

    taken: dict[str, int] = field(default_factory=dict)
    claims_elsewhere: bool = False


def claimants(conn: Connection) -> list[str]:
    """Workers holding ``sending`` rows now."""
    stmt = select(D.c.claimed_by).where(D.c.status == S.SENDING, D.c.claimed_by.is_not(None))
    return sorted({str(w) for w in conn.execute(stmt.distinct()).scalars()})


def live_keys(conn: Connection) -> set[int]:
    """Lock keys of the worker sessions alive now; objid is unsigned in pg_locks."""
    rows = conn.execute(_LIVE_KEYS, {"space": WORKER_LOCK_SPACE}).scalars()
    return {k - 2**32 if k >= 2**31 else k for k in rows}


def take_over(conn: Connection, worker: str) -> int | None:
    """In a write transaction: if ``worker``'s session lock is free, put its claims back in
    the queue and return how many; None if the worker is alive after all.

    A row keeps at most one attempt more than it recorded (the request that may have been
    on the wire), so replicas killed again and again do not use up ``max_attempts``. The
    old holder cannot write over the next claim: its guard names it as the claimant, and
    a holder whose session ended drops its copies before sending (the ``fence`` stage);
    only the same worker claiming the row again at the very generation it held could
    match, and then its late record is of a request that was really made (at worst the
    same id is sent twice, never lost)."""
    took = conn.execute(
        select(func.pg_try_advisory_xact_lock(WORKER_LOCK_SPACE, lock_key(worker)))
    ).scalar_one()
    if not took:
        return None
    return release_claims(conn, worker=worker, forgive_unrecorded=True)
