from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ForeignKey, Index, String, and_, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps


class Check(Timestamps, Base):
    """One probe configuration, scheduled at ``interval_s``; carries its derived state."""

    __tablename__ = "check"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(500))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    config_hash: Mapped[str] = mapped_column(String(64))
    interval_s: Mapped[int]
    # while a streak disagrees with the state, re-probe every retry_interval_s (None: interval_s)
    retry_interval_s: Mapped[int | None]
    timeout_s: Mapped[float]
    failure_threshold: Mapped[int] = mapped_column(default=2)
    recovery_threshold: Mapped[int] = mapped_column(default=1)
    critical: Mapped[bool] = mapped_column(default=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    retired_at: Mapped[datetime | None]
    depends_on: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'"))
    push_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # where it is probed from (docs/agents.md): "central" and/or agent names, and how
    # their states combine ("any" | "all" | "majority")
    locations: Mapped[list[str]] = mapped_column(
        default=lambda: ["central"], server_default=text("'[\"central\"]'")
    )
    quorum: Mapped[str] = mapped_column(String(8), default="any", server_default="any")

    # Derived state (docs/design.md §2); the flip table is the history of it.
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    state_since: Mapped[datetime | None]
    streak_status: Mapped[str | None] = mapped_column(String(16))
    streak_count: Mapped[int] = mapped_column(default=0)
    streak_started_at: Mapped[datetime | None]
    last_result_at: Mapped[datetime | None]
    last_beat_at: Mapped[datetime | None]  # heartbeat checks: the last push

    __table_args__ = (Index("ix_check_enabled_retired", "enabled", "retired_at"),)

    @classmethod
    def is_live(cls) -> ColumnElement[bool]:
        """The one definition of a check that runs and counts: enabled and not retired."""
        return and_(cls.enabled.is_(True), cls.retired_at.is_(None))
