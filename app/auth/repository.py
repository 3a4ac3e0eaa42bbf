"""SQL for ``api_token``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiToken


async def get_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    stmt = select(ApiToken).where(ApiToken.token_hash == token_hash)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_by_name(session: AsyncSession, name: str) -> ApiToken | None:
    stmt = select(ApiToken).where(ApiToken.name == name)
    return (await session.execute(stmt)).scalar_one_or_none()


async def add(session: AsyncSession, token: ApiToken) -> ApiToken:
    session.add(token)
    await session.flush()
    return token


async def touch(session: AsyncSession, token: ApiToken, at: datetime) -> None:
    token.last_used_at = at
    await session.flush()
