from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK


class ProbeResult(Base):
    """One raw observation. ``uid`` makes batch retries idempotent (exactly once).

    On PostgreSQL the table is partitioned by UTC day (migration 0010,
    app/models/partitions.py): the two unique indexes below are per partition there.
    """

    __tablename__ = "probe_result"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("check.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    latency_ms: Mapped[float]
    error_kind: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(500), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # where it was observed from, and which of the check's fixed slots it fills
    # (floor((t - phase) / interval)); NULL for results outside the schedule (push beats)
    vantage: Mapped[str] = mapped_column(String(32), default="central", server_default="central")
    slot: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_probe_result_check_id_at", "check_id", "at"),
        Index("ix_probe_result_at", "at"),
        # a slot is stored once, whichever replica probed it (docs/design.md §4)
        Index("uq_probe_result_slot", "check_id", "vantage", "slot", unique=True),
    )
