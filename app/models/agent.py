"""Remote probe agents (docs/agents.md): the agent, its tokens, its idempotent batches,
and the per-vantage state of checks that are observed from more than one place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class Agent(Base):
    """An agent declared in the inventory (``agents:``) and enrolled with a token."""

    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    units: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'"))
    offline_after_s: Mapped[int] = mapped_column(default=90, server_default="90")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_seen_at: Mapped[datetime | None]
    # server_now - agent_now, last measured (seconds)
    clock_offset_s: Mapped[float | None]
    version: Mapped[str] = mapped_column(String(64), default="", server_default="")
    host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # pending (never seen) | online | offline
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    state_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]


class AgentToken(Base):
    """A bearer token of an agent, SHA-256 only; at most two active (rotation)."""

    __tablename__ = "agent_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # the token's first characters, to tell tokens apart in lists and ``revoke``
    prefix: Mapped[str] = mapped_column(String(16), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class AgentBatch(Base):
    """One accepted ``POST /api/v1/agent/results`` by its Idempotency-Key (pruned after 48 h)."""

    __tablename__ = "agent_batch"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CheckVantage(Base):
    """The confirmed state of a check as seen from one vantage (``central`` or an agent)."""

    __tablename__ = "check_vantage"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("check.id", ondelete="CASCADE"))
    vantage: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    since: Mapped[datetime | None]
    streak_status: Mapped[str | None] = mapped_column(String(16))
    streak_count: Mapped[int] = mapped_column(default=0)
    streak_started_at: Mapped[datetime | None]
    last_result_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("check_id", "vantage", name="uq_check_vantage_check_id"),
        Index("ix_check_vantage_vantage", "vantage"),
    )
