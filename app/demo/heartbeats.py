"""The demo's kiosks: push tokens for their heartbeat checks and a sender of beats.

The sender is what a real kiosk does: ``GET /api/v1/push/{token}`` every few
seconds, over HTTP, to the monitor. One kiosk (``FarmScript.silent_kiosk``)
stops beating on the script, so ``missed_heartbeat`` shows and clears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from app.demo.script import FarmScript

log = logging.getLogger(__name__)


async def issue_push_tokens(app: Any, keys: dict[str, str]) -> dict[str, str]:
    """New push tokens for heartbeat checks (unit code → check key); returns code → token.

    Stored hashed like ``thongsuot push-token`` does, and handed to the running
    monitor so pushes are accepted at once.
    """
    from app.monitor.push_tokens import rotate_push_token

    tokens: dict[str, str] = {}
    monitor = app.state.monitor
    for code, key in keys.items():
        async with app.state.sessionmaker() as session, session.begin():
            check, token = await rotate_push_token(session, key)
            token_hash = check.push_token_hash
        if monitor is not None and token_hash is not None:
            monitor.set_push_token(check.id, token_hash)
        tokens[code] = token
    return tokens


class HeartbeatSender:
    """Pushes a beat for every kiosk the script lets beat, every ``script.beat_s``."""

    def __init__(
        self,
        base_url: str,
        tokens: dict[str, str],
        script: FarmScript,
        clock: Callable[[], float],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = dict(tokens)
        self.script = script
        self.clock = clock
        self.sent: Counter[str] = Counter()  # unit code → beats accepted
        self.failed = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="demo-heartbeats")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def beat_once(self, client: httpx.AsyncClient) -> None:
        """One round: a beat from each kiosk that is beating now."""
        t = self.clock()
        for code, token in self.tokens.items():
            if not self.script.kiosk_beats(code, t):
                continue
            url = f"{self.base_url}/api/v1/push/{token}"
            try:
                response = await client.get(url, params={"msg": f"ki-ốt {code} hoạt động"})
            except httpx.HTTPError as exc:
                self.failed += 1
                log.debug("beat from %s failed: %s", code, exc)
                continue
            if response.status_code == 200:
                self.sent[code] += 1
            else:
                self.failed += 1

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            while True:
                await self.beat_once(client)
                await asyncio.sleep(self.script.beat_s)
