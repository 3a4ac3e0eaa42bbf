"""check.retry_interval_s: re-probe sooner while a streak disagrees with the state

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("check") as batch:
        batch.add_column(sa.Column("retry_interval_s", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("check") as batch:
        batch.drop_column("retry_interval_s")
