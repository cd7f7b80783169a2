"""Acknowledgements: the write that acknowledges an occurrence and the one that takes
it back, each in one transaction with the deliveries they change.

Part of the store (it speaks SQL). Functions of a connection already in a write
transaction (:class:`scheduler.store.Store` opens it). The rules of which deliveries
change are :mod:`scheduler.acknowledge`'s; the rows are locked by id before they
change, like every multi-row write of the queue (see :mod:`scheduler.db.queue`).

Every change bumps the ``ack_version`` row of ``meta`` in the same transaction: a
running daemon compares it on its heartbeat (one primary-key read) and reloads the
acknowledgements when it changed, so an ``ack`` from another process reaches every
replica within a second.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from scheduler.acknowledge import (
    REASON,
    UNACK_REASON,
    Acknowledgement,
    AckSource,
    cancels,
    notice_of,
    restores,
    withdraws_notice,
)
from scheduler.db import notify
from scheduler.db.reads import D, S, fetch, select_rows
from scheduler.db.rows import DeliveryRow
from scheduler.db.tables import ACKNOWLEDGEMENTS, META, REMINDERS
from scheduler.model import AlertKind, DeliveryStatus
from scheduler.reconcile import ReconcileActions
from scheduler.snapshot import Snapshot

A = ACKNOWLEDGEMENTS
VERSION_KEY = "ack_version"
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class AckChange:
    """What an ``ack`` or ``unack`` did: the acknowledgement, whether anything changed
    (False: it was already so), and the deliveries it changed as (id, channel)."""

    acknowledgement: Acknowledgement
    changed: bool
    cancelled: list[tuple[str, str]] = field(default_factory=list)
    restored: list[tuple[str, str]] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)


def _insert(conn: Connection) -> Any:
    return (sqlite if conn.dialect.name == "sqlite" else postgresql).insert


def _to_ack(m: Any) -> Acknowledgement:
    return Acknowledgement(
        milestone_id=m["milestone_id"],
        occurrence=m["occurrence_at"],
        by=m["acked_by"],
        note=m["note"],
        source=AckSource(m["source"]),
        at=m["acked_at"],
        revoked_at=m["revoked_at"],
        revoked_by=m["revoked_by"],
    )


def get(conn: Connection, milestone_id: str, occurrence: datetime) -> Acknowledgement | None:
    stmt = select(A).where(A.c.milestone_id == milestone_id, A.c.occurrence_at == occurrence)
    found = conn.execute(stmt).mappings().first()
    return None if found is None else _to_ack(found)


def active(conn: Connection) -> list[Acknowledgement]:
    """Every acknowledgement in force (a handful per milestone at most: people make them)."""
    stmt = select(A).where(A.c.revoked_at.is_(None)).order_by(A.c.milestone_id, A.c.occurrence_at)
    return [_to_ack(m) for m in conn.execute(stmt).mappings()]


def version(conn: Connection) -> str | None:
    value = conn.execute(select(META.c.value).where(META.c.key == VERSION_KEY)).scalar()
    return None if value is None else str(value)


def _bump(conn: Connection) -> None:
    """A new version; on PostgreSQL also a NOTIFY, sent when the transaction commits, so
    every replica applies it at once instead of at its next heartbeat."""
    values = {"key": VERSION_KEY, "value": uuid.uuid4().hex}
    stmt = _insert(conn)(META).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"value": values["value"]})
    )
    if conn.dialect.name == "postgresql":
        notify.publish(conn, notify.Wakeup.ACK)


def _occurrence_rows(
    conn: Connection, milestone_id: str, occurrence: datetime
) -> list[DeliveryRow]:
    """Every delivery of the occurrence (all kinds, all statuses), by id."""
    reminders = select(REMINDERS.c.id).where(
        REMINDERS.c.milestone_id == milestone_id, REMINDERS.c.occurrence_at == occurrence
    )
    stmt = (
        select_rows()
        .where(D.c.milestone_id == milestone_id, D.c.reminder_id.in_(reminders))
        .order_by(D.c.id)
    )
    return fetch(conn, stmt)


def _lock(conn: Connection, ids: Sequence[str]) -> None:
    """On PostgreSQL, lock these delivery rows in id order (the queue's lock order)."""
    if conn.dialect.name == "sqlite":
        return
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        conn.execute(select(D.c.id).where(D.c.id.in_(chunk)).order_by(D.c.id).with_for_update())


def _set_status(
    conn: Connection, ids: Sequence[str], allowed: Collection[DeliveryStatus], **values: Any
) -> list[tuple[str, str]]:
    """Change the rows among ``ids`` still in an ``allowed`` status; (id, channel) of each."""
    out: list[tuple[str, str]] = []
    for start in range(0, len(ids), _CHUNK):
        stmt = (
            update(D)
            .where(D.c.id.in_(list(ids[start : start + _CHUNK])), D.c.status.in_(list(allowed)))
            .values(**values)
            .returning(D.c.id, D.c.channel)
        )
        out.extend((str(i), str(c)) for i, c in conn.execute(stmt).all())
    return sorted(out)


def acknowledge(
    conn: Connection,
    ack: Acknowledgement,
    *,
    webhook_channels: Collection[str],
) -> AckChange:
    """Record ``ack`` unless the occurrence is already acknowledged; cancel its unsent
    reminders and escalations (reason ``acknowledged``); queue one acknowledgement
    notice, due now, for each of ``webhook_channels`` that was sent a reminder of it.

    A taken-back acknowledgement is acknowledged again (its row reused). The notice's
    id is the same every time, so a channel hears of an occurrence's acknowledgement
    once, however often it is taken back and given again.
    """
    now = ack.at
    values = {
        "milestone_id": ack.milestone_id,
        "occurrence_at": ack.occurrence,
        "acked_by": ack.by,
        "note": ack.note,
        "source": ack.source.value,
        "acked_at": ack.at,
        "revoked_at": None,
        "revoked_by": None,
    }
    stmt = _insert(conn)(A).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["milestone_id", "occurrence_at"],
        set_={k: v for k, v in values.items() if k not in ("milestone_id", "occurrence_at")},
        where=A.c.revoked_at.is_not(None),
    ).returning(A.c.milestone_id)
    if conn.execute(stmt).first() is None:  # already acknowledged: nothing changes
        existing = get(conn, ack.milestone_id, ack.occurrence)
        assert existing is not None
        return AckChange(existing, changed=False)
    rows = _occurrence_rows(conn, ack.milestone_id, ack.occurrence)
    doomed = [r.id for r in rows if cancels(r.snapshot.kind, r.status)]
    _lock(conn, doomed)
    cancelled = _set_status(
        conn,
        doomed,
        (S.SCHEDULED, S.HELD, S.RETRYING),
        status=S.CANCELLED.value,
        reason=REASON,
        next_attempt_at=None,
        claimed_by=None,
        lease_until=None,
        updated_at=now,
    )
    notices = _queue_notices(conn, ack, rows, webhook_channels)
    _bump(conn)
    return AckChange(ack, changed=True, cancelled=cancelled, notices=notices)


def _queue_notices(
    conn: Connection,
    ack: Acknowledgement,
    rows: Sequence[DeliveryRow],
    webhook_channels: Collection[str],
) -> list[tuple[str, str]]:
    """One ``acknowledged`` delivery per webhook channel sent a reminder of the occurrence,
    due now; a notice cancelled by an earlier ``unack`` is queued again, a sent one not."""
    informed: dict[str, DeliveryRow] = {}
    for r in rows:
        sent = r.status is S.SENT and r.snapshot.kind in (AlertKind.REMINDER, AlertKind.ESCALATION)
        if sent and r.channel in webhook_channels:
            informed.setdefault(r.channel, r)
    insert = _insert(conn)
    out: list[tuple[str, str]] = []
    for channel, row in sorted(informed.items()):
        notice = notice_of(row.snapshot.reminder(channel), ack, channel)
        snapshot = Snapshot.of(notice)
        conn.execute(
            insert(REMINDERS)
            .values(
                id=notice.id,
                milestone_id=row.milestone_id,
                occurrence_at=notice.occurrence,
                offset_iso=snapshot.offset,
                due_at=notice.due_at,
                label=snapshot.label,
                snapshot=snapshot.to_json(),
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        delivery = {
            "id": notice.delivery_id(channel),
            "reminder_id": notice.id,
            "milestone_id": row.milestone_id,
            "channel": channel,
            "due_at": ack.at,
            "status": S.SCHEDULED.value,
            "attempts": 0,
            "next_attempt_at": ack.at,
            "late": False,
            "reason": None,
            "created_at": ack.at,
            "updated_at": ack.at,
        }
        revive = {k: v for k, v in delivery.items() if k in ("status", "due_at", "next_attempt_at")}
        stmt = (
            insert(D)
            .values(**delivery)
            .on_conflict_do_update(
                index_elements=["id"],
                set_={**revive, "attempts": 0, "reason": None, "updated_at": ack.at},
                where=(D.c.status == S.CANCELLED.value) & (D.c.reason == UNACK_REASON),
            )
            .returning(D.c.id)
        )
        if conn.execute(stmt).first() is not None:
            # Queued (again): it reports this acknowledgement, not a taken-back one.
            conn.execute(
                update(REMINDERS)
                .where(REMINDERS.c.id == notice.id)
                .values(due_at=notice.due_at, snapshot=snapshot.to_json())
            )
            out.append((str(delivery["id"]), channel))
    return out


def unacknowledge(
    conn: Connection, milestone_id: str, occurrence: datetime, *, by: str, now: datetime
) -> AckChange | None:
    """Take an acknowledgement back: its cancelled deliveries not yet due are scheduled
    again, its notices not yet sent are cancelled. None when it was not acknowledged."""
    stmt = (
        update(A)
        .where(
            A.c.milestone_id == milestone_id,
            A.c.occurrence_at == occurrence,
            A.c.revoked_at.is_(None),
        )
        .values(revoked_at=now, revoked_by=by)
        .returning(*A.c)
    )
    found = conn.execute(stmt).mappings().first()
    if found is None:
        return None
    taken_back = _to_ack(found)
    rows = _occurrence_rows(conn, milestone_id, occurrence)
    back = [r for r in rows if restores(r.snapshot.kind, r.status, r.reason, r.due_at, now)]
    withdrawn = [r.id for r in rows if withdraws_notice(r.snapshot.kind, r.status)]
    _lock(conn, sorted([r.id for r in back] + withdrawn))
    restored: list[tuple[str, str]] = []
    for row in back:  # each back at its own due time
        restored += _set_status(
            conn,
            [row.id],
            (S.CANCELLED,),
            status=S.SCHEDULED.value,
            reason=None,
            attempts=0,
            next_attempt_at=row.due_at,
            updated_at=now,
        )
    cancelled = _set_status(
        conn,
        withdrawn,
        (S.SCHEDULED, S.HELD, S.RETRYING),
        status=S.CANCELLED.value,
        reason=UNACK_REASON,
        next_attempt_at=None,
        updated_at=now,
    )
    _bump(conn)
    return AckChange(taken_back, changed=True, cancelled=cancelled, restored=sorted(restored))


def cancel_acknowledged_inserts(
    conn: Connection, actions: ReconcileActions, *, now: datetime
) -> list[str]:
    """After a reconciliation's inserts: what it scheduled for an acknowledged occurrence
    (a reminder materialised later, a new channel, a revived row) is cancelled at once,
    so listings never show as owed what will not be sent."""
    fresh = [p for p, status, _late in actions.insert if status is S.SCHEDULED]
    if not fresh:
        return []
    acked = {a.key for a in active(conn)}
    if not acked:
        return []
    ids = sorted(
        p.id
        for p in fresh
        if (p.milestone_id, p.occurrence_at.astimezone(UTC)) in acked
        and cancels(p.snapshot.kind, S.SCHEDULED)
    )
    _lock(conn, ids)
    done = _set_status(
        conn,
        ids,
        (S.SCHEDULED, S.HELD),
        status=S.CANCELLED.value,
        reason=REASON,
        next_attempt_at=None,
        updated_at=now,
    )
    return [i for i, _channel in done]
