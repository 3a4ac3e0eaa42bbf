"""push_beat: beats relayed through SQL to the replica owning their check's shard

A process that receives a push beat for a check whose shard another replica holds
writes it here; the owner polls its shards' rows (``(shard, id)``) and the batch
writer deletes a row with the write of its effect (docs/design.md §4.1). Only
PostgreSQL relays beats; the table exists on SQLite too (one process, never used),
so the models are the same on both databases.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 15:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.models.base
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "push_beat",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["check.id"],
            name=op.f("fk_push_beat_check_id_check"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_beat")),
    )
    with op.batch_alter_table("push_beat", schema=None) as batch_op:
        batch_op.create_index("ix_push_beat_shard_id", ["shard", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_beat", schema=None) as batch_op:
        batch_op.drop_index("ix_push_beat_shard_id")
    op.drop_table("push_beat")
