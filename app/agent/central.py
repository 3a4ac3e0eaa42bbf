"""Talking to the central thongsuot: the config pull and the results push.

Every request carries ``Authorization: Bearer <token>`` (never in the URL),
``X-Thongsuot-Agent-Time`` (this box's clock) and ``User-Agent``. The retry rules
(docs/agents.md "The spool") live in the runner; here a response is classified.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from app.agent import USER_AGENT
from app.agent.config import AgentConfig
from probes.clients import make_ssl_context

log = logging.getLogger(__name__)

CONFIG_PATH = "/api/v1/agent/config"
RESULTS_PATH = "/api/v1/agent/results"
RETRY_AFTER_CAP_S = 300.0


class Verdict(enum.Enum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    RETRY = "retry"  # 5xx, 429, timeout, connection error: back off, same request again
    TOO_LARGE = "too_large"  # 413: split the batch
    UNAUTHORIZED = "unauthorized"  # 401: wait for a new token (SIGHUP) or the next pull
    FORBIDDEN = "forbidden"  # 403
    CLOCK_SKEW = "clock_skew"  # 422 clock_skew: keep, retry after the next pull
    REFUSED = "refused"  # any other 4xx: never sent again as is


@dataclass(slots=True)
class Answer:
    verdict: Verdict
    status: int | None = None
    body: Any = None
    etag: str | None = None
    retry_after: float | None = None
    server_time: float | None = None
    error: str = ""  # why, for the log (never the token)


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    try:
        return min(RETRY_AFTER_CAP_S, max(0.0, float(value)))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return min(RETRY_AFTER_CAP_S, max(0.0, when - now))


def classify(response: httpx.Response, now: float) -> Answer:
    status = response.status_code
    try:
        body: Any = response.json() if response.content else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    server_time: float | None = None
    if (raw := response.headers.get("x-thongsuot-server-time")) is not None:
        try:
            server_time = float(raw)
        except ValueError:
            server_time = None
    answer = Answer(Verdict.REFUSED, status, body, response.headers.get("etag"), None, server_time)
    error = body.get("error") if isinstance(body, dict) else None
    if status == 304:
        answer.verdict = Verdict.NOT_MODIFIED
    elif 200 <= status < 300:
        answer.verdict = Verdict.OK
    elif status == 429 or status >= 500:
        answer.verdict = Verdict.RETRY
        answer.retry_after = _retry_after(response.headers.get("retry-after"), now)
    elif status == 413:
        answer.verdict = Verdict.TOO_LARGE
    elif status == 401:
        answer.verdict = Verdict.UNAUTHORIZED
    elif status == 403:
        answer.verdict = Verdict.FORBIDDEN
    elif status == 422 and error == "clock_skew":
        answer.verdict = Verdict.CLOCK_SKEW
    answer.error = f"HTTP {status}" + (f" {error}" if error else "")
    return answer


KEEPALIVE_EXPIRY_S = 3.0


class Central:
    """One long-lived client to central (keep-alive: one TLS handshake, not one a push)."""

    def __init__(self, cfg: AgentConfig, token: Callable[[], str]) -> None:
        self._token = token
        verify = make_ssl_context(str(cfg.ca_file) if cfg.ca_file else None)
        self._client = httpx.AsyncClient(
            base_url=cfg.central_url,
            verify=verify,
            timeout=cfg.request_timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
            # close idle connections before central's server does (uvicorn: 5 s, the
            # push interval): a push on a connection the server is closing fails
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token()}",
            "X-Thongsuot-Agent-Time": f"{time.time():.6f}",
            **(extra or {}),
        }

    async def _send(self, method: str, path: str, **kw: Any) -> Answer:
        try:
            response = await self._client.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            return Answer(Verdict.RETRY, error=f"timeout ({type(exc).__name__})")
        except httpx.HTTPError as exc:  # connection refused/reset, DNS, TLS
            return Answer(Verdict.RETRY, error=f"{type(exc).__name__}: {exc}")
        except OSError as exc:
            return Answer(Verdict.RETRY, error=f"{type(exc).__name__}: {exc}")
        return classify(response, time.time())

    async def pull(self, etag: str | None) -> Answer:
        """``GET /api/v1/agent/config`` with ``If-None-Match``."""
        extra = {"If-None-Match": etag} if etag else None
        return await self._send("GET", CONFIG_PATH, headers=self._headers(extra))

    async def push(self, key: str, body: dict[str, Any]) -> Answer:
        """``POST /api/v1/agent/results`` under ``Idempotency-Key: key``."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = self._headers({"Idempotency-Key": key, "Content-Type": "application/json"})
        return await self._send("POST", RESULTS_PATH, content=data, headers=headers)
