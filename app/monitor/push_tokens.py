"""Push tokens for heartbeat checks: made here, shown once, stored as SHA-256 only."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import hash_token
from app.catalog.repository import get_check
from app.errors import Conflict, NotFound, Unprocessable
from app.models import Check


async def rotate_push_token(session: AsyncSession, key: str) -> tuple[Check, str]:
    """Give heartbeat check ``key`` a new push token; the old one stops working.

    A check whose inventory names ``token_secret`` takes its token from that secret on
    every reload, so rotating here would be undone silently: that is a 409 instead.
    """
    row = await get_check(session, key=key)
    if row is None:
        raise NotFound(f"không có phép kiểm tra {key!r} / no check {key!r}")
    check = row[0]
    if check.kind != "heartbeat":
        raise Unprocessable(f"{key}: push tokens are for heartbeat checks (kind is {check.kind})")
    secret = (check.config or {}).get("token_secret")
    if secret:
        raise Conflict(
            f"{key}: mã đẩy lấy từ bí mật {secret} (token_secret trong inventory); hãy đổi giá "
            f"trị của {secret} rồi nạp lại inventory / the push token comes from the secret "
            f"{secret} (token_secret in the inventory): change {secret}, then reload"
        )
    token = secrets.token_urlsafe(24)
    check.push_token_hash = hash_token(token)
    await session.flush()
    return check, token


def push_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/push/{token}"
