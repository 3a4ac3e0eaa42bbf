"""The monitor end to end: real scheduler, real loopback HTTP, real databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import Flip, Incident
from app.models import ProbeResult as ResultRow
from app.monitor import spool
from app.monitor.evaluator import CheckState, apply_result
from app.monitor.runtime import Monitor
from probes import ErrorKind, ProbeResult
from tests import factories
from tests.conftest import PG_ADMIN
from tests.support.http import Reply, ScriptedHTTP
from tests.support.wait import until


@pytest.fixture
async def web() -> AsyncIterator[ScriptedHTTP]:
    server = await ScriptedHTTP().start()
    yield server
    await server.close()


def _settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, flush_interval_s=0.1, batch_size=50)


async def _count(sm: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sm() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


@pytest.mark.slow
async def test_outage_is_detected_and_recovery_closes_incident(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP
) -> None:
    web.routes["/health"] = Reply(200, "Dịch vụ công")
    async with sessionmaker() as s, s.begin():
        check = await factories.http_check(
            s,
            web.url("/health"),
            key="12337.centre.portal",
            interval_s=1,
            timeout_s=0.5,
            keyword="Dịch vụ công",
        )
    monitor = Monitor(_settings(db_url), sessionmaker)
    await monitor.start()
    try:
        assert monitor.scheduler.job_count == 1
        await until(lambda: _is(monitor, check.id, "up"), 5)
        web.routes["/health"] = Reply(503, "bảo trì")
        await until(lambda: _is(monitor, check.id, "down"), 6)
        web.routes["/health"] = Reply(200, "Dịch vụ công")
        await until(lambda: _is(monitor, check.id, "up"), 5)
    finally:
        await monitor.stop()
    async with sessionmaker() as s:
        flips = (await s.execute(select(Flip).order_by(Flip.at))).scalars().all()
        incident = (await s.execute(select(Incident))).scalar_one()
    assert [f.new_state for f in flips] == ["up", "down", "up"]
    assert flips[1].error_kind == "http_status"
    assert incident.started_at == flips[1].at and incident.ended_at == flips[2].at
    assert await _count(sessionmaker, ResultRow) == monitor.stats.probes_finished
    assert monitor.stats.lateness and max(monitor.stats.lateness) < 0.5


async def _is(monitor: Monitor, check_id: int, state: str) -> bool:
    return monitor.states[check_id].state == state


@pytest.mark.slow
@pytest.mark.postgres
async def test_every_result_arrives_exactly_once_when_connections_are_killed(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP
) -> None:
    web.routes["/h"] = Reply(200, "ok")
    async with sessionmaker() as s, s.begin():
        for i in range(20):
            await factories.http_check(
                s, web.url("/h") + f"?c={i}", key=f"k{i}", interval_s=1, timeout_s=0.5
            )
    monitor = Monitor(_settings(db_url), sessionmaker)
    await monitor.start()
    killed = 0
    name = db_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        for _ in range(3):
            await asyncio.sleep(1.0)
            # a real outage: refuse new connections and cut the open ones
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            killed += await _kill_backends(admin, name)
            await asyncio.sleep(2.0)
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
        await monitor.stop()
    assert killed > 0
    assert monitor.pipeline.stats.write_errors > 0, "the cut must have hit the writer"
    assert monitor.stats.dropped == 0
    assert await _count(sessionmaker, ResultRow) == monitor.stats.probes_finished >= 150


async def _kill_backends(admin: asyncpg.Connection, name: str) -> int:
    rows = await admin.fetch(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )
    return sum(1 for r in rows if r[0])


async def test_spooled_outcomes_are_written_before_states_are_read(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessionmaker() as s, s.begin():
        check = await factories.http_check(s, "http://127.0.0.1:9/", key="k", interval_s=3600)
    cs = CheckState(check.id, check.unit_id)
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    down = ProbeResult.down(ErrorKind.CONNECT, "refused")
    outs = [
        apply_result(cs, r, t0 + timedelta(seconds=30 * i))
        for i, r in enumerate([ProbeResult.up(0.01), down, down])
    ]
    spool.save(tmp_path, outs)
    monitor = Monitor(Settings(database_url=db_url, spool_dir=tmp_path), sessionmaker)
    await monitor.start()
    try:
        assert monitor.states[check.id].state == "down"  # resumed from the spooled outcomes
    finally:
        await monitor.stop()
    assert await _count(sessionmaker, ResultRow) >= 3
    assert await _count(sessionmaker, Incident) == 1
