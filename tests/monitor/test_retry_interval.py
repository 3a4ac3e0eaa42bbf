"""A check's retry_interval: while a streak disagrees with the confirmed state the
check is re-probed at the shorter interval, then goes back to its normal interval.

Real scheduler, a real loopback HTTP target that goes down and up, both databases.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.errors import ConfigError
from app.inventory.loader import load_resolved
from app.models import Check, Flip
from app.models import ProbeResult as ResultRow
from app.monitor.runtime import Monitor
from tests import factories
from tests.inventory.helpers import BASE, write
from tests.support.http import Reply, ScriptedHTTP
from tests.support.wait import until

INTERVAL_S = 6
RETRY_S = 1


@pytest.fixture
async def web() -> AsyncIterator[ScriptedHTTP]:
    server = await ScriptedHTTP().start()
    yield server
    await server.close()


async def _results(sm: async_sessionmaker[AsyncSession], check_id: int) -> list[ResultRow]:
    async with sm() as s:
        stmt = select(ResultRow).where(ResultRow.check_id == check_id).order_by(ResultRow.at)
        return list((await s.execute(stmt)).scalars())


def _gaps(times: list[datetime]) -> list[float]:
    return [(b - a).total_seconds() for a, b in itertools.pairwise(times)]


@pytest.mark.slow
async def test_a_streak_is_confirmed_at_the_retry_interval_then_back_to_the_interval(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP
) -> None:
    web.routes["/health"] = Reply(503, "bảo trì")
    async with sessionmaker() as s, s.begin():
        check = await factories.http_check(
            s,
            web.url("/health"),
            key="12337.centre.portal",
            interval_s=INTERVAL_S,
            timeout_s=0.5,
            failure_threshold=3,
            recovery_threshold=2,
        )
        check.retry_interval_s = RETRY_S
    settings = Settings(
        database_url=db_url, flush_interval_s=0.1, batch_size=50, spread_first_runs=False
    )
    monitor = Monitor(settings, sessionmaker)
    await monitor.start()
    try:
        # down: three failures, one retry interval apart (at the interval it takes 2 x 6 s)
        await until(lambda: monitor.stats.probes_finished > 0, 2 * INTERVAL_S)
        await until(lambda: monitor.states[check.id].state == "down", 2 * INTERVAL_S)
        web.routes["/health"] = Reply(200, "ok")
        # up again: the next run is the check's next slot, then one retry confirms it
        await until(lambda: monitor.states[check.id].state == "up", 2 * INTERVAL_S)
        confirmed = monitor.stats.probes_finished
        # the state agrees: no more retries, the next probe is a whole interval later
        await until(lambda: monitor.stats.probes_finished > confirmed, 2 * INTERVAL_S)
    finally:
        await monitor.stop()
    results = await _results(sessionmaker, check.id)
    async with sessionmaker() as s:
        flips = list((await s.execute(select(Flip).order_by(Flip.at))).scalars())
    statuses = [r.status for r in results]
    times = [r.at for r in results]
    assert statuses[:5] == ["down", "down", "down", "up", "up"], statuses
    down_gaps, up_gap = _gaps(times[:3]), _gaps(times[3:5])
    # the confirming results follow each other by the retry interval, not the interval
    assert all(gap < INTERVAL_S / 2 for gap in [*down_gaps, *up_gap]), (down_gaps, up_gap)
    # the first up result ran at the check's next slot, a whole interval after the first run
    assert _gaps([times[0], times[3]])[0] > INTERVAL_S - 1
    # after the recovery was confirmed, the next probe waited for the next slot
    assert len(results) >= 6
    assert _gaps([times[4], times[5]])[0] > INTERVAL_S / 2
    # flips are dated at the first result of their confirming streak
    assert [f.new_state for f in flips] == ["down", "up"]
    assert flips[0].at == times[0] and flips[1].at == times[3]


@pytest.mark.slow
async def test_without_a_retry_interval_no_extra_probe_is_made(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP
) -> None:
    web.routes["/health"] = Reply(503, "bảo trì")
    async with sessionmaker() as s, s.begin():
        check = await factories.http_check(
            s, web.url("/health"), key="12337.centre.portal", interval_s=3, failure_threshold=3
        )
    settings = Settings(
        database_url=db_url, flush_interval_s=0.1, batch_size=50, spread_first_runs=False
    )
    monitor = Monitor(settings, sessionmaker)
    await monitor.start()
    try:
        await until(lambda: monitor.stats.probes_finished >= 2, 8)
    finally:
        await monitor.stop()
    times = [r.at for r in await _results(sessionmaker, check.id)]
    assert monitor.states[check.id].streak_count >= 2  # a streak was in progress
    assert all(gap > 2 for gap in _gaps(times)), _gaps(times)


def test_retry_interval_is_read_and_inherited(tmp_path: Path) -> None:
    text = BASE.replace("    interval: 30\n", "    interval: 30\n    retry_interval: 10\n")
    text = text.replace(
        'options: {url: "http://127.0.0.1:9/"}',
        'options: {url: "http://127.0.0.1:9/"}\n'
        "          - name: api\n"
        "            kind: http\n"
        "            retry_interval: 5\n"
        '            options: {url: "http://127.0.0.1:9/api"}\n'
        "          - name: plain\n"
        "            kind: http\n"
        "            interval: 60\n"
        '            options: {url: "http://127.0.0.1:9/p"}',
    )
    _, flat = load_resolved(write(tmp_path, text))
    by_name = {c.key.rsplit(".", 1)[1]: c.retry_interval_s for c in flat.checks}
    assert by_name == {"web": 10, "api": 5, "plain": 10}
    assert load_resolved(write(tmp_path, BASE))[1].checks[0].retry_interval_s is None


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("interval: 30\n            retry_interval: 30", "shorter than the interval of 30 s"),
        ("retry_interval: 0", "must be between 1 and"),
    ],
)
def test_a_bad_retry_interval_is_reported_on_its_field(
    tmp_path: Path, setting: str, fragment: str
) -> None:
    text = BASE.replace("kind: http", f"kind: http\n            {setting}")
    with pytest.raises(ConfigError) as info:
        load_resolved(write(tmp_path, text))
    errors = [e for e in info.value.errors if "checks[0].retry_interval" in e]
    assert errors and fragment in errors[0], info.value.errors


async def test_the_inventory_sync_stores_retry_interval(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    from datetime import UTC

    from app.inventory.service import sync_inventory

    text = BASE.replace("kind: http", "kind: http\n            retry_interval: 7")
    _, flat = load_resolved(write(tmp_path, text))
    async with sessionmaker() as s, s.begin():
        await sync_inventory(s, flat, datetime.now(UTC))
    async with sessionmaker() as s:
        assert (await s.execute(select(Check.retry_interval_s))).scalar_one() == 7


@pytest.mark.slow
async def test_a_retry_is_made_when_the_probe_outlasts_the_retry_interval(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], web: ScriptedHTTP
) -> None:
    """A probe that times out after longer than the retry interval: the retry is due at
    once, and must still run (APScheduler skips a run while the job's instance is live)."""
    web.routes["/health"] = Reply(200, "ok", delay=5.0)  # never within the timeout
    async with sessionmaker() as s, s.begin():
        check = await factories.http_check(
            s,
            web.url("/health"),
            key="12337.centre.portal",
            interval_s=INTERVAL_S,
            timeout_s=1.5,
            failure_threshold=3,
        )
        check.retry_interval_s = RETRY_S
    settings = Settings(
        database_url=db_url, flush_interval_s=0.1, batch_size=50, spread_first_runs=False
    )
    monitor = Monitor(settings, sessionmaker)
    await monitor.start()
    try:
        await until(lambda: monitor.stats.probes_finished > 0, 2 * INTERVAL_S)
        await until(lambda: monitor.states[check.id].state == "down", 2 * INTERVAL_S)
    finally:
        await monitor.stop()
    times = [r.at for r in await _results(sessionmaker, check.id)][:3]
    assert all(gap < INTERVAL_S / 2 for gap in _gaps(times)), _gaps(times)
