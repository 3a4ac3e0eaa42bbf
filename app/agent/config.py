"""The agent's own configuration file (TOML) and the assignments it pulls from central.

The file is read once at start (``tomllib``); a bad value is an error naming the
field. The token is kept in a separate file (``token_file``), re-read on SIGHUP, never
logged. docs/agents.md "Configuration file" lists every field.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "AgentConfig",
    "AgentConfigError",
    "Assignment",
    "CheckAssignment",
    "load_config",
    "parse_bytes",
    "parse_duration",
    "read_token",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$")
_BYTES_UNITS = {
    None: 1,
    "B": 1,
    "KB": 1000,
    "KiB": 1024,
    "MB": 1000**2,
    "MiB": 1024**2,
    "GB": 1000**3,
    "GiB": 1024**3,
}


class AgentConfigError(ValueError):
    """The agent's configuration file or token file is unusable; the message names the field."""


def parse_duration(value: Any) -> float:
    """``"24h"``, ``"90s"``, ``"500ms"``, or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '24h' or '90s'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if m is None:
            raise ValueError(f"expected a duration such as '24h' or '90s', got {value!r}")
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError("must be more than 0")
    return seconds


def parse_bytes(value: Any) -> int:
    """``"64MiB"``, ``"500MB"``, or a number of bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as '64MiB'")
    if isinstance(value, int):
        size = value
    else:
        m = _BYTES.match(str(value))
        if m is None:
            raise ValueError(f"expected a size such as '64MiB' or '500MB', got {value!r}")
        size = int(float(m.group(1)) * _BYTES_UNITS[m.group(2)])
    if size < 64 * 1024:
        raise ValueError("must be at least 64KiB")
    return size


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_bytes)]


class AgentConfig(BaseModel):
    """``agent.toml``: where central is, the token file, the spool and its bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    central_url: str
    token_file: Path
    spool_dir: Path
    name: str = ""  # informational: the central knows the agent by its token
    ca_file: Path | None = None  # a private CA for central's certificate
    spool_max_age: Duration = 24 * 3600.0
    spool_max_bytes: Size = 64 * 1024**2
    metrics_port: int | None = Field(default=None, ge=1, le=65535)  # 127.0.0.1 only
    concurrency: int = Field(default=20, ge=1, le=1000)  # probes in flight at once
    request_timeout: Duration = 10.0  # one request to central
    log_level: str = "INFO"

    @field_validator("central_url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("expected an http(s):// URL of the central thongsuot")
        if "@" in v.split("/")[2] or "?" in v:
            raise ValueError("no credentials or query in the URL (the token goes in token_file)")
        return v

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("one of DEBUG, INFO, WARNING, ERROR")
        return v


def _field_errors(exc: ValidationError, source: str) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{source}: {where}: {msg}")
    return "\n".join(parts)


def load_config(path: Path) -> AgentConfig:
    """Read and validate ``agent.toml``; relative paths are taken from its folder."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AgentConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(f"{path}: not valid TOML: {exc}") from None
    for key in ("token_file", "spool_dir", "ca_file"):
        if isinstance(raw.get(key), str) and not Path(raw[key]).is_absolute():
            raw[key] = str(path.parent / raw[key])
    try:
        return AgentConfig.model_validate(raw)
    except ValidationError as exc:
        raise AgentConfigError(_field_errors(exc, str(path))) from None


def read_token(path: Path) -> str:
    """The agent token: the file's first non-empty line. Never logged."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AgentConfigError(f"token_file {path}: cannot read: {exc.strerror or exc}") from None
    token = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not token or any(c.isspace() for c in token) or not token.isprintable():
        raise AgentConfigError(f"token_file {path}: no token on its first line")
    return token


# what central sends: GET /api/v1/agent/config (docs/agents.md "Protocol") -------------
class CheckAssignment(BaseModel):
    """One check this agent runs; ``config`` is the probe's own configuration."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    key: str
    kind: str
    target: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict, repr=False)  # named in config
    interval_s: float = Field(gt=0)
    timeout_s: float = Field(gt=0)
    retry_interval_s: float | None = None
    phase_s: float = Field(ge=0)


class Assignment(BaseModel):
    """The agent's whole configuration from central."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    agent: str
    pull_interval_s: float = Field(default=60.0, gt=0)
    push_interval_s: float = Field(default=5.0, gt=0)
    max_batch: int = Field(default=500, ge=1)
    max_skew_s: float = 300.0
    checks: list[CheckAssignment] = Field(default_factory=list)
