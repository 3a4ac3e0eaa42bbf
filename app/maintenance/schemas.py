"""API shapes of maintenance windows (times are UTC ISO-8601)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Scope = Literal["check", "service", "unit", "province"]


class MaintenanceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Scope
    target: str | None = Field(
        default=None,
        max_length=255,
        description="check key, service key or unit code; the province may omit it",
    )
    starts_at: AwareDatetime = Field(description="start of the first occurrence")
    ends_at: AwareDatetime = Field(description="end of the first occurrence")
    rrule: str | None = Field(
        default=None,
        max_length=500,
        description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=SU, expanded in `timezone`",
    )
    timezone: str = "Asia/Ho_Chi_Minh"
    reason: str = Field(min_length=1, max_length=500, description="why (lý do)")


class MaintenanceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str | None = Field(description="inventory key; null when declared through the API")
    source: str = Field(description="yaml or api")
    scope: str
    target: str | None
    starts_at: datetime
    ends_at: datetime
    rrule: str | None
    timezone: str
    last_ends_at: datetime | None = Field(description="end of the last occurrence; null: forever")
    reason: str
    created_by: str
    created_at: datetime
