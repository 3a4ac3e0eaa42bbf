"""Bad input gets a 4xx with the documented error body, never a 500 (issue 10, "5xx on
bad input"); a database that cannot be reached is 503 with Retry-After."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.api.conftest import AUTH, T0, TOKEN, Inventory, add_incident
from tests.conftest import PG_ADMIN, _pg_url

BIG = str(2**63)  # one past the largest id the databases hold


def _error_schema(app: FastAPI, path: str, method: str, status: int) -> dict[str, Any]:
    """The response schema the OpenAPI document declares, with its components."""
    spec = app.openapi()
    response = spec["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": spec["components"]}


def _assert_documented(app: FastAPI, response: httpx.Response, path: str, method: str) -> None:
    schema = _error_schema(app, path, method, response.status_code)
    jsonschema.validate(response.json(), schema)


async def test_a_non_ascii_bearer_token_is_401(
    client: httpx.AsyncClient, inventory: Inventory
) -> None:
    headers = {"Authorization": "Bearer mã-truy-cập".encode()}  # UTF-8 bytes on the wire
    response = await client.post("/api/v1/inventory/reload", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    # a given token is checked even where reads are open
    response = await client.get("/api/v1/units", headers=headers)
    assert response.status_code == 401


async def test_a_non_ascii_signature_on_the_ack_link_is_401(db_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=db_url, secret_key="ack-link-key-0123456789")
    app = create_app(settings, run_monitor=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            params = {"exp": "99999999999", "by": "trực ca", "sig": "chữ-ký"}
            response = await client.get("/api/v1/incidents/1/ack", params=params)
    assert response.status_code in (401, 403), response.text  # refused, as JSON or a page


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (f"/api/v1/incidents/{BIG}", {}),
        (f"/api/v1/maintenance/{BIG}", {}),
        ("/api/v1/units", {"offset": BIG}),
        ("/api/v1/incidents", {"offset": BIG}),
        (f"/api/v1/incidents/{BIG}/ack", {"exp": "1", "by": "x", "sig": "0" * 64}),
        ("/api/v1/incidents/1/ack", {"exp": BIG, "by": "x", "sig": "0" * 64}),
    ],
)
async def test_integers_past_64_bits_are_4xx(
    client: httpx.AsyncClient, app: FastAPI, inventory: Inventory, path: str, params: dict[str, str]
) -> None:
    response = await client.get(path, params=params, headers=AUTH)
    # the ack link answers with a page (403 tampered, 404, 410 expired), the API with JSON
    assert response.status_code in (401, 403, 404, 410, 422), response.text
    if "/ack" not in path:
        assert "error" in response.json()


async def test_a_check_id_past_64_bits_or_not_ascii_is_404(
    client: httpx.AsyncClient, inventory: Inventory
) -> None:
    for key in (BIG, "²", "١٢"):
        response = await client.get(f"/api/v1/checks/{key}", headers=AUTH)
        assert response.status_code == 404, key
        response = await client.get("/api/v1/results", params={"check": key}, headers=AUTH)
        assert response.status_code == 404, key


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/results", {"since": "0001-01-01T00:00:00+01:00"}),
        ("/api/v1/incidents", {"until": "9999-12-31T23:59:59-01:00"}),
        ("/api/v1/flips", {"since": "0001-01-01T00:00:00+01:00"}),
        ("/api/v1/availability", {"unit": "33", "since": "0001-01-01T00:00:00+01:00"}),
        ("/api/v1/availability", {"unit": "33", "until": "9999-12-31T23:59:59-01:00"}),
        ("/api/v1/reports/availability", {"at": "9999-12"}),
        ("/api/v1/reports/availability", {"at": "9999-12-31"}),
        ("/api/v1/reports/availability", {"at": "9999-W52", "period": "week"}),
        ("/api/v1/reports/availability", {"at": "0001-01-01", "period": "day"}),
        ("/api/v1/reports/availability", {"from": "0001-01-01", "to": "9999-12-31"}),
    ],
)
async def test_extreme_dates_are_422_with_the_documented_body(
    client: httpx.AsyncClient, app: FastAPI, inventory: Inventory, path: str, params: dict[str, str]
) -> None:
    response = await client.get(path, params=params, headers=AUTH)
    assert response.status_code == 422, response.text
    _assert_documented(app, response, path, "get")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/units/12%00337", {}),
        ("/api/v1/checks/a%00b", {}),
        ("/api/v1/checks", {"unit": "12\x00337"}),
        ("/api/v1/incidents", {"check": "\x00"}),
        ("/api/v1/reports/availability", {"province": "3\x003"}),
        ("/api/v1/push/tok%00en", {}),
        ("/status", {"lang": "v\x00i"}),
    ],
)
async def test_nul_in_a_path_or_query_is_422_at_the_edge(
    client: httpx.AsyncClient, inventory: Inventory, path: str, params: dict[str, str]
) -> None:
    response = await client.get(path, params=params, headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "unprocessable"


async def test_nul_in_a_json_body_is_422(
    client: httpx.AsyncClient, inventory: Inventory, sm: Any
) -> None:
    incident_id = await add_incident(sm, inventory.gateway, T0)
    response = await client.post(
        f"/api/v1/incidents/{incident_id}/ack", json={"by": "trực\x00ca"}, headers=AUTH
    )
    assert response.status_code == 422, response.text


async def test_validation_errors_match_the_declared_422_schema(
    client: httpx.AsyncClient, app: FastAPI, inventory: Inventory
) -> None:
    response = await client.get("/api/v1/units", params={"limit": "many"})
    assert response.status_code == 422
    _assert_documented(app, response, "/api/v1/units", "get")
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]
    backwards = {"since": "2026-11-02T09:00:00+07:00", "until": "2026-11-02T08:00:00+07:00"}
    response = await client.get("/api/v1/incidents", params=backwards)
    assert response.status_code == 422
    _assert_documented(app, response, "/api/v1/incidents", "get")
    response = await client.get("/api/v1/units/nope")
    assert response.status_code == 404
    _assert_documented(app, response, "/api/v1/units/{code}", "get")


# ---- the database away: 503 with Retry-After, not 500 --------------------------------


async def _client_for(url: str, **extra: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=url, api_token=TOKEN, **extra), run_monitor=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def _assert_unavailable(url: str) -> None:
    for extra in ({}, {"read_requires_token": True}):
        async for client in _client_for(url, **extra):
            for path in ("/api/v1/units", "/api/v1/status", "/api/v1/incidents/1"):
                response = await client.get(path, headers=AUTH)
                assert response.status_code == 503, (path, response.text)
                assert response.headers["Retry-After"].isdigit()
                assert response.json()["error"] == "database_unavailable"
            response = await client.post("/api/v1/inventory/reload", headers=AUTH)
            assert response.status_code == 503


async def test_sqlite_in_a_removed_directory_is_503(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    await _assert_unavailable(f"sqlite+aiosqlite:///{gone}/thongsuot.db")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.postgres
async def test_postgresql_with_nothing_listening_is_503(backend: str) -> None:
    base = PG_ADMIN.rsplit("@", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    await _assert_unavailable(f"{base}@127.0.0.1:{_free_port()}/thongsuot")


@pytest.mark.postgres
async def test_postgresql_database_dropped_is_503(backend: str) -> None:
    name = f"thongsuot_dropped_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.execute(f'DROP DATABASE "{name}"')
    finally:
        await admin.close()
    await _assert_unavailable(_pg_url(name).replace("postgresql://", "postgresql+asyncpg://"))


async def test_a_database_coming_back_answers_again(tmp_path: Path, sqlite_template: Path) -> None:
    """503 is transient: the same process answers 200 once the file is there."""
    import shutil

    directory = tmp_path / "later"
    url = f"sqlite+aiosqlite:///{directory}/thongsuot.db"
    async for client in _client_for(url):
        assert (await client.get("/api/v1/units")).status_code == 503
        directory.mkdir()
        shutil.copy(sqlite_template, directory / "thongsuot.db")
        await asyncio.sleep(0)
        assert (await client.get("/api/v1/units")).status_code == 200


async def test_a_number_is_not_a_time(client: httpx.AsyncClient, inventory: Inventory) -> None:
    """pydantic reads ``0.5`` as seconds since 1970; the API takes ISO-8601 only."""
    response = await client.get("/api/v1/incidents", params={"until": "0.5"})
    assert response.status_code == 422


async def test_405_names_every_method_of_the_path(
    client: httpx.AsyncClient, inventory: Inventory
) -> None:
    response = await client.request("OPTIONS", "/api/v1/maintenance/1")
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET"
    response = await client.request("PUT", "/api/v1/push/abc")
    assert response.headers["Allow"] == "GET, POST"


async def test_nul_in_a_json_string_is_never_a_500(
    client: httpx.AsyncClient, inventory: Inventory, backend: str
) -> None:
    """PostgreSQL text cannot hold NUL (SQLSTATE 22021): 422; SQLite stores it."""
    window = {
        "scope": "unit",
        "target": "12337",
        "starts_at": "2026-11-02T08:00:00+07:00",
        "ends_at": "2026-11-02T09:00:00+07:00",
        "reason": "nâng cấp\x00",
    }
    response = await client.post("/api/v1/maintenance", json=window, headers=AUTH)
    if backend == "sqlite":
        assert response.status_code == 201, response.text
    else:
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "unprocessable"
