"""The inventory file as pydantic models (docs/inventory.md).

These models check the *shape* of the YAML: unknown keys, types and ranges.
Everything that needs the whole file (inheritance, templates, duplicate keys,
probe options, ``depends_on``) is checked in :mod:`app.inventory.resolve`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from app.accounting.calendar import OfficeHours
from app.maintenance.windows import last_end
from app.notify.policy import NotifyPolicyDoc
from probes import registry

ServiceKind = Literal[
    "national_portal",
    "national_sso",
    "vneid",
    "paygov",
    "data_sharing",
    "emc",
    "provincial_system",
    "provincial_portal",
    "lgsp",
    "provincial_wan",
    "provincial_database",
    "national_database",
    "accounts",
    "commune_centre",
]
UnitKind = Literal["commune", "ward", "special_zone"]
ContactRole = Literal["head", "deputy", "it_focal_point", "on_call", "vendor", "other"]

MAX_INTERVAL_S = 86_400


def _between(low: int, high: int) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high} (got {value})")
        return value

    return AfterValidator(check)


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError(f"must be greater than 0 seconds (got {value})")
    return value


Interval = Annotated[int, _between(1, MAX_INTERVAL_S)]
# while a result disagrees with the confirmed state, re-probe this often (< interval)
RetryInterval = Annotated[int, _between(1, MAX_INTERVAL_S)]
Threshold = Annotated[int, _between(1, 20)]
Timeout = Annotated[float, AfterValidator(_positive)]
# Local keys become parts of check keys and metric labels: keep them tame.
LocalKey = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
UnitCode = Annotated[str, Field(pattern=r"^[0-9]{2,10}$")]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
# where a check is probed from: "central" (the monitor) or a declared agent's name
AGENT_NAME = r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$"
Vantage = Annotated[str, Field(pattern=AGENT_NAME)]
Quorum = Literal["any", "all", "majority"]
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(s|m|h)?\s*$")


def _duration(value: Any) -> Any:
    """``90``, ``"90s"``, ``"2m"``, ``"1h"`` as whole seconds (10 s .. 1 day)."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"not a duration such as 90s, 2m or 1h (got {value!r})")
        value = float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a duration such as 90s, 2m or 1h")
    if not 10 <= value <= MAX_INTERVAL_S:
        raise ValueError(f"must be between 10 s and {MAX_INTERVAL_S} s (got {value:g} s)")
    return int(value)


Duration = Annotated[int, BeforeValidator(_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Model):
    """Someone to call about a unit or a service; ids are free strings."""

    name: str = Field(min_length=1)
    role: ContactRole = "it_focal_point"
    title: str | None = Field(default=None, max_length=200, description="chức danh")
    email: Email | None = None
    phone: str | None = None
    telegram: str | None = None
    zalo: str | None = None


class Defaults(_Model):
    """Check settings inherited downwards: province → unit → service → check.

    ``options`` maps a probe kind to options merged into every check of that
    kind below (dicts merge key by key, e.g. ``headers``).
    """

    interval: Interval | None = None
    retry_interval: RetryInterval | None = None
    timeout: Timeout | None = None
    failure_threshold: Threshold | None = None
    recovery_threshold: Threshold | None = None
    critical: bool | None = None
    enabled: bool | None = None
    # where checks run (docs/agents.md): one vantage, or several and the rule that
    # combines their states; "location" and "locations" exclude each other
    location: Vantage | None = None
    locations: list[Vantage] | None = Field(default=None, min_length=1)
    quorum: Quorum | None = None
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_location_form(self) -> Defaults:
        _one_location_form(self.location, self.locations)
        return self


def _one_location_form(location: str | None, locations: list[str] | None) -> None:
    if location is not None and locations is not None:
        raise ValueError("give location or locations, not both")
    if locations is not None and len(set(locations)) != len(locations):
        raise ValueError("locations: a vantage is listed twice")


class CheckDef(_Model):
    name: LocalKey
    title: str | None = Field(
        default=None, min_length=1, max_length=200, description="human name; default: name"
    )
    kind: str
    options: dict[str, Any] = Field(default_factory=dict)
    interval: Interval | None = None
    retry_interval: RetryInterval | None = None
    timeout: Timeout | None = None
    failure_threshold: Threshold | None = None
    recovery_threshold: Threshold | None = None
    critical: bool | None = None
    enabled: bool | None = None
    depends_on: list[str] = Field(default_factory=list)
    location: Vantage | None = None
    locations: list[Vantage] | None = Field(default=None, min_length=1)
    quorum: Quorum | None = None
    canary: bool = Field(
        default=False,
        description="the monitor's own path (gateway, reference host): when canaries fail, "
        "failures are the monitor's, not the targets'",
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        try:
            registry.get(value)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        return value

    def own_defaults(self) -> Defaults:
        """The check's own settings, as the last link of the inheritance chain."""
        return Defaults(
            interval=self.interval,
            retry_interval=self.retry_interval,
            timeout=self.timeout,
            failure_threshold=self.failure_threshold,
            recovery_threshold=self.recovery_threshold,
            critical=self.critical,
            enabled=self.enabled,
            location=self.location,
            locations=self.locations,
            quorum=self.quorum,
            options={self.kind: self.options},
        )

    @model_validator(mode="after")
    def _one_location_form(self) -> CheckDef:
        _one_location_form(self.location, self.locations)
        return self


class ServiceDef(_Model):
    key: LocalKey | None = Field(default=None, description="unique in its unit; default: kind")
    kind: ServiceKind
    name: str = Field(min_length=1, max_length=200)
    contacts: list[Contact] = Field(default_factory=list)
    defaults: Defaults = Field(default_factory=Defaults)
    checks: list[CheckDef] = Field(default_factory=list)

    @property
    def local_key(self) -> str:
        return self.key or self.kind


def _office_hours(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A calendar must be valid :class:`OfficeHours`; it is stored as written."""
    if value is not None:
        OfficeHours.model_validate(value)
    return value


class UnitBase(_Model):
    name: str = Field(min_length=1, max_length=200)
    contacts: list[Contact] = Field(default_factory=list)
    calendar: Annotated[dict[str, Any] | None, AfterValidator(_office_hours)] = Field(
        default=None,
        description="office hours, days off and swapped working days (docs/reports.md); "
        "the province's days_off and working_days apply to every unit",
    )
    defaults: Defaults = Field(default_factory=Defaults)
    services: list[ServiceDef] = Field(default_factory=list)
    # shown on the unit's public status page (/status/{code}); all optional
    address: str | None = Field(default=None, min_length=1, max_length=300)
    opening_hours: str | None = Field(
        default=None,
        min_length=1,
        max_length=300,
        description="as people read it: 'Thứ Hai–Thứ Sáu 7:30–11:30, 13:30–17:00'",
    )
    hotline: str | None = Field(
        default=None, pattern=r"^[0-9+() .\-]{3,40}$", description="phone number to call"
    )


class NationalDef(UnitBase):
    """The national shared services, kept as a unit of kind ``national``."""

    code: Annotated[str, Field(pattern=r"^[A-Z0-9]{2,10}$")] = "VN"
    name: str = Field(default="Dịch vụ dùng chung quốc gia", min_length=1, max_length=200)


class ProvinceDef(UnitBase):
    code: UnitCode
    kind: Literal["province"] = "province"


class UnitDef(UnitBase):
    code: UnitCode
    kind: UnitKind
    parent: str | None = Field(default=None, description="unit code; default: the province")
    template: bool = Field(default=True, description="whether commune_template applies")


class TemplateDef(_Model):
    """Services every commune-level unit gets; strings may use {code} {name} {slug}."""

    services: list[ServiceDef] = Field(default_factory=list)


class MaintenanceDef(_Model):
    """A maintenance window declared in the inventory (docs/reports.md)."""

    key: LocalKey
    scope: Literal["check", "service", "unit", "province"]
    target: str | None = Field(
        default=None, description="check key, service key or unit code; none for the province"
    )
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    rrule: str | None = Field(default=None, description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=SU")
    timezone: str = "Asia/Ho_Chi_Minh"
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _valid_window(self) -> MaintenanceDef:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.scope != "province" and not self.target:
            raise ValueError(f"scope {self.scope!r} needs a target")
        last_end(self.starts_at, self.ends_at, self.rrule, self.timezone)
        return self


class AgentDef(_Model):
    """A remote probe agent (docs/agents.md): a vantage name and the units it may serve."""

    name: Annotated[str, Field(pattern=AGENT_NAME)]
    units: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{2,10}$")]] = Field(min_length=1)
    offline_after: Duration = Field(
        default=90, description="silence before its checks go unknown (default 90 s)"
    )

    @field_validator("name")
    @classmethod
    def _not_central(cls, value: str) -> str:
        if value == "central":
            raise ValueError("'central' is the monitor's own vantage; pick another name")
        return value


class Inventory(_Model):
    version: Literal[1] = 1
    national: NationalDef | None = None
    province: ProvinceDef
    commune_template: TemplateDef | None = None
    units: list[UnitDef] = Field(default_factory=list)
    notifications: NotifyPolicyDoc | None = None
    maintenance: list[MaintenanceDef] = Field(default_factory=list)
    agents: list[AgentDef] = Field(default_factory=list)
    contacts_file: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="a contacts CSV (docs/contacts.md), relative to this file; its rows "
        "join the units' contacts",
    )
