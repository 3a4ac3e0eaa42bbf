"""Rows for tests, inserted through the ORM (the inventory loader has its own tests)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Check, Service, Unit


async def unit(
    session: AsyncSession, code: str = "12337", name: str = "Hoàng Hoa Thám", kind: str = "commune"
) -> Unit:
    found = (await session.execute(select(Unit).where(Unit.code == code))).scalar_one_or_none()
    if found is not None:
        return found
    row = Unit(code=code, name=name, kind=kind, settings={})
    session.add(row)
    await session.flush()
    return row


async def service(session: AsyncSession, u: Unit, kind: str = "commune_centre") -> Service:
    key = f"{u.code}.{kind}"
    found = (await session.execute(select(Service).where(Service.key == key))).scalar_one_or_none()
    if found is not None:
        return found
    row = Service(key=key, unit_id=u.id, kind=kind, name=f"TTPVHCC {u.name}", contacts=[])
    session.add(row)
    await session.flush()
    return row


async def http_check(
    session: AsyncSession,
    url: str,
    *,
    key: str | None = None,
    unit_code: str = "12337",
    interval_s: int = 30,
    timeout_s: float = 2.0,
    failure_threshold: int = 2,
    recovery_threshold: int = 1,
    **options: Any,
) -> Check:
    return await check(
        session,
        "http",
        {"url": url, **options},
        key=key or f"{unit_code}.centre.{len(url)}-{abs(hash(url)) % 10_000}",
        unit_code=unit_code,
        interval_s=interval_s,
        timeout_s=timeout_s,
        failure_threshold=failure_threshold,
        recovery_threshold=recovery_threshold,
    )


async def check(
    session: AsyncSession,
    kind: str,
    config: dict[str, Any],
    *,
    key: str,
    unit_code: str = "12337",
    interval_s: int = 30,
    timeout_s: float = 2.0,
    failure_threshold: int = 2,
    recovery_threshold: int = 1,
    push_token_hash: str | None = None,
) -> Check:
    """Any probe kind; ``config`` is stored as the inventory sync would store it."""
    u = await unit(session, unit_code)
    s = await service(session, u)
    row = Check(
        key=key,
        service_id=s.id,
        unit_id=u.id,
        name=key.rsplit(".", 1)[-1],
        kind=kind,
        target=str(config.get("url") or config.get("host") or kind),
        config=config,
        config_hash=hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest(),
        interval_s=interval_s,
        timeout_s=timeout_s,
        failure_threshold=failure_threshold,
        recovery_threshold=recovery_threshold,
        push_token_hash=push_token_hash,
    )
    session.add(row)
    await session.flush()
    return row
