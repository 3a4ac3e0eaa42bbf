"""A loopback stand-in for central's agent endpoints, to the wire format of
docs/agents.md "Protocol" (the real endpoints are tested in tests/api): bearer token,
ETag / 304 on the config, Idempotency-Key replay, uniqueness by uid and by
(check, slot), 413 over ``max_batch``, 422 clock_skew, scripted 429/503 with Retry-After.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from tests.support.http import Reply, Request, ScriptedHTTP


@dataclass
class FakeCentral:
    tokens: set[str]
    assignment: dict[str, Any]
    max_batch: int = 500
    max_skew_s: float = 300.0
    skew_s: float = 0.0  # added to the agent's clock before judging it
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # by uid
    by_slot: dict[tuple[int, int], str] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> stored answer
    keys_seen: list[tuple[str, int]] = field(default_factory=list)  # (key, status) of pushes
    script: list[Reply] = field(default_factory=list)  # next replies to pushes, used once
    script_skips_keepalive: bool = False  # the script answers only batches with results
    away: bool = False  # every push and pull: 503 Retry-After: 1
    spool_reports: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    answered: list[tuple[str, int]] = field(default_factory=list)  # (path, status)
    server: ScriptedHTTP = field(init=False)

    def __post_init__(self) -> None:
        self.server = ScriptedHTTP(handler=self.handle)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeCentral:
        self.server.host, self.server.port = host, port
        await self.server.start()
        return self

    async def close(self) -> None:
        await self.server.close()

    @property
    def url(self) -> str:
        return self.server.origin

    def etag(self) -> str:
        data = json.dumps(self.assignment, sort_keys=True).encode()
        return '"' + hashlib.sha256(data).hexdigest()[:16] + '"'

    def requests(self, path: str) -> list[Request]:
        return [r for r in self.server.requests if r.path == path]

    def _reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        head = {"X-Thongsuot-Server-Time": f"{time.time():.6f}", **(headers or {})}
        if body is None:
            return Reply(status, b"", head)
        return Reply(status, json=body, headers=head)

    def handle(self, req: Request) -> Reply:
        reply = self._handle(req)
        self.answered.append((req.path, reply.status))
        return reply

    def statuses(self, path: str) -> list[int]:
        return [status for p, status in self.answered if p == path]

    def _handle(self, req: Request) -> Reply:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return self._reply(401, {"error": "unauthorized"})
        try:
            agent_time = float(req.headers["x-thongsuot-agent-time"])
        except (KeyError, ValueError):
            return self._reply(400, {"error": "agent_time"})
        if not req.headers.get("user-agent", "").startswith("thongsuot-agent/"):
            return self._reply(400, {"error": "user_agent"})
        if self.away:
            if req.path == "/api/v1/agent/results":
                self.keys_seen.append((req.headers.get("idempotency-key", ""), 503))
            return self._reply(503, {"error": "away"}, {"Retry-After": "1"})
        offset = time.time() - (agent_time + self.skew_s)
        if req.method == "GET" and req.path == "/api/v1/agent/config":
            tag = self.etag()
            if req.headers.get("if-none-match") == tag:
                return self._reply(304, None, {"ETag": tag})
            body = {**self.assignment, "max_skew_s": self.max_skew_s}
            return self._reply(200, body, {"ETag": tag})
        if req.method == "POST" and req.path == "/api/v1/agent/results":
            key = req.headers.get("idempotency-key", "")
            if not key or len(key) > 64:
                return self._reply(400, {"error": "idempotency_key"})
            reply = self._push(req, key, offset)
            self.keys_seen.append((key, reply.status))
            return reply
        return self._reply(404, {"error": "not_found"})

    def _push(self, req: Request, key: str, offset: float) -> Reply:
        if key in self.batches:
            return self._reply(200, self.batches[key])
        body = req.json()
        results = body["results"]
        if self.script and (results or not self.script_skips_keepalive):
            return self.script.pop(0)
        if len(results) > self.max_batch:
            return self._reply(413, {"error": "too_large", "max_batch": self.max_batch})
        if abs(offset) > self.max_skew_s:
            return self._reply(
                422,
                {
                    "error": "clock_skew",
                    "offset_s": offset,
                    "max_skew_s": self.max_skew_s,
                    "detail": "đồng hồ lệch",
                },
            )
        mine = {c["id"] for c in self.assignment["checks"]}
        for r in results:
            if r["check_id"] not in mine:
                return self._reply(403, {"error": "not_assigned", "check_id": r["check_id"]})
        accepted = duplicates = 0
        for r in results:
            slot_key = (r["check_id"], r["slot"]) if r["slot"] is not None else None
            if r["uid"] in self.results or (slot_key is not None and slot_key in self.by_slot):
                duplicates += 1
                continue
            self.results[r["uid"]] = r
            if slot_key is not None:
                self.by_slot[slot_key] = r["uid"]
            accepted += 1
        self.duplicates += duplicates
        if "spool" in body:
            self.spool_reports.append(body["spool"])
        answer = {"accepted": accepted, "duplicates": duplicates, "clock_offset_s": offset}
        self.batches[key] = answer
        return self._reply(200, answer)


def assignment(
    target: str, *, checks: int = 2, interval_s: float = 1.0, **kw: Any
) -> dict[str, Any]:
    return {
        "agent": "hy-12337-lan",
        "pull_interval_s": kw.pop("pull_interval_s", 60),
        "push_interval_s": kw.pop("push_interval_s", 0.5),
        "max_batch": kw.pop("max_batch", 500),
        "max_skew_s": 300,
        "checks": [
            {
                "id": 17 + i,
                "key": f"12337.lan.c{i}",
                "kind": "http",
                "target": target,
                "config": {"url": target},
                "interval_s": interval_s,
                "timeout_s": 2,
                "retry_interval_s": None,
                "phase_s": round((i * 0.37) % interval_s, 3),
            }
            for i in range(checks)
        ],
    }
