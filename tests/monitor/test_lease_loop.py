"""The lease loop renews and does nothing else (issue 13, found by bench/national.py).

At 17,000 checks a replica's start-up reload (parse and sync the inventory) and its
30 s checks refresh each take longer than a lease. The renew used to wait for them:
the first renew came before the reload and the lease loop began after it, so the
main ``serve`` process lost every shard while starting, and a slow refresh fenced a
running replica. Here the reload is held up for real: another session holds an
exclusive lock on ``check`` while the monitor starts.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.monitor.leases import SHARDS
from app.monitor.runtime import Monitor

pytestmark = pytest.mark.postgres
LEASE_S = 3.0


async def test_leases_are_renewed_while_the_start_up_reload_is_blocked(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        notify_enabled=False,
        lease_s=LEASE_S,
        lease_renew_s=0.5,
        lease_margin_s=0.5,
    )
    monitor = Monitor(settings, sessionmaker)
    blocker = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with blocker.transaction():
            await blocker.execute('LOCK TABLE "check" IN ACCESS EXCLUSIVE MODE')
            starting = asyncio.create_task(monitor.start())
            await asyncio.sleep(2 * LEASE_S)  # two leases: without renewals they expire
            assert not starting.done(), "the reload was not held up: the test proves nothing"
            assert monitor.leases is not None
            assert monitor.leases.renewals >= 4, monitor.leases.renewals
            assert monitor.leases.valid() and monitor.leases.owned == SHARDS
        await asyncio.wait_for(starting, 30)
        assert monitor.ready
    finally:
        await blocker.close()
        await monitor.stop()
