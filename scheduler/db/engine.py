"""Engines and migrations: how tminus connects to SQLite and PostgreSQL.

SQLite gets WAL (readers never wait for the writer), a 5 s busy timeout and
foreign keys; write transactions start with ``BEGIN IMMEDIATE`` so that two
writers queue on the busy timeout instead of failing when a deferred
transaction tries to upgrade its lock. PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from scheduler.errors import StoreError

# The one migration environment (env.py, script.py.mako, versions/) ships inside the
# package, so an installed wheel can migrate; alembic.ini names the same location.
MIGRATIONS_PACKAGE = "scheduler:migrations"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_CACHE_KIB = 32 * 1024
WRITE_OPTION = "tminus_write"
# Any constant works; it only has to be the same for every replica.
MIGRATION_LOCK = 0x746D696E  # "tmin"


def normalize_url(url: str) -> URL:
    """Parse a database URL; bare ``postgresql://`` means psycopg 3 (the driver tminus ships)."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError; keep the URL out of the message
        raise StoreError(
            "invalid database URL (expected sqlite:///PATH or postgresql://…)"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_store_engine(url: str, *, application_name: str | None = None) -> Engine:
    """An engine for ``url`` with tminus's connection settings applied; on PostgreSQL its
    connections show ``application_name`` in ``pg_stat_activity``."""
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        named = {"application_name": application_name} if application_name else {}
        return create_engine(
            parsed, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=named
        )
    raise StoreError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    memory = database in ("", ":memory:") or "mode=memory" in database
    if not memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN, instead of the driver guessing.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
        # WAL with synchronous=NORMAL survives a process crash; only a power loss can
        # drop the last commits, which at worst repeats a send with the same id.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # A bigger page cache keeps bulk inserts into large indexes off the disk.
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migration environment."""
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS_PACKAGE)
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine) -> None:
    """Migrate to the newest revision on a connection from ``engine``, in one transaction."""
    cfg = alembic_config()
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
