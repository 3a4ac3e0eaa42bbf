"""FastAPI dependencies shared by every router: settings, the session, auth, paging.

The session dependency is the one place the API commits (docs/design.md §6.3):
it commits when the endpoint returns and rolls back when it raises.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.config import Settings
from app.errors import Unauthorized, Unprocessable
from app.models import ApiToken

T = TypeVar("T")

MAX_LIMIT = 1000
# The largest id or offset the databases hold (a signed 64-bit integer).
MAX_DB_INT = 2**63 - 1
# Times the API accepts: wide enough for any real question, narrow enough that
# converting to UTC or stepping a day either way never leaves datetime's range.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_bearer = HTTPBearer(auto_error=False, description="API token: `Authorization: Bearer <token>`")


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; commit on success, roll back on any exception."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except Exception:
            await session.rollback()
            raise
        else:
            await session.commit()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def _authenticate(
    session: AsyncSession, settings: Settings, credentials: HTTPAuthorizationCredentials | None
) -> ApiToken:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Thiếu mã truy cập (Authorization: Bearer).")
    if not credentials.credentials.isascii():  # our tokens are URL-safe ASCII
        raise Unauthorized("Mã truy cập không hợp lệ hoặc đã bị thu hồi.")
    token = await auth_service.verify(session, credentials.credentials)
    if token is None:
        token = await auth_service.verify_bootstrap(session, settings, credentials.credentials)
    if token is None:
        raise Unauthorized("Mã truy cập không hợp lệ hoặc đã bị thu hồi.")
    return token


async def require_write(
    session: SessionDep, settings: SettingsDep, credentials: Credentials
) -> ApiToken:
    """A valid, unrevoked token with ``write`` scope, else 401."""
    token = await _authenticate(session, settings, credentials)
    if token.scope != "write":
        raise Unauthorized("Mã truy cập này chỉ có quyền đọc.")
    return token


async def require_read(
    request: Request, session: SessionDep, settings: SettingsDep, credentials: Credentials
) -> ApiToken | None:
    """Any valid token when ``read_requires_token``; otherwise public reads are open
    and this is None for an anonymous reader. Credentials that are given (any
    ``Authorization`` header) are always checked, 401 when wrong, never ignored."""
    if credentials is None and "authorization" in request.headers:
        raise Unauthorized("Authorization phải là `Bearer <mã truy cập>` (must be Bearer).")
    if credentials is None and not settings.read_requires_token:
        return None
    return await _authenticate(session, settings, credentials)


async def require_read_token(
    session: SessionDep, settings: SettingsDep, credentials: Credentials
) -> ApiToken:
    """A valid token of either scope, whatever ``read_requires_token`` says: for what
    is never public (raw results and flips, recipients, delivery errors, targets)."""
    return await _authenticate(session, settings, credentials)


WriteToken = Annotated[ApiToken, Depends(require_write)]
# None for an anonymous reader of a public endpoint
Reader = Annotated[ApiToken | None, Depends(require_read)]
# The id of a row: a signed 64-bit integer, as the databases store it.
RowId = Annotated[int, Path(ge=0, le=MAX_DB_INT, description="numeric id")]


def _iso_text(value: object) -> object:
    """ISO-8601 only: pydantic would also read ``0.5`` as seconds since 1970."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[\d.]+(e[+-]?\d+)?\s*", value, re.I):
        raise ValueError("cần thời điểm ISO-8601 (ISO-8601 date-time expected)")
    return value


def _in_api_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(
            f"thời điểm phải từ {EARLIEST.date()} đến trước {LATEST.date()} "
            f"(time must be from {EARLIEST.date()} to before {LATEST.date()})"
        )
    return value


# An aware ISO-8601 time within [EARLIEST, LATEST): anything else is 422, not a 500
# from a UTC conversion that overflows.
ApiDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_api_range)]


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    offset: int

    @property
    def fetch(self) -> int:
        """Rows to ask the database for: one more than a page."""
        return self.limit + 1


def get_paging(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT, description="rows to skip")] = 0,
) -> Paging:
    return Paging(limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time filter ``[since, until)``; either end may be open."""

    since: datetime | None
    until: datetime | None


def get_window(
    since: Annotated[
        ApiDatetime | None, Query(description="ISO-8601 with offset, inclusive")
    ] = None,
    until: Annotated[
        ApiDatetime | None, Query(description="ISO-8601 with offset, exclusive")
    ] = None,
) -> Window:
    if since is not None and until is not None and since >= until:
        raise Unprocessable("`since` phải trước `until` (since must be before until).")
    return Window(since=since, until=until)


PagingDep = Annotated[Paging, Depends(get_paging)]
WindowDep = Annotated[Window, Depends(get_window)]


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_offset`` is null on the last page."""

    items: list[T]
    limit: int
    offset: int
    next_offset: int | None


def page_of(items: list[T], paging: Paging) -> Page[T]:
    """Build a page from up to ``limit + 1`` rows (repositories fetch one extra to
    know whether another page exists)."""
    more = len(items) > paging.limit
    return Page[T](
        items=items[: paging.limit],
        limit=paging.limit,
        offset=paging.offset,
        next_offset=paging.offset + paging.limit if more else None,
    )
