"""The migration environment: the one ``env.py``, for every way Alembic runs.

* ``Store.upgrade`` (``tminus db upgrade``, the daemon at start) passes its own
  connection in ``config.attributes`` and migrates on it, in its transaction;
* ``alembic -c alembic.ini upgrade head`` / ``revision --autogenerate`` from the
  repository connect to ``TMINUS_DATABASE_URL``, else the ini's ``sqlalchemy.url``.

On PostgreSQL an advisory lock makes replicas that start together migrate one
after the other; on SQLite schema changes run in batch mode (table copies).
"""

from __future__ import annotations

import os
from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection, text

from scheduler.db.engine import MIGRATION_LOCK, WRITE_OPTION, create_store_engine
from scheduler.db.tables import metadata
from scheduler.db.types import UTCDateTime
from scheduler.errors import StoreError


def _render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Autogenerate writes ``UTCDateTime()`` (imported by the script template), not a path."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "UTCDateTime()"
    return False


def _url() -> str | None:
    return os.environ.get("TMINUS_DATABASE_URL") or context.config.get_main_option("sqlalchemy.url")


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=conn.dialect.name == "sqlite",
        render_item=_render_item,
    )
    with context.begin_transaction():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        context.run_migrations()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = _url()
    if not url:
        raise StoreError("no database URL: set TMINUS_DATABASE_URL")
    engine = create_store_engine(url)
    try:
        with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
