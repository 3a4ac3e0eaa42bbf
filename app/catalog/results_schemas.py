"""API shapes of raw results and flips (times are UTC ISO-8601)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.models import Flip, ProbeResult
from app.vocab.states import State
from probes.base import Status


class ResultRead(BaseModel):
    id: int
    check_key: str
    at: datetime
    status: Status = Field(description="the probe's verdict (a subset of the check states)")
    latency_ms: float
    error_kind: str | None
    message: str
    details: dict[str, Any]

    @classmethod
    def from_row(cls, row: ProbeResult, check_key: str) -> ResultRead:
        return cls(
            id=row.id,
            check_key=check_key,
            at=row.at,
            status=Status(row.status),
            latency_ms=row.latency_ms,
            error_kind=row.error_kind,
            message=row.message,
            details=row.details,
        )


class FlipRead(BaseModel):
    id: int
    check_key: str
    unit_code: str
    at: datetime
    old_state: State
    new_state: State
    reason: str
    error_kind: str | None

    @classmethod
    def from_row(cls, row: Flip, check_key: str, unit_code: str) -> FlipRead:
        return cls(
            id=row.id,
            check_key=check_key,
            unit_code=unit_code,
            at=row.at,
            old_state=State(row.old_state),
            new_state=State(row.new_state),
            reason=row.reason,
            error_kind=row.error_kind,
        )
