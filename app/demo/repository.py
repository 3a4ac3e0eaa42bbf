"""The few reads the demo console needs: units by state, open incidents, result count."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Check, Incident, ProbeResult, Unit
from app.vocab.states import State
from app.vocab.states import worst as worst_state


@dataclass(slots=True)
class Snapshot:
    units_by_state: Counter[str] = field(default_factory=Counter)
    down_units: list[str] = field(default_factory=list)
    open_incidents: int = 0
    results: int = 0
    checks_by_kind: dict[str, Counter[str]] = field(default_factory=dict)  # kind → state → n


def worst(states: list[str]) -> State:
    """A unit is as bad as its worst enabled critical check (app.vocab.states order)."""
    return worst_state(states)


async def snapshot(session: AsyncSession) -> Snapshot:
    rows = await session.execute(
        select(Unit.code, Unit.name, Check.state, Check.kind, Check.critical)
        .join(Check, Check.unit_id == Unit.id)
        .where(Check.is_live())
        .order_by(Unit.code)
    )
    states: dict[tuple[str, str], list[str]] = {}
    snap = Snapshot()
    for code, name, state, kind, critical in rows:
        snap.checks_by_kind.setdefault(kind, Counter())[state] += 1
        if critical:
            states.setdefault((code, name), []).append(state)
    for (_, name), unit_states in states.items():
        state = worst(unit_states)
        snap.units_by_state[state] += 1
        if state == State.DOWN:
            snap.down_units.append(name)
    snap.open_incidents = await _count(session, Incident.id, Incident.ended_at.is_(None))
    snap.results = await _count(session, ProbeResult.id)
    return snap


async def _count(session: AsyncSession, column: object, *where: object) -> int:
    stmt = select(func.count(column)).where(*where)  # type: ignore[arg-type]
    return int((await session.execute(stmt)).scalar_one())


@dataclass(slots=True)
class AgentStates:
    liveness: str | None = None  # the agent's liveness check: down while it is silent
    checks: dict[str, str] = field(default_factory=dict)  # last part of the key → state


async def agent_states(session: AsyncSession, name: str) -> AgentStates:
    """The states of agent ``name``'s liveness check and of the checks in its unit."""
    from app.inventory.resolve import agent_check_key

    out = AgentStates()
    live = await session.execute(
        select(Check.state, Check.unit_id).where(Check.key == agent_check_key(name))
    )
    row = live.first()
    if row is None:
        return out
    out.liveness = row[0]
    rows = await session.execute(
        select(Check.key, Check.state).where(Check.unit_id == row[1], Check.is_live())
    )
    out.checks = {key.rsplit(".", 1)[-1]: st for key, st in rows}
    return out
