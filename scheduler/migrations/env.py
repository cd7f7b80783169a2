"""Migration environment used by ``tminus db upgrade`` and the daemon (installed package)."""

from scheduler.db.engine import run_migrations

run_migrations()
