"""API shapes of availability reports (times are UTC ISO-8601)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from app.catalog.schemas import RulesRead


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
