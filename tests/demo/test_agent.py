"""The demo's commune agent, sped up: the real ``thongsuot agent run`` behind a line
that the script cuts.

It enrols and shows up in ``/api/v1/agents``; results arrive from its vantage for the
LAN check (agent only) and the portal check (central + agent); while the line is cut
the agent goes offline (its liveness check down, one incident), its LAN check is
unknown; after the line returns the spool is replayed: rows observed during the cut
arrive, each once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.service import create_token
from app.config import Settings
from app.demo.agent import LAN_CHECK, LineRelay, agent_name
from app.demo.inventory import DemoExtras
from app.demo.script import Behaviour, FarmScript, UnitPlan
from app.demo.stack import demo_stack
from app.demo.units import demo_units
from app.inventory.resolve import agent_check_key
from app.models import Check, Incident, ProbeResult
from tests.support.wait import until

UNITS = 2
CODES = [u.code for u in demo_units(UNITS)]
CUT_AT, CUT_S = 20.0, 22.0


def _script() -> FarmScript:
    return FarmScript(
        codes=tuple(CODES),
        overrides={code: UnitPlan(Behaviour.HEALTHY) for code in CODES},
        line_cut_at_s=CUT_AT,  # after the agent's start
        line_cut_s=CUT_S,
        line_cycle_s=1000.0,
    )


async def _state(sm: async_sessionmaker[AsyncSession], key: str) -> str | None:
    async with sm() as s:
        return await s.scalar(select(Check.state).where(Check.key == key))


async def _rows(
    sm: async_sessionmaker[AsyncSession], vantage: str, key: str | None = None
) -> list[tuple[datetime, str]]:
    async with sm() as s:
        stmt = (
            select(ProbeResult.at, ProbeResult.uid)
            .join(Check, Check.id == ProbeResult.check_id)
            .where(ProbeResult.vantage == vantage)
        )
        if key is not None:
            stmt = stmt.where(Check.key == key)
        return [
            (at if at.tzinfo else at.replace(tzinfo=UTC), uid) for at, uid in await s.execute(stmt)
        ]


def _cut(relay: LineRelay) -> bool:
    return relay.cut


@pytest.mark.slow
async def test_demo_agent_spools_through_a_line_cut_and_replays(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = Settings(database_url=db_url, flush_interval_s=0.1)
    extras = DemoExtras(kiosks=0, agent=True, agent_offline_after_s=10)
    async with demo_stack(
        settings, UNITS, tmp_path, script=_script(), interval_s=1, timeout_s=0.8,
        extras=extras, port=0,
    ) as stack:  # fmt: skip
        agent = stack.agent
        assert agent is not None
        code = agent.unit.code
        name = agent_name(code)
        assert agent.name == name and code in CODES
        lan_key = f"{code}.commune_centre.{LAN_CHECK}"
        portal_key = f"{code}.commune_centre.dvc"
        async with sessionmaker() as s, s.begin():
            write = await create_token(s, "demo-agent-test", scope="write")

        # it shows up, online, and its results arrive from its vantage for both checks
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as client:

            async def online() -> bool:
                r = await client.get("/api/v1/agents", headers={"Authorization": f"Bearer {write}"})
                assert r.status_code == 200, r.text
                mine = [a for a in r.json() if a["name"] == name]
                return bool(mine) and mine[0]["state"] == "online"

            await until(online, within=30)
        async with sessionmaker() as s:
            locations = await s.scalar(select(Check.locations).where(Check.key == portal_key))
        assert list(locations or []) == ["central", name]

        async def from_agent() -> bool:
            return bool(await _rows(sessionmaker, name, lan_key)) and bool(
                await _rows(sessionmaker, name, portal_key)
            )

        await until(from_agent, within=30)
        assert await _rows(sessionmaker, "central", lan_key) == []  # the LAN: agent only
        assert await _state(sessionmaker, lan_key) == "up"

        # the cut: the agent goes offline, its LAN check unknown, one incident
        await until(lambda: _cut(agent.relay), within=CUT_AT + 10, every=0.2)
        cut_began = datetime.now(UTC)
        liveness = agent_check_key(name)

        async def offline() -> bool:
            return (
                await _state(sessionmaker, liveness) == "down"
                and await _state(sessionmaker, lan_key) == "unknown"
            )

        await until(offline, within=CUT_S, every=0.2)
        assert agent.relay.cut, "the agent went offline only after the line came back"
        async with sessionmaker() as s:
            opened = await s.scalar(
                select(func.count(Incident.id))
                .join(Check, Check.id == Incident.check_id)
                .where(Check.key == liveness, Incident.ended_at.is_(None))
            )
        assert opened == 1

        # the line returns: the spool replays what was observed during the cut
        await until(lambda: not _cut(agent.relay), within=CUT_S + 5, every=0.2)
        cut_ended = datetime.now(UTC)

        async def replayed() -> bool:
            rows = await _rows(sessionmaker, name, lan_key)
            during = [at for at, _ in rows if cut_began < at < cut_ended]
            return len(during) >= CUT_S / 2 and await _state(sessionmaker, liveness) == "up"

        await until(replayed, within=90, every=0.5)
        await asyncio.sleep(1.5)
        rows = await _rows(sessionmaker, name)
        assert len({uid for _, uid in rows}) == len(rows)  # each once
        assert await _state(sessionmaker, lan_key) == "up"
