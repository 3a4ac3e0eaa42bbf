"""``/api/v1/agents``: enrol remote agents and rotate their tokens (write token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.agents import service
from app.deps import SessionDep, SettingsDep, WriteToken
from app.inventory.document import AGENT_NAME

router = APIRouter(tags=["agents"])


class AgentCreate(BaseModel):
    name: str = Field(pattern=AGENT_NAME, description="an agent declared under agents:")


def _issued(issued: service.IssuedToken) -> dict[str, Any]:
    return {
        "agent": issued.agent,
        "token_id": issued.token_id,
        "token": issued.token,
        "prefix": issued.prefix,
        "detail": "chỉ hiển thị một lần / shown only once",
    }


@router.get("/agents")
async def list_agents(session: SessionDep, _: WriteToken) -> list[dict[str, Any]]:
    """Every agent: units, state, last seen, clock offset, its tokens (prefixes only)."""
    return [service.agent_summary(a, t) for a, t in await service.list_agents(session)]


@router.post("/agents", status_code=201)
async def create_agent(
    body: AgentCreate, session: SessionDep, settings: SettingsDep, _: WriteToken
) -> dict[str, Any]:
    """The first token of a declared agent, shown once (409 if it has one: rotate)."""
    issued = await service.issue_token(session, body.name, settings.inventory, first=True)
    return _issued(issued)


@router.post("/agents/{name}/tokens", status_code=201)
async def new_agent_token(
    name: str, session: SessionDep, settings: SettingsDep, _: WriteToken
) -> dict[str, Any]:
    """Another token for rotation, shown once (409 when two are active already)."""
    return _issued(await service.issue_token(session, name, settings.inventory))


@router.delete("/agents/{name}/tokens/{token_id}")
async def revoke_agent_token(
    name: str, token_id: int, session: SessionDep, _: WriteToken
) -> dict[str, Any]:
    """Revoke one token of the agent; its next request is 401."""
    revoked = await service.revoke_tokens(session, name, token_id=token_id)
    return {"agent": name, "revoked": [t.id for t in revoked]}
