"""One notification planner among the replicas (docs/design.md §4.1).

Every replica runs a notifier, and each plans over all incidents; two planning at
once updated the same incident rows in different orders, and PostgreSQL broke the
deadlock by failing one tick (seen in the national bench). Planning is now a job
lease (shard −2): its holder plans, the others skip until it lapses. Real
PostgreSQL, two notifiers as two replicas would run them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import Check, Incident
from app.monitor.leases import NOTIFY_PLAN, claim_job
from app.notify import repository as repo
from app.notify.service import Notifier, PlanClaim
from tests import factories

pytestmark = pytest.mark.postgres

HOLD_S = 1.0
LATER = datetime.now(UTC) + timedelta(hours=1)  # past any policy hold


def _claim(owner: str) -> PlanClaim:
    async def claim(session: AsyncSession) -> bool:
        return await claim_job(session, NOTIFY_PLAN, owner, HOLD_S)

    return claim


async def _incident(sm: async_sessionmaker[AsyncSession], check: Check) -> int:
    async with sm() as s, s.begin():
        row = Incident(check_id=check.id, unit_id=check.unit_id, started_at=datetime.now(UTC))
        s.add(row)
        await s.flush()
        return row.id


async def _state(sm: async_sessionmaker[AsyncSession], incident_id: int) -> str:
    async with sm() as s:
        return (
            await s.execute(select(Incident.notify_state).where(Incident.id == incident_id))
        ).scalar_one()


async def test_only_the_planning_lease_holder_plans(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as s, s.begin():
        check = await factories.http_check(s, "http://127.0.0.1:9/", key="12337.centre.web")
        await repo.save_policy(s, {})
    settings = Settings(database_url=db_url)
    a = Notifier(settings, sessionmaker, plan_claim=_claim("a"))
    b = Notifier(settings, sessionmaker, plan_claim=_claim("b"))
    for notifier in (a, b):
        await notifier.reload()
    first = await _incident(sessionmaker, check)
    await a.tick(LATER)  # A takes the planning lease and pages the incident
    assert a.last_report.paged == 1 and await _state(sessionmaker, first) == "paged"
    second = await _incident(sessionmaker, check)
    await b.tick(LATER)  # A holds the lease: B leaves the new incident alone
    assert b.last_report.paged == 0 and await _state(sessionmaker, second) == "pending"
    await a.tick(LATER)
    assert a.last_report.paged == 1 and await _state(sessionmaker, second) == "paged"
    # A stops planning (dead): once its lease lapses, B plans
    await asyncio.sleep(HOLD_S + 0.3)
    third = await _incident(sessionmaker, check)
    await b.tick(LATER)
    assert b.last_report.paged == 1 and await _state(sessionmaker, third) == "paged"
    await a.tick(LATER)  # and A, back, no longer plans while B holds it
    assert a.last_report.paged == 0


async def test_without_leases_a_notifier_always_plans(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as s, s.begin():
        check = await factories.http_check(s, "http://127.0.0.1:9/", key="12337.centre.web")
        await repo.save_policy(s, {})
    alone = Notifier(Settings(database_url=db_url), sessionmaker)
    await alone.reload()
    incident = await _incident(sessionmaker, check)
    await alone.tick(LATER)
    assert alone.last_report.paged == 1 and await _state(sessionmaker, incident) == "paged"
