"""thongsuot probes: a pure library (no FastAPI, no SQLAlchemy, no ``app`` imports)."""

from probes.base import (
    ErrorKind,
    Probe,
    ProbeConfig,
    ProbeContext,
    ProbeResult,
    Status,
)
from probes.registry import get, kinds, parse_config

__all__ = [
    "ErrorKind",
    "Probe",
    "ProbeConfig",
    "ProbeContext",
    "ProbeResult",
    "Status",
    "get",
    "kinds",
    "parse_config",
]
