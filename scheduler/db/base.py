"""The store's foundation: engine, transactions, error mapping and row building.

Part of the store (it speaks SQL). :class:`scheduler.store.Store` is the public face.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, StatementError

from scheduler.db import engine as engines
from scheduler.db.rows import DeliveryRow
from scheduler.db.tables import DELIVERIES, REMINDERS
from scheduler.errors import StoreError
from scheduler.model import DeliveryStatus

D = DELIVERIES
S = DeliveryStatus
OPEN_STATUSES = (S.SCHEDULED, S.RETRYING, S.SENDING)
# "NOT IN final" rather than "IN open": the same rows, but no index on status can serve
# it, so SQLite's planner takes the next_attempt_at index and its order (no sort).
FINAL_STATUSES = (S.SENT, S.DEAD, S.SKIPPED, S.CANCELLED)
REDELIVERABLE = (S.DEAD, S.SENT, S.SKIPPED, S.CANCELLED)


def _excerpt(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StoreBase:
    """An engine plus the transaction and row helpers every store operation uses."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def is_sqlite(self) -> bool:
        return self._engine.dialect.name == "sqlite"

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

    def get_delivery(self, delivery_id: str) -> DeliveryRow | None:
        with self._read() as conn:
            rows = self._fetch(conn, self._select_rows().where(D.c.id == delivery_id))
            return rows[0] if rows else None
