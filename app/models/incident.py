from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps


class Incident(Timestamps, Base):
    """An interruption of one check: opened by a flip to down, closed by the flip out of it."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("check.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    error_kind: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(500), default="")
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("check_id", "started_at"),
        Index("ix_incident_open", "ended_at"),
    )
