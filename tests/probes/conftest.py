"""Fixtures for probe tests: loopback servers, a trusted private CA and a ProbeContext."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvloop

from probes.base import ProbeContext
from probes.clients import ClientPool
from probes.resources import ProbeResources
from tests.support.http import Route, ScriptedHTTP
from tests.support.net import BlackholeTCP
from tests.support.tls import Certs

MakeHttp = Callable[..., Awaitable[ScriptedHTTP]]
MakeCtx = Callable[..., ProbeContext]


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every probe test on both loops: ``serve`` runs on uvloop (Settings.event_loop),
    the agent and ``thongsuot probe`` on asyncio's own."""
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
async def started() -> AsyncIterator[list[Any]]:
    """Servers a test started (anything with ``async close()``), closed after it."""
    servers: list[Any] = []
    yield servers
    for server in servers:
        await server.close()


@pytest.fixture
def make_http(started: list[Any]) -> MakeHttp:
    async def make(routes: dict[str, Route], host: str = "127.0.0.1", **kw: Any) -> ScriptedHTTP:
        server = await ScriptedHTTP(dict(routes), host=host, **kw).start()
        started.append(server)
        return server

    return make


@pytest.fixture
async def pool(certs: Certs) -> AsyncIterator[ClientPool]:
    clients = ClientPool(shards=1, extra_ca_file=certs.ca_file)
    yield clients
    await clients.aclose()


@pytest.fixture
async def resources() -> AsyncIterator[ProbeResources]:
    """What the monitor keeps between runs (engines, resolvers); closed after the test."""
    kept = ProbeResources()
    yield kept
    await kept.aclose()


@pytest.fixture
def make_ctx(pool: ClientPool, resources: ProbeResources) -> MakeCtx:
    def make(
        timeout: float = 3.0, secrets: dict[str, str] | None = None, **kw: Any
    ) -> ProbeContext:
        table = secrets or {}

        def resolve(name: str) -> str:
            return table[name]

        kw.setdefault("resources", resources)
        return ProbeContext(clients=pool, timeout=timeout, key="test", secrets=resolve, **kw)

    return make


@pytest.fixture
def blackhole() -> Iterator[BlackholeTCP]:
    server = BlackholeTCP()
    yield server
    server.close()


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
