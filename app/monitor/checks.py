"""The scheduler's view of a check: parsed once, labelled for metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import probes
from app.models import Check
from app.monitor.evaluator import CheckState
from app.monitor.leases import shard_of
from app.vocab.states import State
from probes.base import ProbeConfig


@dataclass(frozen=True, slots=True)
class RuntimeCheck:
    id: int
    key: str
    unit_id: int
    unit_code: str
    service_kind: str
    kind: str
    config: ProbeConfig
    interval_s: int
    timeout_s: float
    failure_threshold: int
    recovery_threshold: int
    config_hash: str
    created_at: datetime
    push_token_hash: str | None = None
    retry_interval_s: int | None = None  # re-probe sooner while a streak is in progress
    # vantages (docs/agents.md): only checks whose locations include "central" are
    # scheduled here; per-vantage evaluation only when there is more than the centre
    locations: tuple[str, ...] = ("central",)
    quorum: str = "any"
    # locations != ("central",), computed once: read for every result (_record)
    multi_vantage: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "multi_vantage", self.locations != ("central",))

    @property
    def probed_centrally(self) -> bool:
        return "central" in self.locations

    @classmethod
    def from_row(cls, check: Check, unit_code: str, service_kind: str) -> RuntimeCheck:
        return cls(
            id=check.id,
            key=check.key,
            unit_id=check.unit_id,
            unit_code=unit_code,
            service_kind=service_kind,
            kind=check.kind,
            config=probes.parse_config(check.kind, dict(check.config)),
            interval_s=check.interval_s,
            timeout_s=check.timeout_s,
            failure_threshold=check.failure_threshold,
            recovery_threshold=check.recovery_threshold,
            config_hash=check.config_hash,
            created_at=check.created_at,
            push_token_hash=check.push_token_hash,
            retry_interval_s=check.retry_interval_s,
            locations=tuple(check.locations or ("central",)),
            quorum=check.quorum,
        )

    def signature(self) -> tuple[object, ...]:
        """The same values, in the order, of ``app.monitor.active_checks.SIGNATURE``."""
        return (
            self.id,
            self.key,
            self.unit_id,
            self.unit_code,
            self.service_kind,
            self.kind,
            self.interval_s,
            self.timeout_s,
            self.failure_threshold,
            self.recovery_threshold,
            self.config_hash,
            self.created_at,
            self.push_token_hash,
            self.retry_interval_s,
            list(self.locations),
            self.quorum,
        )

    @property
    def shard(self) -> int:
        """The shard lease this check's probes run under (app/monitor/leases.py)."""
        return shard_of(self.key)

    def schedule_key(self) -> tuple[int, str]:
        """Changes to these need the job replaced."""
        return (self.interval_s, self.config_hash)


def state_from_row(check: Check) -> CheckState:
    return CheckState(
        check_id=check.id,
        unit_id=check.unit_id,
        failure_threshold=check.failure_threshold,
        recovery_threshold=check.recovery_threshold,
        state=State(check.state),
        state_since=check.state_since,
        streak_status=State(check.streak_status) if check.streak_status else None,
        streak_count=check.streak_count,
        streak_started_at=check.streak_started_at,
        last_result_at=check.last_result_at,
        last_beat_at=check.last_beat_at,
    )
