"""API shapes of the status summary and availability (times are UTC ISO-8601)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class StatusRead(BaseModel):
    generated_at: datetime
    units_by_state: dict[str, int]
    checks_by_state: dict[str, int] = Field(description="enabled checks counted by state")
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


class ReportRow(BaseModel):
    """One row of an availability report; minutes are on the report's clock."""

    key: str = Field(description="check key, service key, unit code or province code")
    name: str
    unit_code: str | None = None
    unit_name: str | None = None
    province_code: str
    province_name: str
    availability: float | None = Field(description="up / (up + down); null when nothing measured")
    counted_minutes: float = Field(description="length of the period on the clock")
    up_minutes: float = Field(description="up and degraded time")
    downtime_minutes: float
    maintenance_minutes: float = Field(description="excluded from availability")
    unknown_minutes: float = Field(description="excluded from availability")
    incidents: int
    mttr_minutes: float | None = Field(description="wall-clock mean time to restore")
    mttr_counted_minutes: float | None = Field(description="mean time to restore on the clock")
    longest_outage_minutes: float
    restored: int = Field(description="incidents that ended inside the period")


class IncidentRow(BaseModel):
    check: str
    check_name: str
    unit_code: str
    unit_name: str
    started_at: datetime
    ended_at: datetime | None = Field(description="null: not restored yet")
    counted_minutes: float = Field(description="inside the period, on the clock")


class ReportRead(BaseModel):
    title: str
    period: str
    first_day: date
    last_day: date = Field(description="inclusive")
    clock: str
    group: str
    province: str | None
    generated_at: datetime
    rows: list[ReportRow] = Field(description="worst first")
    totals: ReportRow
    incidents: list[IncidentRow] = Field(description="check-level outages, oldest first")
    rules: RulesRead
