"""Drop channel_state.paused_until: a Retry-After pause lives in memory only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from scheduler.db.types import UTCDateTime

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_state") as batch:
        batch.drop_column("paused_until")


def downgrade() -> None:
    with op.batch_alter_table("channel_state") as batch:
        batch.add_column(sa.Column("paused_until", UTCDateTime(), nullable=True))
