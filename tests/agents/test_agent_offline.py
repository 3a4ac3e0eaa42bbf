"""A silent agent, as a commune head reads it (issue 14): its liveness check's incident,
the message paged and the pages say the on-site monitoring point lost contact with the
province (``agent_offline``), not that a kiosk missed a heartbeat. Real app, real
monitor, real planner, both databases."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.incidents.page import build_page
from app.models import Check, Incident, OutboxNotification
from app.notify.messages.render import render
from app.notify.planner import PlanInput, plan
from app.notify.policy import parse_policy
from app.vocab.states import State, state_word
from app.vocab.words import ERROR_KINDS
from tests.agents.conftest import check_ids, enrol, push, result
from tests.support.notes import make_note
from tests.support.wait import until

AGENT = "hy-12337-lan"
QUEUE = "12337.commune_centre.queue"  # probed by the agent only
LIVE = f"agent.{AGENT}"
VI = f"mất liên lạc với điểm đo tại chỗ {AGENT} (đường truyền từ xã về tỉnh có thể bị gián đoạn)"
EN = f"lost contact with the on-site monitoring agent {AGENT} (the line from the commune to the "
EN += "province may be cut)"
KIOSK = (ERROR_KINDS["missed_heartbeat"][0], ERROR_KINDS["missed_heartbeat"][1])

POLICY = {
    "channels": {"xa": {"type": "webhook", "url": "http://127.0.0.1:9/xa"}},
    "escalation": {"default": {"levels": [{"after_s": 0, "channels": ["xa"]}]}},
    "hold_s": 0,
}


async def _silence(app: FastAPI, live_id: int, seconds: float) -> None:
    """The agent's last request was ``seconds`` ago: its liveness check runs now."""
    monitor = app.state.monitor
    monitor.states[live_id].last_beat_at = datetime.now(UTC) - timedelta(seconds=seconds)
    await monitor.run_check(live_id)


async def _silent_with_incident(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], app: FastAPI
) -> tuple[dict[str, int], Incident]:
    monitor = app.state.monitor
    token = await enrol(client, AGENT)
    ids = await check_ids(sm)
    now = time.time()
    ups = [result(ids[QUEUE], "up", at=now - 20), result(ids[QUEUE], "up", at=now - 10)]
    assert (await push(client, token, ups)).status_code == 200
    await _silence(app, ids[LIVE], 600)
    assert monitor.states[ids[QUEUE]].state is State.UNKNOWN
    await monitor.pipeline.flush()

    async def written() -> Incident | None:
        async with sm() as s:
            stmt = select(Incident).where(Incident.check_id == ids[LIVE])
            return (await s.execute(stmt)).scalar_one_or_none()

    async def found() -> bool:
        return await written() is not None

    await until(found, 5)
    incident = await written()
    assert incident is not None
    return ids, incident


async def test_agent_offline_words_in_the_incident_the_page_and_the_message(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    _, incident = await _silent_with_incident(client, sm, app)
    assert incident.error_kind == "agent_offline"
    async with sm() as s:
        live = (await s.execute(select(Check).where(Check.key == LIVE))).scalar_one()
    assert live.name == f"Kết nối từ điểm đo tại chỗ {AGENT} về tỉnh"  # the agent's link
    # the incident page
    async with sm() as s:
        page_vi = await build_page(s, incident.id, "vi", None, with_addresses=False)
        page_en = await build_page(s, incident.id, "en", None, with_addresses=False)
    assert page_vi is not None and page_en is not None
    assert (page_vi.cause, page_en.cause) == (VI, EN)
    # the message paged to the unit's contacts, from the outbox row the planner wrote
    async with sm() as s, s.begin():
        report = await plan(
            s, PlanInput(now=datetime.now(UTC), policy=parse_policy(POLICY), maintenance=set())
        )
    assert report.paged == 1
    async with sm() as s:
        row = (await s.execute(select(OutboxNotification))).scalar_one()
    body = row.payload
    texts = []
    for lang in ("vi", "en"):
        note = make_note(
            lang=lang,
            unit_code=body["unit_code"],
            unit_name=body["unit_name"],
            unit_kind=body["unit_kind"],
            service_kind=body["service_kind"],
            service_name=body["service_name"],
            check_key=body["check_key"],
            check_name=body["check_name"],
            error_kind=body["error_kind"],
            message=body["message"],
        )
        message = render(note)
        texts.append(message.text + message.short)
    assert VI in texts[0] and EN in texts[1]
    assert not any(k in t for k in KIOSK for t in texts)  # not a kiosk's missed beat
    # the status page: the agent's check is unknown because its agent went silent
    page = (await client.get("/status/12337")).text
    assert VI[:1].upper() + VI[1:] in page
    assert KIOSK[0] not in page.lower()
    page = (await client.get("/status/12337?lang=en")).text
    assert EN[:1].upper() + EN[1:] in page


async def test_a_silent_agent_leaves_its_unit_unknown_and_pages_once(
    client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession], app: FastAPI
) -> None:
    """The agent saw the queue fail, then the line was cut: the unit is unknown (its
    agent's checks are), never down; one notification, the agent's, goes out; the
    queue's incident is not paged."""
    monitor = app.state.monitor
    token = await enrol(client, AGENT)
    ids = await check_ids(sm)
    queue, live = ids[QUEUE], ids[LIVE]
    unit = (await client.get("/api/v1/units/12337")).json()
    assert unit["state"] == "unknown"  # nothing known yet
    now = time.time()
    downs = [result(queue, "down", at=now - 20), result(queue, "down", at=now - 10)]
    assert (await push(client, token, downs)).status_code == 200
    await monitor.pipeline.flush()

    async def unit_down() -> bool:
        return bool((await client.get("/api/v1/units/12337")).json()["state"] == "down")

    await until(unit_down, 5)  # the agent saw the queue down: the commune is down
    await _silence(app, live, 600)
    assert monitor.states[live].state is State.DOWN
    assert monitor.states[queue].state is State.UNKNOWN
    await monitor.pipeline.flush()

    async def unit_unknown() -> bool:
        return bool((await client.get("/api/v1/units/12337")).json()["state"] == "unknown")

    await until(unit_unknown, 5)
    async with sm() as s:
        live_check = (await s.execute(select(Check).where(Check.id == live))).scalar_one()
    assert live_check.state == "down" and live_check.critical is False
    # the status page: the commune is unknown because its agent went silent, not down
    page = (await client.get("/status/12337")).text
    badge = (await client.get("/api/v1/units/12337")).json()["state"]
    assert badge == "unknown"
    assert VI[:1].upper() + VI[1:] in page
    svg = (await client.get("/status/12337/badge.svg")).text  # the unit's state on the page
    assert state_word("unknown") in svg and state_word("down") not in svg
    async with sm() as s, s.begin():
        report = await plan(
            s, PlanInput(now=datetime.now(UTC), policy=parse_policy(POLICY), maintenance=set())
        )
    async with sm() as s:
        rows = list((await s.execute(select(OutboxNotification))).scalars())
        incidents = {i.check_id: i for i in (await s.execute(select(Incident))).scalars()}
    assert report.paged == 1
    assert [(r.event, r.payload["check_key"]) for r in rows] == [("down", LIVE)]
    assert rows[0].payload["error_kind"] == "agent_offline"
    assert incidents[queue].notify_state != "paged" and incidents[queue].ended_at is not None
    assert incidents[live].notify_state == "paged" and incidents[live].ended_at is None
