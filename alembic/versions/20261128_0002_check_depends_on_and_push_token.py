"""check depends_on, heartbeat push token and last beat

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 03:27:56.218141+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op
import app.models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("check", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "depends_on",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'[]'"),
            )
        )
        batch_op.add_column(
            sa.Column("last_beat_at", app.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("push_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_check_push_token_hash"), ["push_token_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("check", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_check_push_token_hash"), type_="unique")
        batch_op.drop_column("push_token_hash")
        batch_op.drop_column("last_beat_at")
        batch_op.drop_column("depends_on")
