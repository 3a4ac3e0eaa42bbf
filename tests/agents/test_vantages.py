"""Vantages and quorum, a silent agent and its replay: real app, real monitor, both DBs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Agent, CheckVantage, Flip, Incident, RollupStale
from app.monitor.vantages import combine
from app.notify.planner import PlanInput, plan
from app.notify.policy import parse_policy
from app.vocab.states import State
from tests.agents.conftest import check_ids, enrol, push, result
from tests.support.wait import until

QUEUE = "12337.commune_centre.queue"  # probed by the agent only
WEB = "12337.commune_centre.web"  # central and the agent, quorum: all
LIVE = "agent.hy-12337-lan"
U, D, G, X = State.UP, State.DOWN, State.DEGRADED, State.UNKNOWN


@pytest.mark.parametrize(
    ("states", "quorum", "expected"),
    [
        ([D, U], "any", D),
        ([D, U], "all", U),
        ([D, D], "all", D),
        ([D, U, U], "majority", U),
        ([D, D, U], "majority", D),
        ([D, U], "majority", U),  # half is not more than half
        ([G, U], "any", G),
        ([D, G], "all", G),  # all are degraded or worse, not all down
        ([D, X], "all", D),  # unknown vantages are ignored
        ([X, X], "any", X),  # unless all are unknown
        ([U, X, D], "majority", U),
    ],
)
def test_quorum_rule(states: list[State], quorum: str, expected: State) -> None:
    assert combine(states, quorum) is expected


async def _flips(sm: async_sessionmaker[AsyncSession], check_id: int) -> list[Flip]:
    async with sm() as s:
        stmt = select(Flip).where(Flip.check_id == check_id).order_by(Flip.at)
        return list((await s.execute(stmt)).scalars())


async def test_two_vantages_disagree_and_quorum_all_decides(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    monitor = app.state.monitor
    token = await enrol(client, "hy-12337-lan")
    ids = await check_ids(sm)
    web = ids[WEB]
    # the centre cannot reach 127.0.0.1:9 (refused): down from the centre
    for _ in range(2):
        await monitor.run_check(web)
    assert monitor.vantages[web].states["central"].state is State.DOWN
    assert monitor.states[web].state is State.DOWN  # the agent has not spoken: ignored
    # the commune's agent sees it up: with quorum all, the check is up
    answer = await push(client, token, [result(web, "up")])
    assert answer.status_code == 200
    assert monitor.vantages[web].states["hy-12337-lan"].state is State.UP
    assert monitor.states[web].state is State.UP
    # both down: down
    now = time.time()
    await push(client, token, [result(web, "down", at=now), result(web, "down", at=now + 0.5)])
    assert monitor.states[web].state is State.DOWN
    await monitor.pipeline.flush()

    async def written() -> bool:
        return [f.new_state for f in await _flips(sm, web)] == ["down", "up", "down"]

    await until(written, 5)
    async with sm() as s:
        rows = {
            v.vantage: v.state
            for v in (
                await s.execute(select(CheckVantage).where(CheckVantage.check_id == web))
            ).scalars()
        }
    assert rows == {"central": "down", "hy-12337-lan": "down"}
    detail = (await client.get(f"/api/v1/checks/{WEB}")).json()
    assert {v["vantage"]: v["state"] for v in detail["vantages"]} == rows


async def _silence(app: FastAPI, live_id: int, seconds: float) -> None:
    """The agent's last request was ``seconds`` ago: its liveness check runs now."""
    monitor = app.state.monitor
    monitor.states[live_id].last_beat_at = datetime.now(UTC) - timedelta(seconds=seconds)
    await monitor.run_check(live_id)


async def test_silent_agent_makes_its_checks_unknown_with_one_incident_and_replay_replaces_it(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    monitor = app.state.monitor
    token = await enrol(client, "hy-12337-lan")
    ids = await check_ids(sm)
    queue, web, live = ids[QUEUE], ids[WEB], ids[LIVE]
    start = time.time() - 600
    # ten minutes of results up to now: the queue is up
    first = [result(queue, "up", at=start + 30 * i, slot=i) for i in range(5)]
    assert (await push(client, token, first)).status_code == 200
    for _ in range(2):
        await monitor.run_check(web)  # the centre sees web down; quorum all: not down yet
    assert monitor.states[queue].state is State.UP
    # silence: the liveness check goes down; the agent's vantages become unknown
    await _silence(app, live, 600)
    assert monitor.states[live].state is State.DOWN
    assert monitor.states[queue].state is State.UNKNOWN  # never down, never up
    assert monitor.vantages[web].states["hy-12337-lan"].state is State.UNKNOWN
    assert monitor.states[web].state is State.DOWN  # the centre alone decides now
    await monitor.pipeline.flush()

    async def unknown_written() -> bool:
        return [f.new_state for f in await _flips(sm, queue)] == ["up", "unknown"]

    await until(unknown_written, 5)
    # the status page says who saw what
    page = (await client.get("/status/12337")).text
    assert "từ trung tâm: gián đoạn; từ điểm đo hy-12337-lan: không xác định" in page
    page_en = (await client.get("/status/12337?lang=en")).text
    assert "from the centre: down; from agent hy-12337-lan: unknown" in page_en
    detail = (await client.get(f"/api/v1/checks/{QUEUE}")).json()
    assert detail["locations"] == ["hy-12337-lan"]
    assert detail["vantages"][0]["state"] == "unknown" and detail["state"] == "unknown"
    async with sm() as s:
        incidents = list((await s.execute(select(Incident))).scalars())
        agent = (await s.execute(select(Agent).where(Agent.name == "hy-12337-lan"))).scalar_one()
    by_check = {i.check_id for i in incidents if i.ended_at is None}
    assert live in by_check and queue not in by_check  # one agent-offline incident
    assert agent.state == "offline"
    # it comes back and replays its spool: the unknown time is replaced by results
    replay = [result(queue, "up", at=start + 30 * i, slot=i) for i in range(5, 20)]
    answer = await push(client, token, replay)
    assert answer.status_code == 200 and answer.json()["accepted"] == 15
    assert monitor.states[live].state is State.UP
    assert monitor.states[queue].state is State.UP
    await monitor.pipeline.flush()

    async def settled() -> bool:  # the writer may hold a batch while flush() returns
        async with sm() as s:
            incident = (
                await s.execute(select(Incident).where(Incident.check_id == live))
            ).scalar_one()
        flips = [f.new_state for f in await _flips(sm, queue)]
        return incident.ended_at is not None and flips == ["up"]

    await until(settled, 5)
    async with sm() as s:
        stale = list((await s.execute(select(RollupStale))).scalars())
        agent = (await s.execute(select(Agent).where(Agent.name == "hy-12337-lan"))).scalar_one()
    assert any("hy-12337-lan" in r.reason for r in stale)
    assert agent.state == "online"


async def test_line_cut_pages_once_for_the_agent(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    """The agent saw the queue fail, then went silent (the line was cut): the queue's
    incident ends with the silence (unknown) and is never paged; the one page is the
    agent's own incident."""
    monitor = app.state.monitor
    token = await enrol(client, "hy-12337-lan")
    ids = await check_ids(sm)
    queue, live = ids[QUEUE], ids[LIVE]
    now = time.time()
    downs = [result(queue, "down", at=now - 20), result(queue, "down", at=now - 10)]
    assert (await push(client, token, downs)).status_code == 200
    assert monitor.states[queue].state is State.DOWN
    await _silence(app, live, 600)
    assert monitor.states[queue].state is State.UNKNOWN
    await monitor.pipeline.flush()

    async def written() -> bool:
        async with sm() as s:
            rows = list((await s.execute(select(Incident))).scalars())
        return {(i.check_id, i.ended_at is None) for i in rows} == {(queue, False), (live, True)}

    await until(written, 5)
    policy = parse_policy(
        {
            "channels": {"xa": {"type": "webhook", "url": "http://127.0.0.1:9/xa"}},
            "escalation": {"default": {"levels": [{"after_s": 0, "channels": ["xa"]}]}},
            "hold_s": 0,
        }
    )
    async with sm() as s, s.begin():
        report = await plan(s, PlanInput(now=datetime.now(UTC), policy=policy, maintenance=set()))
    async with sm() as s:
        paged = [
            i.check_id
            for i in (await s.execute(select(Incident))).scalars()
            if i.notify_state == "paged"
        ]
    assert report.paged == 1 and paged == [live]


async def test_an_outage_over_before_the_replay_is_recorded_not_paged(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    monitor = app.state.monitor
    token = await enrol(client, "hy-12337-lan")
    ids = await check_ids(sm)
    queue, live = ids[QUEUE], ids[LIVE]
    start = time.time() - 600
    assert (await push(client, token, [result(queue, "up", at=start, slot=0)])).status_code == 200
    await _silence(app, live, 600)
    # the spool: the queue failed for a minute during the silence, then came back
    statuses = ["up", "down", "down", "down", "up", "up"]
    replay = [
        result(queue, st, at=start + 30 * (i + 1), slot=i + 1) for i, st in enumerate(statuses)
    ]
    assert (await push(client, token, replay)).json()["accepted"] == 6
    assert monitor.states[queue].state is State.UP
    await monitor.pipeline.flush()

    expected = [("up", start), ("down", start + 60), ("up", start + 150)]
    seen: list[tuple[str, float]] = []

    async def written() -> bool:
        # times within a second: the agent's times reach SQL at millisecond precision,
        # and rounding both sides to whole seconds broke at a half second
        seen[:] = [(f.new_state, f.at.timestamp()) for f in await _flips(sm, queue)]
        return len(seen) == len(expected) and all(
            state == want and abs(at - t) < 1
            for (state, at), (want, t) in zip(seen, expected, strict=True)
        )

    try:
        await until(written, 15)  # a loaded machine (CI's xdist workers) writes late
    except AssertionError:
        raise AssertionError(f"flips of the queue check: {seen}, expected {expected}") from None
    policy = parse_policy(
        {
            "channels": {"xa": {"type": "webhook", "url": "http://127.0.0.1:9/xa"}},
            "escalation": {"default": {"levels": [{"after_s": 0, "channels": ["xa"]}]}},
            "hold_s": 0,
        }
    )
    async with sm() as s, s.begin():
        report = await plan(s, PlanInput(now=datetime.now(UTC), policy=policy, maintenance=set()))
    async with sm() as s:
        outage = (await s.execute(select(Incident).where(Incident.check_id == queue))).scalar_one()
    assert report.paged == 0  # over before anyone could act: recorded, not paged
    assert outage.started_at.timestamp() == pytest.approx(start + 60, abs=1)
    assert outage.ended_at is not None
    assert outage.ended_at.timestamp() == pytest.approx(start + 150, abs=1)
