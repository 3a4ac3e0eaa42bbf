from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class MonitorRun(Base):
    """One monitor process's lifetime, kept by its heartbeat.

    Time that no run covered (``started_at`` to ``stopped_at``, or to
    ``last_seen_at`` when it died without stopping) is ``unknown`` for every check.
    """

    __tablename__ = "monitor_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_monitor_run_started_at", "started_at", "last_seen_at"),)
