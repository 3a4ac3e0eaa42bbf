"""The agent protocol against the real app and monitor, on SQLite and PostgreSQL:
enrolment and tokens, config with ETag, idempotent batches, clocks, isolation."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Agent, AgentBatch, AgentToken, ProbeResult
from tests.agents.conftest import AUTH, agent_headers, check_ids, enrol, push, result
from tests.support.wait import until

QUEUE = "12337.commune_centre.queue"
WEB = "12337.commune_centre.web"
PORTAL = "12337.commune_centre.portal"
OTHER = "12364.commune_centre.queue"


async def _stored(sm: async_sessionmaker[AsyncSession], vantage: str) -> int:
    async with sm() as s:
        stmt = select(func.count()).select_from(ProbeResult).where(ProbeResult.vantage == vantage)
        return int((await s.execute(stmt)).scalar_one())


async def test_central_schedules_only_checks_it_probes(app: FastAPI) -> None:
    monitor = app.state.monitor
    scheduled = {monitor.checks[i].key for i in monitor._owned()}
    assert QUEUE not in scheduled and OTHER not in scheduled
    assert {WEB, PORTAL, "agent.hy-12337-lan"} <= scheduled


async def test_token_shown_once_stored_hashed_two_active_at_most(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession]
) -> None:
    token = await enrol(client, "hy-12337-lan")
    again = await client.post("/api/v1/agents", json={"name": "hy-12337-lan"}, headers=AUTH)
    assert again.status_code == 409
    second = await client.post("/api/v1/agents/hy-12337-lan/tokens", headers=AUTH)
    assert second.status_code == 201
    third = await client.post("/api/v1/agents/hy-12337-lan/tokens", headers=AUTH)
    assert third.status_code == 409
    async with sm() as s:
        hashes = list((await s.execute(select(AgentToken.token_hash))).scalars())
    assert len(hashes) == 2 and token not in hashes and all(len(h) == 64 for h in hashes)
    listed = (await client.get("/api/v1/agents", headers=AUTH)).json()
    assert token not in str(listed)
    assert [len(a["tokens"]) for a in listed if a["name"] == "hy-12337-lan"] == [2]
    undeclared = await client.post("/api/v1/agents", json={"name": "hy-nobody"}, headers=AUTH)
    assert undeclared.status_code == 404
    no_write = await client.post("/api/v1/agents", json={"name": "hy-12364-lan"})
    assert no_write.status_code == 401


async def test_wrong_and_revoked_tokens_get_the_same_401(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession]
) -> None:
    token = await enrol(client, "hy-12337-lan")
    ok = await client.get("/api/v1/agent/config", headers=agent_headers(token))
    assert ok.status_code == 200 and "X-Thongsuot-Server-Time" in ok.headers
    wrong = await client.get("/api/v1/agent/config", headers=agent_headers("tsa_" + "x" * 43))
    listed = (await client.get("/api/v1/agents", headers=AUTH)).json()
    token_id = next(a for a in listed if a["name"] == "hy-12337-lan")["tokens"][0]["id"]
    revoked = await client.delete(f"/api/v1/agents/hy-12337-lan/tokens/{token_id}", headers=AUTH)
    assert revoked.status_code == 200
    after = await client.get("/api/v1/agent/config", headers=agent_headers(token))
    pushed = await push(client, token, [])
    assert wrong.status_code == after.status_code == pushed.status_code == 401
    assert wrong.json() == after.json() == pushed.json()
    assert "X-Thongsuot-Server-Time" in after.headers


async def test_config_has_only_own_checks_and_their_secrets_with_etag(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession]
) -> None:
    token = await enrol(client, "hy-12337-lan")
    other = await enrol(client, "hy-12364-lan")
    ids = await check_ids(sm)
    first = await client.get("/api/v1/agent/config", headers=agent_headers(token))
    body = first.json()
    assert body["agent"] == "hy-12337-lan"
    assert {c["key"] for c in body["checks"]} == {QUEUE, WEB}
    assert all(0 <= c["phase_s"] < c["interval_s"] for c in body["checks"])
    assert OTHER not in first.text and str(ids[OTHER]) not in [str(c["id"]) for c in body["checks"]]
    etag = first.headers["ETag"]
    same = await client.get(
        "/api/v1/agent/config", headers=agent_headers(token) | {"If-None-Match": etag}
    )
    assert same.status_code == 304 and same.headers["ETag"] == etag
    theirs = await client.get("/api/v1/agent/config", headers=agent_headers(other))
    assert {c["key"] for c in theirs.json()["checks"]} == {OTHER}
    assert theirs.headers["ETag"] != etag


async def test_an_agent_cannot_write_another_units_checks(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession]
) -> None:
    token = await enrol(client, "hy-12337-lan")
    ids = await check_ids(sm)
    for key in (OTHER, PORTAL):  # another unit's check; a check this agent does not run
        answer = await push(client, token, [result(ids[QUEUE]), result(ids[key])])
        assert answer.status_code == 403
        assert answer.json()["error"] == "not_assigned"
        assert answer.json()["check_id"] == ids[key]
    assert await _stored(sm, "hy-12337-lan") == 0


async def test_duplicate_batch_is_stored_once(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    token = await enrol(client, "hy-12337-lan")
    ids = await check_ids(sm)
    now = time.time()
    batch = [result(ids[QUEUE], at=now - 60 + i, slot=1000 + i) for i in range(5)]
    first = await push(client, token, batch, key="a" * 32)
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == 5 and first.json()["duplicates"] == 0
    replay = await push(client, token, batch, key="a" * 32)
    assert replay.json() == first.json()
    # the same results under a new key: duplicates by uid
    again = await push(client, token, batch, key="b" * 32)
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 5
    # a new uid for a slot already filled: a duplicate by (check, vantage, slot)
    refill = await push(client, token, [result(ids[QUEUE], slot=1002)], key="c" * 32)
    assert refill.json()["duplicates"] == 1
    await app.state.monitor.pipeline.flush()

    async def five() -> bool:  # the writer may hold a batch while flush() returns
        return await _stored(sm, "hy-12337-lan") == 5

    await until(five, 5)
    await asyncio.sleep(0.3)  # and nothing more arrives
    assert await _stored(sm, "hy-12337-lan") == 5


async def test_clock_offset_corrected_within_limit_refused_beyond(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    token = await enrol(client, "hy-12337-lan")
    ids = await check_ids(sm)
    skew = 120.0  # the agent's clock is two minutes slow
    at_agent = time.time() - skew
    answer = await push(client, token, [result(ids[QUEUE], at=at_agent)], skew=skew)
    assert answer.status_code == 200
    assert abs(answer.json()["clock_offset_s"] - skew) < 2
    await app.state.monitor.pipeline.flush()

    async def one() -> bool:
        return await _stored(sm, "hy-12337-lan") == 1

    await until(one, 5)
    async with sm() as s:
        row = (
            await s.execute(select(ProbeResult).where(ProbeResult.vantage != "central"))
        ).scalar_one()
        agent = (await s.execute(select(Agent).where(Agent.name == "hy-12337-lan"))).scalar_one()
    assert abs(row.at.timestamp() - (at_agent + skew)) < 2  # corrected to the server clock
    assert agent.clock_offset_s is not None and abs(agent.clock_offset_s - skew) < 2
    assert agent.state == "online" and agent.version == "0.test"
    metrics = app.state.monitor.metrics.registry
    value = metrics.get_sample_value(
        "thongsuot_agent_clock_offset_seconds", {"agent": "hy-12337-lan"}
    )
    assert value is not None and abs(value - skew) < 2
    far = await push(client, token, [result(ids[QUEUE])], skew=412)
    assert far.status_code == 422
    body = far.json()
    assert body["error"] == "clock_skew" and body["max_skew_s"] == 300
    assert abs(body["offset_s"] - 412) < 2 and "NTP" in body["detail"]


async def test_batch_too_large_is_413(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession]
) -> None:
    token = await enrol(client, "hy-12337-lan")
    ids = await check_ids(sm)
    answer = await push(client, token, [result(ids[QUEUE]) for _ in range(501)])
    assert answer.status_code == 413 and answer.json()["max_batch"] == 500


async def test_full_pipeline_is_429_with_retry_after(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    token = await enrol(client, "hy-12337-lan")
    ids = await check_ids(sm)
    pipeline = app.state.monitor.pipeline
    pipeline._capacity = 0  # a pipeline with no room: what a database outage leads to
    answer = await push(client, token, [result(ids[QUEUE])])
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
    assert await _stored(sm, "hy-12337-lan") == 0


async def test_idempotency_keys_are_kept_48_hours(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession]
) -> None:
    token = await enrol(client, "hy-12337-lan")
    async with sm() as s, s.begin():
        agent = (await s.execute(select(Agent).where(Agent.name == "hy-12337-lan"))).scalar_one()
        old = datetime.now(UTC) - timedelta(hours=49)
        s.add(AgentBatch(agent_id=agent.id, key="old", received_at=old, response={}))
        s.add(
            AgentBatch(
                agent_id=agent.id, key="recent", received_at=old + timedelta(hours=2), response={}
            )
        )
    assert (await push(client, token, [], key="new")).status_code == 200
    async with sm() as s:
        keys = set((await s.execute(select(AgentBatch.key))).scalars())
    assert keys == {"recent", "new"}
