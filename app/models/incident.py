from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps


class Incident(Timestamps, Base):
    """An interruption of one check: opened by a flip to down, closed by the flip out of it.

    ``notify_state`` is the notifier's progress: ``pending`` (not decided yet),
    ``paged`` (people were told), ``suppressed`` (``suppressed_reason`` says why:
    a parent incident, flapping, the monitor's own connectivity, a canary) and
    ``done``. ``closed_by`` is the state the closing flip went to.
    """

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
    closed_by: Mapped[str | None] = mapped_column(String(16))
    parent_incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="SET NULL"), index=True
    )
    notify_state: Mapped[str] = mapped_column(
        String(16), default="pending", server_default=text("'pending'")
    )
    suppressed_reason: Mapped[str | None] = mapped_column(String(32))
    paged_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    __table_args__ = (
        UniqueConstraint("check_id", "started_at"),
        Index("ix_incident_open", "ended_at"),
        Index("ix_incident_notify_state", "notify_state"),
    )
