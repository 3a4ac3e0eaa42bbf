"""Waiting for something that happens in the background, with a deadline."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def until(
    cond: Callable[[], Awaitable[bool] | bool], within: float = 8.0, every: float = 0.1
) -> None:
    """Poll ``cond`` (sync or async) every ``every`` s until it is true; fail after ``within``."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        value = cond()
        if await value if inspect.isawaitable(value) else value:
            return
        await asyncio.sleep(every)
    raise AssertionError(f"condition not met within {within} s")
