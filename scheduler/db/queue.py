"""The delivery queue: atomic claims, leases and guarded state changes.

Part of the store (it speaks SQL). Every transition is one guarded statement: a
claim is a single ``UPDATE … WHERE id IN (SELECT … [FOR UPDATE SKIP LOCKED]) RETURNING``,
so two processes never take the same row; ``mark_sent``, ``schedule_retry`` and
``mark_dead`` only touch a row still ``sending`` under the caller's claim, so a
replica whose lease expired cannot overwrite the one that took over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, and_, case, or_, select, update

from scheduler.db.base import (
    FINAL_STATUSES,
    REDELIVERABLE,
    D,
    S,
    StoreBase,
    _excerpt,
)
from scheduler.db.rows import AttemptRecord, DeliveryRow
from scheduler.db.tables import ATTEMPTS, BODY_EXCERPT_CHARS, ERROR_CHARS, REMINDERS
from scheduler.errors import NotFoundError, TminusError


class DeliveryQueue(StoreBase):
    """Claims and marks of deliveries (the daemon's hot path)."""

    # -- claims and marks ----------------------------------------------------------------
    def claim_due(
        self,
        *,
        now: datetime,
        worker: str,
        lease: timedelta,
        limit: int,
        ahead: timedelta = timedelta(0),
    ) -> list[DeliveryRow]:
        """Atomically take up to ``limit`` due deliveries for ``worker``, soonest first.

        Due means scheduled or retrying with ``next_attempt_at <= now``, or sending
        under a lease that ran out (its claimer died). Taken rows become
        ``sending`` with a fresh lease and one more attempt.

        ``next_attempt_at`` is when a row next needs attention: its due or retry
        time while queued, its lease expiry while sending, NULL once final. So one
        ordered range scan of one index finds both kinds of due rows.

        ``ahead`` also takes first attempts due up to that long after ``now``, so the
        daemon can send them from memory at the exact moment; retries and expired
        leases are only taken once their time has come.
        """
        due = D.c.next_attempt_at <= now
        if ahead > timedelta(0):
            due = or_(due, and_(D.c.attempts == 0, D.c.next_attempt_at <= now + ahead))
        pick = (
            select(D.c.id)
            .where(D.c.next_attempt_at <= now + ahead, due, D.c.status.not_in(FINAL_STATUSES))
            .order_by(D.c.next_attempt_at)
            .limit(limit)
        )
        if not self.is_sqlite:
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
        with self._write() as conn:
            claimed = [dict(m) for m in conn.execute(stmt).mappings()]
            snapshots = self._snapshots(conn, {m["reminder_id"] for m in claimed})
        rows = [self._row(m, snapshots.get(m["reminder_id"], {})) for m in claimed]
        rows.sort(key=lambda r: (r.due_at, r.id))
        return rows

    @staticmethod
    def _snapshots(conn: Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(ids)
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            stmt = select(REMINDERS.c.id, REMINDERS.c.snapshot).where(REMINDERS.c.id.in_(chunk))
            out.update({rid: dict(snap or {}) for rid, snap in conn.execute(stmt)})
        return out

    def _finish(
        self,
        delivery_id: str,
        *,
        worker: str,
        now: datetime,
        values: dict[str, Any],
        attempt: AttemptRecord | None,
    ) -> bool:
        """One guarded transition of a claimed row, plus its attempt record."""
        if attempt is not None:
            failed = values["status"] != S.SENT.value
            error = (attempt.error or attempt.reason) if failed else None
            values |= {
                "last_status_code": attempt.status_code,
                "last_body": _excerpt(attempt.body, BODY_EXCERPT_CHARS),
                "last_error": _excerpt(error, ERROR_CHARS),
            }
        with self._write() as conn:
            return self._finish_on(conn, delivery_id, worker, now, values, attempt)

    def _finish_on(
        self,
        conn: Connection,
        delivery_id: str,
        worker: str,
        now: datetime,
        values: dict[str, Any],
        attempt: AttemptRecord | None,
    ) -> bool:
        stmt = (
            update(D)
            .where(D.c.id == delivery_id, D.c.status == S.SENDING, D.c.claimed_by == worker)
            .values(lease_until=None, updated_at=now, **values)
            .returning(D.c.id)
        )
        if conn.execute(stmt).first() is None:
            return False
        if attempt is not None:
            conn.execute(
                ATTEMPTS.insert().values(**self._attempt_values(delivery_id, worker, attempt))
            )
        return True

    def record(self, marks: Sequence[Mark]) -> list[bool]:
        """Apply many guarded marks in one transaction (the daemon batches its outcomes).

        Each result is what the single call (``mark_sent``, ``schedule_retry``,
        ``mark_dead``) would have returned: False where the claim was lost.
        """
        results: list[bool] = []
        with self._write() as conn:
            for mark in marks:
                values = _mark_values(mark)
                if mark.attempt is not None:
                    failed = values["status"] != S.SENT.value
                    error = (mark.attempt.error or mark.attempt.reason) if failed else None
                    values |= {
                        "last_status_code": mark.attempt.status_code,
                        "last_body": _excerpt(mark.attempt.body, BODY_EXCERPT_CHARS),
                        "last_error": _excerpt(error, ERROR_CHARS),
                    }
                results.append(
                    self._finish_on(
                        conn, mark.delivery_id, mark.worker, mark.now, values, mark.attempt
                    )
                )
        return results

    @staticmethod
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

    def mark_sent(
        self, delivery_id: str, *, worker: str, now: datetime, attempt: AttemptRecord
    ) -> bool:
        """Record the receiver's 2xx; False if ``worker`` no longer holds the claim."""
        values = {
            "status": S.SENT.value,
            "sent_at": now,
            "next_attempt_at": None,
            "reason": attempt.reason or "ok",
        }
        return self._finish(delivery_id, worker=worker, now=now, values=values, attempt=attempt)

    def schedule_retry(
        self,
        delivery_id: str,
        *,
        worker: str,
        now: datetime,
        next_attempt_at: datetime,
        attempt: AttemptRecord,
    ) -> bool:
        """Release the claim as ``retrying`` at ``next_attempt_at``; False if the claim was lost."""
        values = {
            "status": S.RETRYING.value,
            "next_attempt_at": next_attempt_at,
            "claimed_by": None,
            "reason": attempt.reason,
        }
        return self._finish(delivery_id, worker=worker, now=now, values=values, attempt=attempt)

    def mark_dead(
        self,
        delivery_id: str,
        *,
        worker: str,
        now: datetime,
        reason: str,
        attempt: AttemptRecord | None = None,
    ) -> bool:
        """Give up on a claimed delivery for ``reason``; False if the claim was lost."""
        values = {"status": S.DEAD.value, "next_attempt_at": None, "reason": reason}
        return self._finish(delivery_id, worker=worker, now=now, values=values, attempt=attempt)

    def supersede_all(
        self, items: Sequence[tuple[str, str, datetime]], *, now: datetime
    ) -> list[tuple[str, str]]:
        """``supersede`` for many (milestone id, channel, before) in one transaction.

        Returns (delivery id, channel) of every delivery that became dead.
        """
        out: list[tuple[str, str]] = []
        with self._write() as conn:
            for milestone_id, channel, before in items:
                ids = conn.execute(_supersede_stmt(milestone_id, channel, before, now)).scalars()
                out.extend((str(i), channel) for i in ids)
        return sorted(out)

    def supersede(
        self, *, milestone_id: str, channel: str, before: datetime, now: datetime
    ) -> list[str]:
        """Retrying deliveries of the milestone and channel due before ``before`` become dead."""
        with self._write() as conn:
            stmt = _supersede_stmt(milestone_id, channel, before, now)
            return sorted(str(i) for i in conn.execute(stmt).scalars())

    def release_claims(self, *, worker: str | None = None) -> int:
        """Put ``sending`` rows (of ``worker``, or all) back in the queue; returns how many."""
        stmt = update(D).where(D.c.status == S.SENDING)
        if worker is not None:
            stmt = stmt.where(D.c.claimed_by == worker)
        stmt = stmt.values(
            status=case((D.c.attempts > 1, S.RETRYING.value), else_=S.SCHEDULED.value),
            claimed_by=None,
            lease_until=None,
            next_attempt_at=D.c.due_at,  # already due: taken again at the next claim
        ).returning(D.c.id)
        with self._write() as conn:
            return len(conn.execute(stmt).all())

    def extend_leases(self, ids: Sequence[str], *, worker: str, lease_until: datetime) -> None:
        """Keep long sends claimed: push the lease of ``worker``'s rows to ``lease_until``."""
        if not ids:
            return
        with self._write() as conn:
            for start in range(0, len(ids), 500):
                conn.execute(
                    update(D)
                    .where(
                        D.c.id.in_(list(ids[start : start + 500])),
                        D.c.status == S.SENDING,
                        D.c.claimed_by == worker,
                    )
                    .values(lease_until=lease_until, next_attempt_at=lease_until)
                )

    def redeliver(self, delivery_id: str, *, now: datetime) -> DeliveryRow:
        """Queue a finished (dead, sent, skipped, cancelled) delivery again, same id, now."""
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
        with self._write() as conn:
            changed = conn.execute(stmt).first() is not None
        row = self.get_delivery(delivery_id)
        if row is None:
            raise NotFoundError(f"no delivery {delivery_id!r}")
        if not changed:
            raise TminusError(
                f"delivery {delivery_id} is {row.status.value}: it is already queued"
                " (only dead, sent, skipped or cancelled deliveries can be redelivered)"
            )
        return row


@dataclass(frozen=True, slots=True)
class Mark:
    """One outcome to record: ``sent``, ``retry`` (at ``next_attempt_at``), ``dead``,
    ``cancelled`` (claimed ahead of its time, then dropped by a reload before it was sent)
    or ``released`` (claimed but never sent: given back with the attempt undone)."""

    kind: Literal["sent", "retry", "dead", "cancelled", "released"]
    delivery_id: str
    worker: str
    now: datetime
    attempt: AttemptRecord | None = None
    next_attempt_at: datetime | None = None
    reason: str | None = None


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
            "status": case((first, S.SCHEDULED.value), else_=S.RETRYING.value),
            "next_attempt_at": case((first, D.c.due_at), else_=mark.now),
            "claimed_by": None,
            "attempts": D.c.attempts - 1,
        }
    if mark.kind == "cancelled":  # claimed ahead, never sent: the claim is given back
        return {
            "status": S.CANCELLED.value,
            "next_attempt_at": None,
            "reason": mark.reason,
            "attempts": D.c.attempts - 1,
        }
    return {"status": S.DEAD.value, "next_attempt_at": None, "reason": mark.reason}


def _supersede_stmt(milestone_id: str, channel: str, before: datetime, now: datetime) -> Any:
    return (
        update(D)
        .where(
            D.c.milestone_id == milestone_id,
            D.c.channel == channel,
            D.c.due_at < before,
            D.c.status == S.RETRYING,
        )
        .values(
            status=S.DEAD.value,
            reason="superseded",
            next_attempt_at=None,
            claimed_by=None,
            updated_at=now,
        )
        .returning(D.c.id)
    )
