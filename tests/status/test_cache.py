"""The status pages' cache: one build for concurrent requests, stale pages served
while one rebuild runs, old pages rebuilt before they are served."""

from __future__ import annotations

import asyncio

from app.status.cache import PageCache


async def test_concurrent_requests_build_once() -> None:
    cache = PageCache(ttl_s=3600)
    gate = asyncio.Event()

    async def build() -> str:
        await gate.wait()
        return "page"

    waiting = [asyncio.create_task(cache.get(("home", "vi"), build)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == ["page"] * 20
    assert cache.builds == 1
    assert await cache.get(("home", "vi"), build) == "page" and cache.builds == 1
    await cache.get(("home", "en"), build)  # another key: its own build
    assert cache.builds == 2


async def test_stale_page_is_served_while_one_rebuild_runs() -> None:
    cache = PageCache(ttl_s=0, stale_s=3600)
    versions = iter(["v1", "v2", "v3"])
    gate = asyncio.Event()

    async def build() -> str:
        if cache.builds:  # rebuilds wait until the test lets them finish
            await gate.wait()
        return next(versions)

    assert await cache.get("k", build) == "v1"
    assert await cache.get("k", build) == "v1"  # stale, served at once; rebuild started
    assert await cache.get("k", build) == "v1"  # still one rebuild, not two
    gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert await cache.get("k", build) == "v2"
    assert cache.builds == 2 or cache.builds == 3  # v2 built; a v3 rebuild may be under way


async def test_too_old_is_rebuilt_before_it_is_served() -> None:
    cache = PageCache(ttl_s=0, stale_s=0)
    versions = iter(["v1", "v2"])

    async def build() -> str:
        return next(versions)

    assert await cache.get("k", build) == "v1"
    assert await cache.get("k", build) == "v2"


async def test_a_failed_rebuild_keeps_the_stale_page() -> None:
    cache = PageCache(ttl_s=0, stale_s=3600)
    calls = 0

    async def build() -> str:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("database away")
        return "v1"

    assert await cache.get("k", build) == "v1"
    assert await cache.get("k", build) == "v1"
    for _ in range(10):
        await asyncio.sleep(0)
    assert await cache.get("k", build) == "v1"
