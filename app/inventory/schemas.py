"""API shapes of the inventory: units, services, checks (times are UTC ISO-8601)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

STATES = ("up", "degraded", "down", "maintenance", "unknown")


class CheckRead(BaseModel):
    id: int
    key: str
    name: str
    unit_code: str
    service_key: str
    service_kind: str
    kind: str = Field(description="probe kind")
    target: str
    interval_s: int
    timeout_s: float
    failure_threshold: int
    recovery_threshold: int
    critical: bool
    enabled: bool
    state: str
    state_since: datetime | None
    last_result_at: datetime | None


class ServiceRead(BaseModel):
    id: int
    key: str
    unit_code: str
    kind: str
    name: str
    state: str = Field(description="worst state of its enabled critical checks")


class UnitRead(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    state: str = Field(
        description="worst state of its enabled critical checks: down > degraded > up; "
        "unknown when it has none or all are unknown"
    )
    checks_by_state: dict[str, int] = Field(
        description="enabled checks (critical or not) counted by state"
    )


class UnitDetail(UnitRead):
    services: list[ServiceRead]
    checks: list[CheckRead]
