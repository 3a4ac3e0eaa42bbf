"""API shapes of incidents (times are UTC ISO-8601)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

IncidentState = Literal["open", "closed", "all"]


class IncidentRead(BaseModel):
    id: int
    check_key: str
    unit_code: str
    started_at: datetime
    ended_at: datetime | None
    open: bool
    duration_s: float | None = Field(description="ended_at - started_at; null while open")
    error_kind: str | None
    message: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    notify_state: str = Field(description="pending, paged, suppressed or done")
    suppressed: bool
    suppressed_reason: str | None = Field(
        description="parent, flapping, connectivity or canary; null when not suppressed"
    )
    parent_incident_id: int | None
    escalation_level: int
    closed_by: str | None
    notifications: list[NotificationRead] | None = Field(
        default=None, description="only on GET /incidents/{id}, and only with a read token"
    )


class NotificationRead(BaseModel):
    """One message of the incident: whom, through what, when, and the outcome."""

    id: int
    event: str
    level: int
    recipient: str
    channel_type: str
    route: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str
    status_code: int | None


class IncidentAck(BaseModel):
    by: str | None = Field(
        default=None,
        max_length=200,
        pattern="^[^\x00]*$",
        description="who acknowledges; defaults to the token name",
    )
