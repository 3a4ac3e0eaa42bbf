"""The whole demo in one process: the farm (HTTP and HTTPS), the app under
uvicorn with its monitor, and the kiosks' heartbeat sender.

``thongsuot demo`` runs it until Ctrl-C; tests/deploy/test_live_stack.py runs
it under a real Prometheus.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import DEFAULT_DB, Settings, normalise_db_url
from app.demo.agent import DemoAgent, pick_unit, start_agent
from app.demo.certs import DemoCert, make_demo_cert, tls_available
from app.demo.farm import Farm, start_farm
from app.demo.heartbeats import HeartbeatSender, issue_push_tokens
from app.demo.inventory import DemoExtras, demo_inventory, heartbeat_key
from app.demo.script import FarmScript
from app.demo.units import demo_units


@dataclass(slots=True)
class DemoStack:
    settings: Settings
    farm: Farm
    app: Any  # FastAPI
    server: Any  # uvicorn.Server
    server_task: asyncio.Task[None]
    base_url: str
    cert: DemoCert | None
    sender: HeartbeatSender | None
    extras: DemoExtras | None
    agent: DemoAgent | None = None


@asynccontextmanager
async def demo_stack(
    settings: Settings,
    units: int,
    workdir: Path,
    *,
    script: FarmScript | None = None,
    interval_s: int = 10,
    timeout_s: float = 3.0,
    extras: DemoExtras | None = None,
    port: int | None = None,
) -> AsyncIterator[DemoStack]:
    """Start everything, yield it, stop everything (in reverse order).

    ``workdir`` receives the inventory, the certificate and, unless
    ``settings.database_url`` names another database, the SQLite file. ``port``
    is the app's port (``settings.port`` by default; 0 picks a free one). With
    ``extras`` the inventory has the national services, HTTPS and TLS checks
    (when ``cryptography`` is installed), a sync-lag check and kiosk heartbeats.
    """
    cert = make_demo_cert(workdir) if extras is not None and tls_available() else None
    script = script or FarmScript.for_units(units)
    if extras is not None and extras.agent and extras.agent_unit is None:
        unit = pick_unit(script, demo_units(units), skip=extras.kiosks)
        extras = dataclasses.replace(extras, agent_unit=unit.code if unit else None)
    farm = await start_farm(script, tls=cert.server_context() if cert else None)
    try:
        if extras is not None and cert is not None:
            extras = dataclasses.replace(
                extras, tls_base=farm.url("", tls=True), ca_file=str(cert.cert_file)
            )
        text = demo_inventory(farm.url(), units, interval_s, timeout_s=timeout_s, extras=extras)
        demo_settings = await _prepare(settings, text, workdir, cert)
        async with _serve_app(demo_settings, settings.port if port is None else port) as served:
            app, server, task, base_url = served
            sender = await _start_sender(app, base_url, farm, units, extras)
            agent = None
            try:
                if extras is not None and extras.agent and extras.agent_unit is not None:
                    unit = next(u for u in demo_units(units) if u.code == extras.agent_unit)
                    agent = await start_agent(app, base_url, unit, workdir, script, farm.clock)
                yield DemoStack(
                    demo_settings, farm, app, server, task, base_url, cert, sender, extras, agent
                )
            finally:
                if agent is not None:
                    await agent.stop()
                if sender is not None:
                    await sender.stop()
    finally:
        await farm.close()


async def _prepare(
    settings: Settings, inventory: str, tmp: Path, cert: DemoCert | None
) -> Settings:
    from app import migrate

    demo_settings = _write_files(settings, inventory, tmp, cert)
    await asyncio.to_thread(migrate.upgrade, demo_settings.database_url)
    return demo_settings


def _write_files(settings: Settings, inventory: str, tmp: Path, cert: DemoCert | None) -> Settings:
    """The inventory and CA bundle on disk; the settings that point at them."""
    path = tmp / "demo-inventory.yaml"
    path.write_text(inventory, encoding="utf-8")
    update: dict[str, Any] = {"inventory": path}
    if settings.database_url == normalise_db_url(DEFAULT_DB):  # never touch ./thongsuot.db
        update["database_url"] = f"sqlite+aiosqlite:///{tmp / 'demo.db'}"
    if cert is not None:  # https checks trust the farm's certificate (and any CA set before)
        bundle = tmp / "demo-ca-bundle.pem"
        extra = Path(settings.extra_ca_file).read_text("ascii") if settings.extra_ca_file else ""
        bundle.write_text(extra + cert.cert_file.read_text(encoding="ascii"), encoding="ascii")
        update["extra_ca_file"] = str(bundle)
    return settings.model_copy(update=update)


@asynccontextmanager
async def _serve_app(
    settings: Settings, port: int
) -> AsyncIterator[tuple[Any, Any, asyncio.Task[None], str]]:
    import uvicorn

    from app.main import create_app

    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raises why the server could not start
                raise RuntimeError("the web server stopped before it started")
            await asyncio.sleep(0.05)
        bound = server.servers[0].sockets[0].getsockname()[1]
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        yield app, server, task, f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        with suppress(asyncio.CancelledError):
            await task


async def _start_sender(
    app: Any, base_url: str, farm: Farm, units: int, extras: DemoExtras | None
) -> HeartbeatSender | None:
    if extras is None or extras.kiosks <= 0:
        return None
    codes = [u.code for u in demo_units(units)[: extras.kiosks]]
    tokens = await issue_push_tokens(app, {code: heartbeat_key(code) for code in codes})
    sender = HeartbeatSender(base_url, tokens, farm.script, farm.clock)
    sender.start()
    return sender
