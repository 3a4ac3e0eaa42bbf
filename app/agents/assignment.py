"""What ``GET /api/v1/agent/config`` answers: the agent's own checks, their slot grid and
the secrets those checks name (and no others), with an ETag over the whole payload."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agent, Check, Unit
from app.slots import phase
from probes.secrets import SecretResolver, env_secret

log = logging.getLogger(__name__)

PULL_INTERVAL_S = 60
PUSH_INTERVAL_S = 5
MAX_BATCH = 500
MAX_SKEW_S = 300


def secret_names(config: Any) -> Iterator[str]:
    """Secret names a probe config refers to: ``secret`` and ``*_secret`` values, and
    the values of a ``secrets`` mapping (flow variables), at any depth."""
    if isinstance(config, dict):
        for key, value in config.items():
            if isinstance(value, str) and value and (key == "secret" or key.endswith("_secret")):
                yield value
            elif key == "secrets" and isinstance(value, dict):
                yield from (v for v in value.values() if isinstance(v, str) and v)
            else:
                yield from secret_names(value)
    elif isinstance(config, list):
        for item in config:
            yield from secret_names(item)


async def agent_checks(session: AsyncSession, agent: Agent) -> list[tuple[Check, str]]:
    """The live checks that name ``agent`` among their locations, of its units only."""
    stmt = (
        select(Check, Unit.code)
        .join(Unit, Unit.id == Check.unit_id)
        .where(Check.is_live(), Unit.code.in_(list(agent.units)))
        .order_by(Check.id)
    )
    return [
        (c, code) for c, code in (await session.execute(stmt)).all() if agent.name in c.locations
    ]


async def build_assignment(
    session: AsyncSession, agent: Agent, secrets: SecretResolver = env_secret
) -> tuple[dict[str, Any], str]:
    """The payload and its ETag (a quoted SHA-256 of its canonical JSON)."""
    checks = []
    for check, _unit in await agent_checks(session, agent):
        resolved: dict[str, str] = {}
        for name in sorted(set(secret_names(check.config))):
            try:
                resolved[name] = secrets(name)
            except (LookupError, OSError) as exc:  # the agent reports config errors itself
                log.error("agent %s, check %s: %s", agent.name, check.key, exc)
        checks.append(
            {
                "id": check.id,
                "key": check.key,
                "kind": check.kind,
                "target": check.target,
                "config": check.config,
                "secrets": resolved,
                "interval_s": check.interval_s,
                "timeout_s": check.timeout_s,
                "retry_interval_s": check.retry_interval_s,
                "phase_s": round(phase(check.key, check.interval_s), 6),
            }
        )
    payload = {
        "agent": agent.name,
        "pull_interval_s": PULL_INTERVAL_S,
        "push_interval_s": PUSH_INTERVAL_S,
        "max_batch": MAX_BATCH,
        "max_skew_s": MAX_SKEW_S,
        "checks": checks,
    }
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return payload, '"' + hashlib.sha256(raw.encode()).hexdigest() + '"'
