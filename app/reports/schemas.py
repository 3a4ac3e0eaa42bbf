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
    availability_24_7: float | None = Field(default=None, description="on the 24/7 clock")
    availability_service_hours: float | None = Field(
        default=None, description="on the service-hours clock"
    )
    up_24_7_minutes: float = 0.0
    up_service_hours_minutes: float = 0.0
    downtime_24_7_minutes: float = 0.0
    downtime_service_hours_minutes: float = 0.0
    coverage: float | None = Field(
        default=None,
        description="monitored coverage: measured / (measured + unknown) time on the clock, "
        "maintenance left out; null when the period has no such time",
    )
    insufficient_data: bool = Field(
        default=False, description="coverage below the report's min_coverage: not ranked"
    )
    rank: int | None = Field(default=None, description="1 = worst; null when not ranked")
    head: str | None = Field(default=None, description="the head responsible (contacts: head)")


class IncidentRow(BaseModel):
    check: str
    check_name: str
    unit_code: str
    unit_name: str
    started_at: datetime
    ended_at: datetime | None = Field(description="null: not restored yet")
    counted_minutes: float = Field(description="inside the period, on the clock")


class ExclusionRow(BaseModel):
    """A day or a maintenance window left out of the counted time, and why."""

    kind: str = Field(description="holiday | day_off | swapped_working | maintenance")
    first: datetime = Field(description="start (a day: its local midnight, as UTC)")
    end: datetime = Field(description="end, exclusive")
    scope: str = Field(description="who it applies to: the province, a unit, service or check")
    reason: str
    clock: str = Field(description="the clock it changes: service_hours or both")


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
    provisional: bool = Field(default=False, description="the period is not over (or not computed)")
    data_until: datetime | None = Field(
        default=None, description="figures run up to this instant (provisional periods)"
    )
    min_coverage: float = 0.8
    exclusions: list[ExclusionRow] = Field(default_factory=list)
