"""The store: the one module that speaks SQL, on SQLite and PostgreSQL alike.

Every state change of a delivery is one guarded statement. Claims are a single
``UPDATE … WHERE id IN (SELECT … [FOR UPDATE SKIP LOCKED]) RETURNING``, so two
processes never take the same row; marks (``mark_sent``, ``schedule_retry``,
``mark_dead``) only touch a row still ``sending`` under the caller's claim, so a
replica whose lease expired cannot overwrite the one that took over.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    case,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, StatementError

from scheduler.db import engine as engines
from scheduler.db.rows import AttemptRecord, AttemptRow, ChannelState, DeliveryRow
from scheduler.db.tables import (
    ATTEMPTS,
    BODY_EXCERPT_CHARS,
    CHANNEL_STATE,
    DELIVERIES,
    ERROR_CHARS,
    META,
    REMINDERS,
)
from scheduler.errors import NotFoundError, StoreError, TminusError
from scheduler.model import DeliveryStatus
from scheduler.reconcile import ReconcileActions

__all__ = ["AttemptRecord", "AttemptRow", "ChannelState", "DeliveryRow", "Store"]

D = DELIVERIES
S = DeliveryStatus
OPEN_STATUSES = (S.SCHEDULED, S.RETRYING, S.SENDING)
# "NOT IN final" rather than "IN open": the same rows, but no index on status can serve
# it, so SQLite's planner takes the next_attempt_at index and its order (no sort).
FINAL_STATUSES = (S.SENT, S.DEAD, S.SKIPPED, S.CANCELLED)
REDELIVERABLE = (S.DEAD, S.SENT, S.SKIPPED, S.CANCELLED)
_MILESTONE_KEYS = ("milestone_id", "title", "timezone", "description", "tags", "links")


def _excerpt(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Store:
    """Durable deliveries, attempts, channel state and metadata behind named operations."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to ``url`` (SQLite file, created with its directory, or PostgreSQL)."""
        return cls(engines.create_store_engine(url))

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def is_sqlite(self) -> bool:
        return self._engine.dialect.name == "sqlite"

    def close(self) -> None:
        self._engine.dispose()

    def upgrade(self) -> None:
        """Migrate the schema to the newest revision (Alembic, in one transaction)."""
        with self._errors():
            engines.upgrade(self._engine)

    def current_revision(self) -> str | None:
        with self._errors():
            return engines.current_revision(self._engine)

    @staticmethod
    def head_revision() -> str | None:
        return engines.head_revision()

    def ensure_schema(self) -> None:
        """Upgrade unless the schema is already at the newest revision."""
        if self.current_revision() != self.head_revision():
            self.upgrade()

    def ping(self) -> None:
        """Raise :class:`StoreError` unless the database answers."""
        with self._read() as conn:
            conn.exec_driver_sql("SELECT 1").scalar_one()

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as exc:
            # The driver's own first line: no URL, no parameters.
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise StoreError(f"database error: {detail}") from exc
        except StatementError as exc:
            # A value the column type refused (a naive datetime): the caller's mistake.
            if isinstance(exc.orig, ValueError):
                raise exc.orig from None
            raise

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors(), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with (
            self._errors(),
            self._engine.connect().execution_options(**{engines.WRITE_OPTION: True}) as conn,
            conn.begin(),
        ):
            yield conn

    def _insert(self, table: Any) -> Any:
        dialect = sqlite if self.is_sqlite else postgresql
        return dialect.insert(table)

    # -- meta --------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._read() as conn:
            value = conn.execute(select(META.c.value).where(META.c.key == key)).scalar()
            return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        stmt = self._insert(META).values(key=key, value=value)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        with self._write() as conn:
            conn.execute(stmt)

    # -- reading deliveries --------------------------------------------------------------
    def _select_rows(self) -> Select[Any]:
        return select(D, REMINDERS.c.snapshot.label("snapshot")).select_from(
            D.outerjoin(REMINDERS, REMINDERS.c.id == D.c.reminder_id)
        )

    @staticmethod
    def _row(m: Any, snapshot: Mapping[str, Any] | None = None) -> DeliveryRow:
        snap = snapshot if snapshot is not None else m.get("snapshot")
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
            snapshot=dict(snap or {}),
        )

    def _fetch(self, conn: Connection, stmt: Select[Any]) -> list[DeliveryRow]:
        return [self._row(m) for m in conn.execute(stmt).mappings()]

    def open_deliveries(
        self, *, due_from: datetime | None = None, due_until: datetime | None = None
    ) -> dict[str, DeliveryRow]:
        """Scheduled, retrying and sending rows, optionally ``due_from <= due_at < due_until``."""
        stmt = self._select_rows().where(D.c.status.in_(OPEN_STATUSES))
        if due_from is not None:
            stmt = stmt.where(D.c.due_at >= due_from)
        if due_until is not None:
            stmt = stmt.where(D.c.due_at < due_until)
        with self._read() as conn:
            return {row.id: row for row in self._fetch(conn, stmt)}

    def get_delivery(self, delivery_id: str) -> DeliveryRow | None:
        with self._read() as conn:
            rows = self._fetch(conn, self._select_rows().where(D.c.id == delivery_id))
            return rows[0] if rows else None

    def history(
        self,
        *,
        status: str | None = None,
        milestone: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[DeliveryRow]:
        """Deliveries, newest due first, optionally of one status and one milestone."""
        stmt = self._select_rows()
        if status is not None:
            stmt = stmt.where(D.c.status == S(status).value)
        if milestone is not None:
            stmt = stmt.where(D.c.milestone_id == milestone)
        stmt = stmt.order_by(D.c.due_at.desc(), D.c.id).limit(limit).offset(offset)
        with self._read() as conn:
            return self._fetch(conn, stmt)

    def deliveries(
        self, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[DeliveryRow]:
        """The API's listing: :meth:`history` without the milestone filter."""
        return self.history(status=status, limit=limit, offset=offset)

    def attempts(self, delivery_id: str) -> list[AttemptRow]:
        """Every recorded attempt of one delivery, oldest first."""
        stmt = select(ATTEMPTS).where(ATTEMPTS.c.delivery_id == delivery_id).order_by(ATTEMPTS.c.id)
        with self._read() as conn:
            return [AttemptRow(**dict(m)) for m in conn.execute(stmt).mappings()]

    def counts_by_status(self) -> dict[str, int]:
        """Deliveries per status, every status present (zero when none)."""
        counts = {s.value: 0 for s in S}
        with self._read() as conn:
            for status, n in conn.execute(select(D.c.status, func.count()).group_by(D.c.status)):
                counts[str(status)] = int(n)
        return counts

    def counts_by_channel_status(self) -> dict[str, dict[str, int]]:
        """Deliveries per channel, then per status (only the pairs that occur)."""
        out: dict[str, dict[str, int]] = {}
        stmt = select(D.c.channel, D.c.status, func.count()).group_by(D.c.channel, D.c.status)
        with self._read() as conn:
            for channel, status, n in conn.execute(stmt):
                out.setdefault(str(channel), {})[str(status)] = int(n)
        return out

    def next_wakeup(self) -> datetime | None:
        """The earliest next attempt (scheduled, retrying) or lease expiry (sending)."""
        stmt = (
            select(D.c.next_attempt_at)
            .where(D.c.next_attempt_at.is_not(None), D.c.status.not_in(FINAL_STATUSES))
            .order_by(D.c.next_attempt_at)
            .limit(1)
        )
        with self._read() as conn:
            moment: datetime | None = conn.execute(stmt).scalar()
            return moment

    # -- reconciliation ------------------------------------------------------------------
    def apply(self, actions: ReconcileActions, *, now: datetime) -> None:
        """Apply a reconciliation in one transaction (bulk inserts, cancels, skips, refreshes)."""
        from scheduler.db.bulk import apply_actions

        with self._write() as conn:
            apply_actions(conn, actions, now=now)

    # -- claims and marks ----------------------------------------------------------------
    def claim_due(
        self, *, now: datetime, worker: str, lease: timedelta, limit: int
    ) -> list[DeliveryRow]:
        """Atomically take up to ``limit`` due deliveries for ``worker``, soonest first.

        Due means scheduled or retrying with ``next_attempt_at <= now``, or sending
        under a lease that ran out (its claimer died). Taken rows become
        ``sending`` with a fresh lease and one more attempt.

        ``next_attempt_at`` is when a row next needs attention: its due or retry
        time while queued, its lease expiry while sending, NULL once final. So one
        ordered range scan of one index finds both kinds of due rows.
        """
        pick = (
            select(D.c.id)
            .where(D.c.next_attempt_at <= now, D.c.status.not_in(FINAL_STATUSES))
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
        stmt = (
            update(D)
            .where(D.c.id == delivery_id, D.c.status == S.SENDING, D.c.claimed_by == worker)
            .values(lease_until=None, updated_at=now, **values)
            .returning(D.c.id)
        )
        with self._write() as conn:
            if conn.execute(stmt).first() is None:
                return False
            if attempt is not None:
                conn.execute(
                    ATTEMPTS.insert().values(**self._attempt_values(delivery_id, worker, attempt))
                )
        return True

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

    def supersede(
        self, *, milestone_id: str, channel: str, before: datetime, now: datetime
    ) -> list[str]:
        """Retrying deliveries of the milestone and channel due before ``before`` become dead."""
        stmt = (
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
        with self._write() as conn:
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

    # -- channel state -------------------------------------------------------------------
    def channel_states(self) -> dict[str, ChannelState]:
        with self._read() as conn:
            return {
                m["name"]: ChannelState(**dict(m))
                for m in conn.execute(select(CHANNEL_STATE)).mappings()
            }

    def _upsert_channel(self, name: str, values: dict[str, Any]) -> None:
        stmt = self._insert(CHANNEL_STATE).values(name=name, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["name"], set_=values)
        with self._write() as conn:
            conn.execute(stmt)

    def disable_channel(self, name: str, *, fingerprint: str, reason: str, now: datetime) -> None:
        """Disable ``name`` until its config (``fingerprint``) changes."""
        values = {
            "disabled_fingerprint": fingerprint,
            "disabled_reason": reason,
            "disabled_at": now,
        }
        self._upsert_channel(name, values)

    def enable_channel(self, name: str) -> None:
        values = {"disabled_fingerprint": None, "disabled_reason": None, "disabled_at": None}
        self._upsert_channel(name, values)

    def pause_channel(self, name: str, until: datetime | None) -> None:
        """Hold sends to ``name`` until ``until`` (a receiver's Retry-After); None lifts it."""
        self._upsert_channel(name, {"paused_until": until})
