"""API shapes of the read model: units, services, checks, the status summary and availability
(times are UTC ISO-8601)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.vocab.states import BY_SEVERITY, STATES, State

_WORST_FIRST = " > ".join(BY_SEVERITY)

__all__ = ["STATES", "State"]  # re-exported for the catalog service


class VantageRead(BaseModel):
    """How one vantage (``central`` or an agent) sees a multi-vantage check."""

    vantage: str
    state: State
    since: datetime | None
    last_result_at: datetime | None


class CheckRead(BaseModel):
    id: int
    key: str
    name: str
    unit_code: str
    service_key: str
    service_kind: str
    kind: str = Field(description="probe kind")
    target: str | None = Field(
        description="what is probed (URL, host, ...); null without a read token"
    )
    interval_s: int
    timeout_s: float
    failure_threshold: int
    recovery_threshold: int
    critical: bool
    enabled: bool
    state: State = Field(description="maintenance while inside a maintenance window")
    state_since: datetime | None
    last_result_at: datetime | None
    locations: list[str] = Field(
        default=["central"], description="where it is probed from: central and/or agents"
    )
    quorum: str = Field(default="any", description="any | all | majority (docs/agents.md)")
    vantages: list[VantageRead] = Field(
        default_factory=list,
        description="per-vantage states (one check: only when probed from elsewhere than "
        "central or from several places)",
    )


class ServiceRead(BaseModel):
    id: int
    key: str
    unit_code: str
    kind: str
    name: str
    state: State = Field(
        description=f"worst state of its enabled critical checks: {_WORST_FIRST}; with no "
        "critical check (e.g. an agent's liveness checks), the worst of all its enabled "
        "checks; unknown when it has none"
    )


class UnitRead(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    state: State = Field(
        description=f"worst state of its enabled critical checks: {_WORST_FIRST}; "
        "unknown when it has none"
    )
    checks_by_state: dict[State, int] = Field(
        description="enabled checks (critical or not) counted by state"
    )


class UnitDetail(UnitRead):
    services: list[ServiceRead]
    checks: list[CheckRead]


class StatusRead(BaseModel):
    generated_at: datetime
    units_by_state: dict[State, int]
    checks_by_state: dict[State, int] = Field(description="enabled checks counted by state")
    open_incidents: int


class RulesRead(BaseModel):
    vi: str
    en: str


class AvailabilityRead(BaseModel):
    check: str | None = Field(description="check key, when asked for one check")
    unit: str = Field(description="unit code (of the check's unit when asked for a check)")
    since: datetime
    until: datetime = Field(description="end of the window, clipped to now")
    clock: str = Field(description="24/7 or service_hours")
    up_seconds: float = Field(description="up and degraded time")
    degraded_seconds: float = Field(description="the degraded part of up_seconds")
    down_seconds: float
    unknown_seconds: float = Field(description="excluded from availability")
    maintenance_seconds: float = Field(description="excluded from availability")
    availability: float | None = Field(description="up / (up + down); null when both are 0")
    downtime_minutes: float
    incidents: int = Field(description="down periods overlapping the window")
    mttr_seconds: float | None = Field(
        description="mean wall-clock time to restore of outages that ended in the window"
    )
    longest_outage_seconds: float
    rules: RulesRead
