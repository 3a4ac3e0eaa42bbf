"""shard_lease, shard_replica; probe_result.vantage/slot with a unique (check, vantage, slot)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.models.base
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARDS = 256
JOB_SHARDS = (-1,)  # housekeeping (rollups, pruning)


def upgrade() -> None:
    lease = op.create_table(
        "shard_lease",
        sa.Column("shard", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("epoch", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("expires_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_shard_lease")),
    )
    op.create_table(
        "shard_replica",
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("expires_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_shard_replica")),
    )
    op.bulk_insert(lease, [{"shard": s, "epoch": 0} for s in (*JOB_SHARDS, *range(SHARDS))])
    with op.batch_alter_table("probe_result", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("vantage", sa.String(length=32), server_default="central", nullable=False)
        )
        batch_op.add_column(sa.Column("slot", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            "uq_probe_result_slot", ["check_id", "vantage", "slot"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("probe_result", schema=None) as batch_op:
        batch_op.drop_index("uq_probe_result_slot")
        batch_op.drop_column("slot")
        batch_op.drop_column("vantage")
    op.drop_table("shard_replica")
    op.drop_table("shard_lease")
