from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK, utcnow


class DeadLetter(Base):
    """An outcome the database refused for its data (not for a lost connection).

    The batch writer sets it aside here so its batch-mates are written
    (docs/dead-letters.md). ``record`` is the outcome as JSON text with every
    non-ASCII character escaped, so a NUL is stored as ``\\u0000`` and the row
    itself can never be refused. ``uid`` is the result's uid: setting the same
    outcome aside twice keeps one row. No foreign key on ``check_id``: a check
    that no longer exists can be the very reason.
    """

    __tablename__ = "dead_letter"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    check_id: Mapped[int | None]
    error_type: Mapped[str] = mapped_column(String(100))
    error: Mapped[str] = mapped_column(Text)
    record: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    replayed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_dead_letter_created_at", "created_at"),)
