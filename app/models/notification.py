from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigIntPK, utcnow


class OutboxNotification(Base):
    """One message to one recipient through one channel: the notification outbox.

    Rows are written by the planner in the transaction that decides them;
    ``dedupe_key`` (incident + event + level + sequence + route) makes a replayed
    decision insert nothing. Senders claim a row with a conditional UPDATE on
    ``claimed_until`` and record the outcome afterwards, outside any transaction
    that waits on the network.
    """

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    route: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(200), default="")
    channel_type: Mapped[str] = mapped_column(String(20))
    channel_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lang: Mapped[str] = mapped_column(String(2), default="vi", server_default=text("'vi'"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(
        String(16), default="pending", server_default=text("'pending'")
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(String(500), default="", server_default=text("''"))
    status_code: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_notification_status_next", "status", "next_attempt_at"),)


class NotifyPolicy(Base):
    """The inventory's ``notifications:`` section as stored by the sync (one row per name)."""

    __tablename__ = "notify_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    document: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
