from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps


class Service(Timestamps, Base):
    """Something a unit offers or depends on (docs/design.md §1)."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    retired_at: Mapped[datetime | None]
