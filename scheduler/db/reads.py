"""Reading deliveries: the row query, row decoding, listings, counts and the wake-up time.

Part of the store (it speaks SQL). Functions of an open connection; the
transactions are :class:`scheduler.store.Store`'s.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, func, select

from scheduler.db.rows import AttemptRow, ChannelState, DeliveryRow
from scheduler.db.tables import ATTEMPTS, CHANNEL_STATE, DELIVERIES, META, REMINDERS
from scheduler.model import DeliveryStatus
from scheduler.snapshot import Snapshot

D = DELIVERIES
S = DeliveryStatus
OPEN_STATUSES = (S.SCHEDULED, S.HELD, S.RETRYING, S.SENDING)
# "NOT IN final" rather than "IN open": the same rows, but no index on status can serve
# it, so SQLite's planner takes the next_attempt_at index and its order (no sort).
FINAL_STATUSES = (S.SENT, S.DEAD, S.SKIPPED, S.CANCELLED)
_CHUNK = 500  # ids per IN (…) list


def select_rows() -> Select[Any]:
    """Deliveries joined with their reminder's snapshot (what :func:`to_row` reads)."""
    return select(D, REMINDERS.c.snapshot.label("snapshot")).select_from(
        D.outerjoin(REMINDERS, REMINDERS.c.id == D.c.reminder_id)
    )


def to_row(m: Mapping[Any, Any], snapshot: Snapshot | None = None) -> DeliveryRow:
    """A :class:`DeliveryRow` from a delivery's columns; the snapshot decoded once, here."""
    return DeliveryRow(
        id=m["id"],
        reminder_id=m["reminder_id"],
        milestone_id=m["milestone_id"],
        channel=m["channel"],
        due_at=m["due_at"],
        status=S(m["status"]),
        attempts=m["attempts"],
        next_attempt_at=m["next_attempt_at"],
        late=bool(m["late"]),
        claimed_by=m["claimed_by"],
        lease_until=m["lease_until"],
        last_error=m["last_error"],
        last_status_code=m["last_status_code"],
        last_body=m["last_body"],
        reason=m["reason"],
        sent_at=m["sent_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        snapshot=snapshot if snapshot is not None else Snapshot.from_json(m["snapshot"]),
    )


def fetch(conn: Connection, stmt: Select[Any]) -> list[DeliveryRow]:
    return [to_row(m) for m in conn.execute(stmt).mappings()]


def snapshots(conn: Connection, reminder_ids: Iterable[str]) -> dict[str, Snapshot]:
    """The snapshots of these reminders, by reminder id."""
    wanted = list(reminder_ids)
    out: dict[str, Snapshot] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        stmt = select(REMINDERS.c.id, REMINDERS.c.snapshot).where(REMINDERS.c.id.in_(chunk))
        out.update({rid: Snapshot.from_json(snap) for rid, snap in conn.execute(stmt)})
    return out


def get_delivery(conn: Connection, delivery_id: str) -> DeliveryRow | None:
    rows = fetch(conn, select_rows().where(D.c.id == delivery_id))
    return rows[0] if rows else None


def deliveries_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, DeliveryRow]:
    """The stored deliveries among ``ids`` (primary-key lookups, a chunk at a time)."""
    wanted = list(dict.fromkeys(ids))
    out: dict[str, DeliveryRow] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        out.update({row.id: row for row in fetch(conn, select_rows().where(D.c.id.in_(chunk)))})
    return out


def open_deliveries(
    conn: Connection, *, due_from: datetime | None, due_until: datetime | None
) -> dict[str, DeliveryRow]:
    stmt = select_rows().where(D.c.status.in_(OPEN_STATUSES))
    if due_from is not None:
        stmt = stmt.where(D.c.due_at >= due_from)
    if due_until is not None:
        stmt = stmt.where(D.c.due_at < due_until)
    return {row.id: row for row in fetch(conn, stmt)}


def deliveries_due(
    conn: Connection, *, due_from: datetime, due_until: datetime
) -> dict[str, DeliveryRow]:
    """Every stored delivery, whatever its status, with ``due_from <= due_at < due_until``."""
    stmt = select_rows().where(D.c.due_at >= due_from, D.c.due_at < due_until)
    return {row.id: row for row in fetch(conn, stmt)}


def open_deliveries_of(conn: Connection, milestone_ids: Collection[str]) -> dict[str, DeliveryRow]:
    """The open rows of some milestones only (an incremental reload's), by id."""
    wanted = sorted(milestone_ids)
    base = select_rows().where(D.c.status.in_(OPEN_STATUSES))
    out: dict[str, DeliveryRow] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        out.update((row.id, row) for row in fetch(conn, base.where(D.c.milestone_id.in_(chunk))))
    return out


def earliest_held(conn: Connection) -> datetime | None:
    """The earliest due time among the rows quiet hours hold."""
    stmt = select(D.c.due_at).where(D.c.status == S.HELD.value).order_by(D.c.due_at).limit(1)
    found: datetime | None = conn.execute(stmt).scalar()
    return found


def sent_since(
    conn: Connection, *, due_from: datetime, milestone_ids: Collection[str] | None
) -> list[DeliveryRow]:
    """Sent deliveries due at or after ``due_from``, of ``milestone_ids`` (all when None).

    ``status = 'sent' AND due_at >= …`` is one range of the (status, due_at) index; the
    milestone filter, when given, is checked on those rows (a reload asks only about the
    few milestones whose instants changed).
    """
    base = select_rows().where(D.c.status == S.SENT.value, D.c.due_at >= due_from)
    if milestone_ids is None:
        return fetch(conn, base)
    wanted = sorted(milestone_ids)
    out: list[DeliveryRow] = []
    for start in range(0, len(wanted), _CHUNK):
        out += fetch(conn, base.where(D.c.milestone_id.in_(wanted[start : start + _CHUNK])))
    return out


def history(
    conn: Connection, *, status: str | None, milestone: str | None, limit: int, offset: int
) -> list[DeliveryRow]:
    stmt = select_rows()
    if status is not None:
        stmt = stmt.where(D.c.status == S(status).value)
    if milestone is not None:
        stmt = stmt.where(D.c.milestone_id == milestone)
    stmt = stmt.order_by(D.c.due_at.desc(), D.c.id).limit(limit).offset(offset)
    return fetch(conn, stmt)


def attempts(conn: Connection, delivery_id: str) -> list[AttemptRow]:
    stmt = select(ATTEMPTS).where(ATTEMPTS.c.delivery_id == delivery_id).order_by(ATTEMPTS.c.id)
    return [AttemptRow(**dict(m)) for m in conn.execute(stmt).mappings()]


def counts_by_status(conn: Connection) -> dict[str, int]:
    counts = {s.value: 0 for s in S}
    for status, n in conn.execute(select(D.c.status, func.count()).group_by(D.c.status)):
        counts[str(status)] = int(n)
    return counts


def counts_by_channel_status(conn: Connection) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    stmt = select(D.c.channel, D.c.status, func.count()).group_by(D.c.channel, D.c.status)
    for channel, status, n in conn.execute(stmt):
        out.setdefault(str(channel), {})[str(status)] = int(n)
    return out


def next_wakeup(
    conn: Connection, *, ahead: timedelta, skip_channels: Collection[str] = ()
) -> datetime | None:
    base = select(D.c.next_attempt_at).where(
        D.c.next_attempt_at.is_not(None), D.c.status.not_in(FINAL_STATUSES)
    )
    if skip_channels:
        base = base.where(D.c.channel.not_in(sorted(skip_channels)))
    first = base.where(D.c.attempts == 0).order_by(D.c.next_attempt_at).limit(1)
    other = base.where(D.c.attempts > 0).order_by(D.c.next_attempt_at).limit(1)
    found = [conn.execute(first).scalar(), conn.execute(other).scalar()]
    moments = [m for m in (found[0] - ahead if found[0] else None, found[1]) if m]
    return min(moments) if moments else None


def get_meta(conn: Connection, key: str) -> str | None:
    value = conn.execute(select(META.c.value).where(META.c.key == key)).scalar()
    return None if value is None else str(value)


def channel_states(conn: Connection) -> dict[str, ChannelState]:
    return {
        m["name"]: ChannelState(**dict(m)) for m in conn.execute(select(CHANNEL_STATE)).mappings()
    }
