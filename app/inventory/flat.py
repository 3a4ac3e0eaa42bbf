"""The inventory with every default applied: plain rows ready for SQL."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from app.maintenance.windows import MaintenanceSpec


@dataclass(frozen=True, slots=True)
class UnitSpec:
    code: str
    name: str
    kind: str  # national | province | commune | ward | special_zone
    parent_code: str | None
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    key: str  # "{unit_code}.{local_key}", unique in the inventory
    local_key: str
    unit_code: str
    kind: str
    name: str
    contacts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CheckSpec:
    key: str  # "{unit_code}.{service local key}.{check name}"
    unit_code: str
    service_key: str  # the full service key, as ServiceSpec.key
    name: str
    kind: str
    target: str
    config: dict[str, Any]
    config_hash: str
    interval_s: int
    timeout_s: float
    failure_threshold: int
    recovery_threshold: int
    critical: bool
    enabled: bool
    depends_on: list[str] = field(default_factory=list)
    retry_interval_s: int | None = None  # re-probe sooner while a streak is in progress
    # where it is probed from: "central" and/or agent names (docs/agents.md), and the
    # rule that combines their states
    locations: tuple[str, ...] = ("central",)
    quorum: str = "any"


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """A declared remote agent; its liveness check is ``agent.<name>`` (a heartbeat)."""

    name: str
    units: tuple[str, ...]
    offline_after_s: int


@dataclass(frozen=True, slots=True)
class FlatInventory:
    units: list[UnitSpec]
    services: list[ServiceSpec]
    checks: list[CheckSpec]
    maintenance: list[MaintenanceSpec] = field(default_factory=list)
    agents: list[AgentSpec] = field(default_factory=list)

    def units_by_kind(self) -> Counter[str]:
        return Counter(u.kind for u in self.units)

    def services_by_kind(self) -> Counter[str]:
        return Counter(s.kind for s in self.services)

    def checks_by_kind(self) -> Counter[str]:
        return Counter(c.kind for c in self.checks)
