"""Freshness probe: how old is the newest synchronised record, or how many are waiting.

The value comes from an HTTP JSON endpoint (a JSON path) or from a SQL query
run read-only with a statement timeout. Engines are kept per URL in
``ctx.resources`` (closed by their owner), or made and disposed of per run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from probes.base import ErrorKind, ProbeConfig, ProbeContext, ProbeResult, _clip
from probes.http import (
    FETCH_ERRORS,
    HttpAuth,
    check_url,
    classify_error,
    read_capped,
    request_headers,
)
from probes.http_assert import compile_jsonpath, json_values
from probes.netutil import IpVersion, pin_url
from probes.registry import register
from probes.secrets import SecretUnavailable
from probes.secrets import read_secret as _read_secret

ERROR_KINDS: frozenset[ErrorKind] = frozenset(
    {
        ErrorKind.STALE,
        ErrorKind.QUERY,
        ErrorKind.TIMEOUT,
        ErrorKind.CONNECT,
        ErrorKind.CONFIG,
        ErrorKind.HTTP_STATUS,
        ErrorKind.DNS,
        ErrorKind.TLS,
        ErrorKind.PROTOCOL,
    }
)
_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def async_url(url: str) -> URL:
    parsed = make_url(url)
    return parsed.set(drivername=_ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername))


class FreshnessConfig(ProbeConfig):
    source: Literal["http", "sql"]
    value: Literal["timestamp", "count"] = "timestamp"
    # http source
    url: str | None = Field(default=None, description="http: the JSON endpoint; sql: a DB URL")
    json_path: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    auth: HttpAuth | None = None
    verify_tls: bool = True
    ip_version: IpVersion = "any"
    # sql source
    url_secret: str | None = Field(default=None, description="secret holding the whole DB URL")
    password_secret: str | None = Field(default=None, description="secret holding the password")
    refuse_superuser: bool = Field(
        default=False,
        description="sql on PostgreSQL: refuse to run as a superuser (default: warn)",
    )
    query: str | None = None
    # thresholds
    timezone: str = Field(default="UTC", description="zone of naive timestamps")
    lag_degraded_s: float | None = Field(default=None, gt=0)
    lag_down_s: float | None = Field(default=None, gt=0)
    count_degraded: int | None = Field(default=None, ge=0)
    count_down: int | None = Field(default=None, ge=0)

    @field_validator("json_path")
    @classmethod
    def _check_path(cls, value: str | None) -> str | None:
        if value is not None:
            compile_jsonpath(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception:
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _coherent(self) -> FreshnessConfig:
        if self.source == "http":
            self._check_http()
        else:
            self._check_sql()
        self._check_thresholds()
        return self

    def _check_http(self) -> None:
        if self.url is None or self.json_path is None:
            raise ValueError("source http needs url and json_path")
        check_url(self.url)
        # refuse_superuser is not refused here, so that inventory defaults can set it
        if self.query or self.url_secret or self.password_secret:
            raise ValueError("query, url_secret and password_secret are for source sql")

    def _check_sql(self) -> None:
        if not self.query:
            raise ValueError("source sql needs a query returning one value")
        if (self.url is None) == (self.url_secret is None):
            raise ValueError("source sql needs exactly one of url or url_secret")
        if self.url is not None:
            try:
                parsed = make_url(self.url)
            except ArgumentError as exc:
                raise ValueError(f"not a database URL: {exc}") from None
            if parsed.password:
                raise ValueError("do not write the password in url: use password_secret")

    def _check_thresholds(self) -> None:
        pairs = {
            "timestamp": ("lag", self.lag_degraded_s, self.lag_down_s),
            "count": ("count", self.count_degraded, self.count_down),
        }
        name, degraded, down = pairs[self.value]
        if degraded is None and down is None:
            raise ValueError(f"value {self.value} needs {name}_degraded and/or {name}_down")
        if degraded is not None and down is not None and degraded > down:
            raise ValueError(f"{name}_degraded must not exceed {name}_down")


class _Failure(Exception):
    def __init__(self, result: ProbeResult) -> None:
        self.result = result


@register("freshness", FreshnessConfig, "Age of the newest synced record, or a backlog count")
async def probe_freshness(config: FreshnessConfig, ctx: ProbeContext) -> ProbeResult:
    start = ctx.monotonic()
    role = DbRole()  # filled in once PostgreSQL has said who the probe is
    try:
        async with asyncio.timeout(ctx.timeout):
            if config.source == "http":
                raw = await _from_http(config, ctx)
            else:
                raw = await _from_sql(config, ctx, role)
    except _Failure as failure:
        return _with_role_warning(failure.result, role)
    except SecretUnavailable as exc:
        return ProbeResult.down(ErrorKind.CONFIG, str(exc))
    except TimeoutError:
        timed_out = ProbeResult.down(
            ErrorKind.TIMEOUT, f"no value within {ctx.timeout:g} s", ctx.monotonic() - start
        )
        return _with_role_warning(timed_out, role)
    result = evaluate_value(config, raw, ctx.clock(), ctx.monotonic() - start)
    return _with_role_warning(result, role)


# http ------------------------------------------------------------------------
async def _from_http(config: FreshnessConfig, ctx: ProbeContext) -> Any:
    assert config.url is not None
    assert config.json_path is not None
    headers = request_headers(config.headers, config.auth, ctx.secrets)
    start = ctx.monotonic()
    try:
        url, pinned, extensions = await pin_url(config.url, config.ip_version)
        client = ctx.clients.client_for(ctx.key, verify=config.verify_tls)
        async with client.stream(
            "GET",
            url,
            headers={**headers, **pinned},
            timeout=ctx.timeout,
            extensions=extensions,
        ) as response:
            body, _ = await read_capped(response, 4 * 1_048_576)
    except FETCH_ERRORS as exc:
        raise _Failure(classify_error(exc, ctx.monotonic() - start)) from None
    if not 200 <= response.status_code < 300:
        raise _Failure(
            ProbeResult.down(
                ErrorKind.HTTP_STATUS,
                f"HTTP {response.status_code}",
                ctx.monotonic() - start,
                http_status=response.status_code,
            )
        )
    return _json_value(config.json_path, body)


def _json_value(path: str, body: bytes) -> Any:
    try:
        found = json_values(path, json.loads(body))
    except ValueError as exc:
        raise _Failure(ProbeResult.down(ErrorKind.QUERY, f"body is not JSON: {exc}")) from None
    if not found:
        raise _Failure(ProbeResult.down(ErrorKind.QUERY, f"JSON path {path} matched nothing"))
    return found[0]


# sql -------------------------------------------------------------------------
STATEMENT_SHARE = 0.9
"""The statement timeout takes this share of the time left once connected, so the
database stops the query (and says so) before the probe's own timeout fires."""
SQLITE_PROGRESS_STEPS = 10_000
"""SQLite VM instructions between two looks at the statement deadline."""


class StatementTimeout(Exception):
    """The database stopped the query at the statement timeout the probe set."""

    def __init__(self, millis: int) -> None:
        super().__init__(f"the database stopped the query at its statement timeout ({millis} ms)")
        self.millis = millis


class SuperuserRefused(Exception):
    """The probe's PostgreSQL role is a superuser and the check refuses that."""

    def __init__(self, role: str) -> None:
        super().__init__(
            f"refused: role {role!r} is a PostgreSQL superuser (refuse_superuser: true); "
            "connect as a least-privilege role (docs/probes.md)"
        )
        self.role = role


@dataclass(slots=True)
class DbRole:
    """Who the probe is on PostgreSQL (``name`` stays ``None`` elsewhere)."""

    name: str | None = None
    superuser: bool = False


async def _dispose(engine: AsyncEngine) -> None:
    await engine.dispose()


@contextlib.asynccontextmanager
async def engine_for(url: URL, ctx: ProbeContext) -> AsyncIterator[AsyncEngine]:
    """The engine for ``url``: kept in ``ctx.resources`` (closed by their owner) or,
    without resources, made for this run and disposed of after it."""
    if ctx.resources is not None:
        key = url.render_as_string(hide_password=False)
        yield ctx.resources.get("freshness.engine", key, lambda: create_async_engine(url), _dispose)
        return
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        yield engine
    finally:
        await engine.dispose()


def _database_url(config: FreshnessConfig, ctx: ProbeContext) -> URL:
    raw = config.url or _read_secret(ctx.secrets, str(config.url_secret))
    try:
        url = async_url(raw)
    except ArgumentError:
        raise SecretUnavailable(f"secret {config.url_secret!r} is not a database URL") from None
    if config.password_secret:
        url = url.set(password=_read_secret(ctx.secrets, config.password_secret))
    return url


async def _from_sql(config: FreshnessConfig, ctx: ProbeContext, role: DbRole) -> Any:
    url = _database_url(config, ctx)
    start = ctx.monotonic()
    try:
        async with engine_for(url, ctx) as engine:
            return await query_scalar(
                engine,
                str(config.query),
                ctx.timeout,
                refuse_superuser=config.refuse_superuser,
                role=role,
            )
    except Exception as exc:
        raise _Failure(_sql_failure(exc, ctx.monotonic() - start)) from None


async def query_scalar(
    engine: AsyncEngine,
    query: str,
    timeout_s: float,
    *,
    refuse_superuser: bool = False,
    role: DbRole | None = None,
) -> Any:
    """Run ``query`` read-only under a statement timeout; its first column of its first row.

    The statement timeout is ``STATEMENT_SHARE`` of what is left of ``timeout_s``
    once connected: ``statement_timeout`` on PostgreSQL, a progress handler on
    SQLite. On PostgreSQL the role is checked first (``SuperuserRefused``) and
    written into ``role``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with engine.connect() as conn:
        millis = max(1, int((deadline - loop.time()) * STATEMENT_SHARE * 1000))
        dialect = engine.dialect.name
        try:
            if dialect == "postgresql":
                return await _postgres_value(conn, query, millis, refuse_superuser, role)
            if dialect == "sqlite":
                await conn.execute(text("PRAGMA query_only = 1"))
                return await _sqlite_first(conn, query, millis)
            return await _first(conn, query, millis, dialect)
        finally:
            await conn.rollback()


async def _postgres_value(
    conn: AsyncConnection, query: str, millis: int, refuse_superuser: bool, who: DbRole | None
) -> Any:
    await conn.execute(text("SET TRANSACTION READ ONLY"))
    # SET LOCAL statement_timeout and who we are, in one round trip
    setup = text(
        "SELECT set_config('statement_timeout', :ms, true), current_user, "
        "current_setting('is_superuser')"
    )
    row = (await conn.execute(setup, {"ms": str(millis)})).one()
    role, superuser = str(row[1]), row[2] == "on"
    if who is not None:
        who.name, who.superuser = role, superuser
    if superuser and refuse_superuser:
        raise SuperuserRefused(role)
    return await _first(conn, query, millis, "postgresql")


async def _sqlite_first(conn: AsyncConnection, query: str, millis: int) -> Any:
    """SQLite has no statement timeout: a progress handler stops the query at the
    deadline, and at once when the run is cancelled (the probe's timeout, shutdown),
    so no worker thread keeps running a runaway query (issue 10)."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection  # the aiosqlite connection, running in its own thread
    assert driver is not None
    cancelled = threading.Event()
    stop_at = time.monotonic() + millis / 1000

    def halt() -> int:  # runs in the connection's thread, every SQLITE_PROGRESS_STEPS
        return 1 if cancelled.is_set() or time.monotonic() >= stop_at else 0

    await driver.set_progress_handler(halt, SQLITE_PROGRESS_STEPS)
    # The query runs in a task of its own so that a cancellation reaches us at once:
    # awaited directly, SQLAlchemy would first wait for the query to end.
    running = asyncio.ensure_future(_first(conn, query, millis, "sqlite"))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        cancelled.set()  # the handler stops the query at its next look
        with contextlib.suppress(Exception):
            await running
        raise
    finally:
        await driver.set_progress_handler(None, 0)  # back to the pool clean


async def _first(conn: AsyncConnection, query: str, millis: int, dialect: str) -> Any:
    try:
        row = (await conn.execute(text(query))).first()
    except DBAPIError as exc:
        if _cut_by_statement_timeout(exc, dialect):
            raise StatementTimeout(millis) from exc
        raise
    return None if row is None else row[0]


def _cut_by_statement_timeout(exc: DBAPIError, dialect: str) -> bool:
    if dialect == "postgresql":
        return "statement timeout" in str(exc)
    return dialect == "sqlite" and "interrupted" in str(exc)


def _sql_failure(exc: BaseException, latency: float) -> ProbeResult:
    if isinstance(exc, StatementTimeout):
        return ProbeResult.down(
            ErrorKind.TIMEOUT, str(exc), latency, statement_timeout_ms=exc.millis
        )
    if isinstance(exc, SuperuserRefused):
        return ProbeResult.down(
            ErrorKind.CONFIG, str(exc), latency, db_role=exc.role, db_superuser=True
        )
    message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if isinstance(exc, OSError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return ProbeResult.down(ErrorKind.CONNECT, message, latency)
    if isinstance(exc, SQLAlchemyError):
        return ProbeResult.down(ErrorKind.QUERY, message, latency)
    if isinstance(exc, ImportError):
        return ProbeResult.down(ErrorKind.CONFIG, f"database driver missing: {exc}", latency)
    raise exc


def _with_role_warning(result: ProbeResult, role: DbRole) -> ProbeResult:
    """A superuser role is reported in every result (message and details), not only logged."""
    if role.name is None or "db_role" in result.details:  # not PostgreSQL, or refused
        return result
    result.details["db_role"] = role.name
    if role.superuser:
        result.details["db_superuser"] = True
        warning = (
            f"warning: role {role.name!r} is a PostgreSQL superuser; "
            "use a least-privilege role (docs/probes.md)"
        )
        result.message = _clip(f"{result.message}; {warning}" if result.message else warning)
    return result


# evaluation --------------------------------------------------------------------
def parse_timestamp(raw: Any, naive_zone: str) -> datetime:
    """A datetime, date, ISO-8601 string or UNIX epoch (s or ms) as an aware datetime."""
    if isinstance(raw, bool):
        raise ValueError("a boolean is not a timestamp")
    if isinstance(raw, int | float | Decimal):
        seconds = float(raw) / (1000 if float(raw) > 1e11 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(raw, str):
        raw = float(raw) if raw.replace(".", "", 1).isdigit() else datetime.fromisoformat(raw)
        return parse_timestamp(raw, naive_zone)
    if isinstance(raw, date) and not isinstance(raw, datetime):
        raw = datetime(raw.year, raw.month, raw.day)
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=ZoneInfo(naive_zone))
    raise ValueError(f"not a timestamp: {type(raw).__name__}")


def evaluate_value(config: FreshnessConfig, raw: Any, now: datetime, latency: float) -> ProbeResult:
    if raw is None:
        return ProbeResult.down(ErrorKind.QUERY, "the query returned no value (NULL)", latency)
    try:
        if config.value == "count":
            return _judge_count(config, _as_count(raw), latency)
        return _judge_lag(config, parse_timestamp(raw, config.timezone), now, latency)
    except (ValueError, TypeError, OverflowError) as exc:
        return ProbeResult.down(
            ErrorKind.QUERY, f"cannot read {raw!r} as a {config.value}: {exc}", latency
        )


def _as_count(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        raise ValueError("not a number")
    return int(Decimal(str(raw)))


def _judge_lag(config: FreshnessConfig, at: datetime, now: datetime, latency: float) -> ProbeResult:
    lag = (now - at).total_seconds()
    details = {"value_at": at.isoformat(), "lag_s": round(lag, 1)}
    text_ = f"newest record is {_human(lag)} old"
    if config.lag_down_s is not None and lag >= config.lag_down_s:
        return ProbeResult.down(ErrorKind.STALE, text_, latency, **details)
    if config.lag_degraded_s is not None and lag >= config.lag_degraded_s:
        return ProbeResult.degraded(ErrorKind.STALE, text_, latency, **details)
    return ProbeResult.up(latency, text_, **details)


def _judge_count(config: FreshnessConfig, count: int, latency: float) -> ProbeResult:
    text_ = f"{count} waiting"
    if config.count_down is not None and count >= config.count_down:
        return ProbeResult.down(ErrorKind.STALE, text_, latency, count=count)
    if config.count_degraded is not None and count >= config.count_degraded:
        return ProbeResult.degraded(ErrorKind.STALE, text_, latency, count=count)
    return ProbeResult.up(latency, text_, count=count)


def _human(seconds: float) -> str:
    if abs(seconds) < 120:
        return f"{seconds:.0f} s"
    if abs(seconds) < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
