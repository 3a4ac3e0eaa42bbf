"""A short page cache: each page is built at most once per ``ttl`` seconds, and
never twice at once (concurrent requests for the same key wait for one build)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

DEFAULT_TTL_S = 10.0
MAX_ENTRIES = 512  # search queries are free text: keep the newest ones only


class PageCache:
    def __init__(self, ttl_s: float = DEFAULT_TTL_S, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self.builds = 0  # how many times a value was built (tests, bench)

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[0] < self.ttl_s:
            return True, entry[1]
        return False, None

    async def get(self, key: Hashable, build: Callable[[], Awaitable[Any]]) -> Any:
        """The cached value of ``key``, else ``await build()`` (once for all waiters)."""
        hit, value = self._fresh(key)
        if hit:
            return value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit, value = self._fresh(key)
            if hit:
                return value
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
