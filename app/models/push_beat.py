"""Push beats relayed through SQL to the replica owning their check's shard.

A beat reaches the process serving the API; when that process does not hold
the check's shard it writes the beat here, and the owner polls its shards' rows
every second and applies them (docs/design.md §4.1, "Push beats through SQL").
The batch writer deletes a row in the transaction that stores the beat's
effect. Written on PostgreSQL only (SQLite runs one process and never relays).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK


class PushBeat(Base):
    """One beat a device pushed, waiting for its check's owner.

    ``at`` is the receiver's clock at receipt (the beat's time); ``uid`` becomes
    its result's uid, so a beat applied twice (by two owners across a takeover)
    is stored once. ``status`` is what the device said (``up``, ``down``, ...,
    or nothing), ``message`` its cleaned, bounded text."""

    __tablename__ = "push_beat"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(32))
    shard: Mapped[int] = mapped_column(SmallInteger)
    check_id: Mapped[int] = mapped_column(ForeignKey("check.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    status: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(500))

    __table_args__ = (Index("ix_push_beat_shard_id", "shard", "id"),)
