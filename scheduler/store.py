"""The store: the one place that speaks SQL, on SQLite and PostgreSQL alike.

:class:`Store` is what the rest of tminus uses. Its parts live in
:mod:`scheduler.db`: the tables, the engine and migrations, the delivery queue
(atomic claims and guarded marks, :mod:`scheduler.db.queue`) and the bulk
writes of a reconciliation (:mod:`scheduler.db.bulk`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from scheduler.db import engine as engines
from scheduler.db.base import FINAL_STATUSES, OPEN_STATUSES, D, S
from scheduler.db.queue import DeliveryQueue, Mark
from scheduler.db.rows import AttemptRecord, AttemptRow, ChannelState, DeliveryRow
from scheduler.db.tables import ATTEMPTS, CHANNEL_STATE, META
from scheduler.reconcile import ReconcileActions

__all__ = ["AttemptRecord", "AttemptRow", "ChannelState", "DeliveryRow", "Mark", "Store"]


class Store(DeliveryQueue):
    """Durable deliveries, attempts, channel state and metadata behind named operations."""

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to ``url`` (SQLite file, created with its directory, or PostgreSQL)."""
        return cls(engines.create_store_engine(url))

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

    def next_wakeup(self, *, ahead: timedelta = timedelta(0)) -> datetime | None:
        """When the daemon must next claim: the earliest next attempt (scheduled,
        retrying) or lease expiry (sending), where a first attempt counts ``ahead``
        early, as ``claim_due(ahead=…)`` takes those that far ahead of their time."""
        base = select(D.c.next_attempt_at).where(
            D.c.next_attempt_at.is_not(None), D.c.status.not_in(FINAL_STATUSES)
        )
        first = base.where(D.c.attempts == 0).order_by(D.c.next_attempt_at).limit(1)
        other = base.where(D.c.attempts > 0).order_by(D.c.next_attempt_at).limit(1)
        with self._read() as conn:
            found = [conn.execute(first).scalar(), conn.execute(other).scalar()]
        moments = [m for m in (found[0] - ahead if found[0] else None, found[1]) if m]
        return min(moments) if moments else None

    # -- reconciliation ------------------------------------------------------------------
    def apply(self, actions: ReconcileActions, *, now: datetime) -> None:
        """Apply a reconciliation in one transaction (bulk inserts, cancels, skips, refreshes)."""
        from scheduler.db.bulk import apply_actions

        with self._write() as conn:
            apply_actions(conn, actions, now=now)

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
