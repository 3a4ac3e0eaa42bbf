"""/healthz, /readyz, the OpenAPI document and the inventory reload endpoint."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.errors import ConfigError
from app.main import create_app
from tests.api.conftest import AUTH


class _Monitor:
    """Stands in for app.monitor.runtime.Monitor: only the attributes the API reads."""

    def __init__(self, ready: bool, errors: list[str] | None = None) -> None:
        self.ready = ready
        self.reloads = 0
        self.errors = errors

    async def stop(self) -> None:
        self.ready = False

    async def reload(self, force: bool = False) -> dict[str, Any]:
        self.reloads += 1
        if self.errors:
            raise ConfigError(self.errors)
        return {"added": 2, "removed": 1, "changed": 0}


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "monitor": None}


async def test_readyz_reports_the_monitor(client: httpx.AsyncClient, app: FastAPI) -> None:
    app.state.monitor = _Monitor(ready=False)
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["monitor"] == "not_ready"
    app.state.monitor.ready = True
    assert (await client.get("/readyz")).status_code == 200


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.fixture
async def dead_db_client() -> AsyncIterator[httpx.AsyncClient]:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/nothing"
    app = create_app(Settings(database_url=url), run_monitor=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def test_readyz_is_503_when_the_database_is_unreachable(
    dead_db_client: httpx.AsyncClient,
) -> None:
    assert (await dead_db_client.get("/healthz")).status_code == 200
    response = await dead_db_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_openapi_lists_the_endpoints(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/units",
        "/api/v1/units/{code}",
        "/api/v1/services",
        "/api/v1/checks",
        "/api/v1/checks/{key_or_id}",
        "/api/v1/results",
        "/api/v1/checks/{key}/results",
        "/api/v1/flips",
        "/api/v1/incidents",
        "/api/v1/incidents/{incident_id}",
        "/api/v1/incidents/{incident_id}/ack",
        "/api/v1/status",
        "/api/v1/inventory/reload",
        "/api/v1/availability",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    assert "post" in paths["/api/v1/incidents/{incident_id}/ack"]


async def test_reload_without_a_monitor_is_409(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/inventory/reload")).status_code == 401
    response = await client.post("/api/v1/inventory/reload", headers=AUTH)
    assert response.status_code == 409
    assert "monitor not running" in response.json()["detail"]


async def test_reload_passes_the_monitor_summary_through(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    app.state.monitor = _Monitor(ready=True)
    response = await client.post("/api/v1/inventory/reload", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {"added": 2, "removed": 1, "changed": 0}
    assert app.state.monitor.reloads == 1


async def test_reload_of_a_bad_inventory_is_422_naming_the_line(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    problem = "inventory.yaml:12: units[3].code: trường bắt buộc"
    app.state.monitor = _Monitor(ready=True, errors=[problem])
    response = await client.post("/api/v1/inventory/reload", headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"] == problem
