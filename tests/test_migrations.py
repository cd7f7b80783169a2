"""Migrations: they build the schema on an empty database, and the models have not drifted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from scheduler.db.engine import MIGRATIONS_DIR, MIGRATIONS_PACKAGE, alembic_config
from scheduler.db.tables import ALL_TABLES, metadata
from scheduler.store import Store

REPO = Path(__file__).resolve().parent.parent
ALEMBIC = Path(sys.executable).parent / "alembic"


def test_upgrade_on_empty_database(empty_url: str) -> None:
    store = Store.open(empty_url)
    try:
        assert store.current_revision() is None
        store.upgrade()
        assert store.current_revision() == Store.head_revision() is not None
        tables = set(inspect(store.engine).get_table_names())
        assert {t.name for t in ALL_TABLES} <= tables
        store.upgrade()  # idempotent
        store.ensure_schema()
        assert store.current_revision() == Store.head_revision()
        store.ping()
    finally:
        store.close()


def test_models_and_migrations_do_not_drift(empty_url: str) -> None:
    store = Store.open(empty_url)
    try:
        store.upgrade()
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
        assert diff == []
    finally:
        store.close()


def test_downgrade_to_base_and_back(empty_url: str) -> None:
    store = Store.open(empty_url)
    try:
        store.upgrade()
        cfg = alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert store.current_revision() is None
        assert not {t.name for t in ALL_TABLES} & set(inspect(store.engine).get_table_names())
        store.upgrade()
        assert store.current_revision() == Store.head_revision()
    finally:
        store.close()


def test_alembic_command_line_from_the_repository(tmp_path: Path) -> None:
    """``alembic upgrade head`` / ``alembic check`` from the repo use the same revisions."""
    env = {**os.environ, "TMINUS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    for args in (["upgrade", "head"], ["check"], ["current"]):
        done = subprocess.run(
            [str(ALEMBIC), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
    assert "(head)" in done.stdout
    store = Store.open(env["TMINUS_DATABASE_URL"])
    try:
        assert store.current_revision() == Store.head_revision()
    finally:
        store.close()


def test_revisions_ship_inside_the_package() -> None:
    assert MIGRATIONS_DIR.is_relative_to(REPO / "scheduler")
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert list((MIGRATIONS_DIR / "versions").glob("0001_*.py"))


def test_one_migration_environment() -> None:
    """One env.py and one script.py.mako, in the package; alembic.ini and the store
    both name that location (the top-level alembic/ only explains it)."""
    assert [p.name for p in (REPO / "alembic").iterdir()] == ["README"]
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    ini = (REPO / "alembic.ini").read_text()
    assert f"script_location = {MIGRATIONS_PACKAGE}" in ini.splitlines()
    assert alembic_config().get_main_option("script_location") == MIGRATIONS_PACKAGE
