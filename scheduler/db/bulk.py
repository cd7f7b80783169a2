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
from typing import Any

from sqlalchemy import Connection

from scheduler.model import DeliveryStatus
from scheduler.reconcile import PlannedDelivery, ReconcileActions, ReconcileReason

S = DeliveryStatus
_MILESTONE_KEYS = ("milestone_id", "title", "timezone", "description", "tags", "links")
CHUNK = 20_000  # rows per executemany: bounds memory, not speed

# (table, [(column, PostgreSQL type)], conflict clause), run as executemany of
# INSERT … VALUES. (INSERT … SELECT FROM unnest(arrays) was measured and is slower
# with psycopg 3, whose executemany pipelines the statements.)
_Upsert = tuple[str, tuple[tuple[str, str], ...], str]
_UPSERT_MILESTONE: _Upsert = (
    "milestones",
    (("id", "text"), ("title", "text"), ("snapshot", "json"), ("updated_at", "timestamptz")),
    """ON CONFLICT (id) DO UPDATE SET
  title = excluded.title, snapshot = excluded.snapshot, updated_at = excluded.updated_at""",
)
_UPSERT_REMINDER: _Upsert = (
    "reminders",
    (
        ("id", "text"),
        ("milestone_id", "text"),
        ("occurrence_at", "timestamptz"),
        ("offset_iso", "text"),
        ("due_at", "timestamptz"),
        ("label", "text"),
        ("snapshot", "json"),
    ),
    """ON CONFLICT (id) DO UPDATE SET
  due_at = excluded.due_at, label = excluded.label, snapshot = excluded.snapshot""",
)
# An existing finished row is kept as it is (sent stays sent); a cancelled one — its
# milestone came back — is revived with the new status.
_INSERT_DELIVERY: _Upsert = (
    "deliveries",
    (
        ("id", "text"),
        ("reminder_id", "text"),
        ("milestone_id", "text"),
        ("channel", "text"),
        ("due_at", "timestamptz"),
        ("status", "text"),
        ("attempts", "int"),
        ("next_attempt_at", "timestamptz"),
        ("late", "bool"),
        ("reason", "text"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ),
    """ON CONFLICT (id) DO UPDATE SET
  status = excluded.status, due_at = excluded.due_at,
  next_attempt_at = excluded.next_attempt_at, late = excluded.late, attempts = 0,
  claimed_by = NULL, lease_until = NULL, reason = excluded.reason,
  updated_at = excluded.updated_at
WHERE deliveries.status = 'cancelled'""",
)
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

    def upsert(self, spec: _Upsert, rows: Sequence[tuple[Any, ...]]) -> None:
        # Every name below is one of this module's constants, never user input.
        table, columns, conflict = spec
        names = ", ".join(name for name, _type in columns)
        marks = ", ".join(
            "CAST(? AS JSON)" if t == "json" and not self.sqlite else "?" for _n, t in columns
        )
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}"  # noqa: S608
        self.many(self.sql(sql), rows)


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
                (
                    p.id,
                    p.reminder_id,
                    p.milestone_id,
                    p.channel,
                    due,
                    status.value,
                    0,
                    due if status == S.SCHEDULED else None,
                    late,
                    reason.value if reason is not None else None,
                    at,
                    at,
                )
            )
        w.upsert(_INSERT_DELIVERY, rows)
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


def _upsert_parents(w: _Writer, planned: list[PlannedDelivery], *, at: Any) -> None:
    """Milestone and reminder rows (with their snapshots) for every delivery written."""
    milestones: dict[str, tuple[Any, ...]] = {}
    reminders: dict[str, tuple[Any, ...]] = {}
    for p in planned:
        if p.milestone_id not in milestones:
            snap = {k: p.snapshot[k] for k in _MILESTONE_KEYS if k in p.snapshot}
            milestones[p.milestone_id] = (p.milestone_id, p.milestone_title, _dumps(snap), at)
        if p.reminder_id not in reminders:
            reminders[p.reminder_id] = (
                p.reminder_id,
                p.milestone_id,
                w.instant(p.occurrence_at),
                p.offset_iso,
                w.instant(p.due_at),
                p.label,
                _dumps(dict(p.snapshot)),
            )
    if milestones:
        w.upsert(_UPSERT_MILESTONE, list(milestones.values()))
    if reminders:
        w.upsert(_UPSERT_REMINDER, list(reminders.values()))


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
    allowed = "'scheduled', 'retrying'" if to == S.CANCELLED else "'scheduled'"
    rows = [(to.value, actions.reasons.get(i, default).value, at, i) for i in ids]
    w.many(w.sql(_FINISH, allowed=allowed), rows)
