"""The agent protocol (docs/agents.md "Protocol"): ``GET /api/v1/agent/config`` and
``POST /api/v1/agent/results``, authenticated by the agent's bearer token.

Results enter the monitor in the process that serves the API
(``Monitor.record_vantage_result``) and, unlike push beats, are not relayed through
SQL to their check's owner, so one replica serves the agents (docs/agents.md). Every answer carries
``X-Thongsuot-Server-Time``; every request measures the agent's clock offset.
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounting.checks import mark_stale
from app.accounting.days import local_day
from app.agents import service
from app.agents.assignment import MAX_BATCH, MAX_SKEW_S, build_assignment
from app.deps import SessionDep
from app.models import Agent, AgentBatch, ProbeResult
from probes.base import ErrorKind, Status
from probes.base import ProbeResult as Observation

router = APIRouter(prefix="/api/v1/agent", tags=["agent protocol"])

MAX_BODY_BYTES = 4 * 1024 * 1024
BUSY_FRACTION = 0.8  # the monitor's pipeline this full: 429, the agent keeps its batch
RETRY_AFTER_S = 5
KEEP_BATCHES = timedelta(hours=48)  # a replayed Idempotency-Key is answered this long
PRUNE_EVERY_S = 3600.0
_UNAUTHORIZED = {
    "error": "unauthorized",
    "detail": "mã agent không hợp lệ hoặc đã bị thu hồi / invalid or revoked agent token",
}


class ResultIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    uid: str = Field(pattern=r"^[0-9a-f]{32}$")
    check_id: int = Field(ge=1, le=2**63 - 1)
    slot: int | None = Field(default=None, ge=-(2**62), le=2**62)
    at: float = Field(allow_inf_nan=False, ge=0)
    status: Status
    latency_ms: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    error_kind: ErrorKind | None = None
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    results: list[ResultIn]
    spool: dict[str, Any] | None = None


def _answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    out = {"X-Thongsuot-Server-Time": f"{time.time():.6f}", **(headers or {})}
    if body is None:
        return Response(status_code=status, headers=out)
    return JSONResponse(body, status_code=status, headers=out)


def _monitor(request: Request) -> Any:
    return getattr(request.app.state, "monitor", None)


async def _identify(
    request: Request, session: AsyncSession, received: float
) -> tuple[Agent, float | None] | Response:
    """The agent behind the bearer token, with its clock offset measured now."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    agent = None
    if scheme.lower() == "bearer" and token.strip():
        agent = await service.authenticate(session, token.strip())
    monitor = _monitor(request)
    if agent is None:
        if monitor is not None:
            monitor.agent_metrics.refused.labels("unauthorized").inc()
        return _answer(_UNAUTHORIZED, 401, {"WWW-Authenticate": "Bearer"})
    offset: float | None = None
    try:
        agent_time = float(request.headers.get("x-thongsuot-agent-time", ""))
        if math.isfinite(agent_time):
            offset = round(received - agent_time, 3)
    except ValueError:
        pass
    now = datetime.fromtimestamp(received, UTC)
    agent.last_seen_at = now
    if offset is not None:
        agent.clock_offset_s = offset
    agent_ua = request.headers.get("user-agent", "")
    if agent_ua.startswith("thongsuot-agent/"):
        agent.version = agent_ua.removeprefix("thongsuot-agent/")[:64]
    agent.host = (request.client.host if request.client else "")[:255]
    if agent.state != "online":
        agent.state, agent.state_since = "online", now
    if monitor is not None:
        if offset is not None:
            monitor.agent_metrics.clock_offset.labels(agent.name).set(offset)
        monitor.agent_seen(agent.name, now)
    return agent, offset


@router.get("/config")
async def agent_config(request: Request, session: SessionDep) -> Response:
    """This agent's checks (and only their secrets); ``If-None-Match`` → 304."""
    who = await _identify(request, session, time.time())
    if isinstance(who, Response):
        return who
    agent, _ = who
    payload, etag = await build_assignment(session, agent)
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return _answer(None, 304, {"ETag": etag})
    return _answer(payload, 200, {"ETag": etag})


def _error(status: int, error: str, detail: str, **extra: Any) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status in (429, 503) else None
    return _answer({"error": error, "detail": detail, **extra}, status, headers)


@router.post("/results")
async def agent_results(request: Request, session: SessionDep) -> Response:
    """A batch of results (``Idempotency-Key``): 200 with what was taken, or an error
    the agent acts on (401, 403 not_assigned, 413, 422 clock_skew, 429/503 + Retry-After)."""
    received = time.time()
    who = await _identify(request, session, received)
    if isinstance(who, Response):
        return who
    agent, offset = who
    monitor = _monitor(request)
    key = request.headers.get("idempotency-key", "")
    if not key or len(key) > 64 or not key.isprintable():
        return _error(400, "bad_request", "Idempotency-Key: 1..64 printable characters")
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        return _refused(monitor, "too_large", _too_large())
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return _refused(monitor, "too_large", _too_large())
    stored = await session.get(AgentBatch, (agent.id, key))
    if stored is not None:  # a replayed batch: the answer it had
        return _answer(stored.response)
    try:
        batch = BatchIn.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        detail = exc.errors(include_url=False) if isinstance(exc, ValidationError) else str(exc)
        return _answer({"error": "unprocessable", "detail": detail}, 422)
    if len(batch.results) > MAX_BATCH:
        return _refused(monitor, "too_large", _too_large())
    if offset is None:
        return _error(400, "bad_request", "X-Thongsuot-Agent-Time: the agent's unix time")
    if abs(offset) > MAX_SKEW_S:
        return _refused(
            monitor,
            "clock_skew",
            _error(
                422,
                "clock_skew",
                f"đồng hồ của agent lệch {offset:+.0f} s so với máy chủ (tối đa {MAX_SKEW_S} s); "
                f"hãy đồng bộ NTP / the agent's clock is {offset:+.0f} s off (at most "
                f"{MAX_SKEW_S} s): fix its NTP",
                offset_s=offset,
                max_skew_s=MAX_SKEW_S,
            ),
        )
    if monitor is None or not monitor.ready:
        return _error(503, "unavailable", "bộ giám sát chưa chạy / the monitor is not running")
    for item in batch.results:
        if not monitor.agent_may_report(agent.name, list(agent.units), item.check_id):
            monitor.agent_metrics.refused.labels("not_assigned").inc()
            return _answer(
                {
                    "error": "not_assigned",
                    "check_id": item.check_id,
                    "detail": "kiểm tra này không giao cho agent này / not this agent's check",
                },
                403,
            )
    pipeline = monitor.pipeline
    if pipeline.depth >= BUSY_FRACTION * pipeline._capacity:
        return _refused(monitor, "busy", _error(429, "busy", "máy chủ đang bận / central is busy"))
    accepted, duplicates = await _take(session, monitor, agent, batch.results, offset, received)
    await _prune_batches(request, session, received)
    response = {"accepted": accepted, "duplicates": duplicates, "clock_offset_s": offset}
    session.add(
        AgentBatch(
            agent_id=agent.id,
            key=key,
            received_at=datetime.fromtimestamp(received, UTC),
            response=response,
        )
    )
    return _answer(response)


async def _prune_batches(request: Request, session: AsyncSession, received: float) -> None:
    """Idempotency keys older than 48 h go, at most once an hour per process."""
    last: float = getattr(request.app.state, "agent_batches_pruned", 0.0)
    if last and time.monotonic() - last < PRUNE_EVERY_S:
        return
    request.app.state.agent_batches_pruned = time.monotonic()
    cutoff = datetime.fromtimestamp(received, UTC) - KEEP_BATCHES
    await session.execute(delete(AgentBatch).where(AgentBatch.received_at < cutoff))


def _too_large() -> Response:
    return _answer(
        {
            "error": "payload_too_large",
            "detail": f"tối đa {MAX_BATCH} kết quả mỗi lô / at most {MAX_BATCH} results a batch",
            "max_batch": MAX_BATCH,
        },
        413,
    )


def _refused(monitor: Any, reason: str, answer: Response) -> Response:
    if monitor is not None:
        monitor.agent_metrics.refused.labels(reason).inc()
    return answer


async def _take(
    session: AsyncSession,
    monitor: Any,
    agent: Agent,
    items: list[ResultIn],
    offset: float,
    received: float,
) -> tuple[int, int]:
    """Evaluate the new results in order of ``at``; skip those stored already (by uid,
    or by their (check, vantage, slot)). Late ones (a spool replay) mark their days'
    rollups stale; the first one after a silence takes back the unknown flip (through
    the pipeline, after the flip itself)."""
    fresh, duplicates = await _new_only(session, monitor, agent.name, items)
    now = datetime.fromtimestamp(received, UTC)
    earliest_late: datetime | None = None
    accepted = 0
    for item in sorted(fresh, key=lambda r: r.at):
        at = datetime.fromtimestamp(min(item.at + offset, received), UTC)
        result = Observation(
            item.status,
            item.latency_ms / 1000,
            item.error_kind if item.status is not Status.UP else None,
            item.message,
            item.details,
        )
        outcome, _ = monitor.record_vantage_result(
            item.check_id, agent.name, result, at, item.slot, item.uid
        )
        if outcome is None:  # the check left the inventory meanwhile
            continue
        accepted += 1
        rc = monitor.checks[item.check_id]
        if at < now - timedelta(seconds=2 * rc.interval_s):
            earliest_late = at if earliest_late is None else min(earliest_late, at)
    if earliest_late is not None:
        mark_stale(
            session,
            local_day(earliest_late),
            local_day(now),
            f"late results from agent {agent.name}",
        )
    monitor.agent_metrics.results.labels(agent.name).inc(accepted)
    return accepted, duplicates


async def _new_only(
    session: AsyncSession, monitor: Any, vantage: str, items: list[ResultIn]
) -> tuple[list[ResultIn], int]:
    uids = [r.uid for r in items]
    stored = set(
        (await session.execute(select(ProbeResult.uid).where(ProbeResult.uid.in_(uids)))).scalars()
    )
    slotted = [r for r in items if r.slot is not None]
    filled: set[tuple[int, int]] = set()
    if slotted:
        rows = await session.execute(
            select(ProbeResult.check_id, ProbeResult.slot).where(
                ProbeResult.vantage == vantage,
                ProbeResult.check_id.in_({r.check_id for r in slotted}),
                ProbeResult.slot.in_({r.slot for r in slotted}),
            )
        )
        filled = {(c, s) for c, s in rows.all() if s is not None}
    fresh: list[ResultIn] = []
    seen_slots: set[tuple[int, int]] = set()
    for item in items:
        slot_key = (item.check_id, item.slot) if item.slot is not None else None
        if (
            item.uid in stored
            or (slot_key is not None and (slot_key in filled or slot_key in seen_slots))
            or monitor.seen_uid(item.uid)
            # a slot taken moments ago and not written yet
            or (slot_key is not None and monitor.seen_uid(f"{vantage}:{item.check_id}:{item.slot}"))
        ):
            continue
        if slot_key is not None:
            seen_slots.add(slot_key)
        fresh.append(item)
    return fresh, len(items) - len(fresh)
