"""Read-side SQL for the API: the inventory as it stands, state counts, and the
flips that availability is computed from."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.models import Check, CheckVantage, Flip, Incident, Service, Unit

Parent = aliased(Unit)


def _units_stmt() -> Select[Unit, str]:
    return (
        select(Unit, Parent.code)
        .outerjoin(Parent, Unit.parent_id == Parent.id)
        .where(Unit.retired_at.is_(None))
    )


async def list_units(
    session: AsyncSession, limit: int, offset: int
) -> list[tuple[Unit, str | None]]:
    stmt = _units_stmt().order_by(Unit.code).limit(limit).offset(offset)
    return [(u, p) for u, p in (await session.execute(stmt)).all()]


async def get_unit(session: AsyncSession, code: str) -> tuple[Unit, str | None] | None:
    row = (await session.execute(_units_stmt().where(Unit.code == code))).first()
    return None if row is None else (row[0], row[1])


async def check_states(
    session: AsyncSession, unit_ids: Sequence[int] | None = None
) -> list[tuple[int, int, int, bool, str]]:
    """``(check_id, unit_id, service_id, critical, state)`` of every enabled, unretired check."""
    stmt = select(Check.id, Check.unit_id, Check.service_id, Check.critical, Check.state).where(
        Check.is_live()
    )
    if unit_ids is not None:
        stmt = stmt.where(Check.unit_id.in_(unit_ids))
    return [(i, u, s, c, st) for i, u, s, c, st in (await session.execute(stmt)).all()]


async def live_unit_ids(session: AsyncSession) -> list[int]:
    stmt = select(Unit.id).where(Unit.retired_at.is_(None))
    return list((await session.execute(stmt)).scalars())


def _services_stmt() -> Select[Service, str]:
    return (
        select(Service, Unit.code)
        .join(Unit, Service.unit_id == Unit.id)
        .where(Service.retired_at.is_(None))
    )


async def list_services(
    session: AsyncSession,
    *,
    unit_code: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[tuple[Service, str]]:
    stmt = _services_stmt()
    if unit_code is not None:
        stmt = stmt.where(Unit.code == unit_code)
    if kind is not None:
        stmt = stmt.where(Service.kind == kind)
    stmt = stmt.order_by(Service.key).limit(limit).offset(offset)
    return [(s, c) for s, c in (await session.execute(stmt)).all()]


def _checks_stmt() -> Select[Check, str, str, str]:
    return (
        select(Check, Unit.code, Service.key, Service.kind)
        .join(Unit, Check.unit_id == Unit.id)
        .join(Service, Check.service_id == Service.id)
        .where(Check.retired_at.is_(None))
    )


CheckRow = tuple[Check, str, str, str]


async def list_checks(
    session: AsyncSession,
    *,
    unit_code: str | None = None,
    service_kind: str | None = None,
    probe_kind: str | None = None,
    state: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    maintained: Collection[int] = (),
) -> list[CheckRow]:
    """``maintained``: checks inside a maintenance window now, whose shown state is
    ``maintenance`` whatever is stored, so the ``state`` filter follows that."""
    stmt = _checks_stmt()
    for column, value in (
        (Unit.code, unit_code),
        (Service.kind, service_kind),
        (Check.kind, probe_kind),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if state == "maintenance":
        stmt = stmt.where(Check.id.in_(list(maintained)))
    elif state is not None:
        stmt = stmt.where(Check.state == state)
        if maintained:
            stmt = stmt.where(Check.id.not_in(list(maintained)))
    stmt = stmt.order_by(Check.key).limit(limit).offset(offset)
    return [(c, u, sk, sv) for c, u, sk, sv in (await session.execute(stmt)).all()]


async def check_vantages(
    session: AsyncSession, check_ids: Collection[int]
) -> dict[int, list[CheckVantage]]:
    """Per-vantage states of multi-vantage checks (docs/agents.md), by check id."""
    if not check_ids:
        return {}
    stmt = select(CheckVantage).where(CheckVantage.check_id.in_(list(check_ids)))
    out: dict[int, list[CheckVantage]] = {}
    for row in (await session.execute(stmt)).scalars():
        out.setdefault(row.check_id, []).append(row)
    return out


async def get_check(
    session: AsyncSession, *, key: str | None = None, id: int | None = None
) -> CheckRow | None:
    stmt = _checks_stmt()
    stmt = stmt.where(Check.key == key) if key is not None else stmt.where(Check.id == id)
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


async def critical_check_ids(session: AsyncSession, unit_id: int) -> list[int]:
    stmt = select(Check.id).where(
        Check.unit_id == unit_id, Check.critical.is_(True), Check.is_live()
    )
    return list((await session.execute(stmt.order_by(Check.id))).scalars())


async def count_open_incidents(session: AsyncSession) -> int:
    stmt = select(func.count()).select_from(Incident).where(Incident.ended_at.is_(None))
    return int((await session.execute(stmt)).scalar_one())


async def state_before(session: AsyncSession, check_id: int, at: datetime) -> str | None:
    """The state the last flip strictly before ``at`` moved the check into."""
    stmt = (
        select(Flip.new_state)
        .where(Flip.check_id == check_id, Flip.at < at)
        .order_by(Flip.at.desc(), Flip.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def check_flips_between(
    session: AsyncSession, check_id: int, since: datetime, until: datetime
) -> list[tuple[datetime, str]]:
    """``(at, new_state)`` of the check's flips in ``[since, until)``, oldest first."""
    stmt = (
        select(Flip.at, Flip.new_state)
        .where(Flip.check_id == check_id, Flip.at >= since, Flip.at < until)
        .order_by(Flip.at, Flip.id)
    )
    return [(at, state) for at, state in (await session.execute(stmt)).all()]
