"""SQL of the notifier: policy, incident facts, the outbox and its claims."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import upsert_insert
from app.models import Check, Flip, Incident, NotifyPolicy, OutboxNotification, Service, Unit
from app.notify.routing import Facts

POLICY_NAME = "default"


# policy -------------------------------------------------------------------------
async def load_policy(session: AsyncSession) -> dict[str, Any] | None:
    stmt = select(NotifyPolicy.document).where(NotifyPolicy.name == POLICY_NAME)
    document: dict[str, Any] | None = (await session.execute(stmt)).scalar_one_or_none()
    return document


async def save_policy(session: AsyncSession, document: dict[str, Any]) -> bool:
    """Store the policy; tell whether it changed. Flushes, never commits."""
    row = (
        await session.execute(select(NotifyPolicy).where(NotifyPolicy.name == POLICY_NAME))
    ).scalar_one_or_none()
    if row is None:
        session.add(NotifyPolicy(name=POLICY_NAME, document=document))
    elif row.document != document:
        row.document = document
    else:
        return False
    await session.flush()
    return True


async def check_topology(session: AsyncSession) -> list[tuple[int, str, list[str]]]:
    stmt = select(Check.id, Check.key, Check.depends_on).where(Check.is_live())
    return [(i, k, list(d or [])) for i, k, d in (await session.execute(stmt)).all()]


# facts ----------------------------------------------------------------------------
async def facts_for(session: AsyncSession, check_ids: Sequence[int]) -> dict[int, Facts]:
    """Names, kinds and contacts of these checks, their units, parents and the province."""
    if not check_ids:
        return {}
    stmt = (
        select(Check, Service, Unit)
        .join(Service, Service.id == Check.service_id)
        .join(Unit, Unit.id == Check.unit_id)
        .where(Check.id.in_(set(check_ids)))
    )
    rows = (await session.execute(stmt)).all()
    # only the units these facts name (a national inventory has 3,355 units, and the
    # notifier asks every few seconds while incidents are open)
    parent_ids = {unit.parent_id for _, _, unit in rows if unit.parent_id is not None}
    wanted = select(Unit).where(or_(Unit.id.in_(parent_ids), Unit.kind == "province"))
    units = {u.id: u for u in (await session.execute(wanted)).scalars()}
    province = next((u for u in units.values() if u.kind == "province"), None)
    out: dict[int, Facts] = {}
    for check, service, unit in rows:
        parent = units.get(unit.parent_id) if unit.parent_id is not None else None
        out[check.id] = Facts(
            check_id=check.id,
            check_key=check.key,
            check_name=check.name,
            probe_kind=check.kind,
            critical=check.critical,
            unit_code=unit.code,
            unit_name=unit.name,
            service_kind=service.kind,
            service_name=service.name,
            own_contacts=list(service.contacts or []) + _contacts(unit),
            parent_contacts=_contacts(parent),
            province_contacts=_contacts(province),
            unit_kind=unit.kind,
        )
    return out


def _contacts(unit: Unit | None) -> list[dict[str, Any]]:
    if unit is None:
        return []
    contacts = (unit.settings or {}).get("contacts") or []
    return [c for c in contacts if isinstance(c, dict)]


async def province_unit(session: AsyncSession) -> Unit | None:
    stmt = select(Unit).where(Unit.kind == "province", Unit.retired_at.is_(None)).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


# incidents ------------------------------------------------------------------------
async def incidents_in_state(
    session: AsyncSession, state: str, *, open_: bool | None = None
) -> list[Incident]:
    stmt = select(Incident).where(Incident.notify_state == state)
    if open_ is True:
        stmt = stmt.where(Incident.ended_at.is_(None))
    elif open_ is False:
        stmt = stmt.where(Incident.ended_at.is_not(None))
    return list((await session.execute(stmt.order_by(Incident.id))).scalars())


async def checks_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Check]:
    if not ids:
        return {}
    rows = (await session.execute(select(Check).where(Check.id.in_(ids)))).scalars()
    return {c.id: c for c in rows}


async def checks_by_key(session: AsyncSession, keys: set[str]) -> dict[str, Check]:
    if not keys:
        return {}
    rows = (await session.execute(select(Check).where(Check.key.in_(keys)))).scalars()
    return {c.key: c for c in rows}


async def open_incident_by_check(session: AsyncSession, check_ids: set[int]) -> dict[int, int]:
    if not check_ids:
        return {}
    stmt = select(Incident.check_id, Incident.id).where(
        Incident.ended_at.is_(None), Incident.check_id.in_(check_ids)
    )
    return {c: i for c, i in (await session.execute(stmt)).all()}


async def incidents_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Incident]:
    if not ids:
        return {}
    rows = (await session.execute(select(Incident).where(Incident.id.in_(ids)))).scalars()
    return {i.id: i for i in rows}


async def latest_incident_of(session: AsyncSession, check_id: int) -> int | None:
    stmt = (
        select(Incident.id)
        .where(Incident.check_id == check_id)
        .order_by(Incident.started_at.desc())
        .limit(1)
    )
    found: int | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


# flips ------------------------------------------------------------------------------
async def busy_checks(
    session: AsyncSession, since: datetime, recent: datetime, flips: int
) -> list[int]:
    """Checks with a flip after ``recent`` and at least ``flips`` flips after ``since``."""
    stmt = (
        select(Flip.check_id)
        .where(Flip.at >= since)
        .group_by(Flip.check_id)
        .having(and_(func.count() >= flips, func.max(Flip.at) >= recent))
    )
    return list((await session.execute(stmt)).scalars())


async def flip_times(session: AsyncSession, check_id: int, since: datetime) -> list[datetime]:
    stmt = select(Flip.at).where(Flip.check_id == check_id, Flip.at >= since).order_by(Flip.at)
    return list((await session.execute(stmt)).scalars())


# outbox -----------------------------------------------------------------------------
async def enqueue(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows; a row whose ``dedupe_key`` exists is skipped.

    Returns how many rows were offered (drivers differ in reporting skips)."""
    if not rows:
        return 0
    stmt = upsert_insert(session, OutboxNotification).on_conflict_do_nothing(
        index_elements=["dedupe_key"]
    )
    await session.execute(stmt, rows)
    return len(rows)


async def recipients_of(session: AsyncSession, incident_id: int) -> list[OutboxNotification]:
    """The distinct destinations this incident's outage notices went to."""
    stmt = (
        select(OutboxNotification)
        .where(
            OutboxNotification.incident_id == incident_id,
            OutboxNotification.event.in_(("down", "escalation", "reminder")),
        )
        .order_by(OutboxNotification.id)
    )
    seen: dict[str, OutboxNotification] = {}
    for row in (await session.execute(stmt)).scalars():
        seen.setdefault(json.dumps(row.channel_config, sort_keys=True), row)
    return list(seen.values())


async def due(session: AsyncSession, now: datetime, limit: int) -> list[OutboxNotification]:
    stmt = (
        select(OutboxNotification)
        .where(
            OutboxNotification.status == "pending",
            OutboxNotification.next_attempt_at <= now,
            OutboxNotification.claimed_until <= now,
        )
        .order_by(OutboxNotification.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def claim(session: AsyncSession, row_id: int, now: datetime, lease_s: float) -> bool:
    """Own one row for ``lease_s`` (a conditional UPDATE: rowcount 1 means it is ours)."""
    stmt = (
        update(OutboxNotification)
        .where(
            OutboxNotification.id == row_id,
            OutboxNotification.status == "pending",
            OutboxNotification.claimed_until <= now,
        )
        .values(claimed_until=now + timedelta(seconds=lease_s))
        .execution_options(synchronize_session=False)
    )
    result: Any = await session.execute(stmt)
    return int(result.rowcount) == 1


async def record(session: AsyncSession, row_id: int, values: dict[str, Any]) -> None:
    stmt = (
        update(OutboxNotification)
        .where(OutboxNotification.id == row_id)
        .values(attempts=OutboxNotification.attempts + 1, **values)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


async def latest_connectivity_episode(session: AsyncSession) -> list[OutboxNotification]:
    """The lost notices of the latest monitor-connectivity episode, unless it was restored.

    Episodes are keyed ``monitor@<unix seconds>:monitor_connectivity:0:<seq>:…``
    (seq 0 lost, 1 restored); see :mod:`app.notify.connectivity`."""
    latest = (
        select(OutboxNotification.dedupe_key)
        .where(
            OutboxNotification.event == "monitor_connectivity",
            OutboxNotification.dedupe_key.like("monitor@%"),
        )
        .order_by(OutboxNotification.id.desc())
        .limit(1)
    )
    key: str | None = (await session.execute(latest)).scalar_one_or_none()
    if key is None:
        return []
    scope = key.split(":", 1)[0]
    stmt = (
        select(OutboxNotification)
        .where(OutboxNotification.dedupe_key.like(f"{scope}:monitor_connectivity:%"))
        .order_by(OutboxNotification.id)
    )
    rows = list((await session.execute(stmt)).scalars())
    if any(r.dedupe_key.split(":")[3] != "0" for r in rows):
        return []  # already restored
    return rows


async def first_alerted(
    session: AsyncSession, incident_id: int
) -> tuple[list[str], datetime | None]:
    """Whom the incident's first (level 0) notice went to, and when it was decided."""
    stmt = (
        select(OutboxNotification.recipient, OutboxNotification.created_at)
        .where(
            OutboxNotification.incident_id == incident_id,
            OutboxNotification.event == "down",
            OutboxNotification.level == 0,
        )
        .order_by(OutboxNotification.id)
    )
    rows = (await session.execute(stmt)).all()
    labels = list(dict.fromkeys(r for r, _ in rows))
    return labels, min((at for _, at in rows), default=None)
