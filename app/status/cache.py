"""A short page cache: each page is built at most once per ``ttl_s`` seconds and
never twice at once (concurrent requests for the same key wait for one build).

Stale while revalidate: a page older than ``ttl_s`` but younger than
``ttl_s + stale_s`` is served as it is while one background task rebuilds it, so
after the first build no request waits for a rebuild. A page older than that
(nobody asked for a while) is rebuilt before it is served.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 10.0
DEFAULT_STALE_S = 50.0
MAX_ENTRIES = 512  # search queries are free text: keep the newest ones only

Build = Callable[[], Awaitable[Any]]


class PageCache:
    def __init__(
        self,
        ttl_s: float = DEFAULT_TTL_S,
        stale_s: float = DEFAULT_STALE_S,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.ttl_s = ttl_s
        self.stale_s = stale_s
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._refreshing: dict[Hashable, asyncio.Task[None]] = {}
        self.builds = 0  # how many times a value was built (tests, bench)

    def _age(self, key: Hashable) -> tuple[float, Any] | None:
        entry = self._entries.get(key)
        return None if entry is None else (time.monotonic() - entry[0], entry[1])

    async def get(self, key: Hashable, build: Build) -> Any:
        """The cached value of ``key``; else ``await build()`` (once for all waiters)."""
        found = self._age(key)
        if found is not None and found[0] < self.ttl_s:
            return found[1]
        if found is not None and found[0] < self.ttl_s + self.stale_s:
            if key not in self._refreshing:
                task = asyncio.create_task(self._refresh(key, build))
                self._refreshing[key] = task
            return found[1]
        return await self._build(key, build, fresh_enough=self.ttl_s)

    async def _refresh(self, key: Hashable, build: Build) -> None:
        try:
            await self._build(key, build, fresh_enough=0.0)
        except Exception:  # the stale page stays; the next request tries again
            log.exception("status page rebuild failed: %r", key)
        finally:
            self._refreshing.pop(key, None)

    async def _build(self, key: Hashable, build: Build, fresh_enough: float) -> Any:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            found = self._age(key)
            if found is not None and found[0] < fresh_enough:
                return found[1]  # built by whoever held the lock before us
            value = await build()
            self.builds += 1
            self._entries[key] = (time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                old, _ = self._entries.popitem(last=False)
                self._locks.pop(old, None)
            return value

    def clear(self) -> None:
        self._entries.clear()
