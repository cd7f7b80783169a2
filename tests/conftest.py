"""Shared fixtures: a migrated store on a SQLite file and on the real PostgreSQL.

PostgreSQL: one fresh database ``tminus_test_<random>`` is created per test run on
the server named by ``TMINUS_TEST_DATABASE_URL`` and dropped at the end; tables are
truncated between tests. Unset variable: the PostgreSQL cases are skipped (with the
reason). Set but unreachable: they fail, since CI means to test PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from scheduler.db.engine import normalize_url
from scheduler.db.tables import ALL_TABLES
from scheduler.store import Store

# Tests run side by side (pytest-xdist): a property test's speed says nothing about its
# correctness, so no example has a deadline.
settings.register_profile("tminus", deadline=None)
settings.load_profile("tminus")

PG_ENV = "TMINUS_TEST_DATABASE_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _server_url() -> URL | None:
    raw = os.environ.get(PG_ENV)
    return normalize_url(raw) if raw else None


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty PostgreSQL databases (URLs), all dropped at the end."""
    server = _server_url()
    if server is None:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL cases need a server to run against")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def make() -> str:
        name = f"tminus_test_{secrets.token_hex(4)}"
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except OperationalError as exc:
            pytest.fail(f"{PG_ENV} is set but PostgreSQL does not answer: {exc.orig}")
        created.append(name)
        return server.set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in created:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url(pg_databases: Callable[[], str]) -> str:
    """The session's migrated PostgreSQL database."""
    url = pg_databases()
    store = Store.open(url)
    store.upgrade()
    store.close()
    return url


def _truncate(store: Store) -> None:
    names = ", ".join(t.name for t in ALL_TABLES)
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a migrated, empty database: a SQLite file, or the session's PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'tminus.db'}"
        store = Store.open(url)
        store.upgrade()
        store.close()
        return url
    url: str = request.getfixturevalue("pg_url")
    store = Store.open(url)
    _truncate(store)
    store.close()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store.open(store_url)
    yield s
    s.close()


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a database with no tables at all (for migration tests)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    make: Callable[[], str] = request.getfixturevalue("pg_databases")
    return make()
