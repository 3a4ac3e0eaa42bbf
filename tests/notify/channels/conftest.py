from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from tests.support.http import Handler, ScriptedHTTP


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[ScriptedHTTP]]]:
    """Start loopback fakes; all are closed after the test."""
    servers: list[ScriptedHTTP] = []

    async def start(handler: Handler) -> ScriptedHTTP:
        server = await ScriptedHTTP(handler=handler).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()
