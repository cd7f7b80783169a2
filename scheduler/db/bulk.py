"""Applying a reconciliation: bulk upserts and updates inside one transaction.

Part of the store (it speaks SQL); split out to keep :mod:`scheduler.store` short.
Everything is ``executemany`` of one prepared statement per kind of change, which
SQLite and psycopg both run in tight loops (hundreds of thousands of rows per minute
at the very least; see the store tests for the measured rate).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, update

from scheduler.db.tables import DELIVERIES, MILESTONES, REMINDERS
from scheduler.model import DeliveryStatus
from scheduler.reconcile import PlannedDelivery, ReconcileActions, ReconcileReason

D = DELIVERIES
S = DeliveryStatus
_MILESTONE_KEYS = ("milestone_id", "title", "timezone", "description", "tags", "links")
# psycopg and sqlite3 both cope with large parameter lists; chunks bound memory.
CHUNK = 20_000


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]


def apply_actions(
    conn: Connection,
    actions: ReconcileActions,
    *,
    now: datetime,
    insert: Callable[[Any], Any],
) -> None:
    """Write ``actions`` on ``conn`` (already in a transaction); ``insert`` is the dialect's."""
    planned = [p for p, _status, _late in actions.insert] + list(actions.refresh)
    _upsert_parents(conn, planned, now=now, insert=insert)
    _insert_deliveries(conn, actions, now=now, insert=insert)
    _transition(conn, actions.cancel, actions, S.CANCELLED, (S.SCHEDULED, S.RETRYING), now=now)
    _transition(conn, actions.skip, actions, S.SKIPPED, (S.SCHEDULED,), now=now)
    if actions.late:
        stmt = (
            update(D)
            .where(D.c.id == bindparam("b_id"), D.c.status == S.SCHEDULED)
            .values(late=True, updated_at=now)
        )
        for chunk in _chunks([{"b_id": i} for i in actions.late]):
            conn.execute(stmt, chunk)
    if actions.refresh:
        # Same identity, new due time (a zone change can move "1 day before" by an hour).
        stmt = (
            update(D)
            .where(
                D.c.id == bindparam("b_id"), D.c.due_at != bindparam("b_due", type_=D.c.due_at.type)
            )
            .values(
                due_at=bindparam("b_due", type_=D.c.due_at.type),
                next_attempt_at=case(
                    (D.c.status == S.SCHEDULED, bindparam("b_due", type_=D.c.due_at.type)),
                    else_=D.c.next_attempt_at,
                ),
                updated_at=now,
            )
        )
        rows = [{"b_id": p.id, "b_due": p.due_at} for p in actions.refresh]
        for chunk in _chunks(rows):
            conn.execute(stmt, chunk)


def _upsert_parents(
    conn: Connection, planned: list[PlannedDelivery], *, now: datetime, insert: Callable[[Any], Any]
) -> None:
    """Milestone and reminder rows (with their snapshots) for every delivery written."""
    if not planned:
        return
    milestones: dict[str, dict[str, Any]] = {}
    reminders: dict[str, dict[str, Any]] = {}
    for p in planned:
        if p.milestone_id not in milestones:
            snap = {k: p.snapshot[k] for k in _MILESTONE_KEYS if k in p.snapshot}
            milestones[p.milestone_id] = {
                "id": p.milestone_id,
                "title": p.milestone_title,
                "snapshot": snap,
                "updated_at": now,
            }
        if p.reminder_id not in reminders:
            reminders[p.reminder_id] = {
                "id": p.reminder_id,
                "milestone_id": p.milestone_id,
                "occurrence_at": p.occurrence_at,
                "offset_iso": p.offset_iso,
                "due_at": p.due_at,
                "label": p.label,
                "snapshot": dict(p.snapshot),
            }
    stmt = insert(MILESTONES)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "title": stmt.excluded.title,
            "snapshot": stmt.excluded.snapshot,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    for chunk in _chunks(list(milestones.values())):
        conn.execute(stmt, chunk)
    stmt = insert(REMINDERS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "due_at": stmt.excluded.due_at,
            "label": stmt.excluded.label,
            "snapshot": stmt.excluded.snapshot,
        },
    )
    for chunk in _chunks(list(reminders.values())):
        conn.execute(stmt, chunk)


def _insert_deliveries(
    conn: Connection, actions: ReconcileActions, *, now: datetime, insert: Callable[[Any], Any]
) -> None:
    """New deliveries; an existing finished row is kept, a cancelled one is revived."""
    if not actions.insert:
        return
    rows: list[dict[str, Any]] = []
    for p, status, late in actions.insert:
        reason = actions.reasons.get(p.id)
        rows.append(
            {
                "id": p.id,
                "reminder_id": p.reminder_id,
                "milestone_id": p.milestone_id,
                "channel": p.channel,
                "due_at": p.due_at,
                "status": status.value,
                "attempts": 0,
                "next_attempt_at": p.due_at if status == S.SCHEDULED else None,
                "late": late,
                "reason": reason.value if reason is not None else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    stmt = insert(D)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "status": stmt.excluded.status,
            "due_at": stmt.excluded.due_at,
            "next_attempt_at": stmt.excluded.next_attempt_at,
            "late": stmt.excluded.late,
            "attempts": 0,
            "claimed_by": None,
            "lease_until": None,
            "reason": stmt.excluded.reason,
            "updated_at": stmt.excluded.updated_at,
        },
        where=D.c.status == S.CANCELLED,
    )
    for chunk in _chunks(rows):
        conn.execute(stmt, chunk)


def _transition(
    conn: Connection,
    ids: list[str],
    actions: ReconcileActions,
    to: DeliveryStatus,
    allowed: tuple[DeliveryStatus, ...],
    *,
    now: datetime,
) -> None:
    """Move open rows to a final status, each with its reconciliation reason."""
    if not ids:
        return
    default = ReconcileReason.REMOVED if to == S.CANCELLED else ReconcileReason.EXPIRED
    stmt = (
        update(D)
        .where(D.c.id == bindparam("b_id"), D.c.status.in_(allowed))
        .values(
            status=to.value,
            reason=bindparam("b_reason"),
            next_attempt_at=None,
            claimed_by=None,
            lease_until=None,
            updated_at=now,
        )
    )
    rows = [{"b_id": i, "b_reason": actions.reasons.get(i, default).value} for i in ids]
    for chunk in _chunks(rows):
        conn.execute(stmt, chunk)
