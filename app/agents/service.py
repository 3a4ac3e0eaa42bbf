"""Agents and their tokens: issue (shown once, stored as SHA-256), rotate (two active at
most), revoke, list, and authenticate an agent's bearer token. Callers commit."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import hash_token
from app.errors import Conflict, NotFound
from app.models import Agent, AgentToken
from app.models.base import utcnow

MAX_ACTIVE_TOKENS = 2  # the one in use and its replacement (rotation)
TOKEN_PREFIX = "tsa_"  # "thongsuot agent": recognisable in a leaked file or log
SHOWN_PREFIX = 10  # characters of a token kept to tell tokens apart (tsa_ + 6)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    agent: str
    token_id: int
    token: str  # the plaintext: shown once, never stored
    prefix: str


async def get_agent(session: AsyncSession, name: str) -> Agent | None:
    return (await session.execute(select(Agent).where(Agent.name == name))).scalar_one_or_none()


async def _declared(session: AsyncSession, name: str, inventory: Path | None) -> Agent:
    """The agent row; created from the inventory's ``agents:`` when the monitor has
    not synced it yet. An agent not declared anywhere is 404."""
    agent = await get_agent(session, name)
    if agent is not None:
        if agent.disabled_at is not None:
            raise NotFound(
                f"Agent {name!r} không còn trong danh mục (inventory) / "
                f"agent {name!r} is no longer declared in the inventory"
            )
        return agent
    if inventory is not None:
        from app.inventory.loader import load_resolved

        _, flat = load_resolved(inventory)
        for spec in flat.agents:
            if spec.name == name:
                agent = Agent(
                    name=name,
                    units=list(spec.units),
                    offline_after_s=spec.offline_after_s,
                    state="pending",
                    state_since=utcnow(),
                )
                session.add(agent)
                await session.flush()
                return agent
    raise NotFound(
        f"Chưa khai báo agent {name!r} trong mục agents: của danh mục / "
        f"agent {name!r} is not declared under agents: in the inventory"
    )


async def active_tokens(session: AsyncSession, agent: Agent) -> list[AgentToken]:
    stmt = (
        select(AgentToken)
        .where(AgentToken.agent_id == agent.id, AgentToken.revoked_at.is_(None))
        .order_by(AgentToken.id)
    )
    return list((await session.execute(stmt)).scalars())


async def issue_token(
    session: AsyncSession, name: str, inventory: Path | None = None, *, first: bool = False
) -> IssuedToken:
    """A new token for agent ``name``. ``first`` (``agent create``): refused when the
    agent already has one (use ``agent token`` to rotate). At most two active: a third
    is refused until one is revoked."""
    agent = await _declared(session, name, inventory)
    active = await active_tokens(session, agent)
    if first and active:
        raise Conflict(
            f"Agent {name!r} đã có mã; dùng `thongsuot agent token {name}` để thêm mã mới / "
            f"agent {name!r} already has a token; use `agent token` to rotate"
        )
    if len(active) >= MAX_ACTIVE_TOKENS:
        raise Conflict(
            f"Agent {name!r} đã có {MAX_ACTIVE_TOKENS} mã đang dùng; thu hồi một mã trước / "
            f"agent {name!r} has {MAX_ACTIVE_TOKENS} active tokens: revoke one first"
        )
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AgentToken(
        agent_id=agent.id, token_hash=hash_token(plaintext), prefix=plaintext[:SHOWN_PREFIX]
    )
    session.add(token)
    await session.flush()
    return IssuedToken(agent.name, token.id, plaintext, token.prefix)


async def revoke_tokens(
    session: AsyncSession,
    name: str,
    *,
    token_id: int | None = None,
    prefix: str | None = None,
) -> list[AgentToken]:
    """Revoke one token (by id or by its shown prefix) or, with neither, all of the
    agent's active tokens. 404 when nothing matches."""
    agent = await get_agent(session, name)
    if agent is None:
        raise NotFound(f"Không có agent {name!r} / no agent {name!r}")
    found = [
        t
        for t in await active_tokens(session, agent)
        if (token_id is None or t.id == token_id)
        and (prefix is None or t.prefix.startswith(prefix))
    ]
    if not found or (prefix is not None and len(found) > 1):
        what = "khớp nhiều mã" if found else "không có mã đang dùng nào khớp"
        raise NotFound(f"Agent {name!r}: {what} / no single active token matches")
    now = utcnow()
    for token in found:
        token.revoked_at = now
    await session.flush()
    return found


async def list_agents(session: AsyncSession) -> list[tuple[Agent, list[AgentToken]]]:
    agents = list((await session.execute(select(Agent).order_by(Agent.name))).scalars())
    tokens = list((await session.execute(select(AgentToken).order_by(AgentToken.id))).scalars())
    by_agent: dict[int, list[AgentToken]] = {}
    for token in tokens:
        by_agent.setdefault(token.agent_id, []).append(token)
    return [(a, by_agent.get(a.id, [])) for a in agents]


async def authenticate(session: AsyncSession, plaintext: str) -> Agent | None:
    """The enabled agent whose unrevoked token this is (``last_used_at`` updated), else
    None: unknown, revoked and disabled are not told apart (one 401 body for all)."""
    digest = hash_token(plaintext)
    row = (
        await session.execute(
            select(AgentToken, Agent)
            .join(Agent, Agent.id == AgentToken.agent_id)
            .where(AgentToken.token_hash == digest)
        )
    ).first()
    if row is None:
        return None
    token, agent = row[0], row[1]
    if token.revoked_at is not None or agent.disabled_at is not None:
        return None
    if not hmac.compare_digest(token.token_hash, digest):
        return None
    token.last_used_at = utcnow()
    return agent


def agent_summary(agent: Agent, tokens: list[AgentToken]) -> dict[str, object]:
    """What the API and ``agent list`` show of an agent (never a token or its hash)."""
    return {
        "name": agent.name,
        "units": list(agent.units),
        "state": agent.state,
        "state_since": _iso(agent.state_since),
        "last_seen_at": _iso(agent.last_seen_at),
        "clock_offset_s": agent.clock_offset_s,
        "version": agent.version,
        "host": agent.host,
        "offline_after_s": agent.offline_after_s,
        "disabled": agent.disabled_at is not None,
        "tokens": [
            {
                "id": t.id,
                "prefix": t.prefix,
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in tokens
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
