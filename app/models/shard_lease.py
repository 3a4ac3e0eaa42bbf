"""Shard leases: which replica probes which checks (docs/design.md §4).

A fixed set of rows (``shard`` 0..255 for checks, negative ids for jobs that must
run once, such as housekeeping), leased on the database clock. ``epoch`` moves
each time a shard changes hands, and the batch writer refuses results carrying
an older one (fencing).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ShardLease(Base):
    __tablename__ = "shard_lease"

    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    owner: Mapped[str | None] = mapped_column(String(200))
    epoch: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    expires_at: Mapped[datetime | None]


class ShardReplica(Base):
    """A live replica, renewed with its leases: a replica that owns no shard yet is
    still counted when the others work out their fair share (so they release some)."""

    __tablename__ = "shard_replica"

    owner: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime]
