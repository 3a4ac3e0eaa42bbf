from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class MaintenanceWindow(Base):
    """A declared maintenance window: one-off, or recurring by an RFC 5545 ``rrule``.

    ``starts_at``/``ends_at`` bound the first occurrence; a recurring window repeats
    that length at each ``rrule`` occurrence, expanded in ``timezone``. ``last_ends_at``
    is the end of the last occurrence (``None``: it recurs forever). ``scope`` is
    ``check``, ``service``, ``unit`` or ``province``; ``target`` is the check key,
    service key or unit code (``None`` for the province). Deleting only stamps
    ``deleted_at``, so history stays explainable.
    """

    __tablename__ = "maintenance_window"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(8), default="api")
    scope: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(255))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    rrule: Mapped[str | None] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    last_ends_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_maintenance_window_span", "starts_at", "last_ends_at"),)
