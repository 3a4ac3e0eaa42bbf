"""/metrics at scale (issue 10): one build for concurrent scrapes, reused for a while,
built off the event loop so the API keeps answering during a long build."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from app.config import Settings
from app.main import create_app
from app.monitor.collector import CheckStateCollector
from app.vocab.states import State

GUARD_S = 30.0  # only turns a hang into a failure; nothing is timed


def many_checks(n: int) -> SimpleNamespace:
    """What CheckStateCollector reads of a monitor, for ``n`` checks."""
    checks = {
        i: SimpleNamespace(
            id=i,
            key=f"{i}.centre.http",
            unit_code=str(10_000 + i),
            service_kind="commune_centre",
            kind="http",
        )
        for i in range(n)
    }
    states = {
        i: SimpleNamespace(state=State.UP, last_result=None, last_result_at=None) for i in range(n)
    }
    return SimpleNamespace(checks=checks, states=states, unit_labels={})


class Counted(Collector):
    """Counts how often the exposition is built (each build collects once)."""

    def __init__(self, inner: Collector) -> None:
        self.inner = inner
        self.builds = 0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        self.builds += 1
        yield from self.inner.collect()  # type: ignore[misc]


class Gate(Collector):
    """A collector that holds the build until the test opens the gate."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        self.entered.set()
        self.open.wait(GUARD_S)
        yield GaugeMetricFamily("test_gate", "held until the test opens it", value=1.0)


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(Settings(database_url=db_url, metrics_cache_s=60.0), run_monitor=False)
    async with application.router.lifespan_context(application):
        yield application


def _serve_registry(app: FastAPI, *collectors: Collector) -> None:
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    app.state.monitor = SimpleNamespace(metrics=SimpleNamespace(registry=registry), stop=_stop)


async def _stop() -> None:
    """The lifespan stops the monitor it finds."""


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_concurrent_scrapes_build_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    counted = Counted(CheckStateCollector(many_checks(20_000)))  # type: ignore[arg-type]
    _serve_registry(app, counted)
    responses = await asyncio.gather(*(client.get("/metrics") for _ in range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert b'thongsuot_check_state{check="19999.centre.http"' in responses[0].content
    assert counted.builds == 1
    await client.get("/metrics")  # within metrics_cache_s: the same exposition
    assert counted.builds == 1


async def test_the_api_answers_while_metrics_are_built(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    gate = Gate()
    _serve_registry(app, gate, CheckStateCollector(many_checks(20_000)))  # type: ignore[arg-type]
    scrape = asyncio.create_task(client.get("/metrics"))
    scrapes = [asyncio.create_task(client.get("/metrics")) for _ in range(7)]
    # the build has begun (in a thread if the loop is still ours to use)
    await asyncio.wait_for(asyncio.to_thread(gate.entered.wait, GUARD_S), GUARD_S)
    try:
        health = await asyncio.wait_for(client.get("/healthz"), GUARD_S)
        units = await asyncio.wait_for(client.get("/api/v1/units"), GUARD_S)
        assert health.status_code == 200 and units.status_code == 200
        assert not scrape.done()  # the build is still held: the loop served meanwhile
    finally:
        gate.open.set()
    assert (await scrape).status_code == 200
    assert {r.status_code for r in await asyncio.gather(*scrapes)} == {200}
