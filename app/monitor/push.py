"""``/api/v1/push/{token}``: devices (queue machines, kiosks, agents) report a beat.

No bearer token: the path token *is* the credential, so unknown tokens get a
bare 404 and nothing else. Each token is rate-limited (a token bucket).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app.deps import SessionDep, SettingsDep, WriteToken
from app.monitor.push_tokens import push_url, rotate_push_token
from probes.text import clean_text

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["push"])

RATE_PER_S = 1.0
BURST = 5.0
MAX_MESSAGE = 300
# A beat is a status and a short message: a larger body is 413, and it is read
# only after the token is known to be good.
MAX_BODY_BYTES = 4096


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Per-key token bucket; bounded memory (oldest keys are forgotten first)."""

    def __init__(self, rate: float = RATE_PER_S, burst: float = BURST, keys: int = 50_000) -> None:
        self.rate, self.burst, self.keys = rate, burst, keys
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str, now: float | None = None) -> float:
        """0 if allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        b = self._buckets.pop(key, None) or _Bucket(self.burst, now)
        b.tokens = min(self.burst, b.tokens + (now - b.at) * self.rate)
        b.at = now
        self._buckets[key] = b  # re-insert: dict order is recency
        if len(self._buckets) > self.keys:
            self._buckets.pop(next(iter(self._buckets)))
        if b.tokens >= 1:
            b.tokens -= 1
            return 0.0
        return (1 - b.tokens) / self.rate


def _limiter(request: Request) -> RateLimiter:
    limiter = getattr(request.app.state, "push_limiter", None)
    if limiter is None:
        limiter = request.app.state.push_limiter = RateLimiter()
    return limiter


def _check_id(request: Request, token: str) -> int | None:
    """The heartbeat check this token belongs to, or None (no monitor, or a stranger)."""
    monitor = getattr(request.app.state, "monitor", None)
    if monitor is None:
        return None
    check_id: int | None = monitor.check_for_push_token(token)
    return check_id


def _not_found() -> JSONResponse:
    return JSONResponse({"error": "not_found", "detail": "Not Found"}, status_code=404)


async def _beat(request: Request, token: str, status: str | None, msg: str | None) -> JSONResponse:
    monitor = request.app.state.monitor
    check_id = _check_id(request, token)
    if check_id is None:
        return _not_found()
    wait = _limiter(request).allow(token)
    if wait:
        return JSONResponse(
            {"error": "rate_limited", "detail": "quá nhiều lần gửi / too many beats"},
            status_code=429,
            headers={"Retry-After": str(math.ceil(wait))},
        )
    # a device's text is outside input: no NUL or control characters, bounded
    message = clean_text(msg or "", MAX_MESSAGE)
    if not monitor.holds_check(check_id):  # another replica owns it: relayed through SQL
        return await _relay(monitor, check_id, status, message)
    outcome = monitor.record_beat(check_id, status, message)
    state = outcome.check_row["state"] if outcome is not None else "unknown"
    return JSONResponse({"ok": True, "state": state})


async def _relay(monitor: Any, check_id: int, status: str | None, message: str) -> JSONResponse:
    """Write the beat for its check's owner (docs/design.md §4.1) and answer with the
    state last written to SQL; the database away is a 503 the device retries."""
    try:
        state = await monitor.relay_beat(check_id, status, message)
    except (SQLAlchemyError, OSError) as exc:  # the database away
        log.warning("push beat of check %d not relayed: %s", check_id, exc)
        return JSONResponse(
            {"error": "unavailable", "detail": "thử lại sau / try again later"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"ok": True, "state": state})


async def _body_fields(request: Request) -> dict[str, Any]:
    """``status`` and ``message`` from a JSON object or a form (files are refused, 400)."""
    kind = request.headers.get("content-type", "")
    try:
        if kind.startswith("application/json"):
            data = await request.json()
            return data if isinstance(data, dict) else {}
        if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            async with request.form(max_files=0, max_fields=10) as form:
                return {k: v for k, v in form.items() if isinstance(v, str)}
    except ValueError:
        return {}
    return {}


Status = Annotated[str | None, Query(pattern="^(up|ok|down|fail|failure|error)$")]


@router.get("/push/{token}")
async def push_get(
    request: Request, token: str, status: Status = None, msg: str | None = None
) -> JSONResponse:
    """Record a beat: ``?status=up|down&msg=...`` (both optional)."""
    return await _beat(request, token, status, msg)


@router.post("/push/{token}", max_body_size=MAX_BODY_BYTES)
async def push_post(
    request: Request, token: str, status: Status = None, msg: str | None = None
) -> JSONResponse:
    """Record a beat; ``status``/``message`` may also come as JSON or a form
    (at most 4 KiB; 413 beyond). An unknown token is 404 before any body is read."""
    if _check_id(request, token) is None:
        return _not_found()
    body = await _body_fields(request)
    status = status or _str(body.get("status"))
    if status is not None and status not in ("up", "ok", "down", "fail", "failure", "error"):
        return JSONResponse({"error": "unprocessable", "detail": "status: up|down"}, 422)
    return await _beat(request, token, status, msg or _str(body.get("message")))


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


@router.post("/checks/{key}/push-token", tags=["push"])
async def new_push_token(
    request: Request, key: str, session: SessionDep, settings: SettingsDep, _: WriteToken
) -> dict[str, str]:
    """Make a new push token for a heartbeat check (shown once; write token needed)."""
    check, token = await rotate_push_token(session, key)
    monitor = getattr(request.app.state, "monitor", None)
    if monitor is not None and check.push_token_hash is not None:
        monitor.set_push_token(check.id, check.push_token_hash)
    return {"check": check.key, "token": token, "url": push_url(settings.public_url, token)}
