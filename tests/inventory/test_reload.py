"""The inventory is re-read on SIGHUP and through the API; a bad file keeps what runs."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx

from app.config import Settings
from app.main import create_app
from tests.support.wait import until

ADMIN = "admin-token-0123456789abcdef"
INVENTORY = """\
version: 1
province:
  code: "33"
  name: Hưng Yên
  defaults: {interval: 3600}
  services:
    - kind: provincial_system
      name: Hệ thống thông tin giải quyết TTHC tỉnh
      checks:
        - {name: backoffice, kind: http, options: {url: "http://127.0.0.1:9/"}}
"""
EXTRA = '        - {name: portal, kind: http, options: {url: "http://127.0.0.1:9/p"}}\n'


async def test_sighup_and_api_reload(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    app = create_app(Settings(database_url=db_url, inventory=path, api_token=ADMIN))
    async with app.router.lifespan_context(app):
        monitor = app.state.monitor

        def keys() -> set[str]:
            return {rc.key for rc in monitor.checks.values()}

        assert keys() == {"33.provincial_system.backoffice"}
        path.write_text(INVENTORY + EXTRA, encoding="utf-8")
        os.kill(os.getpid(), signal.SIGHUP)
        # the reload runs asynchronously after the signal: wait for its last step too
        await until(lambda: len(keys()) == 2 and monitor.scheduler.job_count == 2)
        path.write_text(INVENTORY + "  bogus: 1\n", encoding="utf-8")
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.sleep(0.5)
        assert len(keys()) == 2  # a bad file is logged; the running checks stay
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            bad = await client.post(
                "/api/v1/inventory/reload", headers={"Authorization": f"Bearer {ADMIN}"}
            )
            assert bad.status_code == 422
            assert "inventory.yaml:11" in bad.text  # the file and the line of the bad key
            path.write_text(INVENTORY, encoding="utf-8")
            ok = await client.post(
                "/api/v1/inventory/reload", headers={"Authorization": f"Bearer {ADMIN}"}
            )
            assert ok.status_code == 200
            assert ok.json()["inventory"]["checks_retired"] == ["33.provincial_system.portal"]
        assert keys() == {"33.provincial_system.backoffice"}
