"""The delivery queue: atomic claims, leases and guarded state changes.

Part of the store (it speaks SQL). Functions of a connection already in a write
transaction (:class:`scheduler.store.Store` opens it). A claim is a single
``UPDATE … WHERE id IN (SELECT … [FOR UPDATE SKIP LOCKED]) RETURNING``, so two
processes never take the same row. Every outcome goes through :func:`record`, whose
marks only change a row still ``sending`` under the caller's claim *and generation*
(:func:`claim_guard`, the SQL of :func:`scheduler.fencing.fence`), so a replica whose
claim was taken over cannot overwrite the one that took over, even after claiming the
same row again itself.

Lock order: every statement that changes several rows locks them in one global order,
by id (on PostgreSQL a ``SELECT … ORDER BY id FOR UPDATE`` first, then the change), so
lease renewal, outcome batches, supersedes and releases never hold a row another one
of them waits for while waiting for one it holds (a deadlock). Claims take only rows
nobody has locked (``SKIP LOCKED``), so they never wait at all.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    any_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from scheduler.db.marks import HELD_REASON, Mark, apply_marks, record_in_one
from scheduler.db.reads import FINAL_STATUSES, D, S, snapshots, to_row
from scheduler.db.rows import DeliveryRow
from scheduler.db.tables import ATTEMPTS, REMINDERS
from scheduler.snapshot import Snapshot

REDELIVERABLE = (S.DEAD, S.SENT, S.SKIPPED, S.CANCELLED)
_CHUNK = 500  # ids per IN (…) list


def claim_guard(worker: str, generation: int) -> tuple[Any, ...]:
    """The fencing rule (:func:`scheduler.fencing.fence`) as a WHERE clause: the row is
    still ``sending`` under ``worker``'s claim of this ``generation``."""
    return (D.c.status == S.SENDING, D.c.claimed_by == worker, D.c.attempts == generation)


def claim_due(
    conn: Connection,
    *,
    now: datetime,
    worker: str,
    lease: timedelta,
    limit: int,
    ahead: timedelta,
    skip_channels: Collection[str] = (),
) -> list[DeliveryRow]:
    """Take up to ``limit`` due rows for ``worker`` (see ``Store.claim_due``)."""
    due = D.c.next_attempt_at <= now
    if ahead > timedelta(0):
        due = or_(due, and_(D.c.attempts == 0, D.c.next_attempt_at <= now + ahead))
    pick = (
        select(D.c.id)
        .where(D.c.next_attempt_at <= now + ahead, due, D.c.status.not_in(FINAL_STATUSES))
        .order_by(D.c.next_attempt_at)
        .limit(limit)
    )
    if skip_channels:
        pick = pick.where(D.c.channel.not_in(sorted(skip_channels)))
    if conn.dialect.name != "sqlite":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(D)
        .where(D.c.id.in_(pick.scalar_subquery()))
        .values(
            status=S.SENDING.value,
            claimed_by=worker,
            lease_until=now + lease,
            next_attempt_at=now + lease,
            attempts=D.c.attempts + 1,
            updated_at=now,
        )
        .returning(*D.c)
    )
    if conn.dialect.name == "sqlite":
        claimed = [dict(m) for m in conn.execute(stmt).mappings()]
        found = snapshots(conn, {m["reminder_id"] for m in claimed})
        rows = [to_row(m, found[m["reminder_id"]]) for m in claimed]
    else:
        # One statement, one round trip: the claim, then its rows with their reminders'
        # snapshots (each decoded once, however many channels share the reminder).
        taken = stmt.cte("taken")
        joined = select(taken, REMINDERS.c.snapshot.label("snapshot")).select_from(
            taken.join(REMINDERS, REMINDERS.c.id == taken.c.reminder_id)
        )
        decoded: dict[str, Snapshot] = {}
        rows = []
        for m in conn.execute(joined).mappings():
            snapshot = decoded.get(m["reminder_id"])
            if snapshot is None:
                snapshot = decoded[m["reminder_id"]] = Snapshot.from_json(m["snapshot"])
            rows.append(to_row(m, snapshot))
    rows.sort(key=lambda r: (r.due_at, r.id))
    return rows


def record(conn: Connection, marks: Sequence[Mark]) -> list[bool]:
    """Apply ``marks`` in one guarded batch; each result, in the order of ``marks``, is
    False where that claim was lost.

    On SQLite :func:`held_claims` is the guard; the marks that pass it change their
    rows with one prepared statement run for every row, in process (:data:`MARK_SET`).
    On PostgreSQL guard, lock (in id order), change and attempts are one statement
    (:func:`scheduler.db.marks.record_in_one`): one round trip. A second mark of one
    row in a batch finds it no longer ``sending`` under the claim, as it would one by
    one, and is lost.
    """
    if conn.dialect.name != "sqlite":
        return record_in_one(conn, marks)
    held_now = held_claims(conn, marks)
    held = [False] * len(marks)
    applied: list[Mark] = []
    for k in sorted(range(len(marks)), key=lambda k: marks[k].delivery_id):
        key = (marks[k].delivery_id, marks[k].worker, marks[k].generation)
        if key in held_now:
            held_now.discard(key)  # every mark takes its row out of ``sending``
            held[k] = True
            applied.append(marks[k])
    if applied:
        apply_marks(conn, applied)
    return held


def held_claims(conn: Connection, marks: Sequence[Mark]) -> set[tuple[str, str, int]]:
    """The guard of every change to a claimed row (:func:`claim_guard`, the fence rule of
    :func:`scheduler.fencing.fence`): the (id, worker, generation) triples among ``marks``
    whose row is still ``sending`` under that worker's claim of that generation. On
    PostgreSQL those rows are locked (``FOR UPDATE``, by id) until the transaction ends;
    SQLite's write lock already keeps them as they are."""
    by_worker: dict[str, list[str]] = {}
    for mark in marks:
        by_worker.setdefault(mark.worker, []).append(mark.delivery_id)
    held: set[tuple[str, str, int]] = set()
    for worker, ids in sorted(by_worker.items()):
        guard = (D.c.status == S.SENDING, D.c.claimed_by == worker)
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            # One read per chunk: the guard, the lock and each row's generation together.
            pick = select(D.c.id, D.c.attempts).where(D.c.id.in_(chunk), *guard)
            if conn.dialect.name != "sqlite":
                pick = pick.order_by(D.c.id).with_for_update()
            held.update((i, worker, int(a)) for i, a in conn.execute(pick))
    return held


def _lock_in_order(conn: Connection, ids: Sequence[str], *guard: Any) -> list[str]:
    """The rows among ``ids`` (sorted) that pass ``guard``; on PostgreSQL locked, by id."""
    locked: list[str] = []
    for start in range(0, len(ids), _CHUNK):
        pick = select(D.c.id).where(D.c.id.in_(list(ids[start : start + _CHUNK])), *guard)
        if conn.dialect.name != "sqlite":
            pick = pick.order_by(D.c.id).with_for_update()
        elif not guard:
            locked.extend(ids[start : start + _CHUNK])
            continue
        locked.extend(conn.execute(pick).scalars())
    return locked


def anything_retrying(conn: Connection) -> bool:
    """Is any row retrying? One probe of the status index (what a supersede asks first)."""
    return conn.execute(select(D.c.id).where(D.c.status == S.RETRYING).limit(1)).first() is not None


def supersede_all(
    conn: Connection, items: Sequence[tuple[str, str, datetime]], *, now: datetime
) -> list[tuple[str, str]]:
    """Retrying rows of each (milestone, channel) due before ``before`` become dead."""
    # Usually nothing is retrying at all (every first attempt of a burst asks):
    # :func:`anything_retrying`, read first, answers that before this transaction.
    before: dict[tuple[str, str], datetime] = {}
    for milestone_id, channel, moment in items:
        key = (milestone_id, channel)
        before[key] = max(moment, before.get(key, moment))
    milestones = sorted({m for m, _ in before})
    found: set[str] = set()
    for start in range(0, len(milestones), _CHUNK):  # one query per chunk, not per item
        pick = select(D.c.id, D.c.milestone_id, D.c.channel, D.c.due_at).where(
            D.c.status == S.RETRYING, D.c.milestone_id.in_(milestones[start : start + _CHUNK])
        )
        for delivery_id, milestone_id, channel, due_at in conn.execute(pick):
            limit = before.get((milestone_id, channel))
            if limit is not None and due_at < limit:
                found.add(delivery_id)
    ids = _lock_in_order(conn, sorted(found), D.c.status == S.RETRYING)
    out: list[tuple[str, str]] = []
    for start in range(0, len(ids), _CHUNK):
        stmt = (
            update(D)
            .where(D.c.id.in_(ids[start : start + _CHUNK]), D.c.status == S.RETRYING)
            .values(
                status=S.DEAD.value,
                reason="superseded",
                next_attempt_at=None,
                claimed_by=None,
                updated_at=now,
            )
            .returning(D.c.id, D.c.channel)
        )
        out.extend((str(i), str(channel)) for i, channel in conn.execute(stmt).all())
    return sorted(out)


def release_claims(
    conn: Connection, *, worker: str | None, forgive_unrecorded: bool = False
) -> int:
    """Put ``sending`` rows (of ``worker``, or all) back in the queue; returns how many.

    ``forgive_unrecorded`` (the claims of a process that died: a SQLite daemon's
    predecessor, a PostgreSQL worker whose session lock is free): a row keeps at most one
    attempt more than it has recorded, so repeated crashes do not use up
    ``max_attempts`` for deliveries that never got an answer; the one extra still counts
    the request that may have been on the wire.
    """
    mine = [D.c.status == S.SENDING]
    if worker is not None:
        mine.append(D.c.claimed_by == worker)
    if conn.dialect.name != "sqlite":
        conn.execute(select(D.c.id).where(*mine).order_by(D.c.id).with_for_update()).all()
    attempts: Any = D.c.attempts
    if forgive_unrecorded:
        recorded = (
            select(func.count())
            .select_from(ATTEMPTS)
            .where(ATTEMPTS.c.delivery_id == D.c.id)
            .scalar_subquery()
        )
        attempts = case((D.c.attempts > recorded + 1, recorded + 1), else_=D.c.attempts)
    stmt = (
        update(D)
        .where(*mine)
        .values(
            status=_given_back_status(attempts > 1),
            attempts=attempts,
            claimed_by=None,
            lease_until=None,
            next_attempt_at=D.c.due_at,  # already due: taken again at the next claim
        )
        .returning(D.c.id)
    )
    return len(conn.execute(stmt).all())


def extend_leases(
    conn: Connection, claims: Sequence[tuple[str, int]], *, worker: str, lease_until: datetime
) -> set[tuple[str, int]]:
    """Push the lease of ``worker``'s claims (delivery id, generation) to ``lease_until``;
    returns the claims still held (the others were taken over or finished)."""
    wanted = set(claims)
    mine = (D.c.status == S.SENDING, D.c.claimed_by == worker)
    ordered = sorted({i for i, _ in wanted})
    if conn.dialect.name != "sqlite":
        # One statement whatever the number of claims: lock (by id), then renew. The
        # ids go as one array parameter, not a bound parameter each.
        ids = bindparam("ids", ordered, type_=ARRAY(String()))
        lock = select(D.c.id).where(D.c.id == any_(ids), *mine).order_by(D.c.id)
        stmt = (
            update(D)
            .where(D.c.id.in_(lock.with_for_update().scalar_subquery()), *mine)
            .values(lease_until=lease_until, next_attempt_at=lease_until)
            .returning(D.c.id, D.c.attempts)
        )
        return {(str(i), int(attempts)) for i, attempts in conn.execute(stmt).all()} & wanted
    held: set[tuple[str, int]] = set()
    for start in range(0, len(ordered), _CHUNK):
        locked = _lock_in_order(conn, ordered[start : start + _CHUNK], *mine)
        if not locked:
            continue
        stmt = (
            update(D)
            .where(D.c.id.in_(locked), *mine)
            .values(lease_until=lease_until, next_attempt_at=lease_until)
            .returning(D.c.id, D.c.attempts)
        )
        # One statement renews the chunk; a row claimed again since (a later generation)
        # is renewed too, harmlessly, since its new claim is this worker's own.
        renewed = {(str(i), int(attempts)) for i, attempts in conn.execute(stmt).all()}
        held |= renewed & wanted
    return held


def redeliver(conn: Connection, delivery_id: str, *, now: datetime) -> bool:
    """Queue a finished row again, same id, now; False unless it was finished."""
    stmt = (
        update(D)
        .where(D.c.id == delivery_id, D.c.status.in_(REDELIVERABLE))
        .values(
            status=S.SCHEDULED.value,
            next_attempt_at=now,
            attempts=0,
            claimed_by=None,
            lease_until=None,
            reason="redeliver",
            updated_at=now,
        )
        .returning(D.c.id)
    )
    return conn.execute(stmt).first() is not None


def _given_back_status(retried: Any) -> Any:
    """The status of a claim given back unsent: ``held`` while it is one that quiet hours
    held (its reason says so until it is sent: a reconcile must not expire it by
    ``catch_up`` after its original due time), else ``retrying`` after a real attempt,
    else ``scheduled``."""
    return case(
        (D.c.reason == HELD_REASON, S.HELD.value),
        (retried, S.RETRYING.value),
        else_=S.SCHEDULED.value,
    )
