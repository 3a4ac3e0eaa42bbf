"""Push beats through SQL with real processes (docs/design.md §4.1): two ``thongsuot
serve`` replicas share heartbeat checks through shard leases on PostgreSQL, and every
beat is sent to one of them only (the one devices are pointed at).

- Each check stays ``up`` on whichever replica owns it, none fenced, each beat
  stored once, no ``push_beat`` row left.
- The other replica is stopped (``SIGSTOP``) so it polls nothing, a beat for one of
  its checks is relayed, and it is killed (``kill -9``): the replica left takes
  its shards and applies the beat.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.service import hash_token
from app.monitor.leases import SHARDS, shard_of
from tests import factories
from tests.monitor.test_failover import Replica, _owners
from tests.support.wait import until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHECKS = 16


def _token(i: int) -> str:
    return f"kiosk-relay-token-{i:04d}"


async def _create(sm: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    """check id → key of CHECKS heartbeat checks (a beat every 3 s, 8 s of grace)."""
    found = {}
    async with sm() as s, s.begin():
        for i in range(CHECKS):
            check = await factories.check(
                s, "heartbeat", {"period_s": 3, "grace_s": 8}, key=f"{30_000 + i}.kiosk.beat",
                unit_code=str(30_000 + i), interval_s=1, timeout_s=0.5, failure_threshold=1,
                push_token_hash=hash_token(_token(i)),
            )  # fmt: skip
            found[check.id] = check.key
    return found


async def _scalar(sm: async_sessionmaker[AsyncSession], sql: str) -> object:
    async with sm() as s:
        return (await s.execute(text(sql))).scalar_one()


async def _beat_all(client: httpx.AsyncClient, base: str, message: str) -> None:
    for i in range(CHECKS):
        resp = await client.post(f"{base}/api/v1/push/{_token(i)}", json={"message": message})
        assert resp.status_code == 200, resp.text


async def test_beats_sent_to_one_serve_reach_the_owners_and_survive_a_kill(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    checks = await _create(sessionmaker)
    front = Replica(db_url, tmp_path / "data-0", tmp_path / "serve-0.log")
    other = Replica(db_url, tmp_path / "data-1", tmp_path / "serve-1.log")
    try:
        await front.up()
        await other.up()

        async def shared() -> bool:
            owners = await _owners(sessionmaker)
            pids = set(owners.values())
            return len(owners) == SHARDS and pids == {front.pid, other.pid}

        await until(shared, within=30)
        owners = await _owners(sessionmaker)
        theirs = [i for i, key in checks.items() if owners[shard_of(key)] == other.pid]
        assert theirs, "no check on the other replica: the test proves nothing"

        # before the first beat the checks may have gone down (no beat since created)
        t0 = await _scalar(sessionmaker, "SELECT now() + interval '1 second'")
        async with httpx.AsyncClient(timeout=5.0) as client:
            for n in range(6):  # a beat to every check every 2 s, all to the front
                await _beat_all(client, front.base, f"beat {n}")
                await asyncio.sleep(2.0)

            async def settled() -> bool:
                left = await _scalar(sessionmaker, "SELECT count(*) FROM push_beat")
                up = await _scalar(
                    sessionmaker, "SELECT count(*) FROM \"check\" WHERE state = 'up'"
                )
                return left == 0 and up == CHECKS

            await until(settled, within=15)
            stored = await _scalar(
                sessionmaker,
                "SELECT count(*) FROM probe_result WHERE details->>'source' = 'push'",
            )
            assert stored == 6 * CHECKS  # every beat once
            async with sessionmaker() as s:
                down = (
                    await s.execute(
                        text(
                            "SELECT count(*) FROM probe_result WHERE status = 'down' AND at > :t0"
                        ),
                        {"t0": t0},
                    )
                ).scalar_one()
            assert down == 0  # no owner missed a beat once they came
            assert await other.metric("thongsuot_push_beat_relay_seconds_count") >= 6 * len(theirs)
            assert await front.metric("thongsuot_push_beats_relayed_total") >= 6 * len(theirs)
            for replica in (front, other):
                assert await replica.metric("thongsuot_results_fenced_total") == 0

            # the other replica stops polling, a beat for its check is relayed, it dies
            os.kill(other.pid, signal.SIGSTOP)
            victim = theirs[0]
            index = list(checks).index(victim)
            resp = await client.post(
                f"{front.base}/api/v1/push/{_token(index)}", json={"message": "after the kill"}
            )
            assert resp.status_code == 200, resp.text
            assert await _scalar(sessionmaker, "SELECT count(*) FROM push_beat") == 1
            os.kill(other.pid, signal.SIGKILL)
            other.proc.wait()

            async def applied() -> bool:
                found = await _scalar(
                    sessionmaker,
                    "SELECT count(*) FROM probe_result "
                    f"WHERE check_id = {victim} AND message = 'after the kill'",
                )
                left = await _scalar(sessionmaker, "SELECT count(*) FROM push_beat")
                return found == 1 and left == 0

            await until(applied, within=20)  # a lease (4 s), a renew, a poll
            owners = await _owners(sessionmaker)
            assert owners[shard_of(checks[victim])] == front.pid
            state = await _scalar(sessionmaker, f'SELECT state FROM "check" WHERE id = {victim}')
            assert state == "up"
    finally:
        front.stop()
        other.stop()
