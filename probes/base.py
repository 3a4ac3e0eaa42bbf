"""The contract every probe keeps (docs/design.md §2).

A probe is an async callable ``(config, ctx) -> ProbeResult``. Failures of the
target are *results* with an ``error_kind``; exceptions mean a bug or a
misconfiguration that validation should have caught.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from probes.resources import ProbeResources
from probes.secrets import SecretResolver, env_secret
from probes.text import clean_details, clean_text


class Status(enum.StrEnum):
    """What one probe run saw."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


class ErrorKind(enum.StrEnum):
    """The small fixed vocabulary of why a probe was not up."""

    TIMEOUT = "timeout"
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    PROTOCOL = "protocol"
    HTTP_STATUS = "http_status"
    ASSERTION = "assertion"
    LATENCY = "latency"
    CERT_EXPIRY = "cert_expiry"
    PACKET_LOSS = "packet_loss"
    STALE = "stale"
    MISSED_HEARTBEAT = "missed_heartbeat"
    REPORTED_DOWN = "reported_down"
    AGENT_OFFLINE = "agent_offline"  # set by the monitor: a remote agent went silent
    QUERY = "query"
    PERMISSION = "permission"
    CONFIG = "config"  # the monitor's own setup is incomplete, e.g. a secret is not set
    INTERNAL = "internal"


@dataclass(slots=True)
class ProbeResult:
    """One observation of one target.

    ``latency`` is in seconds. ``details`` holds small, JSON-serialisable
    facts (status code, certificate expiry as a UNIX timestamp, ...). Both
    ``message`` and ``details`` come from outside (a response, a device) and are
    cleaned on construction (probes/text.py): no NUL or control characters,
    bounded lengths, JSON-safe values.
    """

    status: Status
    latency: float = 0.0
    error_kind: ErrorKind | None = None
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.message = clean_text(self.message, PROBE_MESSAGE_LIMIT)
        self.details = clean_details(self.details)

    @classmethod
    def up(cls, latency: float, message: str = "", **details: Any) -> ProbeResult:
        return cls(Status.UP, latency, None, message, details)

    @classmethod
    def down(
        cls, kind: ErrorKind, message: str, latency: float = 0.0, **details: Any
    ) -> ProbeResult:
        return cls(Status.DOWN, latency, kind, _clip(message), details)

    @classmethod
    def degraded(
        cls, kind: ErrorKind, message: str, latency: float = 0.0, **details: Any
    ) -> ProbeResult:
        return cls(Status.DEGRADED, latency, kind, _clip(message), details)

    @property
    def success(self) -> bool:
        return self.status is not Status.DOWN


PROBE_MESSAGE_LIMIT = 300


def _clip(message: str, limit: int = PROBE_MESSAGE_LIMIT) -> str:
    return clean_text(message, limit)


class ProbeConfig(BaseModel):
    """Base for every probe's own configuration model; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpClientProvider(Protocol):
    """Hands out a long-lived ``httpx.AsyncClient`` for a given shard key."""

    def client_for(self, key: str, *, verify: bool = True) -> Any: ...


@dataclass(slots=True)
class ProbeContext:
    """What a probe may use from the outside world; injected, never global.

    ``resources`` holds what is worth keeping between runs (SQL engines, DNS
    resolvers); its owner closes it. ``None``: the probe builds what it needs for
    this run and closes it before returning.
    """

    clients: HttpClientProvider
    timeout: float = 10.0
    key: str = ""
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    monotonic: Callable[[], float] = time.perf_counter
    secrets: SecretResolver = env_secret
    extra: Mapping[str, Any] = field(default_factory=dict)
    resources: ProbeResources | None = None


C = TypeVar("C", bound=ProbeConfig)
C_contra = TypeVar("C_contra", bound=ProbeConfig, contravariant=True)


class Probe(Protocol[C_contra]):
    def __call__(self, config: C_contra, ctx: ProbeContext, /) -> Awaitable[ProbeResult]: ...
