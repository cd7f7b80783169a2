"""Applying a reconciliation: bulk upserts and updates inside one transaction.

Part of the store (it speaks SQL); split out to keep :mod:`scheduler.store` short.
A daemon starting on a large config writes hundreds of thousands of rows here, so
these statements go straight to the driver's ``executemany`` with values already
in the column's storage form (UTC text on SQLite, aware datetimes on PostgreSQL,
JSON text): SQLAlchemy's per-parameter processing would cost more than the
database itself. The SQL is the same on both backends but for placeholders.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table

from scheduler.db.tables import DELIVERIES, MILESTONES, REMINDERS
from scheduler.model import DeliveryStatus
from scheduler.reconcile import PlannedDelivery, ReconcileActions, ReconcileReason

S = DeliveryStatus
CHUNK = 20_000  # rows per executemany: bounds memory, not speed
Row = dict[str, Any]

# Upserts run as executemany of INSERT … VALUES, with the columns (names, order, JSON
# or not) taken from the table classes and the values from each row, by name. (INSERT …
# SELECT FROM unnest(arrays) was measured and is slower with psycopg 3, whose
# executemany pipelines the statements.) A conflict on a parent row overwrites every
# column; a conflict on a delivery keeps an existing finished row as it is (sent stays
# sent) and revives a cancelled one (its milestone came back) with the new status.
_DELIVERY_CONFLICT = """ON CONFLICT (id) DO UPDATE SET
  status = excluded.status, due_at = excluded.due_at,
  next_attempt_at = excluded.next_attempt_at, late = excluded.late, attempts = 0,
  claimed_by = NULL, lease_until = NULL, reason = excluded.reason,
  updated_at = excluded.updated_at
WHERE deliveries.status = 'cancelled'"""
_INSERT_ONCE = "ON CONFLICT (id) DO NOTHING"
_FINISH = """
UPDATE deliveries SET status = ?, reason = ?, next_attempt_at = NULL, claimed_by = NULL,
  lease_until = NULL, updated_at = ?
WHERE id = ? AND status IN ({allowed})
"""
_MARK_LATE = """
UPDATE deliveries SET late = ?, updated_at = ? WHERE id = ? AND status = 'scheduled'
"""
# Same identity, new due time (a zone change can move "1 day before" by an hour).
_MOVE_DUE = """
UPDATE deliveries SET due_at = ?,
  next_attempt_at = CASE WHEN status = 'scheduled' THEN ? ELSE next_attempt_at END,
  updated_at = ?
WHERE id = ? AND due_at <> ?
"""


class _Writer:
    """Dialect details: placeholders, JSON casts and the storage form of instants."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"

    def sql(self, template: str, **parts: str) -> str:
        text = template.format(**parts)
        return text if self.sqlite else text.replace("?", "%s")

    def instant(self, moment: datetime) -> Any:
        utc = moment.astimezone(UTC)
        # SQLAlchemy's SQLite DATETIME text form, as UTCDateTime writes it.
        return (
            utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            if self.sqlite
            else utc
        )

    def many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        for start in range(0, len(rows), CHUNK):
            self.conn.exec_driver_sql(sql, list(rows[start : start + CHUNK]))

    def upsert(self, table: Table, rows: Sequence[Row], conflict: str | None = None) -> None:
        """Insert ``rows`` into ``table`` (every column the rows name); on a conflict of
        the primary key, ``conflict``, or else overwrite every other column written."""
        written = [c for c in table.c if c.name in rows[0]]
        unknown = set(rows[0]) - {c.name for c in written}
        assert not unknown, f"no such columns in {table.name}: {sorted(unknown)}"
        names = ", ".join(c.name for c in written)
        json_cast = "?" if self.sqlite else "CAST(? AS JSON)"
        values = ", ".join(json_cast if isinstance(c.type, JSON) else "?" for c in written)
        if conflict is None:
            key = ", ".join(c.name for c in table.primary_key)
            changed = ", ".join(
                f"{c.name} = excluded.{c.name}" for c in written if not c.primary_key
            )
            conflict = f"ON CONFLICT ({key}) DO UPDATE SET {changed}"
        # Every name here comes from the table classes, never from user input.
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({values}) {conflict}"  # noqa: S608
        # Positional parameters: the drivers bind them much faster than named ones.
        in_order = itemgetter(*(c.name for c in written))
        self.many(self.sql(sql), [in_order(row) for row in rows])


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def apply_actions(conn: Connection, actions: ReconcileActions, *, now: datetime) -> None:
    """Write ``actions`` on ``conn``, which is already in a (write) transaction."""
    w = _Writer(conn)
    at = w.instant(now)
    planned = [p for p, _status, _late in actions.insert] + list(actions.refresh)
    _upsert_parents(w, planned, at=at)
    if actions.insert:
        rows = []
        for p, status, late in actions.insert:
            reason = actions.reasons.get(p.id)
            due = w.instant(p.due_at)
            rows.append(
                {
                    "id": p.id,
                    "reminder_id": p.reminder_id,
                    "milestone_id": p.milestone_id,
                    "channel": p.channel,
                    "due_at": due,
                    "status": status.value,
                    "attempts": 0,
                    "next_attempt_at": due if status == S.SCHEDULED else None,
                    "late": late,
                    "reason": reason.value if reason is not None else None,
                    "created_at": at,
                    "updated_at": at,
                }
            )
        w.upsert(DELIVERIES, rows, _DELIVERY_CONFLICT)
    if actions.notices:
        # One row per notice id, whoever inserts it first (replicas reconcile alike): the
        # first snapshot (with its noticed time) stays.
        _upsert_parents(w, actions.notices, at=at, reminder_conflict=_INSERT_ONCE)
        w.upsert(DELIVERIES, [_scheduled(w, p, at=at) for p in actions.notices], _INSERT_ONCE)
    _finish(w, actions, actions.cancel, S.CANCELLED, ReconcileReason.REMOVED, at=at)
    _finish(w, actions, actions.skip, S.SKIPPED, ReconcileReason.EXPIRED, at=at)
    if actions.late:
        w.many(w.sql(_MARK_LATE), [(True, at, i) for i in actions.late])
    if actions.refresh:
        moves = []
        for p in actions.refresh:
            due = w.instant(p.due_at)
            moves.append((due, due, at, p.id, due))
        w.many(w.sql(_MOVE_DUE), moves)


def _scheduled(w: _Writer, p: PlannedDelivery, *, at: Any) -> Row:
    due = w.instant(p.due_at)
    return {
        "id": p.id,
        "reminder_id": p.reminder_id,
        "milestone_id": p.milestone_id,
        "channel": p.channel,
        "due_at": due,
        "status": S.SCHEDULED.value,
        "attempts": 0,
        "next_attempt_at": due,
        "late": False,
        "reason": None,
        "created_at": at,
        "updated_at": at,
    }


def _upsert_parents(
    w: _Writer, planned: list[PlannedDelivery], *, at: Any, reminder_conflict: str | None = None
) -> None:
    """Milestone and reminder rows (with their snapshots) for every delivery written."""
    milestones: dict[str, Row] = {}
    reminders: dict[str, Row] = {}
    for p in planned:
        if p.milestone_id not in milestones:
            milestones[p.milestone_id] = {
                "id": p.milestone_id,
                "title": p.milestone_title,
                "snapshot": _dumps(p.snapshot.milestone_json()),
                "updated_at": at,
            }
        if p.reminder_id not in reminders:
            reminders[p.reminder_id] = {
                "id": p.reminder_id,
                "milestone_id": p.milestone_id,
                "occurrence_at": w.instant(p.occurrence_at),
                "offset_iso": p.offset_iso,
                "due_at": w.instant(p.due_at),
                "label": p.label,
                "snapshot": _dumps(p.snapshot.to_json()),
            }
    if milestones:
        w.upsert(MILESTONES, list(milestones.values()))
    if reminders:
        w.upsert(REMINDERS, list(reminders.values()), reminder_conflict)


def _finish(
    w: _Writer,
    actions: ReconcileActions,
    ids: list[str],
    to: DeliveryStatus,
    default: ReconcileReason,
    *,
    at: Any,
) -> None:
    """Move open rows to a final status, each with its reconciliation reason."""
    if not ids:
        return
    allowed = "'scheduled', 'held', 'retrying'" if to == S.CANCELLED else "'scheduled', 'held'"
    # By id, the order every multi-row write of the queue locks rows in.
    rows = [(to.value, actions.reasons.get(i, default).value, at, i) for i in sorted(ids)]
    w.many(w.sql(_FINISH, allowed=allowed), rows)
