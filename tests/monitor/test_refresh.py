"""A replica that starts before the inventory is in SQL (a ``serve --workers``
child, started while the API process still syncs) picks the checks up within
seconds, not a whole ``CHECKS_REFRESH_S``: in the national bench its half of the
checks began probing up to a minute after the other half."""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.monitor.runtime import CHECKS_REFRESH_S, EMPTY_REFRESH_S, Monitor
from tests import factories
from tests.support.http import Reply, ScriptedHTTP

pytestmark = pytest.mark.postgres


async def test_a_replica_without_checks_looks_again_soon(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    web = await ScriptedHTTP({"/ok": Reply(200, "ok")}).start()
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        notify_enabled=False,
        lease_s=4,
        lease_renew_s=0.5,
        lease_margin_s=0.5,
    )
    monitor = Monitor(settings, sessionmaker)
    await monitor.start()
    try:
        assert not monitor.checks  # nothing synced yet
        frozen = gc.get_freeze_count()
        async with sessionmaker() as s, s.begin():
            for i in range(3):
                await factories.http_check(s, web.url("/ok"), key=f"1000{i}.centre.web")
        added = time.monotonic()
        while len(monitor.checks) < 3:
            assert time.monotonic() - added < 3 * EMPTY_REFRESH_S, "checks not picked up"
            await asyncio.sleep(0.1)
        assert time.monotonic() - added < CHECKS_REFRESH_S / 3
        assert monitor.scheduler.job_count == 3  # scheduled, not only known
        # and, as after a reload, out of the cyclic collector's way (docs/design.md §7)
        assert gc.get_freeze_count() > frozen
        # ... and again after the first round, which builds the metric series per check
        refreeze = monitor._refreeze
        assert refreeze is not None
        assert refreeze.when() - asyncio.get_running_loop().time() > 30  # the interval
    finally:
        await monitor.stop()
        await web.close()


async def test_an_unchanged_inventory_is_not_loaded_again(
    db_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refresh compares plain signature rows and loads (as ORM rows, parsed) only
    checks that changed. Every replica refreshes every 30 s; rebuilding 17,000
    checks each time would parse every probe config again (seconds of CPU)."""
    from app.monitor import runtime

    async with sessionmaker() as s, s.begin():
        for i in range(3):
            await factories.http_check(s, f"http://127.0.0.1:9/{i}", key=f"1000{i}.centre.web")
    loaded: list[int] = []
    real = runtime.active_checks_with_labels

    async def counting(session: AsyncSession, ids: list[int] | None = None) -> object:
        loaded.extend(ids or [])
        return await real(session, ids)

    monkeypatch.setattr(runtime, "active_checks_with_labels", counting)
    settings = Settings(database_url=db_url, data_dir=tmp_path, notify_enabled=False)
    monitor = Monitor(settings, sessionmaker)
    await monitor._load_checks()
    assert len(loaded) == 3 and len(monitor.checks) == 3
    loaded.clear()
    await monitor._load_checks()
    assert loaded == []  # nothing changed: nothing rebuilt
    async with sessionmaker() as s, s.begin():
        await factories.http_check(s, "http://127.0.0.1:9/new", key="10009.centre.web")
    await monitor._load_checks()
    assert len(loaded) == 1 and len(monitor.checks) == 4
