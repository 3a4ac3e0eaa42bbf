"""The one place configuration is read (docs/design.md §6.6)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from probes.secrets import lookup_secret

DEFAULT_DB = "sqlite+aiosqlite:///./thongsuot.db"


def normalise_db_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs; pick the async drivers.

    A value without ``://`` is a file path: an SQLite database (``thongsuot.db``)."""
    if "://" not in url:
        return "sqlite+aiosqlite:///" + url
    for prefix, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql+psycopg://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    return url


class SecretFilesSource(PydanticBaseSettingsSource):
    """``THONGSUOT_X_FILE=/run/secrets/x`` fills setting ``x`` from that file.

    Read through ``probes.secrets`` (one rule for every secret): the file's content,
    stripped, wins over ``THONGSUOT_X``; keyword arguments win over both. A file that
    cannot be read raises ``SecretFileError`` naming the variable.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = f"{self.config.get('env_prefix', '')}{field_name}".upper()
        return lookup_secret(name), field_name, False

    def __call__(self) -> dict[str, Any]:
        prefix = str(self.config.get("env_prefix", "")).upper()
        values: dict[str, Any] = {}
        for field_name in self.settings_cls.model_fields:
            if f"{prefix}{field_name.upper()}_FILE" in os.environ:
                values[field_name] = lookup_secret(f"{prefix}{field_name.upper()}")
        return values


def default_data_dir() -> Path:
    """``$XDG_STATE_HOME/thongsuot``, else ``~/.local/state/thongsuot``: absolute."""
    import os

    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local/state"
    return base / "thongsuot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THONGSUOT_", env_file=None, extra="ignore")

    database_url: str = DEFAULT_DB
    inventory: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    role: Literal["all", "api", "scheduler"] = "all"
    public_url: str = "http://127.0.0.1:8080"
    lang: Literal["vi", "en"] = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"

    # auth (docs/security.md)
    api_token: SecretStr | None = None
    # False (default): the status summary, units, services, checks (without their
    # targets), incidents (without notifications), availability and reports are
    # public. True: every /api/v1 read needs a token. Results, flips, check
    # targets and notifications (recipients, delivery errors) always need one.
    read_requires_token: bool = False

    # HTTP surface (docs/security.md)
    # request bodies larger than this get 413 (the push endpoint takes 4 KiB)
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    # /metrics is built at most once per this many seconds (0: on every scrape)
    metrics_cache_s: float = Field(default=5.0, ge=0, le=300)

    # the event loop of `serve` (API and monitor): uvloop (libuv) by default, a third
    # less CPU per probe than asyncio's own (docs/design.md §4); "asyncio" falls back
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"

    # probing
    max_concurrency: int = Field(default=500, ge=1, le=20_000)
    http_shards: int = Field(default=8, ge=1, le=64)
    extra_ca_file: str | None = None
    misfire_grace_s: int = Field(default=30, ge=1)
    spread_first_runs: bool = True

    # replicas on PostgreSQL (docs/design.md §4): shard leases on the database clock.
    # A replica renews every lease_renew_s; a lease lasts lease_s; a replica stops
    # starting probes lease_margin_s before its lease could expire elsewhere.
    shard_leases: bool = True
    lease_s: float = Field(default=15.0, ge=1, le=600)
    lease_renew_s: float = Field(default=5.0, gt=0, le=300)
    lease_margin_s: float = Field(default=2.0, ge=0, le=60)
    # `thongsuot serve` processes (the API process + workers - 1 monitor-only children);
    # None: the core count on PostgreSQL, 1 on SQLite (which allows one process only)
    workers: int | None = Field(default=None, ge=1, le=256)

    # result pipeline
    buffer_capacity: int = Field(default=200_000, ge=100)
    batch_size: int = Field(default=1_000, ge=1, le=50_000)
    flush_interval_s: float = Field(default=1.0, gt=0, le=60)
    # /readyz answers 503 once result writes have failed for longer than this
    ready_max_write_failure_s: float = Field(default=60.0, gt=0)
    retention_days: int = Field(default=30, ge=1)
    # The data directory (docs/durability.md): the outcome journal lives in
    # <data_dir>/journal. Always absolute; the container sets /var/lib/thongsuot.
    data_dir: Path = Field(default_factory=default_data_dir)
    # The older name: when set, the journal lives directly in this directory.
    spool_dir: Path | None = None
    # Journal every outcome (append + fsync every journal_flush_s or journal_batch
    # outcomes) before it is accepted; off, outcomes are journaled only at stop.
    journal_sync: bool = True
    journal_flush_s: float = Field(default=0.05, gt=0, le=5)
    journal_batch: int = Field(default=1_000, ge=1, le=100_000)
    journal_segment_bytes: int = Field(default=64 << 20, ge=4096)

    # notifications (docs/notifications.md)
    secret_key: SecretStr | None = None  # signs one-click acknowledgement links
    ack_link_ttl_s: int = Field(default=7 * 86_400, ge=60)
    notify_enabled: bool = True
    notify_tick_s: float = Field(default=5.0, gt=0, le=300)
    notify_lease_s: float = Field(default=120.0, gt=0)
    notify_retry_base_s: float = Field(default=30.0, gt=0)
    notify_retry_max_s: float = Field(default=3_600.0, gt=0)
    notify_max_attempts: int = Field(default=12, ge=1)
    notify_concurrency: int = Field(default=20, ge=1, le=500)
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "thongsuot@localhost"
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password_secret: str | None = None  # the NAME of the env var (or NAME_FILE)

    # reports (docs/reports.md): the letterhead, the signature and the coverage flag
    report_issuer_parent: str | None = None  # default: "ỦY BAN NHÂN DÂN" + the province
    report_issuer: str = "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    report_number: str = "      /BC-SKHCN"  # printed after "Số: "; the number is written in
    report_place: str | None = None  # default: the province's name without "Tỉnh"
    report_signer_title: str = "GIÁM ĐỐC"  # "\n" splits lines, e.g. "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC"
    report_signer_name: str = ""
    # units observed for less than this share of their period are not ranked
    report_min_coverage: float = Field(default=0.8, ge=0, le=1)
    report_font_dir: Path = Path("/usr/share/fonts/truetype/dejavu")  # fonts-dejavu-core

    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then ``THONGSUOT_X_FILE``, then ``THONGSUOT_X``."""
        files = SecretFilesSource(settings_cls)
        return init_settings, files, env_settings, dotenv_settings, file_secret_settings

    @field_validator("data_dir", "spool_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        """A relative directory would move with the working directory: pin it now."""
        return None if value is None else value.expanduser().absolute()

    @field_validator("database_url")
    @classmethod
    def _db(cls, value: str) -> str:
        return normalise_db_url(value)

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        exposed = self.host not in ("127.0.0.1", "::1", "localhost")
        if exposed and self.api_token is not None and len(self.api_token.get_secret_value()) < 16:
            raise ValueError("THONGSUOT_API_TOKEN must be at least 16 characters when exposed")
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 16:
            raise ValueError("THONGSUOT_SECRET_KEY must be at least 16 characters")
        return self

    @property
    def journal_dir(self) -> Path:
        """Where the outcome journal lives (``THONGSUOT_SPOOL_DIR`` wins if set)."""
        return self.spool_dir if self.spool_dir is not None else self.data_dir / "journal"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
