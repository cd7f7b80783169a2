"""Fresh PostgreSQL databases for benchmark runs (made on a server, dropped after)."""

from __future__ import annotations

import os
import secrets

from sqlalchemy import create_engine

from scheduler.db.engine import normalize_url

DEFAULT_SERVER = os.environ.get(
    "TMINUS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def create_postgres_database(server: str, prefix: str = "tminus_bench") -> tuple[str, str]:
    """Create a fresh database on ``server``; returns (its URL, its name)."""
    admin_url = normalize_url(server)
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False), name


def drop_postgres_database(server: str, name: str) -> None:
    admin = create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
