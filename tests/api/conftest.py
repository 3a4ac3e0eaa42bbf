"""An app with its lifespan entered, an in-process client, and a small inventory.

The client speaks ASGI directly (no socket); ASGITransport does not run the
lifespan, so the fixture enters ``app.router.lifespan_context`` itself.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.models import Check, Flip, Incident, ProbeResult, Service, Unit

TOKEN = "bootstrap-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def read_requires_token() -> bool:
    return False


@pytest.fixture
def settings(db_url: str, read_requires_token: bool) -> Settings:
    return Settings(database_url=db_url, api_token=TOKEN, read_requires_token=read_requires_token)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, run_monitor=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://thongsuot.test") as c:
        yield c


@pytest.fixture
def sm(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


@dataclass
class Inventory:
    province: Unit
    commune: Unit
    empty: Unit
    centre: Service
    portal: Check  # critical, up
    gateway: Check  # critical, down
    kiosk: Check  # not critical, degraded
    disabled: Check  # disabled, down: counted nowhere


def make_check(
    key: str, unit: Unit, service: Service, kind: str, state: str, **kw: object
) -> Check:
    return Check(
        key=key,
        service_id=service.id,
        unit_id=unit.id,
        name=key,
        kind=kind,
        target=f"https://{key}.invalid/",
        config={},
        config_hash=hashlib.sha256(key.encode()).hexdigest(),
        interval_s=30,
        timeout_s=5.0,
        state=state,
        state_since=T0,
        **kw,
    )


async def make_unit(s: AsyncSession, code: str, kind: str, parent: Unit | None = None) -> Unit:
    unit = Unit(code=code, name=f"Đơn vị {code}", kind=kind, parent_id=parent and parent.id)
    s.add(unit)
    await s.flush()
    return unit


async def make_service(s: AsyncSession, key: str, unit: Unit, kind: str) -> Service:
    service = Service(key=key, unit_id=unit.id, kind=kind, name=f"Dịch vụ {key}")
    s.add(service)
    await s.flush()
    return service


@pytest.fixture
async def inventory(sm: async_sessionmaker[AsyncSession]) -> Inventory:
    async with sm() as s, s.begin():
        province = await make_unit(s, "33", "province")
        commune = await make_unit(s, "12337", "commune", province)
        empty = await make_unit(s, "12340", "ward", province)
        system = await make_service(s, "33.system", province, "provincial_system")
        centre = await make_service(s, "12337.centre", commune, "commune_centre")
        checks = [
            make_check("33.system.http", province, system, "http", "up"),
            make_check("12337.centre.gw", commune, centre, "icmp", "down"),
            make_check(
                "12337.centre.kiosk", commune, centre, "heartbeat", "degraded", critical=False
            ),
            make_check("12337.centre.off", commune, centre, "tcp", "down", enabled=False),
        ]
        s.add_all(checks)
        await s.flush()
    return Inventory(province, commune, empty, centre, *checks)


async def add_flips(
    sm: async_sessionmaker[AsyncSession], check: Check, *changes: tuple[datetime, str]
) -> None:
    """Insert flips ``(at, new_state)`` in order, chaining old_state."""
    async with sm() as s, s.begin():
        old = "unknown"
        for at, new in changes:
            s.add(
                Flip(
                    uid=uuid.uuid4().hex,
                    check_id=check.id,
                    at=at,
                    old_state=old,
                    new_state=new,
                    reason="test",
                )
            )
            old = new


async def add_results(
    sm: async_sessionmaker[AsyncSession],
    check: Check,
    start: datetime,
    n: int,
    step_s: int,
    status: str = "up",
) -> None:
    async with sm() as s, s.begin():
        s.add_all(
            ProbeResult(
                uid=uuid.uuid4().hex,
                check_id=check.id,
                at=start + timedelta(seconds=i * step_s),
                status=status,
                latency_ms=float(i),
                message=f"r{i}",
                details={"i": i},
            )
            for i in range(n)
        )


async def add_incident(
    sm: async_sessionmaker[AsyncSession],
    check: Check,
    started_at: datetime,
    ended_at: datetime | None = None,
    acknowledged: bool = False,
) -> int:
    async with sm() as s, s.begin():
        incident = Incident(
            check_id=check.id,
            unit_id=check.unit_id,
            started_at=started_at,
            ended_at=ended_at,
            error_kind="timeout",
            message="hết thời gian chờ",
            acknowledged_at=started_at if acknowledged else None,
            acknowledged_by="trực ca" if acknowledged else None,
        )
        s.add(incident)
        await s.flush()
        return incident.id
