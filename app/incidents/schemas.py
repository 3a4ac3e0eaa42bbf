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


class IncidentAck(BaseModel):
    by: str | None = Field(
        default=None, max_length=200, description="who acknowledges; defaults to the token name"
    )
