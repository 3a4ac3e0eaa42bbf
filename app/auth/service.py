"""Token issue, verification and revocation.

Plaintext tokens are returned once by :func:`create_token` and never stored;
the table holds their SHA-256. Callers commit (the API's session dependency).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository
from app.config import Settings
from app.errors import Conflict, NotFound
from app.models import ApiToken
from app.models.base import utcnow

log = logging.getLogger(__name__)

BOOTSTRAP_NAME = "bootstrap"
Scope = Literal["read", "write"]


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


async def create_token(session: AsyncSession, name: str, scope: Scope = "write") -> str:
    """Store a new token named ``name``; return its plaintext (shown only this once)."""
    if await repository.get_by_name(session, name) is not None:
        raise Conflict(f"Đã có mã truy cập tên {name!r}.")
    plaintext = secrets.token_urlsafe(32)
    await repository.add(
        session, ApiToken(name=name, token_hash=hash_token(plaintext), scope=scope)
    )
    return plaintext


async def verify(session: AsyncSession, plaintext: str) -> ApiToken | None:
    """The unrevoked token whose hash matches ``plaintext``, with ``last_used_at`` updated.

    The lookup is by hash, so timing reveals nothing about the stored value; the
    final ``compare_digest`` guards against a collation that compares loosely.
    """
    digest = hash_token(plaintext)
    token = await repository.get_by_hash(session, digest)
    if token is None or token.revoked_at is not None:
        return None
    if not hmac.compare_digest(token.token_hash, digest):
        return None
    await repository.touch(session, token, utcnow())
    return token


async def revoke(session: AsyncSession, name: str) -> ApiToken:
    """Mark the token ``name`` revoked; 404 when there is none."""
    token = await repository.get_by_name(session, name)
    if token is None:
        raise NotFound(f"Không có mã truy cập tên {name!r}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()
    return token


async def ensure_bootstrap_token(session: AsyncSession, settings: Settings) -> ApiToken | None:
    """Upsert the token named ``bootstrap`` from ``settings.api_token`` (write scope)."""
    if settings.api_token is None:
        return None
    digest = hash_token(settings.api_token.get_secret_value())
    token = await repository.get_by_name(session, BOOTSTRAP_NAME)
    if token is None:
        return await repository.add(
            session, ApiToken(name=BOOTSTRAP_NAME, token_hash=digest, scope="write")
        )
    if token.token_hash != digest:  # a new secret; a revoked old one stays revoked by hash
        token.token_hash, token.scope, token.revoked_at = digest, "write", None
        await session.flush()
    return token


async def verify_bootstrap(
    session: AsyncSession, settings: Settings, plaintext: str
) -> ApiToken | None:
    """Accept ``settings.api_token`` even if the start-up upsert did not happen
    (for example the database was unreachable then); upsert it now."""
    if settings.api_token is None:
        return None
    if not hmac.compare_digest(settings.api_token.get_secret_value(), plaintext):
        return None
    if await repository.get_by_hash(session, hash_token(plaintext)) is not None:
        return None  # stored but revoked: revocation wins over the setting
    await ensure_bootstrap_token(session, settings)
    return await verify(session, plaintext)


@asynccontextmanager
async def bootstrap_lifespan(app: Any) -> AsyncIterator[None]:
    """Router lifespan: after the app's own lifespan built the sessionmaker,
    upsert the bootstrap token. A database that is down now is reported by
    ``/readyz`` and does not stop the process."""
    settings: Settings = app.state.settings
    if settings.api_token is not None:
        try:
            async with app.state.sessionmaker() as session, session.begin():
                await ensure_bootstrap_token(session, settings)
        except Exception:  # the DB may be down at start; /readyz shows it
            log.warning("could not store the bootstrap API token now", exc_info=True)
    yield
