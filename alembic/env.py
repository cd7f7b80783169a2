"""Migration environment for ``alembic`` run from the repository (see ``alembic.ini``).

The revisions live in ``scheduler/migrations/versions`` so that the installed
package carries them; this file and ``scheduler/migrations/env.py`` share one body.
"""

from scheduler.db.engine import run_migrations

run_migrations()
