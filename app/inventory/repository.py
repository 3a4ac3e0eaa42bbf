"""SQL for the inventory: rows by their natural keys, and the active checks."""

from __future__ import annotations

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agent, Check, Service, Unit


async def units_by_code(session: AsyncSession) -> dict[str, Unit]:
    """Every unit, retired ones included, by official code."""
    rows = (await session.execute(select(Unit))).scalars()
    return {row.code: row for row in rows}


async def services_by_key(session: AsyncSession) -> dict[str, Service]:
    """Every service, retired ones included, by key."""
    rows = (await session.execute(select(Service))).scalars()
    return {row.key: row for row in rows}


async def agents_by_name(session: AsyncSession) -> dict[str, Agent]:
    """Every agent row, disabled ones included, by name."""
    rows = (await session.execute(select(Agent))).scalars()
    return {row.name: row for row in rows}


async def checks_by_key(session: AsyncSession) -> dict[str, Check]:
    """Every check, retired ones included, by key."""
    rows = (await session.execute(select(Check))).scalars()
    return {row.key: row for row in rows}


CHECK_COLUMNS = (
    Check.id,
    Check.key,
    Check.retired_at,
    Check.unit_id,
    Check.service_id,
    Check.name,
    Check.kind,
    Check.target,
    Check.config,
    Check.config_hash,
    Check.interval_s,
    Check.retry_interval_s,
    Check.timeout_s,
    Check.failure_threshold,
    Check.recovery_threshold,
    Check.critical,
    Check.enabled,
    Check.depends_on,
    Check.push_token_hash,
    Check.locations,
    Check.quorum,
)


async def check_rows(session: AsyncSession) -> dict[str, RowMapping]:
    """Every check's inventory columns as plain rows (no ORM objects), by key."""
    result = await session.execute(select(*CHECK_COLUMNS))
    return {row.key: row._mapping for row in result}


async def active_checks(session: AsyncSession) -> list[Check]:
    """Checks the scheduler should run: enabled and not retired, by id."""
    stmt = select(Check).where(Check.is_live()).order_by(Check.id)
    return list((await session.execute(stmt)).scalars())
