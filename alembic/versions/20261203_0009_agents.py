"""Remote probe agents: agent, agent_token, agent_batch, check_vantage; check.locations/quorum

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 14:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import app.models.base
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = app.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("units", JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("offline_after_s", sa.Integer(), server_default="90", nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("last_seen_at", TS, nullable=True),
        sa.Column("clock_offset_s", sa.Double(), nullable=True),
        sa.Column("version", sa.String(length=64), server_default="", nullable=False),
        sa.Column("host", sa.String(length=255), server_default="", nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("state_since", TS, nullable=True),
        sa.Column("disabled_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent")),
        sa.UniqueConstraint("name", name=op.f("uq_agent_name")),
    )
    op.create_table(
        "agent_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), server_default="", nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_agent_token_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agent_token_token_hash")),
    )
    op.create_index(op.f("ix_agent_token_agent_id"), "agent_token", ["agent_id"], unique=False)
    op.create_table(
        "agent_batch",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("response", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_agent_batch_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "key", name=op.f("pk_agent_batch")),
    )
    op.create_index(
        op.f("ix_agent_batch_received_at"), "agent_batch", ["received_at"], unique=False
    )
    op.create_table(
        "check_vantage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("vantage", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", TS, nullable=True),
        sa.Column("streak_status", sa.String(length=16), nullable=True),
        sa.Column("streak_count", sa.Integer(), nullable=False),
        sa.Column("streak_started_at", TS, nullable=True),
        sa.Column("last_result_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["check.id"],
            name=op.f("fk_check_vantage_check_id_check"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_vantage")),
        sa.UniqueConstraint("check_id", "vantage", name="uq_check_vantage_check_id"),
    )
    op.create_index("ix_check_vantage_vantage", "check_vantage", ["vantage"], unique=False)
    with op.batch_alter_table("check", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locations", JSON, server_default=sa.text("'[\"central\"]'"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("quorum", sa.String(length=8), server_default="any", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("check", schema=None) as batch_op:
        batch_op.drop_column("quorum")
        batch_op.drop_column("locations")
    op.drop_index("ix_check_vantage_vantage", table_name="check_vantage")
    op.drop_table("check_vantage")
    op.drop_index(op.f("ix_agent_batch_received_at"), table_name="agent_batch")
    op.drop_table("agent_batch")
    op.drop_index(op.f("ix_agent_token_agent_id"), table_name="agent_token")
    op.drop_table("agent_token")
    op.drop_table("agent")
