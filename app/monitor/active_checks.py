"""Queries the scheduler needs: the active checks with their unit and service."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Check, Service, Unit

SIGNATURE = (
    Check.id,
    Check.key,
    Check.unit_id,
    Unit.code,
    Service.kind,
    Check.kind,
    Check.interval_s,
    Check.timeout_s,
    Check.failure_threshold,
    Check.recovery_threshold,
    Check.config_hash,
    Check.created_at,
    Check.push_token_hash,
    Check.retry_interval_s,
    Check.locations,
    Check.quorum,
)
"""What a :class:`~app.monitor.checks.RuntimeCheck` is built from, bar the parsed config
(``config_hash`` stands for it): equal signatures need no rebuild."""


def _active(*columns: Any) -> Any:
    return (
        select(*columns)
        .join(Unit, Unit.id == Check.unit_id)
        .join(Service, Service.id == Check.service_id)
        .where(Check.is_live())
        .order_by(Check.id)
    )


async def active_signatures(session: AsyncSession) -> list[tuple[Any, ...]]:
    """Every active check's signature as a plain tuple (no ORM objects: cheap at 17,000),
    streamed in partitions so the event loop runs between them."""
    found: list[tuple[Any, ...]] = []
    result = await session.stream(_active(*SIGNATURE))
    async for part in result.partitions(2_000):
        found += [tuple(row) for row in part]
        await asyncio.sleep(0)
    return found


async def active_checks_with_labels(
    session: AsyncSession, ids: Collection[int] | None = None
) -> Sequence[Row[tuple[Check, str, str]]]:
    """Active checks (all, or those of ``ids``) with their unit code and service kind."""
    stmt = _active(Check, Unit.code, Service.kind)
    if ids is not None:
        stmt = stmt.where(Check.id.in_(list(ids)))
    return (await session.execute(stmt)).all()
