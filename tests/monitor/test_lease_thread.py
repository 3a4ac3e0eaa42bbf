"""The shard leases are renewed off the main event loop (app/monitor/lease_thread.py).

At national load the renew coroutine waited behind thousands of probe callbacks and a
live replica fenced its own probes (bench/national.py: 9,033 in 10 minutes). Here the
main loop is really blocked, by a synchronous wait, while another thread reads
``shard_lease`` through its own connection:

- busy for less than the liveness limit (``lease_s - margin_s``): the leases move
  forward in SQL during the block, and afterwards the replica still may probe and has
  fenced nothing;
- wedged for longer: the lease thread stops renewing, the rows expire in SQL and
  another replica takes them; once the loop runs again the thread renews again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.monitor.leases import SHARDS, ShardLeases, shard_of
from app.monitor.runtime import Monitor
from tests import factories
from tests.support.http import Reply, ScriptedHTTP
from tests.support.wait import until

T = TypeVar("T")


def _plain(db_url: str) -> str:
    return db_url.replace("postgresql+asyncpg://", "postgresql://")


def _in_thread(work: Callable[[], Awaitable[T]]) -> tuple[threading.Thread, list[T]]:
    """Run ``work`` in a thread of its own, on an event loop of its own."""
    out: list[T] = []

    async def main() -> None:
        out.append(await work())

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="test-reader")
    thread.start()
    return thread, out


async def _leases_of(conn: Any, owner: str) -> tuple[datetime, int, int]:
    """The earliest expiry of ``owner``'s shards, how many it holds, how many are live."""
    row = await conn.fetchrow(
        "SELECT min(expires_at) AS first, count(*) AS held,"
        " count(*) FILTER (WHERE expires_at > now()) AS live"
        " FROM shard_lease WHERE owner = $1 AND shard >= 0",
        owner,
    )
    return row["first"], int(row["held"]), int(row["live"])


def _fenced(monitor: Monitor) -> float:
    value = monitor.metrics.registry.get_sample_value("thongsuot_probes_fenced_total")
    return float(value or 0.0)


def _lease_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "shard-leases"]


@pytest.fixture
async def web() -> AsyncIterator[ScriptedHTTP]:
    server = await ScriptedHTTP(routes={"/ok": Reply(200, "Dịch vụ công")}).start()
    yield server
    await server.close()


@pytest.mark.postgres
@pytest.mark.slow
async def test_a_busy_loop_keeps_its_leases(
    db_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    web: ScriptedHTTP,
    tmp_path: Path,
) -> None:
    key = "12337.centre.portal"
    async with sessionmaker() as s, s.begin():
        await factories.http_check(s, web.url("/ok"), key=key, interval_s=1, timeout_s=0.5)
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        notify_enabled=False,
        flush_interval_s=0.2,
        lease_s=6.0,  # the liveness limit is lease_s - margin_s = 5 s
        lease_renew_s=0.5,
        lease_margin_s=1.0,
    )
    monitor = Monitor(settings, sessionmaker)
    await monitor.start()
    try:
        assert monitor.leases is not None and len(_lease_threads()) == 1
        owner = monitor.leases.owner
        await until(lambda: monitor.stats.probes_finished >= 2, 10)
        renewals = monitor.leases.renewals

        async def watch() -> tuple[tuple[datetime, int, int], tuple[datetime, int, int]]:
            conn = await asyncpg.connect(_plain(db_url))
            try:
                first = await _leases_of(conn, owner)
                await asyncio.sleep(2.5)
                return first, await _leases_of(conn, owner)
            finally:
                await conn.close()

        reader, out = _in_thread(watch)
        # the main loop blocked on purpose: 7 renew intervals, under the 5 s limit
        time.sleep(3.5)  # noqa: ASYNC251
        reader.join(10)
        (first, held, _), (second, held_after, live_after) = out[0]
        assert held == held_after == SHARDS and live_after == SHARDS
        # renewed in SQL while the main loop could run nothing (it stayed put before)
        assert (second - first).total_seconds() >= 1.5, (first, second)
        assert monitor.leases.renewals >= renewals + 4, monitor.leases.renewals
        assert monitor.leases.may_probe(shard_of(key))
        probed = monitor.stats.probes_finished
        await until(lambda: monitor.stats.probes_finished >= probed + 2, 5)
        assert _fenced(monitor) == 0
    finally:
        await monitor.stop()
    assert not _lease_threads()  # stopped, and joined, by Monitor.stop


@pytest.mark.postgres
@pytest.mark.slow
async def test_a_wedged_loop_lets_its_leases_expire(
    db_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="app.monitor.lease_thread")
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        notify_enabled=False,
        lease_s=2.0,  # the liveness limit is 1.5 s
        lease_renew_s=0.25,
        lease_margin_s=0.5,
    )
    monitor = Monitor(settings, sessionmaker)
    await monitor.start()
    try:
        assert monitor.leases is not None and monitor.leases.owned == SHARDS
        owner = monitor.leases.owner

        async def expire_and_take_over() -> tuple[float, dict[int, int]]:
            """Wait (at most 15 s) for every lease of the wedged replica to expire in
            SQL, then take them all as another replica would."""
            conn = await asyncpg.connect(_plain(db_url))
            started = time.monotonic()
            try:
                while time.monotonic() - started < 15:
                    _, held, live = await _leases_of(conn, owner)
                    if held == SHARDS and live == 0:
                        break
                    await asyncio.sleep(0.1)
                expired_after = time.monotonic() - started
            finally:
                await conn.close()
            engine = make_engine(db_url, pool_size=1, max_overflow=0)
            try:
                other = ShardLeases(make_sessionmaker(engine), owner="other", lease_s=30.0)
                await other.renew()
                return expired_after, other.epochs
            finally:
                await engine.dispose()

        before = dict(monitor.leases.epochs)
        reader, out = _in_thread(expire_and_take_over)
        reader.join(30)  # the main loop is wedged until the other replica has the shards
        expired_after, taken = out[0]
        assert expired_after < 15, "the leases were renewed for a wedged loop"
        assert set(taken) == set(range(SHARDS))
        assert all(taken[s] == before[s] + 1 for s in before)  # taken, not handed back
        assert not monitor.leases.may_probe(0) and monitor.leases.owned == 0
        assert any("renew skipped" in r.getMessage() for r in caplog.records)
        renewals = monitor.leases.renewals
        # the loop runs again: the thread renews again (it holds nothing yet, the
        # other replica keeps all its shards until its own next renew)
        await until(lambda: monitor.leases is not None and monitor.leases.renewals > renewals, 5)
    finally:
        await monitor.stop()
    assert not _lease_threads()


async def test_no_lease_thread_without_shard_leases(
    backend: str, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """SQLite (one process), or ``shard_leases`` off on PostgreSQL: no leases, no thread."""
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        notify_enabled=False,
        shard_leases=backend == "sqlite",
    )
    monitor = Monitor(settings, sessionmaker)
    await monitor.start()
    try:
        assert monitor.leases is None
        assert not _lease_threads()
    finally:
        await monitor.stop()
