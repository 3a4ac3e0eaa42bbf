from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class IncidentUpdate(Base):
    """An operator's announcement on an incident ("Đang khắc phục, dự kiến 10:30").

    ``stage`` is one of the Atlassian Statuspage / Uptime Kuma stages:
    ``investigating``, ``identified``, ``monitoring``, ``resolved``. The status
    pages and the feeds show every update, oldest first, with its time.
    """

    __tablename__ = "incident_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(2000))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_incident_update_incident", "incident_id", "created_at"),)
