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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, and_, case, or_, select, update

from scheduler.db.reads import FINAL_STATUSES, D, S, snapshots, to_row
from scheduler.db.rows import AttemptRecord, DeliveryRow
from scheduler.db.tables import ATTEMPTS, BODY_EXCERPT_CHARS, ERROR_CHARS

REDELIVERABLE = (S.DEAD, S.SENT, S.SKIPPED, S.CANCELLED)
HELD_REASON = "quiet_hours"  # the reason a held row keeps until it is sent
_CHUNK = 500  # ids per IN (…) list


@dataclass(frozen=True, slots=True)
class Mark:
    """One outcome to record: ``sent``, ``retry`` (at ``next_attempt_at``), ``dead``,
    ``cancelled`` (claimed ahead of its time, then dropped by a reload before it was sent),
    ``released`` (claimed but never sent: given back with the attempt undone) or ``held``
    (outside its channel's quiet hours: given back, attempt undone, until the opening at
    ``next_attempt_at``). ``generation`` is the row's ``attempts`` as the worker's claim
    left it."""

    kind: Literal["sent", "retry", "dead", "cancelled", "released", "held"]
    delivery_id: str
    worker: str
    now: datetime
    attempt: AttemptRecord | None = None
    next_attempt_at: datetime | None = None
    reason: str | None = None
    generation: int = field(kw_only=True)


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
    claimed = [dict(m) for m in conn.execute(stmt).mappings()]
    found = snapshots(conn, {m["reminder_id"] for m in claimed})
    rows = [to_row(m, found[m["reminder_id"]]) for m in claimed]
    rows.sort(key=lambda r: (r.due_at, r.id))
    return rows


def record(conn: Connection, marks: Sequence[Mark]) -> list[bool]:
    """Apply ``marks``, rows in id order (marks of one row in their given order); each
    result, in the order of ``marks``, is False where that claim was lost."""
    _lock_in_order(conn, sorted({m.delivery_id for m in marks}))
    held = [False] * len(marks)
    for k in sorted(range(len(marks)), key=lambda k: marks[k].delivery_id):
        held[k] = _apply_mark(conn, marks[k])
    return held


def _lock_in_order(conn: Connection, ids: Sequence[str], *guard: Any) -> list[str]:
    """On PostgreSQL, lock the rows among ``ids`` (sorted) that pass ``guard``, by id;
    returns the ids locked. SQLite's write lock already serialises writers: all of ``ids``."""
    if conn.dialect.name == "sqlite":
        return list(ids)
    locked: list[str] = []
    for start in range(0, len(ids), _CHUNK):
        pick = (
            select(D.c.id)
            .where(D.c.id.in_(list(ids[start : start + _CHUNK])), *guard)
            .order_by(D.c.id)
            .with_for_update()
        )
        locked.extend(conn.execute(pick).scalars())
    return locked


def _apply_mark(conn: Connection, mark: Mark) -> bool:
    """One guarded transition of a claimed row, plus its attempt record."""
    values = _mark_values(mark)
    attempt = mark.attempt
    if attempt is not None:
        failed = values["status"] != S.SENT.value
        error = (attempt.error or attempt.reason) if failed else None
        values |= {
            "last_status_code": attempt.status_code,
            "last_body": _excerpt(attempt.body, BODY_EXCERPT_CHARS),
            "last_error": _excerpt(error, ERROR_CHARS),
        }
    stmt = (
        update(D)
        .where(D.c.id == mark.delivery_id, *claim_guard(mark.worker, mark.generation))
        .values(lease_until=None, updated_at=mark.now, **values)
        .returning(D.c.id)
    )
    if conn.execute(stmt).first() is None:
        return False
    if attempt is not None:
        recorded = _attempt_values(mark.delivery_id, mark.worker, attempt)
        conn.execute(ATTEMPTS.insert().values(**recorded))
    return True


def _excerpt(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _attempt_values(delivery_id: str, worker: str, attempt: AttemptRecord) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "attempt": attempt.attempt,
        "started_at": attempt.started_at,
        "finished_at": attempt.finished_at,
        "status_code": attempt.status_code,
        "reason": attempt.reason,
        "error": _excerpt(attempt.error, ERROR_CHARS),
        "body": _excerpt(attempt.body, BODY_EXCERPT_CHARS),
        "worker": worker,
    }


def supersede_all(
    conn: Connection, items: Sequence[tuple[str, str, datetime]], *, now: datetime
) -> list[tuple[str, str]]:
    """Retrying rows of each (milestone, channel) due before ``before`` become dead."""
    found: set[str] = set()
    for milestone_id, channel, before in items:
        pick = select(D.c.id).where(
            D.c.milestone_id == milestone_id,
            D.c.channel == channel,
            D.c.due_at < before,
            D.c.status == S.RETRYING,
        )
        found.update(conn.execute(pick).scalars())
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


def release_claims(conn: Connection, *, worker: str | None) -> int:
    """Put ``sending`` rows (of ``worker``, or all) back in the queue; returns how many."""
    mine = [D.c.status == S.SENDING]
    if worker is not None:
        mine.append(D.c.claimed_by == worker)
    if conn.dialect.name != "sqlite":
        conn.execute(select(D.c.id).where(*mine).order_by(D.c.id).with_for_update()).all()
    stmt = (
        update(D)
        .where(*mine)
        .values(
            status=_given_back_status(D.c.attempts > 1),
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


def _mark_values(mark: Mark) -> dict[str, Any]:
    if mark.kind == "sent":
        reason = (mark.attempt.reason if mark.attempt else None) or "ok"
        return {
            "status": S.SENT.value,
            "sent_at": mark.now,
            "next_attempt_at": None,
            "reason": reason,
        }
    if mark.kind == "retry":
        return {
            "status": S.RETRYING.value,
            "next_attempt_at": mark.next_attempt_at,
            "claimed_by": None,
            "reason": mark.attempt.reason if mark.attempt else mark.reason,
        }
    if mark.kind == "released":  # claimed, never sent: back to the queue, attempt undone
        first = D.c.attempts <= 1
        return {
            "status": _given_back_status(D.c.attempts > 1),
            "next_attempt_at": case((first, D.c.due_at), else_=mark.now),
            "claimed_by": None,
            "attempts": D.c.attempts - 1,
        }
    if mark.kind == "held":  # claimed, never sent: waits for its channel's next opening
        return {
            "status": S.HELD.value,
            "next_attempt_at": mark.next_attempt_at,
            "claimed_by": None,
            "attempts": D.c.attempts - 1,
            "reason": mark.reason,
        }
    if mark.kind == "cancelled":  # claimed ahead, never sent: the claim is given back
        return {
            "status": S.CANCELLED.value,
            "next_attempt_at": None,
            "reason": mark.reason,
            "attempts": D.c.attempts - 1,
        }
    return {"status": S.DEAD.value, "next_attempt_at": None, "reason": mark.reason}
